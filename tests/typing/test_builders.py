"""The generated ``typed_losses/builders.py``: fresh, lazily exported, and checking at run time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import typed_losses
from typed_losses import REGISTRY, LossConfigError
from typed_losses.builders import build_loss
from typed_losses.generate import builders_module
from typed_losses.losses import CrossEntropyLoss, CrossEntropyParams, MSELoss, MSEParams

ROOT = Path(__file__).resolve().parent.parent.parent


def test_builders_module_is_fresh() -> None:
    committed = (ROOT / "typed_losses" / "builders.py").read_text(encoding="utf-8")
    assert committed == builders_module(), "typed_losses/builders.py is stale: run `python -m typed_losses.generate`"


def test_every_catalog_loss_has_an_overload() -> None:
    text = builders_module()
    catalog = [s for s in REGISTRY if s.loss_class.__module__.startswith("typed_losses.losses")]
    assert catalog
    for spec in catalog:
        assert f'name: Literal["{spec.name}"],' in text
        assert f") -> {spec.loss_class.__name__}: ..." in text
    assert "params: Any" not in text


def test_build_from_params_and_from_data() -> None:
    loss = build_loss("cross_entropy", CrossEntropyParams(label_smoothing=0.1), term_name="ce")
    assert isinstance(loss, CrossEntropyLoss) and loss.term_name == "ce"
    from_data = build_loss("cross_entropy", {"label_smoothing": 0.1})
    assert isinstance(from_data, CrossEntropyLoss) and from_data.params == loss.params
    assert from_data.term_name == "cross_entropy"
    assert isinstance(typed_losses.build_loss("mse", MSEParams()), MSELoss)


def test_mistakes_raise() -> None:
    with pytest.raises(LossConfigError, match="did you mean 'label_smoothing'"):
        build_loss("cross_entropy", {"label_smothing": 0.1})
    with pytest.raises(LossConfigError, match="unknown loss 'cross_entropi'.*did you mean 'cross_entropy'"):
        build_loss("cross_entropi", {})
    with pytest.raises(TypeError, match="CrossEntropyLoss takes CrossEntropyParams, got MSEParams"):
        build_loss("cross_entropy", MSEParams())  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="takes CrossEntropyParams or a mapping"):
        build_loss("cross_entropy", 0.1)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((5, {}), {}, TypeError, "build_loss(name, params): name is the registry name of a loss (a str), got 5 (int)"),
        (
            (None, {}),
            {},
            TypeError,
            "build_loss(name, params): name is the registry name of a loss (a str), got None (NoneType)",
        ),
        (
            (["mse"], {}),
            {},
            TypeError,
            "build_loss(name, params): name is the registry name of a loss (a str), got ['mse'] (list)",
        ),
        (("mse", None), {}, TypeError, "build_loss('mse', ...) takes MSEParams or a mapping of params, got NoneType"),
        (
            ("mse", {}),
            {"term_name": 5},
            TypeError,
            "build_loss('mse', ..., term_name=...): expected a non-empty string, found 5 (int)",
        ),
        (
            ("mse", {}),
            {"term_name": ""},
            ValueError,
            "build_loss('mse', ..., term_name=...): expected a non-empty string, found '' (str)",
        ),
        (
            ("mse", {}),
            {"term_name": "total"},
            ValueError,
            "build_loss('mse', ..., term_name=...): term name 'total' is reserved: logs and output files use it "
            "for the sum of the terms (choose another `name:`)",
        ),
    ],
)
def test_wrong_argument_types_are_named(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        typed_losses.build_loss(*args, **kwargs)  # type: ignore[call-overload]
    assert type(info.value) is error and str(info.value) == message


def test_build_loss_is_exported_lazily() -> None:
    code = (
        "import sys, typed_losses\n"
        "assert 'typed_losses.losses' not in sys.modules\n"
        "assert 'typed_losses.builders' not in sys.modules\n"
        "print(type(typed_losses.build_loss('mse', {})).__name__)\n"
        "try:\n"
        "    typed_losses.build_losss\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["MSELoss", "module 'typed_losses' has no attribute 'build_losss'"]
