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
from helpers.markdown import ROOT, code_blocks
from helpers.node_tools import node, yaml_language_server

from typed_losses import cli
from typed_losses.generate import catalog_registry
from typed_losses.introspect import params_info
from typed_losses.weighting import WEIGHT_KINDS, WeightSpec

#: What the schema `typed-losses schema` writes in a fresh process knows: the catalog (this process may hold
#: losses other tests registered).
REGISTRY = catalog_registry()
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


# -- what the schema gives an editor: names, hover, one message per mistake ------------------------------------


def plain(text: str) -> str:
    """Hover markdown without its escapes (``cross\\_entropy`` -> ``cross_entropy``)."""
    return re.sub(r"\\(.)", r"\1", text)


def documentation(item: dict[str, Any]) -> str:
    doc = item.get("documentation", "")
    return str(doc["value"] if isinstance(doc, dict) else doc)


def summary(text: str) -> str:
    return text.replace("``", "`")


def test_completion_after_type_offers_every_loss_with_its_description(server: LspClient, workdir: Path) -> None:
    document = Document(server, workdir, "losses:\n  - type: \n")
    items = {item["label"]: documentation(item) for item in document.completion("type: ")}
    assert sorted(items) == REGISTRY.names()
    for spec in REGISTRY:
        assert items[spec.name].startswith(summary(spec.summary)), (spec.name, items[spec.name])


def test_hover_on_a_loss_name_shows_its_description(server: LspClient, workdir: Path) -> None:
    names = REGISTRY.names()
    document = Document(server, workdir, "losses:\n" + "".join(f"  - type: {name}\n" for name in names))
    for i, name in enumerate(names):
        hover = server.hover(document.uri, 2 + i, len("  - type: ") + 1)
        assert hover is not None, name
        assert plain(hover).startswith(f"#### {name}\n\n{summary(REGISTRY[name].summary)}"), hover


def test_hover_on_a_param_shows_its_description_whatever_its_value(server: LspClient, workdir: Path) -> None:
    docs = {info.name: info for info in params_info(REGISTRY["in_batch_hinge"].params_class)}
    document = Document(
        server, workdir, "losses:\n  - type: in_batch_hinge\n    params:\n      margin: ${m}\n      hard: true\n"
    )
    for name in ("margin", "hard"):
        hover = document.hover(name)
        constraint = f" [{docs[name].constraint}]" if docs[name].constraint else ""
        assert hover is not None and f"#### InBatchHingeParams\n\n{docs[name].doc}{constraint}\n" in plain(hover), hover


#: A config with one mistake on each line marked `#! message`: the message yaml-language-server must give there.
BROKEN = """\
smoothing: 0.1
losses:
  - type: cross_entropy
    params:
      ignore_index: 1.5  #! Incorrect type. Expected integer (or a ${...} interpolation).
      label_smoothing: ${smoothing}
  - bce_kl  #! `bce_kl` needs params (weight_softmax): write `- type: bce_kl` with `params:`
  - type: mse
    wieght: 2  #! Property wieght is not allowed.
  - type: multi
    params:
      - type: logit_bce
      - type: crossentropy  #! UNKNOWN_LOSS
  - type: in_batch_hinge
    params:
      margn: 0.2  #! Property margn is not allowed.
  - type: logit_bce
    name: w1
    weight: high  #! Incorrect type. Expected a number, a mapping with a weight `type` (WEIGHT_KINDS) (or a ${...} interpolation).
  - type: logit_bce
    name: w2
    weight: {type: linar, start: 0.0, end: 1.0, steps: 10}  #! UNKNOWN_KIND
  - type: logit_bce
    name: w3
    weight: {type: linear, start: a, end: 1.0, steps: 10}  #! Incorrect type. Expected number (or a ${...} interpolation).
  - type: logit_bce
    name: w4
    inputs:
      scorez: aux_scores  #! Property scorez is not allowed.
"""


def catalog_weight_kinds() -> list[WeightSpec]:
    return [spec for spec in WEIGHT_KINDS if spec.params_class.__module__.startswith("typed_losses.")]


def expected_messages() -> dict[int, list[str]]:
    names = " | ".join(f'"{name}"' for name in REGISTRY.names())
    kinds = sorted(spec.name for spec in catalog_weight_kinds())
    replace = {
        "UNKNOWN_LOSS": f"Value must be {names}.",
        "UNKNOWN_KIND": "Value must be " + " | ".join(f'"{kind}"' for kind in kinds) + ".",
        "WEIGHT_KINDS": ", ".join(kinds),
    }
    out: dict[int, list[str]] = {}
    for number, line in enumerate(BROKEN.splitlines(), start=2):  # line 1 is the modeline
        if "#! " in line:
            message = line.split("#! ", 1)[1]
            for key, value in replace.items():
                message = message.replace(key, value)
            out[number] = [message]
    return out


def test_one_precise_message_per_mistake(server: LspClient, workdir: Path) -> None:
    """Each mistake: one diagnostic, on its line, saying what is wrong there; the Python checker agrees on the lines."""
    document = Document(server, workdir, BROKEN)
    found: dict[int, list[str]] = {}
    for diagnostic in document.diagnostics():
        found.setdefault(diagnostic["range"]["start"]["line"] + 1, []).append(diagnostic["message"])
    assert found == expected_messages()
    assert python_error_lines(document.path) == set(found)


def test_weight_kind_completion_offers_every_kind_with_its_description(server: LspClient, workdir: Path) -> None:
    kinds = catalog_weight_kinds()
    document = Document(server, workdir, "losses:\n  - type: mse\n    weight:\n      type: \n")
    items = {item["label"]: documentation(item) for item in document.completion("      type: ")}
    assert sorted(items) == sorted(spec.name for spec in kinds)
    for spec in kinds:
        assert items[spec.name] == summary(spec.summary), items


def test_inputs_completion_offers_the_loss_s_declared_inputs(server: LspClient, workdir: Path) -> None:
    document = Document(server, workdir, "losses:\n  - type: cross_entropy\n    inputs:\n      \n")
    line, _ = document.at("inputs:")
    items = server.completion(document.uri, line + 1, 6)
    assert {item["label"] for item in items} == {i.key for i in REGISTRY["cross_entropy"].loss_class.inputs}


# -- docs/editors.md shows what the server answers ----------------------------------------------------------


def docs_block(title: str) -> str:
    (block,) = [b for b in code_blocks(ROOT / "docs" / "editors.md") if b.title == title]
    return block.code


def test_docs_show_the_completion_list_as_measured(server: LspClient, workdir: Path) -> None:
    document = Document(server, workdir, "losses:\n  - type: \n")
    measured = "".join(f"{item['label']}: {documentation(item)}\n" for item in document.completion("type: "))
    assert docs_block("completion after type:") == measured


def test_docs_show_the_problems_as_measured(server: LspClient, workdir: Path) -> None:
    document = Document(server, workdir, docs_block("broken.yaml"))
    measured = "".join(
        f"{d['range']['start']['line'] + 1}:{d['range']['start']['character'] + 1}: {d['message']}\n"
        for d in sorted(document.diagnostics(), key=lambda d: (d["range"]["start"]["line"], d["message"]))
    )
    assert docs_block("problems") == measured
    assert python_error_lines(document.path) == {int(line.split(":")[0]) for line in measured.splitlines()}
