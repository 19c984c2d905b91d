"""The binary family: ``logit_bce``, ``triple_logit_bce``, ``bce``, ``m4c_decoding_bce_with_mask``,
``attention_supervision``.

Expected numbers here are hand-computed (closed forms in ln 2); MMF's own outputs on literal inputs live in
the family's cases (``tests/helpers/cases.py``), with the compile and no-sync runs. The ``mmf_*`` functions
re-implement MMF's algorithms element by element for parity on random inputs.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from helpers.checks import (
    PROPERTY,
    RTOL,
    assert_each_key_required,
    assert_value,
    build,
    scalar,
)
from helpers.mmf_inputs import ATT, MASK, SM, SUP, TM, S, T, rand, randn
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import DictConfig
from torch import Tensor

from typed_losses import REGISTRY, LossCollection, LossConfigError, LossInputError, LossShapeError, load_yaml_text
from typed_losses.losses import (
    AttentionSupervisionLoss,
    AttentionSupervisionParams,
    LogitBinaryCrossEntropyLoss,
    LogitBinaryCrossEntropyParams,
)

LN2 = math.log(2.0)
FAMILY = [spec.name for spec in REGISTRY if spec.loss_class.__module__ == "typed_losses.losses.binary"]


# -- independent references -------------------------------------------------------------------------------
# MMF's algorithms step by step (branch selection, scaling, masking, the count clamp, weighting), accumulated
# in float64. Each element's BCE is torch's float32 primitive, as in MMF: float32 BCE of a confident
# prediction is only ~1e-4 accurate relative to exact math, so an all-float64 reference would test torch's
# rounding, not parity.


def _bce_logit(x: float, t: float) -> float:
    return float(F.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t), reduction="none"))


def _bce_prob(p: float, t: float, weight: float = 1.0) -> float:
    """``-w (t log p + (1 - t) log(1 - p))`` with each log clamped at -100 (torch's float32 primitive)."""
    value = F.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none")
    return weight * float(value)


def mmf_logit_bce(scores: Tensor, targets: Tensor) -> float:
    pairs = zip(scores.flatten().tolist(), targets.flatten().tolist(), strict=True)
    return sum(_bce_logit(x, t) for x, t in pairs) / scores.numel() * targets.size(1)


def mmf_triple_logit_bce(scores: Tensor, targets: Tensor) -> float:
    if scores.dim() == 3:
        per_branch = [mmf_logit_bce(scores[:, k], targets) / targets.size(1) for k in range(3)]
        return sum(per_branch) * targets.size(-1)
    return mmf_logit_bce(scores, targets) / targets.size(1) * targets.size(-1)


def mmf_bce(probabilities: Tensor, targets: Tensor) -> float:
    pairs = zip(probabilities.flatten().tolist(), targets.flatten().tolist(), strict=True)
    return sum(_bce_prob(p, t) for p, t in pairs) / probabilities.numel() * targets.size(1)


def mmf_m4c(scores: Tensor, targets: Tensor, mask: Tensor) -> float:
    total, count = 0.0, 0.0
    for b in range(scores.size(0)):
        for step in range(scores.size(1)):
            m = float(mask[b, step])
            count += m
            for c in range(scores.size(2)):
                total += m * _bce_logit(float(scores[b, step, c]), float(targets[b, step, c]))
    return total / max(count, 1.0)


def mmf_attention_supervision(attention: Tensor, supervision: Tensor) -> float:
    pairs = zip(attention.flatten().tolist(), supervision.float().flatten().tolist(), strict=True)
    return sum(_bce_prob(p, w, weight=w) for p, w in pairs) / attention.numel() * supervision.size(1)


# -- logit_bce -------------------------------------------------------------------------------------------


def test_logit_bce_hand_computed() -> None:
    loss = build("logit_bce")
    # BCE of logit 0 is ln 2 per element: sum over C classes, mean over B.
    assert_value(loss({"targets": torch.ones(2, 3)}, {"scores": torch.zeros(2, 3)}), 3 * LN2)
    # B x T x C: mean times size(1) = T, i.e. sum / (B * C).
    assert_value(loss({"targets": torch.ones(2, 4, 3)}, {"scores": torch.zeros(2, 4, 3)}), 4 * LN2)


@PROPERTY
@given(b=st.integers(1, 5), c=st.integers(1, 6), t=st.sampled_from([0, 3]), seed=st.integers(0, 2**16))
def test_logit_bce_matches_mmf_reference(b: int, c: int, t: int, seed: int) -> None:
    shape = (b, t, c) if t else (b, c)
    scores, targets = 3 * randn(seed, *shape), rand(seed + 1, *shape)
    value = build("logit_bce")({"targets": targets}, {"scores": scores})
    assert_value(value, mmf_logit_bce(scores, targets), atol=1e-7)


def test_logit_bce_errors() -> None:
    loss = build("logit_bce")
    assert_each_key_required(loss, {"targets": T}, {"scores": S})
    with pytest.raises(LossShapeError, match=r"\(3, 4\) and .*\(1, 4\) must have the same shape"):
        loss({"targets": T[:1]}, {"scores": S})  # MMF broadcasts this silently
    with pytest.raises(LossShapeError, match="float tensor"):
        loss({"targets": T.long()}, {"scores": S})


# -- triple_logit_bce ------------------------------------------------------------------------------------


def test_triple_logit_bce_hand_computed() -> None:
    loss = build("triple_logit_bce")
    # Three branches of ln 2 each, times C = 4; a fourth branch is ignored.
    scores = torch.cat([torch.zeros(2, 3, 4), torch.full((2, 1, 4), 50.0)], dim=1)
    assert_value(loss({"targets": torch.ones(2, 4)}, {"scores": scores}), 12 * LN2)
    assert_value(loss({"targets": torch.ones(2, 4)}, {"scores": torch.zeros(2, 4)}), 4 * LN2)


@PROPERTY
@given(b=st.integers(1, 4), k=st.integers(3, 4), c=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_triple_logit_bce_matches_mmf_reference(b: int, k: int, c: int, seed: int) -> None:
    scores, targets = 2 * randn(seed, b, k, c), rand(seed + 1, b, c)
    value = build("triple_logit_bce")({"targets": targets}, {"scores": scores})
    assert_value(value, mmf_triple_logit_bce(scores, targets), atol=1e-7)


@PROPERTY
@given(b=st.integers(1, 4), c=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_triple_logit_bce_of_equal_branches_is_three_logit_bce(b: int, c: int, seed: int) -> None:
    scores, targets = randn(seed, b, c), rand(seed + 1, b, c)
    triple = build("triple_logit_bce")({"targets": targets}, {"scores": torch.stack([scores] * 3, dim=1)})
    single = build("logit_bce")({"targets": targets}, {"scores": scores})
    torch.testing.assert_close(scalar(triple), 3 * scalar(single), rtol=RTOL, atol=1e-7)


def test_triple_logit_bce_errors() -> None:
    loss = build("triple_logit_bce")
    assert_each_key_required(loss, {"targets": T}, {"scores": torch.stack([S] * 3, dim=1)})
    with pytest.raises(LossShapeError, match="at least 3 branches"):
        loss({"targets": T}, {"scores": torch.stack([S] * 2, dim=1)})
    with pytest.raises(LossShapeError, match="B x K x C scores need B x C targets"):
        loss({"targets": T[:, :3]}, {"scores": torch.stack([S] * 3, dim=1)})
    with pytest.raises(LossShapeError, match="same shape"):
        loss({"targets": T[:, :3]}, {"scores": S})


# -- bce -------------------------------------------------------------------------------------------------


def test_bce_hand_computed() -> None:
    loss = build("bce")
    assert_value(loss({"targets": torch.ones(2, 3)}, {"scores": torch.full((2, 3), 0.5)}), 3 * LN2)
    # log(0) is clamped at -100: elements 100 and 0, mean 50, times C = 2.
    assert_value(loss({"targets": torch.ones(1, 2)}, {"scores": torch.tensor([[0.0, 1.0]])}), 100.0)


@PROPERTY
@given(b=st.integers(1, 5), c=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_bce_matches_mmf_reference_and_logit_bce(b: int, c: int, seed: int) -> None:
    logits, targets = 2 * randn(seed, b, c), rand(seed + 1, b, c)
    value = build("bce")({"targets": targets}, {"scores": torch.sigmoid(logits)})
    assert_value(value, mmf_bce(torch.sigmoid(logits), targets), atol=1e-7)
    torch.testing.assert_close(
        value, build("logit_bce")({"targets": targets}, {"scores": logits}), rtol=1e-5, atol=1e-6
    )


def test_bce_errors() -> None:
    loss = build("bce")
    assert_each_key_required(loss, {"targets": T}, {"scores": S.sigmoid()})
    with pytest.raises(LossShapeError, match="same shape"):
        loss({"targets": T.t()}, {"scores": S.sigmoid()})


# -- m4c_decoding_bce_with_mask --------------------------------------------------------------------------


def test_m4c_hand_computed() -> None:
    loss = build("m4c_decoding_bce_with_mask")
    scores, targets = torch.zeros(1, 2, 2), torch.ones(1, 2, 2)
    # One kept step of two classes at ln 2 each, divided by one kept step.
    for mask in (torch.tensor([[1.0, 0.0]]), torch.tensor([[1, 0]]), torch.tensor([[True, False]])):
        assert_value(loss({"targets": targets, "train_loss_mask": mask}, {"scores": scores}), 2 * LN2)
    assert_value(loss({"targets": targets, "train_loss_mask": torch.zeros(1, 2)}, {"scores": scores}), 0.0)


@PROPERTY
@given(
    b=st.integers(1, 4),
    steps=st.integers(1, 5),
    c=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    density=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_m4c_matches_mmf_reference(b: int, steps: int, c: int, seed: int, density: float) -> None:
    scores, targets = 2 * randn(seed, b, steps, c), (rand(seed + 1, b, steps, c) > 0.5).float()
    mask = (rand(seed + 2, b, steps) < density).float()
    value = build("m4c_decoding_bce_with_mask")({"targets": targets, "train_loss_mask": mask}, {"scores": scores})
    assert_value(value, mmf_m4c(scores, targets, mask), atol=1e-7)


def test_m4c_errors() -> None:
    loss = build("m4c_decoding_bce_with_mask")
    assert_each_key_required(loss, {"targets": TM, "train_loss_mask": MASK}, {"scores": SM})
    with pytest.raises(LossShapeError, match=r"train_loss_mask'\] \(1, 3\) must agree"):
        loss({"targets": TM, "train_loss_mask": MASK[:1]}, {"scores": SM})  # MMF broadcasts this silently
    with pytest.raises(LossShapeError, match="rank 2"):
        loss({"targets": TM, "train_loss_mask": MASK[..., None]}, {"scores": SM})
    with pytest.raises(LossShapeError, match="rank 3"):
        loss({"targets": TM[0], "train_loss_mask": MASK}, {"scores": SM[0]})


# -- attention_supervision -------------------------------------------------------------------------------


def _attention_batch(att: Tensor, sup: Tensor) -> tuple[dict[str, object], dict[str, object]]:
    return {"info": {"attention_supervision": sup}}, {"attentions": [att]}


def test_attention_supervision_hand_computed() -> None:
    loss = build("attention_supervision")
    # Only the supervised position counts: -log 0.5 summed over N, mean over B.
    for sup in (torch.tensor([[1.0, 0.0]]), torch.tensor([[1, 0]])):
        assert_value(loss(*_attention_batch(torch.tensor([[0.5, 0.25]]), sup)), LN2)


@PROPERTY
@given(b=st.integers(1, 4), n=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_attention_supervision_matches_mmf_reference(b: int, n: int, seed: int) -> None:
    att = torch.softmax(randn(seed, b, n), dim=1)
    sup = (rand(seed + 1, b, n) > 0.5).float()
    value = build("attention_supervision")(*_attention_batch(att, sup))
    assert_value(value, mmf_attention_supervision(att, sup), atol=1e-7)


def test_attention_supervision_errors() -> None:
    loss = build("attention_supervision")
    sample_list, model_output = _attention_batch(ATT, SUP)
    assert_each_key_required(loss, sample_list, model_output)
    with pytest.raises(LossInputError) as info:
        loss({"info": {}}, model_output)
    assert info.value.key == "attention_supervision" and "info" in str(info.value)
    with pytest.raises(LossShapeError, match="non-empty list of attention maps"):
        loss(sample_list, {"attentions": []})
    with pytest.raises(LossShapeError, match="non-empty list of attention maps"):
        loss(sample_list, {"attentions": ATT})  # a bare map, not a list of maps
    with pytest.raises(LossShapeError, match=r"must have the same shape \(attentions\[0\]\)"):
        loss(sample_list, {"attentions": [ATT[:, :2]]})


# -- config ------------------------------------------------------------------------------------------------


def test_config_mmf_yaml_list_and_mapping_forms() -> None:
    # movie_mcan, m4c and ViLT configs, in MMF's own spelling.
    text = """
movie_mcan:
  losses:
  - type: triple_logit_bce
m4c:
  losses:
  - type: m4c_decoding_bce_with_mask
vilt:
  losses:
    test_mlp: logit_bce
pythia:
  losses:
  - logit_bce
  - {type: bce, params: {}}
  - type: attention_supervision
"""
    cfg = load_yaml_text(text)
    assert isinstance(cfg, DictConfig)
    movie = LossCollection.from_config(cfg["movie_mcan"]["losses"])
    assert movie.names == ("triple_logit_bce",)
    m4c = LossCollection.from_config(cfg["m4c"]["losses"])
    assert_value(m4c({"targets": TM, "train_loss_mask": MASK}, {"scores": SM}).total, 0.8230876922607422)
    vilt = LossCollection.from_config(cfg["vilt"]["losses"])
    assert vilt.names == ("test_mlp",)
    assert isinstance(vilt["test_mlp"], LogitBinaryCrossEntropyLoss)
    assert_value(vilt({"targets": T}, {"scores": S}).terms["test_mlp"], 3.5410454273223877)
    pythia = LossCollection.from_config(cfg["pythia"]["losses"])
    assert pythia.names == ("logit_bce", "bce", "attention_supervision")
    assert isinstance(pythia["attention_supervision"], AttentionSupervisionLoss)
    assert pythia["attention_supervision"].params == AttentionSupervisionParams()


@pytest.mark.parametrize("name", FAMILY)
def test_config_params_are_empty(name: str) -> None:
    with pytest.raises(LossConfigError, match="unknown param 'weight' for .*takes no params"):
        LossCollection.from_config([{"type": name, "params": {"weight": 1.0}}])
    assert LossCollection([build(name).params]).names == (name,)
    assert LogitBinaryCrossEntropyParams() == build("logit_bce").params
