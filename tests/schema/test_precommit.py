"""The shipped pre-commit hook runs `typed-losses validate` in a way that works on a user's repository."""

from __future__ import annotations

import io
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.cli import PLUGIN_LOSS, PLUGIN_SOURCE

from typed_losses.cli import main

ROOT = Path(__file__).resolve().parents[2]


def hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def hook(hook_id: str) -> dict[str, Any]:
    (found,) = [h for h in hooks() if h["id"] == hook_id]
    return found


def test_hook_declaration() -> None:
    assert [h["id"] for h in hooks()] == ["typed-losses-validate", "typed-losses-schema"]
    hook = hooks()[0]
    assert hook["id"] == "typed-losses-validate"
    assert hook["language"] == "python"
    assert hook["entry"].split()[:2] == ["typed-losses", "validate"]
    assert "yaml" in hook["types"]
    assert re.search(hook["files"], "configs/vqa.yaml") and re.search(hook["files"], "a.yml")


def test_hook_entry_runs_on_mixed_yaml_files(tmp_path: Path) -> None:
    hook = hooks()[0]
    other = tmp_path / "ci.yaml"
    other.write_text("jobs:\n  test:\n    runs-on: ubuntu\n")
    good = ROOT / "examples" / "visual_bert_vqa2.yaml"
    bad = ROOT / "tests" / "schema" / "invalid" / "unknown_loss.yaml"
    argv = shlex.split(hook["entry"])[1:]
    out = io.StringIO()
    assert main([*argv, str(other), str(good)], out=out) == 0, out.getvalue()
    assert f"{other}: skipped: no `losses` key" in out.getvalue()
    assert main([*argv, str(other), str(bad)], out=io.StringIO()) == 1
    # user plugins: pre-commit appends `args:` after the entry
    assert main([*argv, "--plugin", "typed_losses.losses", str(good)], out=io.StringIO()) == 0


def test_without_the_flag_a_file_without_losses_fails(tmp_path: Path) -> None:
    other = tmp_path / "ci.yaml"
    other.write_text("jobs: {}\n")
    out = io.StringIO()
    assert main(["validate", str(other)], out=out) == 1
    assert "no `losses` key anywhere" in out.getvalue()


def test_schema_hook_regenerates_the_user_s_schema_with_their_plugins(
    tmp_path: Path, clean_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema hook as a user configures it (docs/editors.md): their plugin module, their output file."""
    monkeypatch.setitem(sys.modules, "schema_hook_losses", None)  # removed again after the test
    del sys.modules["schema_hook_losses"]
    schema = hook("typed-losses-schema")
    assert schema["pass_filenames"] is False and schema["language"] == "python"
    assert re.search(schema["files"], "my_project/losses.py") and not re.search(schema["files"], "a.yaml")
    plugin = tmp_path / "schema_hook_losses.py"
    plugin.write_text(PLUGIN_SOURCE)
    target = tmp_path / "schemas" / "losses.schema.json"
    target.parent.mkdir()
    target.write_text("{}\n")  # stale
    argv = [*shlex.split(schema["entry"])[1:], "--plugin", str(plugin), "-o", str(target)]

    out = io.StringIO()
    assert main([*argv, "--check"], out=out) == 1  # CI: stale, and left as it was
    assert out.getvalue() == f"{target} is out of date: rerun this command without --check to rewrite it\n"
    assert target.read_text() == "{}\n"

    out = io.StringIO()
    assert main(argv, out=out) == 0
    assert out.getvalue() == f"wrote {target}\n"
    names = [b.get("const") for b in json.loads(target.read_text())["definitions"]["lossType"]["anyOf"]]
    assert PLUGIN_LOSS in names and "cross_entropy" in names

    before = target.stat().st_mtime_ns
    out = io.StringIO()
    assert main(argv, out=out) == 0  # nothing changed: the file is not rewritten (pre-commit sees no change)
    assert out.getvalue() == f"{target} is up to date\n"
    assert target.stat().st_mtime_ns == before
    assert main([*argv, "--check"], out=io.StringIO()) == 0


def test_schema_check_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--check"], out=io.StringIO()) == 2
    assert capsys.readouterr().err == "typed-losses: error: schema --check needs -o FILE (the file to compare)\n"
