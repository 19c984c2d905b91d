"""``docs/migration.md``: every Python example followed by an ``Output`` block prints exactly that output
(run in order, sharing one namespace); the others (they need MMF or Hydra) at least compile."""

from __future__ import annotations

import contextlib
import io
import types

from helpers.markdown import ROOT, code_blocks, compile_block

PAGE = ROOT / "docs" / "migration.md"


def test_examples_print_what_the_page_shows() -> None:
    blocks = code_blocks(PAGE)
    namespace: dict[str, object] = {"__name__": "migration_doc"}
    ran = 0
    for block, following in zip(blocks, [*blocks[1:], None], strict=True):
        if block.language != "python":
            continue
        code = compile_block(block, PAGE)
        assert isinstance(code, types.CodeType)
        if following is None or following.title != "Output":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
        assert out.getvalue() == following.code, f"docs/migration.md:{block.line}"
        ran += 1
    assert ran == 3
