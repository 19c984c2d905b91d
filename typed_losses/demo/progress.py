"""Showing the demo's progress: a rich progress bar on a terminal, a few plain lines anywhere else.

Both show running (smoothed) per-term losses, and say so: the bar's losses start with `moving average:`,
the plain lines follow a header line saying what they show (`PLAIN_HEADER`). The weights that change during
training (`weight/<term>`) are shown as they are at the step, never averaged: after `at this step:` on the
bar, and under a second header line (`WEIGHTS_HEADER`) in the plain form. The plain form prints
the first step, every fifth of the run and the last step: readable in CI logs, with no control characters.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Literal, TextIO

from typed_losses.cli_support import printable
from typed_losses.rules import WEIGHT_LOG_PREFIX

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = [
    "BAR_LABEL",
    "BAR_WEIGHTS_LABEL",
    "PLAIN_HEADER",
    "WEIGHTS_HEADER",
    "ProgressMode",
    "ProgressReporter",
    "Running",
    "format_values",
]

ProgressMode = Literal["auto", "bar", "plain"]
#: What the progress shows: printed once before the plain lines, and before the losses on the bar.
PLAIN_HEADER = "per-term losses: moving average over about the last 10 steps"
BAR_LABEL = "moving average:"
#: What the weights show (their value at the step): a second header line of the plain form, and on the bar.
WEIGHTS_HEADER = f"{WEIGHT_LOG_PREFIX}<term>: the term's weight at that step (not averaged)"
BAR_WEIGHTS_LABEL = "at this step:"


class Running:
    """Bias-corrected exponential moving averages of each column (`beta` 0.9: about the last 10 steps)."""

    def __init__(self, beta: float = 0.9) -> None:
        self.beta = beta
        self.count = 0
        self.sums: dict[str, float] = {}

    def update(self, values: dict[str, float]) -> dict[str, float]:
        self.count += 1
        for name, value in values.items():
            self.sums[name] = self.beta * self.sums.get(name, 0.0) + (1 - self.beta) * value
        correction = 1 - self.beta**self.count
        return {name: total / correction for name, total in self.sums.items()}


def format_values(values: dict[str, float]) -> str:
    return "  ".join(f"{printable(name)}={value:.4f}" for name, value in values.items())


def _split(values: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(the losses, the weights `weight/<term>`) of a step's values."""
    losses = {name: value for name, value in values.items() if not name.startswith(WEIGHT_LOG_PREFIX)}
    weights = {name: value for name, value in values.items() if name.startswith(WEIGHT_LOG_PREFIX)}
    return losses, weights


class ProgressReporter:
    """A context manager; call it after each step with (step, steps, values)."""

    def __init__(self, out: TextIO, mode: ProgressMode = "auto") -> None:
        self.out = out
        self.running = Running()
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        if mode != "plain":
            from rich.console import Console

            console = Console(file=out, force_terminal=True if mode == "bar" else None)
            if console.is_terminal and not console.is_dumb_terminal:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
                from rich.table import Column

                fixed = Column(no_wrap=True)
                self.progress = Progress(
                    TextColumn("train", table_column=fixed),
                    BarColumn(bar_width=20, table_column=Column(no_wrap=True, width=20)),
                    MofNCompleteColumn(table_column=fixed),
                    TimeElapsedColumn(table_column=fixed),
                    # the running losses wrap onto a second line on a narrow terminal; the bar keeps its size
                    TextColumn(  # term names are text, never rich markup
                        BAR_LABEL + " {task.fields[losses]}",
                        markup=False,
                        table_column=Column(overflow="fold", ratio=1),
                    ),
                    console=console,
                )

    def __enter__(self) -> ProgressReporter:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, step: int, steps: int, values: dict[str, float]) -> None:
        """Show the step: `values` are the losses (averaged here) and `weight/<term>` values (shown as given)."""
        losses, weights = _split(values)
        running = self.running.update(losses)
        if self.progress is not None:
            if self.task is None:
                self.task = self.progress.add_task("train", total=steps, losses="")
            text = format_values(running)
            if weights:
                text += f"  {BAR_WEIGHTS_LABEL} {format_values(weights)}"
            self.progress.update(self.task, completed=step, losses=text)
            return
        if step in (1, steps) or step % max(1, steps // 5) == 0:
            if self.running.count == 1:
                print(PLAIN_HEADER, file=self.out)
                if weights:
                    print(WEIGHTS_HEADER, file=self.out)
            width = len(str(steps))
            print(f"step {step:>{width}}/{steps}  {format_values(running | weights)}", file=self.out)
