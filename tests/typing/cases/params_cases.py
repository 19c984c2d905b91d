"""Type tests: a params class catches a wrong type, an unknown param and a mutation before anything runs.

Checked by tests/typing/test_types.py under mypy --strict (and pyright when installed), never executed.
Each ``# type: ignore[code]`` line is a mistake that must stay an error: ``warn_unused_ignores`` fails the
test the day the checker stops catching it.
"""

from __future__ import annotations

from typing import assert_type

from typed_losses import check_params_data
from typed_losses.losses import CrossEntropyParams, MultiSimilarityParams

params = CrossEntropyParams(label_smoothing=0.1, reduction="sum", weight=(1.0, 2.0))
assert_type(params.label_smoothing, float)
assert_type(params.ignore_index, int)
assert_type(params.weight, tuple[float, ...] | None)

# A wrong type for a param.
CrossEntropyParams(label_smoothing="0.1")  # type: ignore[arg-type]
CrossEntropyParams(ignore_index=1.5)  # type: ignore[arg-type]
# A value outside a Literal-typed param.
CrossEntropyParams(reduction="avg")  # type: ignore[arg-type]
# An unknown (misspelled) param.
CrossEntropyParams(label_smothing=0.1)  # type: ignore[call-arg]
MultiSimilarityParams(alfa=1.0)  # type: ignore[call-arg]
# Params are keyword-only.
CrossEntropyParams(None)  # type: ignore[call-arg]
# Params are frozen.
params.label_smoothing = 0.2  # type: ignore[misc]

# Params checked from plain data keep their class.
assert_type(check_params_data(CrossEntropyParams, {"label_smoothing": 0.1}), CrossEntropyParams)
check_params_data("cross_entropy", {})  # type: ignore[arg-type]
