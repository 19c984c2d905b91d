"""Each catalog loss alone (forward + backward) against a reference written by hand with torch ops.

The losses, their params, their inputs and the references are the cases of the tests
(``tests/helpers/cases.py``): one place for each loss, shared by its parity, compile and no-sync tests. The
references compute the same number directly with ``torch`` / ``torch.nn.functional`` (they never call
``typed_losses.functional``, which would measure nothing). Sizes: VQA (B=256, C=3129 answers) for the losses
on scores and targets; for losses whose natural inputs are not B x C scores, a realistic size of their model
(listed in the table). Run: ``python benchmarks/bench_catalog.py [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from _timing import Section, compare, fmt_ms, fmt_ratio, machine_line, markdown_table, parse_quick, setup_threads
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the cases live with the tests

from helpers.cases import CASES, leaves

from typed_losses import LossCollection
from typed_losses.loss import Loss

TARGET = 1.05
Batch = dict[str, Any]


def _total(value: Tensor | dict[str, Tensor]) -> Tensor:
    if isinstance(value, Tensor):
        return value
    parts = list(value.values())
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def run(quick: bool) -> Section:
    setup_threads()
    rows = []
    ratios = []
    noises: list[float] = []
    for name, case in CASES.items():
        sample_list, model_output = case.large()
        inputs = leaves(model_output)
        loss: Loss[Any] = LossCollection.from_config([{"type": name, "params": dict(case.params)}]).losses[0]

        def reference(case: Any = case, sample_list: Batch = sample_list, model_output: Batch = model_output) -> Tensor:
            result: Tensor = case.expected(sample_list, model_output)
            return result

        torch.testing.assert_close(_total(loss(sample_list, model_output)), reference(), rtol=1e-4, atol=1e-5)

        def ours(
            loss: Loss[Any] = loss,
            sample_list: Batch = sample_list,
            model_output: Batch = model_output,
            inputs: list[Tensor] = inputs,
        ) -> None:
            _total(loss(sample_list, model_output)).backward()
            for x in inputs:
                x.grad = None

        def hand(reference: Callable[[], Tensor] = reference, inputs: list[Tensor] = inputs) -> None:
            reference().backward()
            for x in inputs:
                x.grad = None

        # Enough calls per sample for about 5 ms (small losses take well under a millisecond a call).
        start = time.perf_counter()
        hand()
        number = 1 if quick else max(1, round(0.005 / max(time.perf_counter() - start, 1e-6)))
        # "hand again" is the same function as "hand": its ratio is this run's noise floor for this loss.
        times = compare(
            {"hand": hand, "hand again": hand, "typed_losses": ours},
            repeats=3 if quick else 61,
            number=number,
            warmup=1 if quick else 3,
        )
        ratio = times.ratio("typed_losses", "hand")
        noise = times.ratio("hand again", "hand")
        ratios.append(ratio)
        noises.append(abs(noise - 1.0))
        rows.append(
            [
                f"`{name}`",
                case.size,
                fmt_ms(times["hand"]),
                fmt_ms(times["typed_losses"]),
                fmt_ratio(ratio, TARGET),
                f"{noise:.3f}x",
            ]
        )
        print(
            f"{name:32s} hand {fmt_ms(times['hand']):>10s}  typed_losses {fmt_ms(times['typed_losses']):>10s}  "
            f"{ratio:.3f}x  (hand vs hand {noise:.3f}x)"
        )
    table = markdown_table(["loss", "inputs", "by hand", "typed_losses", "ratio", "noise: hand vs itself"], rows)
    intro = (
        "Each catalog loss alone, forward + backward, built from a config and called like the collection calls "
        "it, against the same number computed by hand with torch ops (`benchmarks/bench_catalog.py`). "
        f"Target: <= {TARGET}x. The last column times the hand-written reference against itself in the same "
        "run: how far a ratio strays with no difference at all. Each call of a loss module carries a fixed cost "
        "(the `nn.Module` call, the checks of its declared inputs: about 10-20 µs on the 2-core machine above), "
        "a few percent only for the losses that take under a millisecond."
    )
    within = sum(r <= TARGET for r in ratios)
    summary = [
        [
            "every catalog loss vs hand-written (VQA-sized inputs)",
            f"median {statistics.median(ratios):.3f}x, max {max(ratios):.3f}x; {within} of {len(ratios)} within "
            f"target (noise: hand vs itself strays up to {max(noises):.1%})",
            f"<= {TARGET:g}x",
        ]
    ]
    return Section("Each catalog loss against a hand-written reference", intro, table, summary)


if __name__ == "__main__":
    section = run(parse_quick(__doc__ or ""))
    print(machine_line())
    print(section.markdown())
