"""Shared fixtures: isolated global registries for tests that register their own losses or weight kinds; fresh
Dynamo caches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import typed_losses.losses  # noqa: F401  (registers the catalog before snapshots are taken)
from typed_losses.registry import REGISTRY
from typed_losses.weighting import WEIGHT_KINDS


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Undo every registration a test makes (losses and weight kinds)."""
    REGISTRY.load_entry_points()
    saved = dict(REGISTRY._by_name)
    saved_kinds = dict(WEIGHT_KINDS._by_name)
    try:
        yield
    finally:
        REGISTRY._by_name.clear()
        REGISTRY._by_name.update(saved)
        WEIGHT_KINDS._by_name.clear()
        WEIGHT_KINDS._by_name.update(saved_kinds)


@pytest.fixture
def fresh_dynamo() -> Iterator[None]:
    """Dynamo's caches empty before and after the test.

    Compiled frames stay cached per code object (``LossCollection.forward`` is one for every collection) and
    count toward Dynamo's recompile limit (8) for the tests that run later in the same process.
    """
    import torch._dynamo

    torch._dynamo.reset()
    try:
        yield
    finally:
        torch._dynamo.reset()
