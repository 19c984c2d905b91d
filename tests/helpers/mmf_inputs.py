"""Inputs shared by the loss tests: the literal tensors of the MMF reference values, MMF's seeded test
input, and seeded random tensors for property tests.

The MMF reference (``mmf-reference.md``) printed MMF's own loss values on ``S``, ``T`` and ``Y`` with MMF's
unmodified ``losses.py`` on torch 2.13.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["S", "T", "Y", "mmf_rand_768", "rand", "randn"]

#: Scores (logits), B = 3, C = 4.
S = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [-0.5, 0.25, 2.0, -3.0]])
#: Soft targets; row 1 is all zero.
T = torch.tensor([[0.0, 0.3, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.9, 0.0, 0.6, 0.0]])
#: Class indices (int64).
Y = torch.tensor([3, 1, 2])


def mmf_rand_768() -> Tensor:
    """MMF's ``tests/modules/test_losses.py`` input: ``torch.rand((1, 768))`` right after ``manual_seed(1234)``.

    The global RNG state is restored afterwards.
    """
    with torch.random.fork_rng():
        torch.manual_seed(1234)
        return torch.rand((1, 768))


def randn(seed: int, *shape: int) -> Tensor:
    """Standard normal values from a private generator seeded with ``seed``."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def rand(seed: int, *shape: int) -> Tensor:
    """Uniform [0, 1) values from a private generator seeded with ``seed``."""
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))
