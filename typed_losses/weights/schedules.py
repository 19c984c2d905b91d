"""The built-in schedules: `linear`, `cosine` and `step` (a weight that is a function of the step).

With step counter `k` and `p = clamp((k - begin) / steps, 0, 1)`:

- `linear`: `start + (end - start) * p`;
- `cosine`: `start + (end - start) * (1 - cos(pi * p)) / 2`;
- `step`: `values[i]`, `i` the number of milestones `<= k`.

Each is computed from the step tensor (no host sync; no recompilation under `torch.compile`); the
`start`/`end`/`values` of a schedule are reached exactly (`torch.lerp` is exact at its ends).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from typing import TypeVar

import attrs
import torch
from torch import Tensor

from typed_losses.constraints import constraint, param
from typed_losses.weighting import Weighting, WeightParams, register_weight

__all__ = ["CosineSchedule", "CosineWeighting", "LinearSchedule", "LinearWeighting", "StepSchedule", "StepWeighting"]

_WEIGHT = "a weight: a finite number >= 0"


@attrs.frozen(kw_only=True)
class LinearSchedule(WeightParams):
    """`{type: linear, start, end, steps, begin: 0}`: from `start` at step `begin` to `end` at step
    `begin + steps`, linearly; `start` before, `end` after."""

    start: float = attrs.field(**constraint(ge=0, doc="the weight up to step `begin`", example=0.0))
    end: float = attrs.field(**constraint(ge=0, doc="the weight from step `begin + steps` on", example=1.0))
    steps: int = attrs.field(**constraint(ge=1, doc="how many steps the change takes", example=2000))
    begin: int = param(0, ge=0, doc="the step at which the change starts")


@attrs.frozen(kw_only=True)
class CosineSchedule(WeightParams):
    """`{type: cosine, start, end, steps, begin: 0}`: from `start` to `end` along half a cosine (slow at
    both ends), over `steps` steps from step `begin`."""

    start: float = attrs.field(**constraint(ge=0, doc="the weight up to step `begin`", example=0.0))
    end: float = attrs.field(**constraint(ge=0, doc="the weight from step `begin + steps` on", example=1.0))
    steps: int = attrs.field(**constraint(ge=1, doc="how many steps the change takes", example=2000))
    begin: int = param(0, ge=0, doc="the step at which the change starts")


def _ints(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


def _floats(value: Iterable[float]) -> tuple[float, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class StepSchedule(WeightParams):
    """`{type: step, milestones, values}`: `values[i]` from the `i`-th milestone on (`values[0]`
    before the first); `len(values) == len(milestones) + 1`."""

    milestones: tuple[int, ...] = attrs.field(
        converter=_ints,
        **constraint(ge=0, doc="the steps at which the weight changes, strictly increasing", example=[1000, 5000]),
    )
    values: tuple[float, ...] = attrs.field(
        converter=_floats,
        **constraint(
            ge=0, min_len=1, doc="the weight before the first milestone, then after each", example=[0.0, 0.5, 1.0]
        ),
    )

    def __attrs_post_init__(self) -> None:
        for before, after in zip(self.milestones, self.milestones[1:], strict=False):
            if after <= before:
                raise ValueError(f"milestones must be strictly increasing, found {before} then {after}")
        if len(self.values) != len(self.milestones) + 1:
            raise ValueError(
                f"values needs one more item than milestones ({len(self.milestones)} + 1 = "
                f"{len(self.milestones) + 1}), found {len(self.values)}"
            )


R = TypeVar("R", LinearSchedule, CosineSchedule)


class _Ramp(Weighting[R]):
    """A weight moving from `start` to `end`: `start` and `end` are kept as tensors, on the
    collection's device, so that `torch.lerp` reaches them exactly."""

    start: Tensor
    end: Tensor

    def _init_ramp(self, start: float, end: float) -> None:
        self.register_buffer("start", torch.tensor(float(start)), persistent=False)
        self.register_buffer("end", torch.tensor(float(end)), persistent=False)

    def progress(self, step: Tensor) -> Tensor:
        """`p = clamp((step - begin) / steps, 0, 1)`, in the dtype of `start` (float32 unless converted)."""
        params = self.params
        return torch.clamp((step - params.begin).to(self.start.dtype) / params.steps, 0.0, 1.0)

    def ramp(self, fraction: Tensor) -> Tensor:
        """`start + (end - start) * fraction`, exact at 0 and 1."""
        return torch.lerp(self.start, self.end, fraction)

    def ramp_at(self, step: int, shape: Callable[[float], float] | None = None) -> float:
        """[`ramp`][typed_losses.weights.schedules._Ramp.ramp] of the progress `p` at a Python step (`shape(p)`
        for the fraction when given), with `torch.lerp`'s formula: exact at both ends."""
        params = self._params
        fraction = min(max((step - params.begin) / params.steps, 0.0), 1.0)
        if shape is not None:
            fraction = shape(fraction)
        start, end = params.start, params.end
        if fraction < 0.5:
            return start + fraction * (end - start)
        return end - (end - start) * (1.0 - fraction)


@register_weight("linear")
class LinearWeighting(_Ramp[LinearSchedule]):
    """Linear schedule: `start + (end - start) * clamp((k - begin) / steps, 0, 1)` at step `k`."""

    def __init__(self, params: LinearSchedule) -> None:
        super().__init__(params)
        self._init_ramp(params.start, params.end)

    def forward(self, step: Tensor) -> Tensor:
        return self.ramp(self.progress(step))

    def value_at(self, step: int) -> float:
        return self.ramp_at(step)


def _half_cosine(p: float) -> float:
    return (1.0 - math.cos(p * math.pi)) / 2.0


@register_weight("cosine")
class CosineWeighting(_Ramp[CosineSchedule]):
    """Cosine schedule: `start + (end - start) * (1 - cos(pi * p)) / 2`, `p = clamp((k - begin) / steps, 0, 1)`."""

    def __init__(self, params: CosineSchedule) -> None:
        super().__init__(params)
        self._init_ramp(params.start, params.end)

    def forward(self, step: Tensor) -> Tensor:
        return self.ramp((1.0 - torch.cos(self.progress(step) * math.pi)) / 2.0)

    def value_at(self, step: int) -> float:
        return self.ramp_at(step, _half_cosine)


@register_weight("step")
class StepWeighting(Weighting[StepSchedule]):
    """Step schedule: `values[i]`, `i` the number of milestones `<= k` at step `k`."""

    milestones: Tensor
    values: Tensor

    def __init__(self, params: StepSchedule) -> None:
        super().__init__(params)
        self.register_buffer("milestones", torch.tensor(params.milestones, dtype=torch.int64), persistent=False)
        self.register_buffer("values", torch.tensor(params.values, dtype=torch.float32), persistent=False)

    def forward(self, step: Tensor) -> Tensor:
        return torch.take(self.values, torch.bucketize(step, self.milestones, right=True))

    def value_at(self, step: int) -> float:
        return float(self.params.values[bisect.bisect_right(self.params.milestones, step)])
