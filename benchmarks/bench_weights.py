"""The per-step cost of a weight that changes during training, against a fixed one and against hand-written code.

The config is the 3-term one of ``bench_collection.py``, at B=32, C=10 (the target's size) and at the VQA size
(B=256, C=3129), with the weight of ``softmax_kldiv``

- (a) fixed: ``weight: 0.5``;
- (b) a schedule: ``weight: {type: linear, start: 0.0, end: 0.5, steps: 1000}``;
- (c) learned: ``weight: {type: uncertainty}`` (the term adds ``exp(-s) * kl + s``).

A step is what a training loop does with the collection: forward, ``.backward()`` of the total, gradients reset
(``scores.grad``, and the log-variance's for (c): ``optimizer.zero_grad()``), and ``collection.step()``. Each
variant is also written by hand (the same math with ``torch.nn.functional``; the schedule as a Python float
from a Python counter, the learned weight as a tensor ``s``): "(c) by hand over (a) by hand" is what the
learned weight's math costs, whatever computes it. Run: ``python benchmarks/bench_weights.py [--quick]``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from _timing import (
    Section,
    Timings,
    compare,
    fmt_ms,
    fmt_ratio,
    machine_line,
    markdown_table,
    parse_quick,
    setup_threads,
)
from bench_collection import inputs
from torch import Tensor

from typed_losses import LossCollection

TARGET = 1.05
#: (label, batch, classes, the target of (b)/(a) and (c)/(a), or None: measured only)
SIZES: tuple[tuple[str, int, int, float | None], ...] = (("small", 32, 10, TARGET), ("VQA", 256, 3129, None))
STEPS = 1000  # the schedule's length: it is still ramping throughout the run
KL_WEIGHTS = {
    "fixed": 0.5,
    "linear": {"type": "linear", "start": 0.0, "end": 0.5, "steps": STEPS},
    "uncertainty": {"type": "uncertainty"},
}
LABELS = {
    "fixed": "(a) fixed `weight: 0.5`",
    "linear": "(b) `{type: linear, start: 0.0, end: 0.5, steps: 1000}`",
    "uncertainty": "(c) `{type: uncertainty}`",
}
#: How the README's summary names each weight.
PHRASES = {"linear": "a linear schedule", "uncertainty": "a learned (`uncertainty`) weight"}


def config(kl_weight: object) -> list[object]:
    return ["logit_bce", {"type": "softmax_kldiv", "weight": kl_weight}, "mse"]


def terms_by_hand(scores: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``logit_bce``, ``softmax_kldiv`` and ``mse`` with ``torch.nn.functional`` (as ``bench_collection.by_hand``)."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits(scores, targets) * targets.size(1)
    row_sum = targets.sum(dim=1, keepdim=True)
    q = targets / torch.where(row_sum == 0, torch.full_like(row_sum, 1e-6), row_sum)
    kl = (torch.special.xlogy(q, q) - q * torch.nn.functional.log_softmax(scores, dim=1)).sum() / scores.size(0)
    return bce, kl, torch.nn.functional.mse_loss(scores, targets)


def measure(batch: int, classes: int, quick: bool) -> Timings:
    """Every variant's step at this size, interleaved (``hand fixed again``: the noise floor)."""
    scores, targets = inputs(batch, classes)
    sample_list, model_output = {"targets": targets}, {"scores": scores}
    collections = {kind: LossCollection.from_config(config(weight)) for kind, weight in KL_WEIGHTS.items()}
    log_variance = torch.zeros((), requires_grad=True)  # the hand-written learned weight's s
    counter = [0]  # the hand-written schedule's step

    def hand_fixed() -> Tensor:
        bce, kl, mse = terms_by_hand(scores, targets)
        return bce + 0.5 * kl + mse

    def hand_linear() -> Tensor:
        bce, kl, mse = terms_by_hand(scores, targets)
        return bce + 0.5 * min(counter[0] / STEPS, 1.0) * kl + mse

    def hand_uncertainty() -> Tensor:
        bce, kl, mse = terms_by_hand(scores, targets)
        return bce + torch.exp(-log_variance) * kl + log_variance + mse

    for kind, hand in (("fixed", hand_fixed), ("linear", hand_linear), ("uncertainty", hand_uncertainty)):
        collections[kind].set_step(500)
        counter[0] = 500
        torch.testing.assert_close(collections[kind](sample_list, model_output).total, hand())
        collections[kind].set_step(0)
    counter[0] = 0

    def ours(collection: LossCollection) -> Callable[[], None]:
        parameters = list(collection.parameters())

        def step() -> None:
            collection(sample_list, model_output).total.backward()
            scores.grad = None
            for parameter in parameters:
                parameter.grad = None
            collection.step()

        return step

    def by_hand(total: Callable[[], Tensor], *, learned: bool = False) -> Callable[[], None]:
        def step() -> None:
            total().backward()
            scores.grad = None
            if learned:
                log_variance.grad = None
            counter[0] += 1

        return step

    variants = {
        "hand fixed": by_hand(hand_fixed),
        "hand fixed again": by_hand(hand_fixed),  # the same function: this run's noise floor
        "hand linear": by_hand(hand_linear),
        "hand uncertainty": by_hand(hand_uncertainty, learned=True),
        **{kind: ours(collection) for kind, collection in collections.items()},
    }
    small = batch * classes < 10_000
    # Short repeats, many of them: each repeat's variants are timed within a few milliseconds.
    repeats = (5 if small else 2) if quick else (321 if small else 61)
    return compare(variants, repeats=repeats, number=25 if small else 1)


