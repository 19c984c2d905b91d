"""The regression family: ``mse`` and ``cos_emb_loss``.

Expected numbers here are hand-computed; MMF's own outputs (its ``test_mse_loss`` and
``test_cosine_embedding_loss`` fixtures, exactly 0, and the literal inputs of the MMF reference) live in the
cases (``tests/helpers/cases.py``), with the compile and no-sync runs. The ``mmf_*`` functions recompute
MMF's formulas in float64.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers.checks import PROPERTY, assert_each_key_required, assert_value, build, scalar
from helpers.mmf_inputs import S, T, randn
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from typed_losses import LossCollection, LossConfigError, LossShapeError
from typed_losses.losses import CosineEmbeddingLoss, MSELoss, MSEParams


def mmf_mse(scores: Tensor, targets: Tensor) -> float:
    pairs = zip(scores.double().flatten().tolist(), targets.double().flatten().tolist(), strict=True)
    return float(sum((s - t) ** 2 for s, t in pairs)) / scores.numel()


def mmf_cos_emb(scores: Tensor, targets: Tensor) -> float:
    """``nn.CosineEmbeddingLoss()`` with y = 1: mean of 1 - cos, torch's 1e-12 added to each squared norm."""
    total = 0.0
    for s_row, t_row in zip(scores.double().tolist(), targets.double().tolist(), strict=True):
        dot = sum(a * b for a, b in zip(s_row, t_row, strict=True))
        norms = (sum(a * a for a in s_row) + 1e-12) * (sum(b * b for b in t_row) + 1e-12)
        total += 1.0 - dot / math.sqrt(norms)
    return total / scores.size(0)


def test_hand_computed() -> None:
    assert_value(build("mse")({"targets": torch.tensor([[1.0, 2.0]])}, {"scores": torch.zeros(1, 2)}), 2.5)
    # Rows: same direction (cos 1), orthogonal (cos 0), opposite (cos -1): mean of 0, 1, 2.
    scores = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    targets = torch.tensor([[3.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    assert_value(build("cos_emb_loss")({"targets": targets}, {"scores": scores}), 1.0)


@PROPERTY
@given(b=st.integers(1, 5), d=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_match_mmf_reference(b: int, d: int, seed: int) -> None:
    scores, targets = randn(seed, b, d), randn(seed + 1, b, d)
    batch = ({"targets": targets}, {"scores": scores})
    assert_value(build("mse")(*batch), mmf_mse(scores, targets), atol=1e-7)
    assert_value(build("cos_emb_loss")(*batch), mmf_cos_emb(scores, targets), atol=1e-6)


@PROPERTY
@given(b=st.integers(1, 5), d=st.integers(2, 8), seed=st.integers(0, 2**16), scale=st.floats(0.1, 10.0))
def test_cos_emb_loss_ignores_row_scale_and_is_bounded(b: int, d: int, seed: int, scale: float) -> None:
    scores, targets = randn(seed, b, d), randn(seed + 1, b, d)
    loss = build("cos_emb_loss")
    value = loss({"targets": targets}, {"scores": scores})
    scaled = loss({"targets": targets * scale}, {"scores": scores / scale})
    torch.testing.assert_close(scaled, value, rtol=1e-5, atol=1e-6)
    assert 0.0 <= float(scalar(value)) <= 2.0 + 1e-6


def test_errors() -> None:
    mse, cos = build("mse"), build("cos_emb_loss")
    assert isinstance(mse, MSELoss) and isinstance(cos, CosineEmbeddingLoss)
    for loss in (mse, cos):
        assert_each_key_required(loss, {"targets": T}, {"scores": S})
        with pytest.raises(LossShapeError, match=r"\(3, 4\) and .*\(1, 4\) must have the same shape"):
            loss({"targets": T[:1]}, {"scores": S})  # MMF broadcasts this (mse) or fails inside torch (cos)
        with pytest.raises(LossShapeError, match="float tensor"):
            loss({"targets": T.long()}, {"scores": S})
    # mse takes any rank; cos_emb_loss needs B x D.
    assert_value(mse({"targets": torch.ones(2, 2, 2)}, {"scores": torch.zeros(2, 2, 2)}), 1.0)
    with pytest.raises(LossShapeError, match="rank 2"):
        cos({"targets": T[0]}, {"scores": S[0]})


def test_config() -> None:
    collection = LossCollection.from_config(["mse", {"type": "cos_emb_loss", "weight": 0.5, "params": {}}])
    out = collection({"targets": T}, {"scores": S})
    assert_value(out.terms["mse"], 2.5643749237060547)
    assert_value(out.total, 2.5643749237060547 + 0.5 * 0.733666718006134)
    assert LossCollection([MSEParams()]).names == ("mse",)
    with pytest.raises(LossConfigError, match="unknown param 'reduction' for MSEParams"):
        LossCollection.from_config([{"type": "mse", "params": {"reduction": "sum"}}])
