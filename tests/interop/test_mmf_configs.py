"""Real MMF configs (``mmf_configs/``, copied from MMF unchanged) validate and build unchanged."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from helpers.checks import RTOL
from helpers.mmf_inputs import S, T, Y

from typed_losses import load_yaml
from typed_losses.cli import main
from typed_losses.mmf import MMFLosses

CONFIGS = Path(__file__).resolve().parent / "mmf_configs"


def test_every_copied_mmf_config_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CONFIGS)
    out = io.StringIO()
    assert main(["validate", *sorted(p.name for p in CONFIGS.glob("*.yaml"))], out=out) == 0
    assert out.getvalue().splitlines() == [
        "mmf_transformer__hateful_memes__defaults.yaml: ok: 1 loss term in 1 `losses` list",
        "models__alignment__defaults.yaml: ok: 1 loss term in 1 `losses` list",
        "models__m4c__defaults.yaml: ok: 1 loss term in 1 `losses` list",
        "models__mmbt__classification.yaml: ok: 1 loss term in 1 `losses` list",
        "models__vilt__defaults.yaml: ok: 1 loss term in 1 `losses` list",
        "uniter__vqa2__defaults.yaml: ok: 1 loss term in 1 `losses` list",
    ]


def test_mmf_model_losses_drop_in() -> None:
    mmbt = load_yaml(CONFIGS / "models__mmbt__classification.yaml")
    losses = MMFLosses(mmbt.model_config.mmbt.losses)
    batch = {"targets": Y, "dataset_type": "train", "dataset_name": "hateful_memes"}
    ((key, value),) = losses(batch, {"scores": S}).items()
    assert key == "train/hateful_memes/cross_entropy"
    expected = torch.tensor([0.5061875581741333], dtype=torch.float64)  # nn.CrossEntropyLoss on S, Y
    torch.testing.assert_close(value.double(), expected, rtol=RTOL, atol=0)

    vilt = load_yaml(CONFIGS / "models__vilt__defaults.yaml")
    batch = {"targets": T, "dataset_type": "val", "dataset_name": "vqa2"}
    keyed = MMFLosses(vilt.model_config.vilt.losses)(batch, {"scores": S})
    assert list(keyed) == ["val/vqa2/test_mlp"]  # MMF's ViLT names it by type: val/vqa2/logit_bce
    assert float(keyed["val/vqa2/test_mlp"]) == pytest.approx(3.5410454273223877, rel=RTOL)
