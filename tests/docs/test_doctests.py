"""Every ``>>>`` example in the package's docstrings runs and prints what it shows.

One test per module, each in a clean registry (an example may register a loss). The public API and every
public function of :mod:`typed_losses.functional` must have at least one example.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import typed_losses
import typed_losses.functional

FLAGS = doctest.ELLIPSIS
#: Modules that need an optional dependency: their examples run only when it is installed.
OPTIONAL = {"typed_losses.hydra": "hydra"}


def module_names() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(typed_losses.__path__, "typed_losses.")
        if not info.name.endswith("__main__")
    )


def import_module(name: str) -> ModuleType:
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    return importlib.import_module(name)


def examples(obj: object, name: str) -> list[doctest.DocTest]:
    return [test for test in doctest.DocTestFinder().find(obj, name) if test.examples]


@pytest.mark.parametrize("name", ["typed_losses", *module_names()])
def test_docstring_examples(name: str, clean_registry: None) -> None:
    module = import_module(name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures: list[str] = []
    for test in examples(module, name):
        test.globs = dict(module.__dict__)
        report: list[str] = []
        result = runner.run(test, out=report.append)
        if result.failed:
            failures.append("".join(report))
    assert not failures, "\n".join(failures)


PUBLIC_WITH_EXAMPLES = [
    "LossCollection",
    "LossOutput",
    "Term",
    "check_losses",
    "check_params_data",
    "load_yaml",
    "load_yaml_text",
    "register_loss",
]


@pytest.mark.parametrize("name", PUBLIC_WITH_EXAMPLES)
def test_public_api_has_an_example(name: str) -> None:
    assert ">>>" in (getattr(typed_losses, name).__doc__ or "")


def functional_functions() -> list[str]:
    found = []
    for info in pkgutil.iter_modules(typed_losses.functional.__path__, "typed_losses.functional."):
        module = importlib.import_module(info.name)
        for attr in getattr(module, "__all__", ()):
            if inspect.isfunction(getattr(module, attr)):
                found.append(f"{info.name}.{attr}")
    return found


def test_every_functional_function_has_an_example() -> None:
    names = functional_functions()
    assert len(names) >= 20
    missing = []
    for qualified in names:
        module, attr = qualified.rsplit(".", 1)
        if ">>>" not in (getattr(importlib.import_module(module), attr).__doc__ or ""):
            missing.append(qualified)
    assert not missing, f"no >>> example in: {', '.join(missing)}"
