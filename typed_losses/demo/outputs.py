"""The demo's result files: ``losses.csv``, ``losses.json`` and, with matplotlib, ``losses.png``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typed_losses.cli_support import printable
from typed_losses.demo.train import History

__all__ = ["PLOT_MISSING", "smooth", "write_csv", "write_json", "write_png"]

PLOT_MISSING = "losses.png not written: matplotlib is not installed (pip install typed-losses[plot])"


def _plot_text(text: str) -> str:
    """A name as matplotlib shows it literally: control characters escaped, ``$`` not read as math."""
    return printable(text).replace("$", r"\$")


def write_csv(history: History, path: Path) -> Path:
    """One row per step: ``step``, every term, ``total`` (floats written exactly, ``repr``)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("step", *history.columns))
        for step, row in enumerate(history.rows, start=1):
            writer.writerow((step, *(repr(v) for v in row)))
    return path


def write_json(history: History, path: Path, *, config: str, seed: int) -> Path:
    """``{"config", "seed", "steps", "losses": {column: [value per step]}}``."""
    data = {
        "config": config,
        "seed": seed,
        "steps": len(history.rows),
        "losses": {column: history.series(column) for column in history.columns},
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def smooth(values: list[float], beta: float = 0.9) -> list[float]:
    """Bias-corrected exponential moving average (the first value is kept as it is)."""
    out: list[float] = []
    average = 0.0
    for i, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        out.append(average / (1 - beta**i))
    return out


def write_png(history: History, path: Path, *, title: str) -> Path | None:
    """Per-term and total loss curves (raw, faint; smoothed, bold); ``None`` when matplotlib is missing.

    Uses the Agg canvas directly: no pyplot, no change to the process's matplotlib backend.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    steps = list(range(1, len(history.rows) + 1))
    for column in history.columns:
        values = history.series(column)
        total = column == "total"
        color = "black" if total else None
        (line,) = axes.plot(
            steps, smooth(values), label=_plot_text(column), color=color, linewidth=2.2 if total else 1.6
        )
        axes.plot(steps, values, color=line.get_color(), alpha=0.2, linewidth=0.8)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (weighted total; terms unweighted)")
    if all(v > 0 for row in history.rows for v in row):
        axes.set_yscale("log")
    axes.set_title(_plot_text(title))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    return path
