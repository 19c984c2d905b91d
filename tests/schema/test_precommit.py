"""The shipped pre-commit hook runs `typed-losses validate` in a way that works on a user's repository."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from typed_losses.cli import main

ROOT = Path(__file__).resolve().parents[2]


def hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_hook_declaration() -> None:
    (hook,) = hooks()
    assert hook["id"] == "typed-losses-validate"
    assert hook["language"] == "python"
    assert hook["entry"].split()[:2] == ["typed-losses", "validate"]
    assert "yaml" in hook["types"]
    assert re.search(hook["files"], "configs/vqa.yaml") and re.search(hook["files"], "a.yml")


def test_hook_entry_runs_on_mixed_yaml_files(tmp_path: Path) -> None:
    (hook,) = hooks()
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
