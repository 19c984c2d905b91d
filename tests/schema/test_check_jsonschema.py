"""CI check with ``check-jsonschema`` (the ecosystem's CLI): the examples pass, every invalid fixture fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "losses.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INVALID = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))

pytest.importorskip("check_jsonschema", reason="check-jsonschema is in the dev extra")


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


def test_examples_pass() -> None:
    assert EXAMPLES
    result = check_jsonschema(*EXAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_invalid_fixtures_fail_each() -> None:
    assert INVALID
    result = check_jsonschema(*INVALID)
    assert result.returncode == 1, result.stdout + result.stderr
    # one report per failing file: every fixture is named
    missing = [p.name for p in INVALID if f"{p.name}::" not in result.stdout]
    assert not missing, result.stdout
