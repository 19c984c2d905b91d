"""The classification family: ``nll_loss``, ``caption_cross_entropy`` (and MMF configs of ``cross_entropy``).

Expected numbers here are hand-computed; MMF's own outputs (on literal inputs and MMF's
``test_caption_cross_entropy`` fixtures, seed 1234) live in the cases (``tests/helpers/cases.py``), with the
compile and no-sync runs. ``mmf_caption_cross_entropy`` is MMF's original ``pack_padded_sequence``
algorithm, for parity with the vectorised mask on random lengths.
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
)
from helpers.mmf_inputs import SC, TC, S, T, Y, randn
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import DictConfig
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence

from typed_losses import LossCollection, LossConfigError, LossShapeError, load_yaml_text
from typed_losses.losses import CaptionCrossEntropyLoss, NLLLoss

LN2 = math.log(2.0)

# -- independent references (MMF's algorithms) -------------------------------------------------------------


def mmf_nll_loss(log_probs: Tensor, targets: Tensor) -> float:
    total = 0.0
    for lp_row, t_row in zip(log_probs.double().tolist(), targets.double().tolist(), strict=True):
        k = t_row.index(max(t_row))  # the first maximum
        total -= lp_row[k]
    return total / log_probs.size(0) * targets.size(1)


def mmf_caption_cross_entropy(scores: Tensor, targets: Tensor, caption_len: Tensor | None) -> Tensor:
    """MMF's algorithm: lengths sorted descending minus 1 (rows kept in place), pack, mean CE (float32)."""
    if caption_len is not None:
        lengths = (caption_len.sort(dim=0, descending=True).values - 1).tolist()
    else:
        lengths = [targets.size(1)] * targets.size(0)
    packed_scores = pack_padded_sequence(scores, lengths, batch_first=True).data
    packed_targets = pack_padded_sequence(targets, lengths, batch_first=True).data
    return F.cross_entropy(packed_scores, packed_targets)


# -- nll_loss --------------------------------------------------------------------------------------------


def test_nll_loss_hand_computed() -> None:
    log_probs = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    # Classes 0 and 1 (arg-max of the targets; ties take the first): (ln 2 + ln 4/3) / 2, times C = 2.
    targets = torch.tensor([[1.0, 1.0], [0.2, 0.8]])
    assert_value(build("nll_loss")({"targets": targets}, {"scores": log_probs}), LN2 + math.log(4 / 3))


@PROPERTY
@given(b=st.integers(1, 5), c=st.integers(1, 6), seed=st.integers(0, 2**16), ties=st.booleans())
def test_nll_loss_matches_mmf_reference(b: int, c: int, seed: int, ties: bool) -> None:
    log_probs = F.log_softmax(2 * randn(seed, b, c), dim=1)
    targets = torch.rand(b, c, generator=torch.Generator().manual_seed(seed + 1))
    if ties:
        targets = (targets > 0.5).float()  # many equal maxima: the first one counts
    value = build("nll_loss")({"targets": targets}, {"scores": log_probs})
    assert_value(value, mmf_nll_loss(log_probs, targets), atol=1e-6)
    expected = F.nll_loss(log_probs, targets.argmax(dim=1)) * c
    torch.testing.assert_close(value, expected, rtol=RTOL, atol=1e-7)


def test_nll_loss_errors() -> None:
    loss = build("nll_loss")
    assert isinstance(loss, NLLLoss)
    assert_each_key_required(loss, {"targets": T}, {"scores": S})
    with pytest.raises(LossShapeError, match="same shape"):
        loss({"targets": T[:, :3]}, {"scores": S})
    with pytest.raises(LossShapeError, match="rank 2"):
        loss({"targets": Y}, {"scores": S})


# -- caption_cross_entropy -------------------------------------------------------------------------------


def test_caption_cross_entropy_hand_computed() -> None:
    loss = build("caption_cross_entropy")
    scores = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]] * 2)
    targets = torch.zeros(2, 3, dtype=torch.long)
    steps = [LN2, math.log1p(math.exp(-2.0)), math.log1p(math.exp(2.0))]
    assert_value(loss({"targets": targets}, {"scores": scores}), sum(steps) / 3)
    # Lengths [1, 4] sort to [4, 1]: row 0 decodes 3 steps, row 1 none (MMF raises on a length <= 1).
    assert_value(loss({"targets": targets, "caption_len": torch.tensor([1, 4])}, {"scores": scores}), sum(steps) / 3)
    # Lengths [3, 2] -> [2, 1]: row 0 keeps steps 0-1, row 1 keeps step 0.
    value = loss({"targets": targets, "caption_len": torch.tensor([3, 2])}, {"scores": scores})
    assert_value(value, (2 * steps[0] + steps[1]) / 3)


