"""Detect host-device synchronisation in eager PyTorch code, on CPU.

On a GPU, ``.item()``, ``float(t)``, ``bool(t)``, ``nonzero``, boolean-mask indexing and ``one_hot`` without
``num_classes`` stall the host until the device catches up, and they break ``torch.compile(fullgraph=True)``.
On CPU nothing stalls, but the same calls reach the dispatcher as recognisable ops, so a
:class:`~torch.utils._python_dispatch.TorchDispatchMode` can flag them in an ordinary CPU test::

    with no_host_sync():
        loss(sample_list, model_output)

    value = assert_no_sync(loss, sample_list, model_output)

Flagged: ``aten._local_scalar_dense`` (``.item()``, ``float``/``int``/``bool`` of a tensor, a data-dependent
``if``, ``one_hot`` on CPU), ``aten.nonzero``, ``aten.masked_select``, ``aten.index`` / ``aten.index_put``
with a bool or uint8 index tensor (``x[mask]``, ``x[mask] = v``), and ``Tensor.tolist`` (which bypasses the
dispatcher, so it is patched for the duration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["HostSyncMode", "assert_no_sync", "no_host_sync", "sync_reason"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

aten = torch.ops.aten

#: Ops that always synchronise (their result or its size depends on device data).
SYNC_OPS: dict[object, str] = {
    aten._local_scalar_dense: ".item(), float()/int()/bool() of a tensor, a data-dependent `if`, or one_hot",
    aten.nonzero: "nonzero (data-dependent output size)",
    aten.masked_select: "masked_select (data-dependent output size)",
}
#: Ops that synchronise when an index tensor is a mask (bool or uint8).
MASK_INDEX_OPS: dict[object, str] = {
    aten.index: "boolean-mask indexing x[mask]",
    aten.index_put: "boolean-mask assignment x[mask] = v",
    aten.index_put_: "boolean-mask assignment x[mask] = v",
    aten._index_put_impl_: "boolean-mask assignment x[mask] = v",
}
_MASK_DTYPES = (torch.bool, torch.uint8)


def _is_mask_index(indices: object) -> bool:
    if not isinstance(indices, Sequence):
        return False
    return any(isinstance(i, Tensor) and i.dtype in _MASK_DTYPES for i in indices)


def sync_reason(func: torch._ops.OpOverload, args: Sequence[object]) -> str | None:
    """Why calling ``func`` with ``args`` synchronises with the device, or ``None`` if it does not."""
    packet = func.overloadpacket
    if packet in SYNC_OPS:
        return f"{func}: {SYNC_OPS[packet]}"
    if packet in MASK_INDEX_OPS and len(args) > 1 and _is_mask_index(args[1]):
        return f"{func}: {MASK_INDEX_OPS[packet]}"
    return None


class HostSyncMode(TorchDispatchMode):  # type: ignore[no-untyped-call]  # torch leaves it untyped
    """Records (``raise_on_sync=False``) or raises ``AssertionError`` on (default) every synchronising op."""

    def __init__(self, *, raise_on_sync: bool = True) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.raise_on_sync = raise_on_sync
        self.syncs: list[str] = []

    def __torch_dispatch__(
        self,
        func: torch._ops.OpOverload,
        types: Sequence[type],
        args: Sequence[object] = (),
        kwargs: dict[str, object] | None = None,
    ) -> Any:
        reason = sync_reason(func, args)
        if reason is not None:
            self.record(reason)
        return func(*args, **(kwargs or {}))

    def record(self, reason: str) -> None:
        self.syncs.append(reason)
        if self.raise_on_sync:
            raise AssertionError(f"host-device sync: {reason}")


@contextmanager
def no_host_sync(*, raise_on_sync: bool = True) -> Iterator[HostSyncMode]:
    """Within the block, any synchronising op raises ``AssertionError`` naming it.

    With ``raise_on_sync=False`` nothing raises; the yielded mode's ``syncs`` lists what happened.
    """
    mode = HostSyncMode(raise_on_sync=raise_on_sync)
    original = Tensor.tolist

    def tolist(self: Tensor) -> Any:
        mode.record("Tensor.tolist: copies device data to Python")
        return original(self)

    Tensor.tolist = tolist  # type: ignore[method-assign,assignment]
    try:
        with mode:
            yield mode
    finally:
        Tensor.tolist = original  # type: ignore[method-assign]


def assert_no_sync(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Call ``fn(*args, **kwargs)`` and return its result; ``AssertionError`` naming the op if it synchronises."""
    with no_host_sync():
        return fn(*args, **kwargs)
