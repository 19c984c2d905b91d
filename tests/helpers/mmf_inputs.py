"""Inputs shared by the loss tests and their cases: the literal tensors of the MMF reference values, MMF's
seeded test inputs, and seeded random tensors for property tests.

The MMF reference (``mmf-reference.md``) printed MMF's own loss values on these literal tensors with MMF's
unmodified ``losses.py`` on torch 2.13.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = [
    "ATT",
    "FUSED",
    "FUSED_LABELS",
    "IMAGES",
    "MASK",
    "MULTI_HOT",
    "R_IN",
    "R_TG",
    "SC",
    "SM",
    "SUP",
    "TC",
    "TEXTS",
    "TEXTS_F2",
    "TM",
    "Y_IGNORED",
    "S",
    "T",
    "Y",
    "mmf_caption_inputs",
    "mmf_rand_768",
    "rand",
    "randn",
    "seeded",
]

R = TypeVar("R")

#: Scores (logits), B = 3, C = 4.
S = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [-0.5, 0.25, 2.0, -3.0]])
#: Soft targets; row 1 is all zero.
T = torch.tensor([[0.0, 0.3, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.9, 0.0, 0.6, 0.0]])
#: Class indices (int64).
Y = torch.tensor([3, 1, 2])
#: Class indices with an ignored row.
Y_IGNORED = torch.tensor([3, -100, 2])

#: m4c decoding inputs (B=2, T=3, C=2) and the mask of decoded steps.
SM = torch.tensor([[[1.0, -1.0], [0.5, 2.0], [-2.0, 0.0]], [[0.0, 3.0], [1.0, 1.0], [-1.0, -1.0]]])
TM = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]])
MASK = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
#: attention_supervision inputs: attention maps (B=2, N=3) and the supervision.
ATT = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])
SUP = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])

#: caption_cross_entropy inputs (B=2, T=3, V=3).
SC = torch.tensor(
    [[[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [0.5, 0.5, 3.0]], [[0.0, 0.0, 0.0], [1.0, -1.0, 2.0], [9.0, 9.0, 9.0]]]
)
TC = torch.tensor([[0, 1, 2], [2, 2, 0]])

#: Retrieval: images and texts (one, and two texts per image), refiner rows, fused embeddings and labels.
IMAGES = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
TEXTS = torch.tensor([[0.8, 0.6], [1.0, 0.0], [0.0, 1.0]])
TEXTS_F2 = torch.tensor([[0.8, 0.6], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.6, 0.8]])
R_IN = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]])
R_TG = torch.tensor([[0.8, 0.6, 0], [0, 1, 0], [0, 0.6, 0.8], [0.6, 0.8, 0]])
FUSED = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0.2], [0.5, 0.5, 0.5]])
FUSED_LABELS = torch.tensor([0, 0, 1, 1, 0])
MULTI_HOT = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]])


def seeded(seed: int, make: Callable[[], R]) -> R:
    """``make()`` right after ``torch.manual_seed(seed)`` (as MMF's tests do); the global RNG state is restored."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return make()


def mmf_rand_768() -> Tensor:
    """MMF's ``tests/modules/test_losses.py`` input: ``torch.rand((1, 768))`` right after ``manual_seed(1234)``."""
    return seeded(1234, lambda: torch.rand((1, 768)))


def mmf_caption_inputs() -> tuple[dict[str, Any], dict[str, Any]]:
    """MMF's test_caption_cross_entropy random case: seed 1234, targets = randint(0, 9491, (5, 10)), then
    scores = rand((5, 10, 9491))."""

    def make() -> tuple[Tensor, Tensor]:
        targets = torch.randint(0, 9491, (5, 10))
        return targets, torch.rand((5, 10, 9491))

    targets, scores = seeded(1234, make)
    return {"targets": targets}, {"scores": scores}


def randn(seed: int, *shape: int) -> Tensor:
    """Standard normal values from a private generator seeded with ``seed``."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def rand(seed: int, *shape: int) -> Tensor:
    """Uniform [0, 1) values from a private generator seeded with ``seed``."""
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))
