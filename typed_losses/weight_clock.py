"""The weights of a collection at its current step, computed once per step and without a host sync.

A [`LossCollection`][typed_losses.LossCollection] keeps its step counter as a 0-dim int64 buffer (saved in
`state_dict()`, advanced in place by `step()`). Reading it as a Python int would synchronise with the device,
so [`WeightClock`][typed_losses.weight_clock.WeightClock] keeps a Python copy of it for as long as the copy is
known to be right: the counter is the same tensor at the same version (`Tensor._version` counts its in-place
changes) as when the copy was taken. `step()` and `set_step()` keep the copy; a change made behind the
collection's back (`fill_`, DDP's buffer broadcast, loading a state from the device) drops it until the next
`set_step()`.

With the copy, a schedule that can say its value for a Python step
([`Weighting.value_at`][typed_losses.Weighting.value_at]) is a Python float, joined to the total like a fixed
weight (one fused `add`); without it, or under `torch.compile`, each schedule computes its weight from the
counter tensor in the graph. Either way the weights of a step are computed once and reused by every call
until the step changes; learned weights are computed at every call (they carry gradients).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from typed_losses.weighting import Weighting

__all__ = ["StepWeights", "WeightClock"]

#: The scheduled weights of one step: those computed as 0-dim tensors, and those a schedule gave as Python values
#: (joined to the total like a fixed weight).
StepWeights = tuple[dict[str, Tensor], dict[str, float]]


class WeightClock:
    """The Python copy of a collection's step counter, and the weights computed for the current step."""

    def __init__(
        self,
        names: Sequence[str],
        scheduled: Sequence[tuple[str, Weighting[Any]]],
        learned: Sequence[tuple[str, Weighting[Any]]],
        step: Tensor,
    ) -> None:
        self._names = tuple(names)
        self._scheduled = tuple(scheduled)
        self._learned = tuple(learned)
        self._copy: tuple[Tensor, int, int] | None = (step, step._version, 0)  # (counter, version, value)
        self._fixed: tuple[Tensor, dict[str, Tensor]] | None = None  # (fixed weights' buffer, their views)
        # (counter, its version, the fixed weights' buffer, the weights of that step): valid while all three hold
        self._step: tuple[Tensor, int, Tensor, StepWeights] | None = None

    # -- the Python copy of the counter ----------------------------------------------------------------------

    def known(self, step: Tensor) -> int | None:
        """The counter's value, when the copy is known to be right (else `None`: only the tensor knows)."""
        copy = self._copy
        if copy is not None and copy[0] is step and copy[1] == step._version:
            return copy[2]
        return None

    def advance(self, step: Tensor) -> None:
        """`step()`: add one to the counter, and to the copy when it was right."""
        known = self.known(step)
        step.add_(1)  # the counter never requires grad: no `no_grad()` needed (it costs more than the add)
        self._copy = None if known is None else (step, step._version, known + 1)

    def set(self, step: Tensor, value: int) -> None:
        """`set_step(value)`: the counter and the copy."""
        step.fill_(value)
        self._copy = (step, step._version, value)

    def moved(self, before: Tensor, after: Tensor) -> None:
        """The counter became another tensor with the same value (`.to(device)`, `.cuda()`)."""
        known = self.known(before)
        self._copy = None if known is None else (after, after._version, known)

    def loaded(self, step: Tensor, value: Tensor) -> None:
        """`value` was loaded into the counter: the copy is taken again when reading it costs no sync."""
        self._copy = (step, step._version, int(value)) if value.device.type == "cpu" else None

    # -- the weights of the step -----------------------------------------------------------------------------

    def weights(self, step: Tensor, fixed: Tensor) -> tuple[Mapping[str, Tensor], dict[str, float]]:
        """Every term's weight at this call (a mapping of 0-dim tensors, in term order), and the Python values
        of the scheduled ones that have one. `fixed` holds the fixed weights (NaN for the others), in term order.
        """
        if torch.compiler.is_compiling():  # in the graph: from the counter tensor, no Python state
            values = dict(zip(self._names, fixed.unbind(), strict=True))
            for name, module in (*self._scheduled, *self._learned):
                values[name] = module(step)
            return values, {}
        cached = self._fixed
        if cached is None or cached[0] is not fixed:
            cached = self._fixed = (fixed, dict(zip(self._names, fixed.unbind(), strict=True)))
        values = dict(cached[1])
        for name, module in self._learned:
            values[name] = module(step)
        if not self._scheduled:
            return values, {}
        current = self._step
        if current is None or current[0] is not step or current[1] != step._version or current[2] is not fixed:
            current = (step, step._version, fixed, self._scheduled_weights(step, fixed))
            if not torch.is_inference_mode_enabled():  # an inference tensor cannot be used later
                self._step = current
        tensors, numbers = current[3]
        values.update(tensors)
        if not numbers:
            return values, numbers
        return _LazyWeights(self._names, values, numbers, tensors, fixed), numbers

    def _scheduled_weights(self, step: Tensor, fixed: Tensor) -> StepWeights:
        """The scheduled weights of this step: as tensors, or as Python values (their tensors are made when an
        output's `weights` are read, once per step)."""
        known = self.known(step)
        tensors: dict[str, Tensor] = {}
        numbers: dict[str, float] = {}
        for name, module in self._scheduled:
            number = module.value_at(known) if known is not None else None
            if number is None:
                tensors[name] = module(step)
            else:
                numbers[name] = number
        return tensors, numbers


class _LazyWeights(Mapping[str, Tensor]):
    """`LossOutput.weights` when some scheduled weights are Python values: their 0-dim tensors are made when
    read (a fill on the device, no copy from the host), once per step (`made` is the step's own dict)."""

    __slots__ = ("_like", "_made", "_names", "_numbers", "_values")

    def __init__(
        self,
        names: tuple[str, ...],
        values: dict[str, Tensor],
        numbers: dict[str, float],
        made: dict[str, Tensor],
        like: Tensor,
    ) -> None:
        self._names = names
        self._values = values
        self._numbers = numbers
        self._made = made
        self._like = like

    def __getitem__(self, name: str) -> Tensor:
        number = self._numbers.get(name)
        if number is None:
            return self._values[name]  # a KeyError for a name that is not a term
        value = self._made.get(name)
        if value is None:
            value = self._like.new_full((), number)
            if not torch.is_inference_mode_enabled():
                self._made[name] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return repr(dict(self))
