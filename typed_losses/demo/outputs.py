"""The demo's result files: `losses.csv`, `losses.json` and, with matplotlib, `losses.png`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typed_losses.cli_support import printable
from typed_losses.demo.train import History
from typed_losses.rules import OUTPUT_SEPARATOR, WEIGHT_LOG_PREFIX

__all__ = ["PLOT_MISSING", "smooth", "write_csv", "write_json", "write_png"]

PLOT_MISSING = "losses.png not written: matplotlib is not installed (pip install typed-losses[plot])"


def _plot_text(text: str) -> str:
    """A name as matplotlib shows it literally: control characters escaped, `$` not read as math."""
    return printable(text).replace("$", r"\$")


def write_csv(history: History, path: Path) -> Path:
    """One row per step: `step`, every term, `total`, then `weight/<term>` for every term (its weight at
    that step); floats written exactly (`repr`)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("step", *history.columns))
        for step, row in enumerate(history.rows, start=1):
            writer.writerow((step, *(repr(v) for v in row)))
    return path


def write_json(history: History, path: Path, *, config: str, seed: int) -> Path:
    """`{"config", "seed", "steps", "losses": {column: [value per step]}, "weights": {term: [value per step]}}`:
    the losses are every term and `total`, the weights every term's weight at each step."""
    data = {
        "config": config,
        "seed": seed,
        "steps": len(history.rows),
        "losses": {column: history.series(column) for column in history.loss_columns},
        "weights": {
            column.removeprefix(WEIGHT_LOG_PREFIX): history.series(column) for column in history.weight_columns
        },
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
    """Per-term and total loss curves (raw, faint; smoothed, bold) and, below, every term's weight at each
    step; `None` when matplotlib is missing.

    Uses the Agg canvas directly: no pyplot, no change to the process's matplotlib backend.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(8, 6.5), dpi=100)
    FigureCanvasAgg(figure)
    axes, weight_axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1.3)})
    steps = list(range(1, len(history.rows) + 1))
    colors: dict[str, str] = {}  # the colour of each loss curve: a term's weight is drawn in its first one's
    for column in history.loss_columns:
        values = history.series(column)
        total = column == "total"
        color = "black" if total else None
        (line,) = axes.plot(
            steps, smooth(values), label=_plot_text(column), color=color, linewidth=2.2 if total else 1.6
        )
        axes.plot(steps, values, color=line.get_color(), alpha=0.2, linewidth=0.8)
        colors[column] = line.get_color()
    axes.set_ylabel("loss (weighted total; terms unweighted)")
    if all(v > 0 for column in history.loss_columns for v in history.series(column)):
        axes.set_yscale("log")
    axes.set_title(_plot_text(title))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    for column in history.weight_columns:  # as used at each step: never smoothed
        term = column.removeprefix(WEIGHT_LOG_PREFIX)
        color = next((c for key, c in colors.items() if key == term or key.startswith(term + OUTPUT_SEPARATOR)), None)
        weight_axes.plot(steps, history.series(column), label=_plot_text(term), color=color)
    weight_axes.set_xlabel("step")
    weight_axes.set_ylabel("weight")
    weight_axes.grid(True, alpha=0.3)
    weight_axes.legend(title="term")
    figure.tight_layout()
    figure.savefig(path)
    return path