def run(quick: bool) -> Section:
    setup_threads()
    rows = []
    summary = []
    for size, batch, classes, target in SIZES:
        times = measure(batch, classes, quick)
        noise = times.ratio("hand fixed again", "hand fixed")
        for kind in KL_WEIGHTS:
            against_fixed = times.ratio(kind, "fixed")
            hand_against_fixed = times.ratio(f"hand {kind}", "hand fixed")
            rows.append(
                [
                    f"{size} (B={batch}, C={classes})",
                    LABELS[kind],
                    fmt_ms(times[f"hand {kind}"]),
                    fmt_ms(times[kind]),
                    f"{times.ratio(kind, f'hand {kind}'):.3f}x",
                    "-" if kind == "fixed" else fmt_ratio(against_fixed, target),
                    "-" if kind == "fixed" else f"{hand_against_fixed:.3f}x",
                    f"{noise:.3f}x",
                ]
            )
            if kind != "fixed" and target is not None:
                summary.append(
                    [
                        f"3-term `LossCollection` step with {PHRASES[kind]} vs a fixed weight (B={batch}, C={classes})",
                        f"{fmt_ratio(against_fixed)} (by hand: {hand_against_fixed:.3f}x; noise {noise:.3f}x)",
                        f"<= {target:g}x",
                    ]
                )
            print(
                f"{size} {kind}: hand {fmt_ms(times[f'hand {kind}'])}, typed_losses {fmt_ms(times[kind])}, "
                f"vs fixed {against_fixed:.3f} (by hand {hand_against_fixed:.3f}), hand vs hand {noise:.3f}"
            )
    table = markdown_table(
        [
            "size",
            "weight of `softmax_kldiv`",
            "by hand",
            "LossCollection",
            "vs by hand",
            "vs (a) fixed",
            "by hand: vs (a) by hand",
            "noise: hand vs itself",
        ],
        rows,
    )
    intro = (
        "The per-step cost (forward, backward, gradients reset, `collection.step()`) of "
        "`[logit_bce, {type: softmax_kldiv, weight: W}, mse]` with W (a) fixed, (b) a linear schedule, (c) a "
        "learned `uncertainty` weight, each against the same math written by hand (`benchmarks/bench_weights.py`). "
        f"Target: (b) and (c) <= {TARGET:g}x the time of (a) at the small size. The column before the last is what "
        "the weight's own math costs by hand (a schedule: a Python float; `uncertainty`: `exp(-s) * kl + s` "
        "and its backward); the last one times the hand-written fixed step against itself in the same run."
    )
    return Section("Weights that change during training", intro, table, summary)


if __name__ == "__main__":
    section = run(parse_quick(__doc__ or ""))
    print(machine_line())
    print(section.markdown())
