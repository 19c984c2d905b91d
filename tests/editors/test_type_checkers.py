"""mypy and pyright on a user's file, run from a directory outside the checkout, against the installed package.

This is what a user gets after the README's install (``pip install -e .``): both checkers must find
``typed_losses`` (setuptools' default editable install is an import hook that static checkers cannot follow;
``package-dir`` in pyproject.toml makes it a static path) and reject the same mistakes, each on its line.
``PYTHONPATH`` is removed, so only the installed package can be found. mypy runs with the settings
docs/editors.md gives users (the ``mypy.ini`` block).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.markdown import ROOT, code_blocks
from helpers.node_tools import node

# Each mistake ends in `# expect: mypy=CODE pyright=RULE[,RULE]`: the error codes each checker must report there.
USER_CODE = """\
from typing import assert_type

import attrs
import torch
from torch import Tensor

from typed_losses import Batch, Loss, LossCollection, LossOutput, Term, build_loss
from typed_losses.losses import CrossEntropyLoss, CrossEntropyParams, MSEParams

losses = LossCollection([CrossEntropyParams(label_smoothing=0.1), Term(MSEParams(), weight=0.5, name="mse")])
output = losses({"targets": torch.tensor([0, 1])}, {"scores": torch.randn(2, 3, requires_grad=True)})
assert_type(output, LossOutput)
assert_type(output.total, Tensor)
output.total.backward()
assert_type(build_loss("cross_entropy", CrossEntropyParams()), CrossEntropyLoss)

CrossEntropyParams(label_smothing=0.1)  # expect: mypy=call-arg pyright=reportCallIssue
CrossEntropyParams(label_smoothing="0.1")  # expect: mypy=arg-type pyright=reportArgumentType
CrossEntropyParams(reduction="avg")  # expect: mypy=arg-type pyright=reportArgumentType
params = CrossEntropyParams()
params.label_smoothing = 0.2  # expect: mypy=misc pyright=reportAttributeAccessIssue
Term({"label_smoothing": 0.1})  # expect: mypy=type-var pyright=reportArgumentType
Term(CrossEntropyParams(), weight="2")  # expect: mypy=arg-type pyright=reportArgumentType
build_loss("cross_entropy", MSEParams())  # expect: mypy=call-overload pyright=reportCallIssue,reportArgumentType
LossCollection(["cross_entropy"])  # expect: mypy=list-item pyright=reportArgumentType


@attrs.frozen
class FocalParams:
    gamma: float = 2.0


class FocalLoss(Loss[FocalParams]):
    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        scores: Tensor = model_output["scores"]
        return scores.mean() * self.params.gamma


FocalLoss(CrossEntropyParams())  # expect: mypy=arg-type pyright=reportArgumentType


class NotParamsLoss(Loss[int]):  # expect: mypy=type-var pyright=reportInvalidTypeArguments
    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return torch.zeros(())
"""

_EXPECT = re.compile(r"# expect: mypy=(?P<mypy>\S+) pyright=(?P<pyright>\S+)")


def expected(checker: str) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    for number, line in enumerate(USER_CODE.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.update((number, code) for code in match[checker].split(","))
    return found


def outside_env() -> dict[str, str]:
    """The environment without anything that would point a checker at the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}


def user_mypy_ini() -> str:
    blocks = [b.code for b in code_blocks(ROOT / "docs" / "editors.md", "ini") if b.title == "mypy.ini"]
    assert len(blocks) == 1, 'docs/editors.md shows users\' mypy settings in one ```ini title="mypy.ini" block'
    return blocks[0]


def run_mypy(workdir: Path, config: str) -> tuple[set[tuple[int, str]], str]:
    (workdir / "mypy.ini").write_text(config)
    digest = hashlib.sha256(config.encode()).hexdigest()[:12]
    result = subprocess.run(
        # A cache per config, beside the checkout's own: torch takes ~25 s cold, a second warm.
        [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache" / f"outside-{digest}"), "user.py"],
        cwd=workdir,
        env=outside_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    errors = {(int(m[1]), m[2]) for m in re.finditer(r"^user\.py:(\d+): error: .*\[([\w-]+)\]$", result.stdout, re.M)}
    return errors, result.stdout + result.stderr


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "user.py").write_text(USER_CODE)
    assert not workdir.resolve().is_relative_to(ROOT)
    return workdir


def test_mypy_outside_the_checkout(user_file: Path) -> None:
    errors, output = run_mypy(user_file, user_mypy_ini())
    assert "Cannot find implementation or library stub" not in output, (
        "mypy cannot find the installed typed_losses: reinstall it with `pip install -e .` (a static-path "
        f"editable install, see pyproject.toml's package-dir)\n{output}"
    )
    assert errors == expected("mypy"), output


def test_mypy_settings_for_torch_are_needed(user_file: Path) -> None:
    """Without the documented ``untyped_calls_exclude``, strict mode flags ``output.total.backward()``."""
    config = "\n".join(line for line in user_mypy_ini().splitlines() if "untyped_calls_exclude" not in line)
    errors, output = run_mypy(user_file, config)
    backward = USER_CODE.splitlines().index("output.total.backward()") + 1
    assert errors - expected("mypy") == {(backward, "no-untyped-call")}, output


def test_pyright_outside_the_checkout(user_file: Path) -> None:
    exe = Path(sys.executable).parent / "pyright"
    if not exe.exists():
        pytest.fail("pyright is in the dev extra (pip install -e '.[dev]')")
    if node() is None:
        pytest.skip("node is not on PATH (pyright runs on Node.js)")
    result = subprocess.run(
        [str(exe), "--outputjson", "--pythonpath", sys.executable, "user.py"],
        cwd=user_file,
        env=outside_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout)
    diagnostics = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    errors = {(d["range"]["start"]["line"] + 1, d.get("rule", "")) for d in diagnostics}
    listing = "\n".join(f"{d['range']['start']['line'] + 1}: {d['message']} ({d.get('rule')})" for d in diagnostics)
    assert "reportMissingImports" not in listing, (
        f"pyright cannot find the installed typed_losses: reinstall it with `pip install -e .`\n{listing}"
    )
    assert errors == expected("pyright"), listing
