"""docs/guides/catalog-loss.md runs as written: its function (with its doctest), its loss and its case, checked
the way tests/losses/test_cases.py checks every case, and the command's output."""

from __future__ import annotations

import doctest
import io
import shlex

import pytest
import torch
from helpers import cases
from helpers.markdown import ROOT, code_blocks, compile_block

import typed_losses.functional.regression
from typed_losses import LossCollection, cli, generate

PAGE = ROOT / "docs" / "guides" / "catalog-loss.md"


def test_the_example_loss_is_a_working_catalog_loss(clean_registry: None, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = code_blocks(PAGE)
    assert [(b.language, b.title) for b in blocks] == [
        ("python", "typed_losses/functional/regression.py"),
        ("python", "typed_losses/losses/regression.py"),
        ("python", "tests/helpers/cases.py"),
        ("bash", None),
        ("text", "Output"),
    ]
    functional, loss, case, command, output = blocks
    # 1. the function, and its example
    math: dict[str, object] = {"__name__": "guide_functional"}
    exec(compile_block(functional, PAGE), math)
    function = math["smooth_l1"]
    (test,) = [t for t in doctest.DocTestFinder().find(function, "smooth_l1") if t.examples]
    test.globs = dict(math)
    assert doctest.DocTestRunner().run(test, out=lambda _: None).failed == 0
    # 2. the loss module, importing the function from its home
    monkeypatch.setattr(typed_losses.functional.regression, "smooth_l1", function, raising=False)
    exec(compile_block(loss, PAGE), {"__name__": "guide_losses"})
    # 3. the case: its exact numbers, and the loss equals the reference on the small inputs
    namespace = dict(vars(cases))
    exec(compile_block(case, PAGE), namespace)
    found = namespace["SMOOTH_L1"]
    assert isinstance(found, cases.Case)
    for example in found.examples:
        sample_list, model_output = example.inputs()
        built = LossCollection.from_config([{"type": found.name, "params": dict(example.params)}])
        total = built(sample_list, model_output).total
        assert float(total) == pytest.approx(example.expected, rel=example.rtol, abs=0.0 if example.rtol else None)
    sample_list, model_output = found.small()
    built = LossCollection.from_config([{"type": found.name, "params": dict(found.params)}])
    torch.testing.assert_close(built(sample_list, model_output).total, found.expected(sample_list, model_output))
    # 4. the command
    out = io.StringIO()
    assert cli.main(shlex.split(command.code)[1:], out=out) == 0
    assert out.getvalue() == output.code


def test_the_page_names_files_that_exist() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for path in (
        "typed_losses/functional/",
        "typed_losses/losses/__init__.py",
        "typed_losses/losses/inputs.py",
        "tests/helpers/cases.py",
        "tests/losses/test_cases.py",
        "tests/losses/test_catalog.py",
        "tests/test_generated.py",
        "typed_losses/generate.py",
        "docs/losses.md",
        "schemas/losses.schema.json",
        "typed_losses/builders.py",
        "CHANGELOG.md",
    ):
        assert f"`{path}" in text, path
        assert (ROOT / path.rstrip("/")).exists(), path
    assert "FAMILIES" in text and isinstance(generate.FAMILIES, dict)
