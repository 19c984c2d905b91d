"""Differences from MMF found by differential testing: each fixed (gradients equal MMF's) or documented."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence

from typed_losses import LossCollection
from typed_losses.functional.retrieval import in_batch_hinge
from typed_losses.losses import CaptionCrossEntropyLoss, CaptionCrossEntropyParams


def mmf_in_batch_hinge_hard(images: Tensor, texts: Tensor, margin: float) -> Tensor:
    """MMF's ``InBatchHinge`` with ``hard=True``, as written there (``max(1)[0]`` / ``max(0)[0]``)."""
    scores = images @ texts.t()
    diagonal = scores.diag().view(images.size(0), 1)
    cost_s = (margin + scores - diagonal.expand_as(scores)).clamp(min=0)
    cost_im = (margin + scores - diagonal.t().expand_as(scores)).clamp(min=0)
    mask = torch.eye(scores.size(0)) > 0.5
    cost_s = cost_s.masked_fill(mask, 0)
    cost_im = cost_im.masked_fill(mask, 0)
    return cost_s.max(1)[0].sum() + cost_im.max(0)[0].sum()


def test_in_batch_hinge_hard_sends_the_gradient_of_tied_negatives_to_one_as_mmf() -> None:
    # Captions 1 and 2 are equal: image 0's hardest negatives are exactly tied (cost 0.5 + 0.8 - 1 = 0.3).
    images = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], requires_grad=True)
    texts = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, 0.6]], requires_grad=True)
    ours = in_batch_hinge(images, texts, margin=0.5, hard=True)
    mmf = mmf_in_batch_hinge_hard(images, texts, 0.5)
    assert float(ours.detach()) == pytest.approx(2.6, rel=1e-6) and float(ours.detach()) == float(mmf.detach())
    ours_grads = torch.autograd.grad(ours, (images, texts))
    mmf_grads = torch.autograd.grad(mmf, (images, texts))
    for got, expected in zip(ours_grads, mmf_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=0.0, atol=0.0)
    # All of image 0's pull goes to caption 1 (amax would give captions 1 and 2 half each: 1.7 and 0.3).
    assert ours_grads[1][1:, 0].tolist() == pytest.approx([2.2, -0.2])


def test_caption_len_beyond_the_sequence_counts_every_step() -> None:
    """Documented difference: MMF's packing fails in backward; the mask clamps silently (no host sync)."""
    scores = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4).div(7).requires_grad_()
    targets = torch.tensor([[0, 1, 2], [3, 0, 1]])
    loss = CaptionCrossEntropyLoss(CaptionCrossEntropyParams())
    long = loss({"targets": targets, "caption_len": torch.tensor([9, 9])}, {"scores": scores})
    every_step = F.cross_entropy(scores.reshape(6, 4), targets.reshape(6))
    torch.testing.assert_close(long, every_step, rtol=0.0, atol=0.0)
    long.backward()
    assert scores.grad is not None
    # MMF packs with lengths 8 > T = 3: the forward runs, the backward fails.
    packed = pack_padded_sequence(scores, [8, 8], batch_first=True).data
    mmf = F.cross_entropy(packed, pack_padded_sequence(targets, [8, 8], batch_first=True).data)
    with pytest.raises(IndexError, match="out of range"):
        mmf.backward()
    doc = CaptionCrossEntropyLoss.__doc__ or ""
    assert "larger than the sequence length T counts all T steps" in " ".join(doc.split())


def test_the_collection_gives_mmf_hinge_gradients() -> None:
    images = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    texts = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, 0.6]], requires_grad=True)
    collection = LossCollection.from_config([{"type": "in_batch_hinge", "params": {"margin": 0.5, "hard": True}}])
    total = collection({}, {"scores": images, "targets": texts}).total
    (grad,) = torch.autograd.grad(total, texts)
    (expected,) = torch.autograd.grad(mmf_in_batch_hinge_hard(images, texts, 0.5), texts)
    torch.testing.assert_close(grad, expected, rtol=0.0, atol=0.0)
