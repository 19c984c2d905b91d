"""Run the type-test cases (tests/typing/cases/) under mypy --strict, and under pyright when it is installed.

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


def test_cases_pass_pyright() -> None:
    pyright = _pyright()
    if pyright is None:
        pytest.skip(
            "pyright is not installed (pip install -e '.[dev]' installs it; it needs Node.js, "
            "which the pyright package finds on PATH or downloads)"
        )
    config = HERE / "pyrightconfig.json"
    result = subprocess.run(
        [*pyright, "--outputjson", "-p", str(config), "--pythonpath", sys.executable],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright did not run:\n{result.stdout}\n{result.stderr}")
    problems = [
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['severity']}: {d['message']} ({d.get('rule', '')})"
        for d in report["generalDiagnostics"]
        if d["severity"] in ("error", "warning")
    ]
    assert not problems, "pyright found errors in the type tests:\n" + "\n".join(problems)
    assert report["summary"]["filesAnalyzed"] >= len(CASES) - 1
