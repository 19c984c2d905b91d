"""Routed reads (an entry's ``inputs:``) against unrouted ones, in the same run.

Two measurements, each a ratio of routed over unrouted time in the same repeat:

- ``read``: one ``Loss.read`` of a flat key (``model_output["aux_scores"]`` routed from ``scores``, against
  ``model_output["scores"]``), and of a nested key (``heads.aux``, routed, against ``scores``);
- ``forward``: a collection of two ``cross_entropy`` terms, the second routed to ``aux_scores``/``answers``,
  against the same two terms both reading ``scores``/``targets`` (same tensors, same math), forward only.

Run: ``python benchmarks/bench_routes.py [--quick]``. Not part of ``run_all.py`` (no README table).
"""

from __future__ import annotations

import torch
from _timing import compare, fmt_ms, fmt_ratio, machine_line, markdown_table, parse_quick, setup_threads

from typed_losses import LossCollection
from typed_losses.losses.classification import SCORES


def main(quick: bool) -> None:
    setup_threads()
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(32, 10, generator=generator)
    targets = torch.randint(0, 10, (32,), generator=generator)
    sample_list = {"targets": targets, "answers": targets}
    model_output = {"scores": scores, "aux_scores": scores, "heads": {"aux": scores}}

    plain = LossCollection.from_config(["cross_entropy", {"type": "cross_entropy", "name": "aux"}])
    routed = LossCollection.from_config(
        [
            "cross_entropy",
            {"type": "cross_entropy", "name": "aux", "inputs": {"scores": "aux_scores", "targets": "answers"}},
        ]
    )
    nested = LossCollection.from_config([{"type": "cross_entropy", "inputs": {"scores": "heads.aux"}}])
    unrouted_loss, routed_loss, nested_loss = plain.losses[1], routed.losses[1], nested.losses[0]
    assert torch.equal(routed(sample_list, model_output).total, plain(sample_list, model_output).total)

    repeats, number = (5, 200) if quick else (201, 2000)
    reads = compare(
        {
            "unrouted": lambda: unrouted_loss.read(SCORES, sample_list, model_output),
            "routed": lambda: routed_loss.read(SCORES, sample_list, model_output),
            "routed nested": lambda: nested_loss.read(SCORES, sample_list, model_output),
        },
        repeats=repeats,
        number=number,
    )
    repeats, number = (5, 20) if quick else (101, 200)
    forwards = compare(
        {"unrouted": lambda: plain(sample_list, model_output), "routed": lambda: routed(sample_list, model_output)},
        repeats=repeats,
        number=number,
    )
    rows = [
        [
            "read, flat key",
            fmt_ms(reads["unrouted"]),
            fmt_ms(reads["routed"]),
            fmt_ratio(reads.ratio("routed", "unrouted")),
        ],
        [
            "read, nested key (heads.aux)",
            fmt_ms(reads["unrouted"]),
            fmt_ms(reads["routed nested"]),
            fmt_ratio(reads.ratio("routed nested", "unrouted")),
        ],
        [
            "2 x cross_entropy forward (B=32, C=10)",
            fmt_ms(forwards["unrouted"]),
            fmt_ms(forwards["routed"]),
            fmt_ratio(forwards.ratio("routed", "unrouted")),
        ],
    ]
    print(machine_line())
    print(markdown_table(["measurement", "unrouted", "routed", "routed / unrouted"], rows))


if __name__ == "__main__":
    main(parse_quick(__doc__ or ""))
