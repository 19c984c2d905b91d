"""Shared timing helpers of the benchmark scripts (not part of the library, never run by the tests).

Every comparison runs its variants in one process, interleaved: each repeat times every variant once
(``number`` calls in a row, after ``warmup`` untimed calls) in a fresh random order, so drift in clock
speed or cache state hits all variants alike, and no variant always runs right after the same other one
(code that follows an identical call runs a few percent faster: a fixed rotation biases the ratios). Garbage collection is off while timing (as in
``timeit``), except where the garbage is part of the cost (config validation). The reported time of a variant is the median over repeats of the per-call time; a ratio is the
median over repeats of the two variants' times in the same repeat (paired, so drift between repeats cancels).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

import torch

__all__ = [
    "THREADS",
    "Section",
    "Timings",
    "compare",
    "fmt_ms",
    "fmt_ratio",
    "machine_line",
    "markdown_table",
    "parse_quick",
    "setup_threads",
]

#: Intra-op threads used by every benchmark (the development machine has 2 cores).
THREADS = 2


def setup_threads() -> None:
    """Use :data:`THREADS` intra-op threads (and one inter-op thread) in this process."""
    torch.set_num_threads(THREADS)
    with contextlib.suppress(RuntimeError):  # already set (or parallel work already started)
        torch.set_num_interop_threads(1)


def cpu_model() -> str:
    """The CPU's model name, from ``/proc/cpuinfo`` where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """One line naming the machine: CPU model, cores, torch version, threads, Python."""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} intra-op threads, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )


def today() -> str:
    return datetime.date.today().isoformat()


class Timings(dict[str, float]):
    """Median seconds per call of each variant (a dict), plus :meth:`ratio` from the paired samples."""

    def __init__(self, samples: Mapping[str, Sequence[float]]) -> None:
        super().__init__({name: statistics.median(values) for name, values in samples.items()})
        self.samples = {name: list(values) for name, values in samples.items()}

    def ratio(self, name: str, reference: str) -> float:
        """Median over repeats of ``name``'s time over ``reference``'s time *in the same repeat*.

        Both were timed back to back, so a repeat's ratio is free of the drift between repeats (clock
        speed, other tenants of the host) that the ratio of the two medians still carries.
        """
        pairs = zip(self.samples[name], self.samples[reference], strict=True)
        return statistics.median(ours / ref for ours, ref in pairs)


def compare(
    variants: Mapping[str, Callable[[], object]],
    *,
    repeats: int,
    number: int,
    warmup: int = 3,
    disable_gc: bool = True,
) -> Timings:
    """Time every variant, interleaved (see the module docstring).

    Garbage collection is off while timing, unless ``disable_gc=False``: for work whose cost includes the
    garbage it leaves (building OmegaConf containers, whose nodes point to their parents).
    """
    names = list(variants)
    for name in names:
        for _ in range(warmup):
            variants[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    gc_was_enabled = gc.isenabled()
    gc.collect()
    if disable_gc:
        gc.disable()  # as timeit does: a collection would land on whichever variant happens to allocate then
    try:
        shuffle = random.Random(0).shuffle
        order = list(names)
        for _ in range(repeats):
            shuffle(order)  # not a rotation: then each variant would always follow the same one
            for name in order:
                fn = variants[name]
                start = clock()
                for _ in range(number):
                    fn()
                samples[name].append((clock() - start) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timings(samples)


def fmt_ms(seconds: float) -> str:
    """``seconds`` in milliseconds with 3 significant digits (µs below 0.1 ms, s from 1 s)."""
    if seconds < 0:
        return "-" + fmt_ms(-seconds)
    if seconds < 1e-4:
        return f"{seconds * 1e6:.3g} µs"
    if seconds >= 1.0:
        return f"{seconds:.3g} s"
    return f"{seconds * 1e3:.3g} ms"


def fmt_ratio(ratio: float, target: float | None = None) -> str:
    """``1.03x``, and ``(target <= 1.05: ok)`` / ``MISSED`` when a target is given."""
    text = f"{ratio:.3f}x"
    if target is not None:
        text += " ok" if ratio <= target else f" MISSED (target {target:g})"
    return text


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


class Section:
    """A titled piece of ``docs/performance.md``: an intro line and a markdown body (usually a table).

    ``summary`` holds the section's headline rows ``[benchmark, result, target]`` for the README's table.
    """

    def __init__(self, title: str, intro: str, body: str, summary: Sequence[Sequence[str]] = ()) -> None:
        self.title = title
        self.intro = intro
        self.body = body
        self.summary = [list(row) for row in summary]

    def markdown(self) -> str:
        return f"## {self.title}\n\n{self.intro}\n\n{self.body}\n"


def parse_quick(description: str) -> bool:
    """Parse the scripts' only option, ``--quick`` (few repeats: a smoke run in seconds)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run of a few seconds")
    return bool(parser.parse_args().quick)
