"""``typed-losses list NAME...``, ``--version`` and counts in the right number."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers.cli import LOAD_HINT

from typed_losses.cli import main


def run(*argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue().splitlines()


def test_list_names_shows_only_those_in_the_order_given() -> None:
    assert run("list", "mse", "bce_kl", "mse") == (
        0,
        [
            "mse  (MSELoss, params MSEParams)",
            "    Mean squared error between scores and targets over all elements (`nn.MSELoss()`).",
            "    params: none",
            "bce_kl  (BinaryCrossEntropyKlLoss, params BinaryCrossEntropyKlParams)",
            "    Two terms: `kl` = weight_softmax x softmax_kldiv and `bce` = logit_bce.",
            "    weight_softmax: float = required [>= 0]  - weight of the softmax KL term (required)",
        ],
    )


def test_list_of_unknown_names_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list", "mse", "msee", "mc_focal") == (2, [])
    assert capsys.readouterr().err.splitlines() == [
        "typed-losses: error: unknown loss 'msee' (did you mean 'mse'?)",
        f"typed-losses: error: unknown loss 'mc_focal' ({LOAD_HINT})",
    ]


def test_counts_are_singular_for_one(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text("losses:\n  - mse\n")
    two = tmp_path / "two.yaml"
    two.write_text("a:\n  losses: [mse]\nb:\n  losses: [mse, {type: logit_bce, name: b}]\n")
    assert run("validate", str(one), str(two)) == (
        0,
        [f"{one}: ok: 1 loss term in 1 `losses` list", f"{two}: ok: 3 loss terms in 2 `losses` lists"],
    )


def test_the_demo_counts_one_term_in_the_singular(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("losses:\n  - type: in_batch_hinge\n    name: hinge\n")
    code, lines = run("demo", "--config", str(config), "--out", str(tmp_path / "out"))
    assert (code, lines[0]) == (1, f"{config}: ok: 1 loss term: hinge")
