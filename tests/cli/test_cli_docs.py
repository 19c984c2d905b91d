"""docs/cli.md shows what the commands print."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from helpers.markdown import ROOT, code_blocks

from typed_losses.cli import main

BLOCKS = {b.title: b.code for b in code_blocks(ROOT / "docs" / "cli.md", "text") if b.title}


def run(*argv: str) -> str:
    out = io.StringIO()
    assert main(list(argv), out=out) == 0
    return out.getvalue()


def test_show_example_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert run("show", "examples/demo.yaml") == BLOCKS["typed-losses show examples/demo.yaml"]


def test_demo_example_matches_but_for_time_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    printed = run("demo").splitlines()
    shown = BLOCKS["typed-losses demo"].splitlines()
    packaged = str(ROOT / "typed_losses" / "demo" / "demo.yaml")
    assert printed[0].replace(packaged, ".../typed_losses/demo/demo.yaml") == shown[0]
    assert printed[-1] == shown[-1]
    time = re.compile(r"in \d+\.\ds")
    assert [time.sub("in Xs", line) for line in printed[1:-1]] == [time.sub("in Xs", line) for line in shown[1:-1]]


def test_list_example_is_exact() -> None:
    assert run("list", "bce_kl") == BLOCKS["typed-losses list bce_kl"]
