"""yaml-language-server (the engine of VS Code's YAML extension) driven over LSP stdio with the schema that
``typed-losses schema`` writes: what a user sees in an editor.

The server is the version pinned in tests/editors/package.json, installed from the npm registry
(tests/helpers/node_tools.py; ``.ci/run`` installs it first). The tests skip only where ``node`` is missing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import console_script
from helpers.lsp import LspClient
from helpers.markdown import ROOT
from helpers.node_tools import node, yaml_language_server

from typed_losses import cli
from typed_losses.introspect import params_info
from typed_losses.registry import REGISTRY

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INVALID = sorted((ROOT / "tests" / "schema" / "invalid").glob("*.yaml"))
MODELINE = re.compile(r"\A# yaml-language-server: \$schema=\S+\n")

pytestmark = pytest.mark.skipif(node() is None, reason="node is not on PATH (yaml-language-server runs on Node.js)")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the schema ``typed-losses schema -o`` wrote, where the test documents live."""
    folder = tmp_path_factory.mktemp("editor")
    result = console_script(folder, "schema", "-o", "losses.schema.json")
    assert result.code == 0, result
    return folder


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[LspClient]:
    settings = {"yaml": {"validate": True, "hover": True, "completion": True, "schemas": {}, "format": {}}}
    client = LspClient(yaml_language_server(), settings=settings, root=workdir)
    try:
        yield client
    finally:
        client.close()


class Document:
    """A config file as the editor has it: its text with the modeline pointing at the generated schema."""

    counter = 0

    def __init__(self, server: LspClient, workdir: Path, text: str) -> None:
        Document.counter += 1
        body = MODELINE.sub("", text)
        self.text = f"# yaml-language-server: $schema={(workdir / 'losses.schema.json').as_uri()}\n{body}"
        self.lines = self.text.splitlines()
        self.path = workdir / f"doc{Document.counter}.yaml"
        self.path.write_text(self.text)
        self.server = server
        self.uri = server.open(self.path, self.text)

    def at(self, needle: str, occurrence: int = 0) -> tuple[int, int]:
        """The (line, character) just after ``needle`` (its ``occurrence``-th line)."""
        hits = [(n, line.index(needle) + len(needle)) for n, line in enumerate(self.lines) if needle in line]
        return hits[occurrence]

    def diagnostics(self) -> list[dict[str, Any]]:
        return self.server.diagnostics(self.uri)

    def lines_with_errors(self) -> set[int]:
        """The (1-based) lines of the diagnostics."""
        return {d["range"]["start"]["line"] + 1 for d in self.diagnostics()}

    def completion(self, needle: str, occurrence: int = 0) -> list[dict[str, Any]]:
        return self.server.completion(self.uri, *self.at(needle, occurrence))

    def hover(self, needle: str, occurrence: int = 0) -> str | None:
        line, end = self.at(needle, occurrence)
        return self.server.hover(self.uri, line, end - 1)


def python_error_lines(path: Path) -> set[int]:
    """The lines ``typed-losses validate`` reports for ``path`` (the Python checker, the reference)."""
    out = io.StringIO()
    assert cli.main(["validate", str(path)], out=out) == 1
    return {int(m[1]) for m in re.finditer(r"^.*?:(\d+):\d+: ", out.getvalue(), re.M)}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_have_no_diagnostics(server: LspClient, workdir: Path, path: Path) -> None:
    document = Document(server, workdir, path.read_text())
    assert document.diagnostics() == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_each_mistake_is_flagged_on_its_line(server: LspClient, workdir: Path, path: Path) -> None:
    """Every broken fixture gets diagnostics on exactly the lines where the Python checker reports problems."""
    document = Document(server, workdir, path.read_text())
    assert document.lines_with_errors() == python_error_lines(document.path), document.diagnostics()


def test_params_completion_lists_that_loss_s_params(server: LspClient, workdir: Path) -> None:
    document = Document(server, workdir, "losses:\n  - type: cross_entropy\n    params:\n      \n")
    line, _ = document.at("params:")
    items = server.completion(document.uri, line + 1, 6)
    expected = {info.name for info in params_info(REGISTRY["cross_entropy"].params_class)}
    assert {item["label"] for item in items} == expected


def test_hover_on_a_param_shows_its_description(server: LspClient, workdir: Path) -> None:
    document = Document(
        server, workdir, "losses:\n  - type: in_batch_hinge\n    params:\n      margin: 0.3\n      hard: true\n"
    )
    for info in params_info(REGISTRY["in_batch_hinge"].params_class):
        if info.name in ("margin", "hard"):
            hover = document.hover(f"{info.name}")
            assert hover is not None and info.doc.replace("_", "\\_") in hover, hover
