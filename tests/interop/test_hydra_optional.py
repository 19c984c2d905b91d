"""``typed_losses.hydra`` without hydra-core: importing works, checking works, only registering needs Hydra.

Runs in every environment (CI's omegaconf 2.4 run has no hydra-core); the Hydra tests themselves are in
``test_hydra.py``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from typed_losses import LossConfigError
from typed_losses.hydra import LossEntry, losses_from_hydra, register_configs


def test_imports_and_checks_without_hydra_and_without_the_catalog() -> None:
    code = (
        "import sys\n"
        "sys.modules['hydra'] = None  # any `import hydra...` now raises ImportError\n"
        "import typed_losses, typed_losses.hydra, typed_losses.mmf\n"
        "assert 'typed_losses.losses' not in sys.modules, 'the core imported the catalog'\n"
        "from typed_losses.hydra import losses_from_hydra, register_configs\n"
        "print(losses_from_hydra([{'type': 'logit_bce', 'name': None, 'weight': 1.0, 'params': None}]).names)\n"
        "try:\n"
        "    register_configs()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [
        "('logit_bce',)",
        "typed_losses.hydra.register_configs needs hydra-core: pip install 'typed-losses[hydra]'",
    ]


class FakeStore:
    """Records ``store`` calls like Hydra's ConfigStore."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, str | None, str | None]] = []

    def store(self, name: str, node: object, group: str | None = None, package: str | None = None) -> None:
        self.calls.append((name, node, group, package))


def test_register_configs_stores_the_schema_under_the_given_name() -> None:
    store = FakeStore()
    register_configs(store, name="losses_schema", group="schema", package="model_config.vqa")
    ((name, node, group, package),) = store.calls
    assert (name, group, package) == ("losses_schema", "schema", "model_config.vqa")
    assert repr(node) == "{'losses': '???'}"


def test_plain_data_from_the_schema_is_checked() -> None:
    entry = {"type": "bce_kl", "weight": 1.0, "name": None, "params": {"weight_sofmax": 0.5}}
    with pytest.raises(LossConfigError) as info:
        losses_from_hydra([entry], label="model.losses")
    assert [i.format() for i in info.value.issues] == [
        "model.losses[0].params: missing required param 'weight_softmax' (float) of BinaryCrossEntropyKlParams",
        "model.losses[0].params.weight_sofmax: unknown param 'weight_sofmax' for BinaryCrossEntropyKlParams"
        " (did you mean 'weight_softmax'?)",
    ]  # in the order of the value
    assert list(LossEntry.__dataclass_fields__) == ["type", "weight", "name", "params", "inputs"]
