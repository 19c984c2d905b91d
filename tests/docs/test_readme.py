"""The README's quickstart runs as written, and its sample error output is what the library prints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers.markdown import ROOT, code_blocks, compile_block

from typed_losses import LossCollection, LossConfigError, load_yaml

README = ROOT / "README.md"


def blocks(language: str) -> list[str]:
    return [block.code for block in code_blocks(README, language)]


@pytest.fixture
def focal_registered(clean_registry: None) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile_block(code_blocks(README, "python")[0], README), namespace)
    return namespace


def test_quickstart_config_builds_and_runs(focal_registered: dict[str, object], tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(blocks("yaml")[0])
    losses = LossCollection.from_config(load_yaml(config).model_config.my_model.losses)
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(4, 5, generator=generator)
    targets = (torch.rand(4, 5, generator=generator) > 0.5).float()
    output = losses({"targets": targets}, {"scores": scores})
    assert list(output.terms) == ["focal", "bce_kl/kl", "bce_kl/bce", "answer_ce"]
    expected = sum((0.5 if name.startswith("bce_kl") else 1.0) * value.mean() for name, value in output.terms.items())
    torch.testing.assert_close(output.total, expected)


def test_quickstart_error_sample_is_what_the_library_prints(
    focal_registered: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = (
        blocks("yaml")[0]
        .replace("gamma: 1.5", "gama: 1.5")
        .replace("weight: 0.5 ", "weight: -0.5")
        .replace("          weight_softmax: 0.5\n", "")
    )
    monkeypatch.chdir(tmp_path)
    Path("config.yaml").write_text(broken)
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(load_yaml("config.yaml").model_config.my_model.losses)
    sample = blocks("text")[0].strip().splitlines()
    assert str(info.value).splitlines() == sample
