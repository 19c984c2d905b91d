"""Checks every catalog loss's tests repeat: build through the config path, compile, sync-freedom, inputs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pytest
import torch
from hypothesis import settings
from torch import Tensor

from helpers.sync import assert_no_sync
from typed_losses import LossCollection, LossInputError
from typed_losses.loss import Batch, Loss, LossValue

__all__ = [
    "PROPERTY",
    "RTOL",
    "assert_compiles_like_eager",
    "assert_each_key_required",
    "assert_value",
    "build",
    "check_compile_and_sync",
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


def _as_mapping(value: LossValue) -> Mapping[str, Tensor]:
    return {"": value} if isinstance(value, Tensor) else value


def assert_compiles_like_eager(loss: Loss[Any], sample_list: Batch, model_output: Batch) -> None:
    """``torch.compile(loss, fullgraph=True, backend="eager")`` compiles to one graph and matches eager."""
    eager = _as_mapping(loss(sample_list, model_output))
    compiled = _as_mapping(torch.compile(loss, fullgraph=True, backend="eager")(sample_list, model_output))
    assert compiled.keys() == eager.keys()
    for key, value in eager.items():
        torch.testing.assert_close(compiled[key], value, rtol=RTOL, atol=0.0)


def check_compile_and_sync(loss: Loss[Any], sample_list: Batch, model_output: Batch) -> None:
    """The loss runs without host-device sync in eager mode and compiles to one graph matching eager."""
    assert_no_sync(loss, sample_list, model_output)
    assert_compiles_like_eager(loss, sample_list, model_output)


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
