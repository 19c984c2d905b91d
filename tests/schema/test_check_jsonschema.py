"""CI check with ``check-jsonschema`` (the ecosystem's CLI): the examples pass, every invalid fixture fails."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.markdown import code_blocks

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


def test_one_error_per_mistake(tmp_path: Path) -> None:
    """The 5-mistake file of docs/editors.md: one error for each entry, at or below it (the schema chooses
    branches by `if`/`then`, so check-jsonschema does not report a 'best match' among every loss)."""
    (block,) = [b for b in code_blocks(ROOT / "docs" / "editors.md", "yaml") if b.title == "broken.yaml"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(block.code)
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), "-o", "json", str(broken)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    paths = [error["path"] for error in json.loads(result.stdout)["errors"]]
    entries = len(yaml.safe_load(block.code)["model_config"]["vqa"]["losses"])
    indices = []
    for path in paths:
        match = re.match(r"^\$\.model_config\.vqa\.losses\[(\d+)\]", path)
        assert match is not None, path
        indices.append(int(match[1]))
    assert indices == list(range(entries)), paths
