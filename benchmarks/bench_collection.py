"""``LossCollection`` forward + backward against the same math written by hand with ``torch.nn.functional``.

The config is MMF's VQA-style 3-term setup on one pair of scores/targets::

    losses: [logit_bce, {type: softmax_kldiv, weight: 0.5}, mse]

at a small batch (B=32, C=10) and a VQA-sized one (B=256, C=3129). Each step: forward, ``.backward()`` of
the total, gradient reset. Run: ``python benchmarks/bench_collection.py [--quick]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from _timing import Section, compare, fmt_ms, fmt_ratio, machine_line, markdown_table, parse_quick, setup_threads
from torch import Tensor

from typed_losses import LossCollection
from typed_losses.mmf import MMFLosses

CONFIG = ["logit_bce", {"type": "softmax_kldiv", "weight": 0.5}, "mse"]
SIZES = (("small", 32, 10, 1.15), ("VQA", 256, 3129, 1.02))


def by_hand(scores: Tensor, targets: Tensor) -> Tensor:
    """The three terms written directly with ``torch.nn.functional`` and summed (the KL with ``xlogy``)."""
    bce = F.binary_cross_entropy_with_logits(scores, targets) * targets.size(1)
    row_sum = targets.sum(dim=1, keepdim=True)
    q = targets / torch.where(row_sum == 0, torch.full_like(row_sum, 1e-6), row_sum)
    kl = (torch.special.xlogy(q, q) - q * F.log_softmax(scores, dim=1)).sum() / scores.size(0)
    return bce + 0.5 * kl + F.mse_loss(scores, targets)


def inputs(batch: int, classes: int) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(batch, classes, generator=generator).requires_grad_()
    targets = (torch.rand(batch, classes, generator=generator) > 0.9).float() * 0.6
    return scores, targets


def mmf_trainer_total(losses: dict[str, Tensor]) -> Tensor:
    """What MMF's trainer optimises: the sum of the means of ``model_output["losses"]``."""
    return sum((value.mean() for value in losses.values()), torch.zeros(()))


def run(quick: bool) -> Section:
    setup_threads()
    collection = LossCollection.from_config(CONFIG)
    mmf_losses = MMFLosses(CONFIG)
    rows = []
    summary = []
    for label, batch, classes, target in SIZES:
        scores, targets = inputs(batch, classes)
        sample_list = {"targets": targets, "dataset_type": "train", "dataset_name": "vqa2"}
        model_output = {"scores": scores}
        torch.testing.assert_close(collection(sample_list, model_output).total, by_hand(scores, targets))
        torch.testing.assert_close(mmf_trainer_total(mmf_losses(sample_list, model_output)), by_hand(scores, targets))

        def ours() -> None:
            collection(sample_list, model_output).total.backward()
            scores.grad = None

        def mmf() -> None:
            mmf_trainer_total(mmf_losses(sample_list, model_output)).backward()
            scores.grad = None

        def hand() -> None:
            by_hand(scores, targets).backward()
            scores.grad = None

        small = batch * classes < 10_000
        # Short repeats, many of them: each repeat's pair is timed within a few milliseconds.
        number = 25 if small else 1
        repeats = (5 if small else 3) if quick else (321 if small else 101)
        # "hand again" is the same function as "hand": its ratio is this run's noise floor.
        times = compare(
            {"hand": hand, "hand again": hand, "typed_losses": ours, "MMFLosses": mmf},
            repeats=repeats,
            number=number,
        )
        ratio = times.ratio("typed_losses", "hand")
        noise = times.ratio("hand again", "hand")
        overhead = times["typed_losses"] - times["hand"]
        rows.append(
            [
                f"{label} (B={batch}, C={classes})",
                fmt_ms(times["hand"]),
                fmt_ms(times["typed_losses"]),
                fmt_ms(overhead) if overhead > 0 else "-",
                fmt_ratio(ratio, target),
                f"{fmt_ms(times['MMFLosses'])} ({fmt_ratio(times.ratio('MMFLosses', 'hand'))})",
                f"{noise:.3f}x",
            ]
        )
        summary.append(
            [
                f"3-term `LossCollection` vs hand-written, {label} (B={batch}, C={classes})",
                f"{fmt_ratio(ratio)} (noise: hand vs itself {noise:.3f}x)",
                f"<= {target:g}x",
            ]
        )
        print(
            f"{label}: hand {fmt_ms(times['hand'])}, typed_losses {fmt_ms(times['typed_losses'])}, ratio {ratio:.3f}, "
            f"MMFLosses {times.ratio('MMFLosses', 'hand'):.3f}, hand vs hand {noise:.3f}"
        )
    table = markdown_table(
        [
            "size",
            "by hand (F.*)",
            "LossCollection",
            "overhead",
            "ratio",
            "MMFLosses + MMF's trainer sum",
            "noise: hand vs itself",
        ],
        rows,
    )
    intro = (
        "Forward + backward of `[logit_bce, {type: softmax_kldiv, weight: 0.5}, mse]` on the same scores and "
        "targets, against the same math written by hand with `torch.nn.functional` and summed "
        "(`benchmarks/bench_collection.py`). Targets: <= 1.15x at the small batch, <= 1.02x at the VQA size "
        "(MMF's `Losses` wrapper: 2.1x and 1.10x). The last column is `typed_losses.mmf.MMFLosses`, the drop-in "
        "for MMF's `Losses`, with its per-dataset keys summed as MMF's trainer sums them. The noise column times the "
        "hand-written sum against itself in the same run."
    )
    return Section("LossCollection against hand-written math", intro, table, summary)


if __name__ == "__main__":
    section = run(parse_quick(__doc__ or ""))
    print(machine_line())
    print(section.markdown())
