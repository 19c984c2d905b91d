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
from typing import Any, TypeVar

import attrs
import torch
from torch import Tensor

from typed_losses.constraints import constraint, param
from typed_losses.weighting import Weighting, WeightParams, register_weight

__all__ = [
    "CosineSchedule",
    "CosineWeighting",
    "LinearSchedule",
    "LinearWeighting",
    "RampSchedule",
    "StepSchedule",
    "StepWeighting",
]


@attrs.frozen(kw_only=True)
class RampSchedule(WeightParams):
    """The fields of a schedule going from `start` to `end` over `steps` steps from step `begin` (`linear`,
    `cosine`): each kind subclasses it, so the fields and their rules are written once."""

    start: float = attrs.field(**constraint(ge=0, doc="the weight up to step `begin`", example=0.0))
    end: float = attrs.field(**constraint(ge=0, doc="the weight from step `begin + steps` on", example=1.0))
    steps: int = attrs.field(**constraint(ge=1, doc="how many steps the change takes", example=2000))
    begin: int = param(0, ge=0, doc="the step at which the change starts")


@attrs.frozen(kw_only=True)
class LinearSchedule(RampSchedule):
    """`{type: linear, start, end, steps, begin: 0}`: from `start` at step `begin` to `end` at step
    `begin + steps`, linearly; `start` before, `end` after."""


@attrs.frozen(kw_only=True)
class CosineSchedule(RampSchedule):
    """`{type: cosine, start, end, steps, begin: 0}`: from `start` to `end` along half a cosine (slow at
    both ends), over `steps` steps from step `begin`."""


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


R = TypeVar("R", bound=RampSchedule)


class _Ramp(Weighting[R]):
    """A weight moving from `start` to `end` as a shape of the progress `p` goes from 0 to 1: computed from the
    counter tensor (`forward`, with `start` and `end` kept as tensors on the collection's device, so that
    `torch.lerp` reaches them exactly) or from a Python step (`value_at`, with `torch.lerp`'s formula). The
    shape is written once for both (`cos` is `torch.cos` or `math.cos`)."""

    start: Tensor
    end: Tensor

    def __init__(self, params: R) -> None:
        super().__init__(params)
        self.register_buffer("start", torch.tensor(float(params.start)), persistent=False)
        self.register_buffer("end", torch.tensor(float(params.end)), persistent=False)

    def shape(self, p: Any, cos: Callable[[Any], Any]) -> Any:
        """The fraction of the way from `start` to `end` at progress `p` (a tensor or a float)."""
        return p

    def forward(self, step: Tensor) -> Tensor:
        params = self.params
        p = torch.clamp((step - params.begin).to(self.start.dtype) / params.steps, 0.0, 1.0)
        fraction: Tensor = self.shape(p, torch.cos)
        return torch.lerp(self.start, self.end, fraction)

    def value_at(self, step: int) -> float:
        params = self.params
        fraction: float = self.shape(min(max((step - params.begin) / params.steps, 0.0), 1.0), math.cos)
        start, end = params.start, params.end
        if fraction < 0.5:
            return start + fraction * (end - start)
        return end - (end - start) * (1.0 - fraction)


@register_weight("linear")
class LinearWeighting(_Ramp[LinearSchedule]):
    """Linear schedule: `start + (end - start) * clamp((k - begin) / steps, 0, 1)` at step `k`."""


@register_weight("cosine")
class CosineWeighting(_Ramp[CosineSchedule]):
    """Cosine schedule: `start + (end - start) * (1 - cos(pi * p)) / 2`, `p = clamp((k - begin) / steps, 0, 1)`."""

    def shape(self, p: Any, cos: Callable[[Any], Any]) -> Any:
        return (1.0 - cos(p * math.pi)) / 2.0


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
