"""docs/tutorial.md, docs/configuration.md, docs/weights.md and the guides run as written, in order, and print
exactly the outputs they show.

Conventions of the pages: a block with a ``title="FILE"`` is written to FILE (python blocks with the same title
are concatenated: the page builds ``my_losses.py`` piece by piece), and a python FILE must compile (files that
need packages the tests do not install, such as Lightning, are shown that way); an untitled python block is
executed in one shared namespace; a bash block's ``typed-losses`` commands are run through the CLI's ``main``; a
``text title="Output"`` block is what the block before it printed.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.markdown import ROOT, Block, code_blocks, compile_block

from typed_losses import cli
from typed_losses.registry import ENTRY_POINT_GROUP

MODULE = "my_losses"
#: page -> (blocks run, outputs checked): a block dropped from a page is noticed.
PAGES = {
    "tutorial.md": (8, 8),
    "configuration.md": (3, 3),
    "weights.md": (10, 10),
    "guides/several-heads.md": (4, 4),
    "guides/writing-a-loss.md": (4, 4),
}


@pytest.fixture
def workdir(clean_registry: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.modules.pop(MODULE, None)


def run_commands(block: Block) -> str:
    out = io.StringIO()
    for line in block.code.splitlines():
        words = shlex.split(line)
        while words and "=" in words[0]:  # environment assignments such as PYTHONPATH=.
            words.pop(0)
        assert words[:1] == ["typed-losses"], f"line {block.line}: only typed-losses commands can run: {line}"
        cli.main(words[1:], out=out)
    return out.getvalue()


@pytest.mark.parametrize("page", list(PAGES))
def test_page_runs_and_prints_what_it_shows(page: str, workdir: Path) -> None:
    path = ROOT / "docs" / page
    blocks = code_blocks(path)
    files: dict[str, str] = {}
    namespace: dict[str, object] = {"__name__": "tutorial"}
    printed: str | None = None
    ran = checked = 0
    for block in blocks:
        where = f"{page}:{block.line}"
        if block.language == "text":
            assert block.title == "Output", f"{where}: a text block must be an Output"
            assert printed is not None, f"{where}: an Output block must follow a block that runs"
            assert printed == block.code, f"{where}: the block before printed:\n{printed}"
            printed = None
            checked += 1
            continue
        printed = None
        if block.title is not None:
            files[block.title] = files.get(block.title, "") + block.code
            (workdir / block.title).write_text(files[block.title], encoding="utf-8")
        elif block.language == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile_block(block, path), namespace)
            printed = out.getvalue()
            ran += 1
        elif block.language == "bash":
            printed = run_commands(block)
            ran += 1
        elif block.language == "toml":
            groups = tomllib.loads(block.code)["project"]["entry-points"]
            assert list(groups) == [ENTRY_POINT_GROUP], where
        else:
            raise AssertionError(f"{where}: no rule to run a {block.language!r} block")
    for title, code in files.items():
        if title.endswith(".py"):
            compile(code, f"{page}: {title}", "exec")
    assert (ran, checked) == PAGES[page]
