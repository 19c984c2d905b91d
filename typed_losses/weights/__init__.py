"""Term weights that change during training: schedules (`linear`, `cosine`, `step`), learned weights
(`uncertainty`), and the registry of weight kinds ([`register_weight()`][typed_losses.register_weight] adds one)."""

from __future__ import annotations

from typed_losses.weighting import (
    WEIGHT_KINDS,
    WeightForm,
    Weighting,
    WeightKinds,
    WeightParams,
    WeightSpec,
    as_weight,
    register_weight,
)
from typed_losses.weights.learned import UncertaintyWeight, UncertaintyWeighting
from typed_losses.weights.schedules import (
    CosineSchedule,
    CosineWeighting,
    LinearSchedule,
    LinearWeighting,
    RampSchedule,
    StepSchedule,
    StepWeighting,
)

__all__ = [
    "WEIGHT_KINDS",
    "CosineSchedule",
    "CosineWeighting",
    "LinearSchedule",
    "LinearWeighting",
    "RampSchedule",
    "StepSchedule",
    "StepWeighting",
    "UncertaintyWeight",
    "UncertaintyWeighting",
    "WeightForm",
    "WeightKinds",
    "WeightParams",
    "WeightSpec",
    "Weighting",
    "as_weight",
    "register_weight",
]
