"""typed_losses: typed, checked and self-describing losses for PyTorch.

The public API:

```python
from typed_losses import Loss, LossCollection, LossOutput, LossConfigError, register_loss, load_yaml
```

The built-in catalog (MMF's losses under MMF's names) lives in `typed_losses.losses` and is
registered automatically the first time a loss name is looked up.

`typed_losses.build_loss("cross_entropy", CrossEntropyParams(...))` builds one catalog loss by name, typed
per name (`typed_losses.builders`, generated). It imports the catalog, so it is loaded on first use:
`import typed_losses` alone never imports `typed_losses.losses`.
"""

from typing import TYPE_CHECKING

from typed_losses.collection import LossCollection
from typed_losses.config.check import check_losses, check_params_data
from typed_losses.config.convert import unstructure_params
from typed_losses.config.yaml import load_yaml, load_yaml_text
from typed_losses.constraints import constraint, param
from typed_losses.errors import (
    ConfigIssue,
    LossConfigError,
    LossInputError,
    LossOutputError,
    LossShapeError,
    NonFiniteLossError,
)
from typed_losses.loss import Batch, Input, Loss, LossValue, doc, model_input, sample_input, shape_of
from typed_losses.output import LossOutput
from typed_losses.registry import REGISTRY, LossSpec, load_plugin, register_loss
from typed_losses.term import Term
from typed_losses.weighting import WEIGHT_KINDS, WeightForm, Weighting, WeightParams, WeightSpec, register_weight
from typed_losses.weights import CosineSchedule, LinearSchedule, StepSchedule, UncertaintyWeight

if TYPE_CHECKING:
    from typed_losses.builders import build_loss
else:

    def __getattr__(name: str) -> object:
        # Lazy: typed_losses.builders imports the whole catalog. Hidden from type checkers, which would
        # otherwise accept any misspelled attribute of the package.
        if name == "build_loss":
            from typed_losses.builders import build_loss

            return build_loss
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "WEIGHT_KINDS",
    "Batch",
    "ConfigIssue",
    "CosineSchedule",
    "Input",
    "LinearSchedule",
    "Loss",
    "LossCollection",
    "LossConfigError",
    "LossInputError",
    "LossOutput",
    "LossOutputError",
    "LossShapeError",
    "LossSpec",
    "LossValue",
    "NonFiniteLossError",
    "StepSchedule",
    "Term",
    "UncertaintyWeight",
    "WeightForm",
    "WeightParams",
    "WeightSpec",
    "Weighting",
    "build_loss",
    "check_losses",
    "check_params_data",
    "constraint",
    "doc",
    "load_plugin",
    "load_yaml",
    "load_yaml_text",
    "model_input",
    "param",
    "register_loss",
    "register_weight",
    "sample_input",
    "shape_of",
    "unstructure_params",
]
