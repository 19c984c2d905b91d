"""Docstrings are Markdown (mkdocstrings, Google style) everywhere in the package, not reST: no roles, no double
backticks, no `::` literal blocks, no `.. directive::`. The API page renders them; `typed-losses list` and the
loss reference show them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from helpers.markdown import ROOT

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|data|mod|attr|exc|obj|ref):`")
#: A double backtick that is not Markdown's own form for code holding a backtick (`` `x` ``) nor a ``` fence.
DOUBLE = re.compile(r"(?<![`\s])``(?![`\s])|(?<!`)``(?=\w)|(?<=\w)``(?!`)")
DIRECTIVE = re.compile(r"^\s*\.\. \w+::|::\s*$", re.M)
FILES = sorted((ROOT / "typed_losses").rglob("*.py"))


def docstrings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string that is a statement (module, class, function and attribute docstrings) with its line."""
    return [
        (node.lineno, node.value.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docstrings_are_markdown(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    found = []
    for line, text in docstrings(ast.parse(source)):
        for pattern in (ROLE, DOUBLE, DIRECTIVE):
            match = pattern.search(text)
            if match:
                found.append(f"line {line}: {text[max(0, match.start() - 30) : match.end() + 30]!r}")
    comments = [
        f"line {i}: {line.strip()}"
        for i, line in enumerate(source.splitlines(), start=1)
        if line.lstrip().startswith("#:") and (ROLE.search(line) or DOUBLE.search(line))
    ]
    assert not found + comments, "\n".join(found + comments)


def test_the_patterns_find_rest() -> None:
    assert ROLE.search("raises :class:`~typed_losses.LossConfigError`")
    assert DOUBLE.search("the ``losses`` key")
    assert DIRECTIVE.search("The public API::\n") and DIRECTIVE.search("    .. math:: x")
    for markdown in ("the `losses` key", "(`` `inputs:` ``)", "```python\nx = 1\n```", "a: `x`"):
        assert not (ROLE.search(markdown) or DOUBLE.search(markdown) or DIRECTIVE.search(markdown)), markdown
