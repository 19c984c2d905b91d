"""Run the type-test cases (tests/typing/cases/) under mypy --strict and pyright, and pyright on the whole project.

A case file holds positive checks (``assert_type``) and negative ones: a mistake a user could make, on a line
ending in ``# type: ignore[code]``. ``warn_unused_ignores`` (mypy) and ``reportUnnecessaryTypeIgnoreComment``
(pyright) turn a mistake that stops being caught into an error, so the expected result is always "no errors".
The cases are excluded from the project's own ``mypy`` run (mypy.ini) and are never executed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CASES = sorted((HERE / "cases").glob("*.py"))


def test_there_are_cases() -> None:
    assert len(CASES) >= 4, CASES


def test_cases_pass_mypy_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    # mypy_path (stubs) is relative to the working directory; the repo's .mypy_cache keeps reruns fast.
    monkeypatch.chdir(ROOT)
    files = [str(path.relative_to(ROOT)) for path in CASES]
    stdout, stderr, status = mypy_api.run(["--config-file", str(ROOT / "mypy.ini"), "--no-pretty", *files])
    assert status == 0 and "Success" in stdout, f"mypy found errors in the type tests:\n{stdout}{stderr}"


def _pyright() -> list[str] | None:
    exe = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if exe is None:
        return None
    probe = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=300, check=False)
    if probe.returncode != 0 or "pyright" not in probe.stdout:
        return None
    return [exe]


def _pyright_problems(args: list[str]) -> tuple[list[str], dict[str, Any]]:
    pyright = _pyright()
    if pyright is None:
        pytest.skip(
            "pyright is not installed (pip install -e '.[dev]' installs it; it needs Node.js, "
            "which the pyright package finds on PATH or downloads)"
        )
    result = subprocess.run(
        [*pyright, "--outputjson", "--pythonpath", sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright did not run:\n{result.stdout}\n{result.stderr}")
    problems = [
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['severity']}: {d['message']} ({d.get('rule', '')})"
        for d in report["generalDiagnostics"]
        if d["severity"] in ("error", "warning")
    ]
    return problems, report


def test_project_passes_pyright() -> None:
    """The package and the tests under pyright (pyproject.toml's [tool.pyright]), as mypy --strict checks them."""
    problems, report = _pyright_problems([])
    assert not problems, "pyright found errors in the project:\n" + "\n".join(problems)
    assert report["summary"]["filesAnalyzed"] >= len(list((ROOT / "typed_losses").rglob("*.py")))


def test_cases_pass_pyright() -> None:
    problems, report = _pyright_problems(["-p", str(HERE / "pyrightconfig.json")])
    assert not problems, "pyright found errors in the type tests:\n" + "\n".join(problems)
    assert report["summary"]["filesAnalyzed"] >= len(CASES)
