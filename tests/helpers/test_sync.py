"""The sync detector flags each kind of host-device synchronisation and passes sync-free code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from helpers.sync import assert_no_sync, no_host_sync

X = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
INDEX = torch.tensor([1, 0])


def _set_masked() -> None:
    y = X.clone()
    y[y > 0] = 0.0


SYNCING: dict[str, tuple[Callable[[], object], str]] = {
    "item": (lambda: X.sum().item(), "_local_scalar_dense"),
    "float": (lambda: float(X.sum()), "_local_scalar_dense"),
    "bool": (lambda: bool(X.sum() > 0), "_local_scalar_dense"),
    "if": (lambda: 1 if X.max() > 0 else 0, "_local_scalar_dense"),
    "one_hot": (lambda: F.one_hot(INDEX, 2), "_local_scalar_dense"),
    "nonzero": (lambda: X.nonzero(), "nonzero"),  # noqa: PLW0108 - called under the detector, not bound early
    "masked_select": (lambda: X.masked_select(X > 0), "masked_select"),
    "mask_index": (lambda: X[X > 0], "aten.index.Tensor"),
    "mask_assign": (_set_masked, "index_put"),
    "tolist": (lambda: X.tolist(), "tolist"),  # noqa: PLW0108
}


@pytest.mark.parametrize("name", sorted(SYNCING))
def test_flags_sync(name: str) -> None:
    fn, op = SYNCING[name]
    with pytest.raises(AssertionError, match=op):
        assert_no_sync(fn)


def test_passes_sync_free_code_and_returns_result() -> None:
    def fn(x: torch.Tensor) -> torch.Tensor:
        y = torch.where(x > 0, x, torch.zeros_like(x))
        return y[INDEX].sum() + F.cross_entropy(x, INDEX) + x.max(dim=1).indices.sum()

    assert torch.equal(assert_no_sync(fn, X), fn(X))


def test_record_mode_lists_syncs_and_restores_tolist() -> None:
    with no_host_sync(raise_on_sync=False) as mode:
        X.sum().item()
        X.tolist()
    assert len(mode.syncs) == 2
    assert X.tolist() == [[1.0, -2.0], [3.0, 0.5]]