@PROPERTY
@given(
    b=st.integers(1, 5),
    steps=st.integers(1, 6),
    vocab=st.integers(2, 7),
    seed=st.integers(0, 2**16),
    with_lengths=st.booleans(),
    data=st.data(),
)
def test_caption_cross_entropy_matches_mmf_packing(
    b: int, steps: int, vocab: int, seed: int, with_lengths: bool, data: st.DataObject
) -> None:
    scores = 2 * randn(seed, b, steps, vocab)
    targets = torch.randint(0, vocab, (b, steps), generator=torch.Generator().manual_seed(seed + 1))
    caption_len = None
    if with_lengths:
        lengths = data.draw(st.lists(st.integers(2, steps + 1), min_size=b, max_size=b))
        caption_len = torch.tensor(lengths)
    sample_list: dict[str, object] = {"targets": targets}
    if caption_len is not None:
        sample_list["caption_len"] = caption_len
    value = build("caption_cross_entropy")(sample_list, {"scores": scores})
    expected = mmf_caption_cross_entropy(scores, targets, caption_len)
    torch.testing.assert_close(value, expected, rtol=RTOL, atol=1e-7)


def test_caption_cross_entropy_errors() -> None:
    loss = build("caption_cross_entropy")
    assert isinstance(loss, CaptionCrossEntropyLoss)
    sample_list = {"targets": TC, "caption_len": torch.tensor([4, 3])}
    assert_each_key_required(loss, sample_list, {"scores": SC}, optional={"caption_len"})
    with pytest.raises(LossShapeError, match="must agree in dimension 1"):
        loss({"targets": TC[:, :2]}, {"scores": SC})
    with pytest.raises(LossShapeError, match="must agree in dimension 0"):
        loss({"targets": TC[:1]}, {"scores": SC})
    with pytest.raises(LossShapeError, match=r"caption_len'\] \(3,\) must agree in dimension 0"):
        loss({"targets": TC, "caption_len": torch.tensor([4, 3, 2])}, {"scores": SC})
    with pytest.raises(LossShapeError, match="integer tensor"):
        loss({"targets": TC, "caption_len": torch.tensor([4.0, 3.0])}, {"scores": SC})
    with pytest.raises(LossShapeError, match="integer tensor"):
        loss({"targets": TC.float()}, {"scores": SC})
    with pytest.raises(LossShapeError, match="rank 3"):
        loss({"targets": TC}, {"scores": SC[0]})


# -- config ----------------------------------------------------------------------------------------------


def test_config_mmbt_and_mmf_transformer() -> None:
    # MMF's configs: `- type: cross_entropy` (mmbt) and `- cross_entropy` (mmf_transformer).
    cfg = load_yaml_text("mmbt:\n  losses:\n  - type: cross_entropy\nmmft:\n  losses:\n  - cross_entropy\n")
    assert isinstance(cfg, DictConfig)
    for model in ("mmbt", "mmft"):
        out = LossCollection.from_config(cfg[model]["losses"])({"targets": Y}, {"scores": S})
        assert_value(out.terms["cross_entropy"], 0.5061875581741333)


def test_config_butd_and_params() -> None:
    # mmf/configs/models/butd/defaults.yaml uses `- type: caption_cross_entropy`.
    cfg = load_yaml_text("losses:\n- type: caption_cross_entropy\n- type: nll_loss\n  params: {}\n")
    assert isinstance(cfg, DictConfig)
    collection = LossCollection.from_config(cfg["losses"])
    assert collection.names == ("caption_cross_entropy", "nll_loss")
    value = collection["caption_cross_entropy"]({"targets": TC}, {"scores": SC})
    assert isinstance(value, Tensor)
    assert_value(value, 0.569922685623169)
    for name in ("caption_cross_entropy", "nll_loss"):
        with pytest.raises(LossConfigError, match="takes no params"):
            LossCollection.from_config([{"type": name, "params": {"ignore_index": 0}}])
