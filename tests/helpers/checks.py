"""Checks the loss tests repeat: build through the config path, exact values, required inputs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pytest
import torch
from hypothesis import settings
from torch import Tensor

from typed_losses import LossCollection, LossInputError
from typed_losses.loss import Batch, Loss, LossValue

__all__ = [
    "PROPERTY",
    "RTOL",
    "assert_each_key_required",
    "assert_value",
    "build",
    "scalar",
    "terms_of",
]

#: Relative tolerance of parity with MMF (float32).
RTOL = 1e-6
#: Settings for property tests over small random tensors: few examples, no per-example deadline, and the
#: same examples on every run (tolerances were checked with 400 random examples per test; CI must not flake).
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def build(name: str, **params: object) -> Loss[Any]:
    """The loss registered as ``name``, built the way users build it: ``LossCollection.from_config``.

    Built once per distinct ``(name, params)`` (losses are stateless), so property tests stay fast.
    """
    key = (name, repr(sorted(params.items())))  # params may hold lists (``multi``'s children)
    loss = _BUILT.get(key)
    if loss is None:
        loss = _BUILT[key] = LossCollection.from_config([{"type": name, "params": dict(params)}]).losses[0]
    return loss


_BUILT: dict[tuple[str, str], Loss[Any]] = {}


def scalar(value: LossValue) -> Tensor:
    """``value`` as a tensor; fails for a loss that returned several terms."""
    assert isinstance(value, Tensor), f"expected a tensor, got {type(value).__name__}"
    return value


def terms_of(value: LossValue) -> Mapping[str, Tensor]:
    """``value`` as a mapping of terms; fails for a loss that returned one tensor."""
    assert not isinstance(value, Tensor), "expected a mapping of terms, got a tensor"
    return value


def assert_value(actual: LossValue, expected: float, *, rtol: float = RTOL, atol: float = 0.0) -> None:
    """``actual`` is a 0-dim tensor within ``rtol`` (relative) of ``expected``."""
    actual = scalar(actual)
    assert actual.dim() == 0, f"expected a 0-dim tensor, got shape {tuple(actual.shape)}"
    torch.testing.assert_close(actual.double(), torch.tensor(expected, dtype=torch.float64), rtol=rtol, atol=atol)


def assert_each_key_required(
    loss: Loss[Any], sample_list: Batch, model_output: Batch, *, optional: Collection[str] = ()
) -> None:
    """Dropping any one top-level key (except ``optional`` ones) raises ``LossInputError`` naming it."""
    for source, mapping in (("sample_list", sample_list), ("model_output", model_output)):
        for key in mapping:
            if key in optional:
                continue
            smaller = {k: v for k, v in mapping.items() if k != key}
            args = (smaller, model_output) if source == "sample_list" else (sample_list, smaller)
            with pytest.raises(LossInputError) as info:
                loss(*args)
            assert info.value.key == key and info.value.source == source
            assert repr(key) in str(info.value) and repr(loss.term_name) in str(info.value)
