"""Fenced code blocks of the markdown docs (README.md, docs/*.md), for tests that run them."""

from __future__ import annotations

import re
from pathlib import Path
from types import CodeType

import attrs

ROOT = Path(__file__).resolve().parents[2]

# ```lang title="name"  ...  ``` at the start of a line (optionally indented, e.g. inside a list item).
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<language>[\w+-]*)(?:[ \t]+title=\"(?P<title>[^\"]*)\")?[ \t]*\n"
    r"(?P<code>.*?)^(?P=indent)```[ \t]*$",
    flags=re.S | re.M,
)


@attrs.frozen
class Block:
    """One fenced code block: its language, its ``title="..."`` (or ``None``), its text and its line."""

    language: str
    title: str | None
    code: str
    line: int


def code_blocks(path: Path, language: str | None = None) -> list[Block]:
    """The fenced code blocks of ``path`` in order (only those of ``language`` when given), dedented."""
    text = path.read_text(encoding="utf-8")
    found: list[Block] = []
    for match in _FENCE.finditer(text):
        if language is not None and match["language"] != language:
            continue
        indent = len(match["indent"])
        code = "".join(line[indent:] if line[:indent].isspace() else line for line in match["code"].splitlines(True))
        line = text.count("\n", 0, match.start()) + 2  # the first line of code
        found.append(Block(match["language"], match["title"], code, line))
    return found


def compile_block(block: Block, path: Path) -> CodeType:
    """``block`` compiled with its real line numbers in ``path`` (tracebacks point into the markdown)."""
    return compile("\n" * (block.line - 1) + block.code, str(path), "exec")
