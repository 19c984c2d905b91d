"""Hostile YAML: code-running tags, alias and merge bombs, recursion, deep nesting, huge documents and
duplicate keys all end in a :class:`LossConfigError` with a position, quickly and without building the
expansion. (No timing assertions: each case is small enough that a regression shows up as a slow suite.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from typed_losses import LossConfigError, load_yaml, load_yaml_text
from typed_losses.config import yaml as tl_yaml
from typed_losses.config.yaml import MAX_BYTES, MAX_DEPTH, MAX_NODES


def issue_of(text: str, *, max_nodes: int = MAX_NODES) -> tuple[str, int | None, int | None, str]:
    with pytest.raises(LossConfigError) as info:
        load_yaml_text(text, file="c.yaml", max_nodes=max_nodes)
    (issue,) = info.value.issues
    assert issue.file == "c.yaml"
    return issue.message, issue.line, issue.column, issue.path


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/name:os.system\n", "tag:yaml.org,2002:python/name:os.system"),
        ("a: !!python/object/new:os.system [echo hi]\n", "tag:yaml.org,2002:python/object/new:os.system"),
        (
            "a: !!python/object/apply:subprocess.check_output {args: [[id]]}\n",
            "tag:yaml.org,2002:python/object/apply:subprocess.check_output",
        ),
        ("a: !!python/module:os\n", "tag:yaml.org,2002:python/module:os"),
        ("a: !custom {x: 1}\n", "!custom"),
        ("a: !custom x\n", "!custom"),
        ("a: !!set {x, y}\n", "tag:yaml.org,2002:set"),
    ],
)
def test_tags_that_could_build_objects_are_refused(text: str, tag: str) -> None:
    message, line, column, path = issue_of(text)
    assert message.startswith(f"unsupported YAML tag {tag!r}")
    assert (line, column, path) == (1, 4, "a")


def test_binary_values_are_refused() -> None:
    assert issue_of("a: !!binary aGVsbG8=\n") == ("binary values are not supported in a config", 1, 4, "a")


def test_alias_bomb_of_mappings_is_refused_before_expansion() -> None:
    # Each level holds the previous one 10 times: about 2 * 10**9 nodes once expanded.
    lines = ["a0: &a0 {" + ", ".join(f"k{j}: 1" for j in range(10)) + "}"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} {{" + ", ".join(f"m{j}: *a{i - 1}" for j in range(10)) + "}")
    message, line, _, _ = issue_of("\n".join(lines) + "\n")
    assert (
        message
        == f"document has more than {MAX_NODES} nodes once aliases and merge keys are expanded; refusing to load it"
    )
    assert line == 5  # a4 (222211 nodes) is the first mapping that expands past the bound


def test_merge_keys_of_merge_keys_are_counted() -> None:
    lines = ["a0: &a0 {" + ", ".join(f"k{j}: 1" for j in range(10)) + "}"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 10)}]}}")
    message, *_ = issue_of("\n".join(lines) + "\n")
    assert message.startswith(f"document has more than {MAX_NODES} nodes")


@pytest.mark.parametrize("text", ["a: &a [1, *a]\n", "a: &a {x: *a}\n", "a: &a {<<: *a}\n"])
def test_recursive_aliases_are_refused(text: str) -> None:
    message, line, column, _ = issue_of(text)
    assert "recursive" in message
    assert (line, column) == (1, 4)


def test_a_document_just_under_the_node_bound_loads() -> None:
    # The root mapping, its key "a" and the list are 3 nodes; a smaller bound keeps OmegaConf's share of the test fast.
    root = load_yaml_text("a: [" + ", ".join("1" for _ in range(997)) + "]\n", max_nodes=1000)
    assert len(root.a) == 997
    message, *_ = issue_of("a: [" + ", ".join("1" for _ in range(998)) + "]\n", max_nodes=1000)
    assert message.startswith("document has more than 1000 nodes")


def test_a_document_over_the_node_bound_without_aliases_is_refused() -> None:
    message, *_ = issue_of("a: [" + ", ".join("1" for _ in range(MAX_NODES + 1)) + "]\n")
    assert message.startswith(f"document has more than {MAX_NODES} nodes")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
def test_deep_flow_nesting_is_refused(depth: int) -> None:
    message, *_ = issue_of("a: " + "[" * depth + "]" * depth + "\n")
    assert message.startswith("document nest") and f"{MAX_DEPTH} levels" in message


def test_deep_block_nesting_is_refused() -> None:
    depth = 1_200
    text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x\n"
    message, *_ = issue_of(text)
    assert message.startswith("document nest") and f"{MAX_DEPTH} levels" in message


def test_huge_text_is_refused_without_parsing() -> None:
    message, line, column, path = issue_of("#" * (MAX_BYTES + 1))
    assert (message, line, column, path) == (
        f"document is {MAX_BYTES + 1} characters; the limit is {MAX_BYTES}",
        None,
        None,
        "<document>",
    )


def test_huge_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tl_yaml, "MAX_BYTES", 1_000)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2_000 + "\n")
    with pytest.raises(LossConfigError) as info:
        load_yaml(path)
    assert [str(i) for i in info.value.issues] == [f"{path}: <document>: file is 2004 bytes; the limit is 1000"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: {x: 1, x: 2}\n", ("duplicate key 'x' (first written on line 1)", 1, 11, "a.x")),
        ("a:\n  b:\n    c: 1\n    d: 2\n    c: 3\n", ("duplicate key 'c' (first written on line 3)", 5, 5, "a.b.c")),
        (
            "losses:\n  - type: mse\n  - type: mse\n    weight: 1\n    weight: 2\n",
            ("duplicate key 'weight' (first written on line 4)", 5, 5, "losses[1].weight"),
        ),
        ("1: a\n1: b\n", ("duplicate key 1 (first written on line 1)", 2, 1, "[1]")),
    ],
)
def test_duplicate_keys_are_reported_with_their_lines(text: str, expected: tuple[str, int, int, str]) -> None:
    assert issue_of(text) == expected


def test_every_duplicate_key_is_reported() -> None:
    with pytest.raises(LossConfigError) as info:
        load_yaml_text("a: 1\na: 2\nb: {c: 1, c: 2}\na: 3\n")
    assert [(i.path, i.line) for i in info.value.issues] == [("a", 2), ("a", 4), ("b.c", 3)]
