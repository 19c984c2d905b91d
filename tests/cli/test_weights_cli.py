"""The command line on weights that change during training: ``list`` shows the weight kinds, ``show`` the
fields of a weight kind with their origins, ``validate`` reports weight mistakes."""

from __future__ import annotations

import io
from pathlib import Path

from typed_losses.cli import main

CONFIG = """\
training:
  warmup: 300
losses:
  - type: mse
    weight: {type: linear, start: 0.0, end: 1.0, steps: "${training.warmup}"}
  - type: cos_emb_loss
    weight: 0.5
"""


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_list_shows_the_weight_kinds_after_the_losses() -> None:
    code, text = run("list")
    assert code == 0
    kinds = text.split("\n\nweight kinds ")[1].splitlines()
    assert kinds[0] == "(`weight: {type: KIND, ...}`; a constant weight is a finite number >= 0 (default 1.0)):"
    assert [line.split("  (")[0] for line in kinds if not line.startswith(" ")][1:] == [
        "cosine",
        "linear",
        "step",
        "uncertainty",
    ]


def test_list_names_a_weight_kind() -> None:
    code, text = run("list", "uncertainty")
    assert code == 0
    assert text.splitlines() == [
        "weight kinds (`weight: {type: KIND, ...}`; a constant weight is a finite number >= 0 (default 1.0)):",
        "uncertainty  (UncertaintyWeighting, params UncertaintyWeight)",
        "    Learned (uncertainty) weight: the term adds `exp(-s) * term + s`; `s` is a trained log-variance.",
        "    init: float = 0.0  - the initial log-variance s (the weight starts at exp(-init))",
    ]


def test_show_gives_each_field_of_a_weight_kind_its_origin(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(CONFIG)
    code, text = run("show", str(path), "--format", "plain")
    assert code == 0
    f = str(path)
    assert text.splitlines() == [
        f"{f}: losses",
        "  term          setting       value         from",
        f"  mse           type          mse           {f}:4",
        "                name          mse           default (the type)",
        f"                weight.type   linear        {f}:5",
        f"                weight.start  0.0           {f}:5",
        f"                weight.end    1.0           {f}:5",
        f"                weight.steps  300           interpolation ${{training.warmup}} ({f}:5) -> training.warmup ({f}:2)",
        "                weight.begin  0             default",
        f"  cos_emb_loss  type          cos_emb_loss  {f}:6",
        "                name          cos_emb_loss  default (the type)",
        f"                weight        0.5           {f}:7",
    ]


def test_validate_reports_a_weight_mistake_at_its_position(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(CONFIG.replace("type: linear", "type: linaer"))
    code, text = run("validate", str(path))
    assert code == 1
    assert f"{path}:5:20: error: losses[0].weight.type: unknown weight kind 'linaer' (did you mean 'linear'?)" in text
