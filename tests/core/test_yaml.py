"""Safe, positioned YAML loading."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from typed_losses import LossConfigError, load_yaml, load_yaml_text
from typed_losses.config.yaml import MAX_DEPTH, MAX_NODES, source_map_of


def only_issue(text: str) -> tuple[str, int | None, int | None, str]:
    with pytest.raises(LossConfigError) as info:
        load_yaml_text(text, file="c.yaml")
    (issue,) = info.value.issues
    return issue.message, issue.line, issue.column, issue.path


def test_positions_of_keys_and_values() -> None:
    root = load_yaml_text("a:\n  losses:\n    - type: x\n      params: {m: 1}\n", file="c.yaml")
    source, path = source_map_of(root.a.losses)
    assert source is not None and path == ("a", "losses")
    assert source.locate(("a", "losses", 0, "type")) == (3, 13)
    assert source.locate(("a", "losses", 0, "params"), at_key=True) == (4, 7)
    assert source.locate(("a", "losses", 0, "params", "m")) == (4, 19)
    # An absent key is placed at its nearest existing ancestor (by its key).
    assert source.locate(("a", "losses", 0, "params", "absent")) == (4, 7)


def test_python_tags_are_rejected_with_position() -> None:
    message, line, column, path = only_issue("losses:\n  - !!python/object/apply:os.system ['echo hi']\n")
    assert message.startswith("unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'")
    assert (line, column, path) == (2, 5, "losses[0]")


def test_syntax_error_has_position() -> None:
    message, line, _column, _ = only_issue("losses:\n  - type: [unclosed\n")
    assert message.startswith("YAML syntax error:")
    assert line == 3


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    message, line, column, path = only_issue("losses:\n  - type: a\n    type: b\n")
    assert (message, line, column, path) == ("duplicate key 'type' (first written on line 2)", 3, 5, "losses[0].type")


def test_merge_keys_are_not_duplicates() -> None:
    root = load_yaml_text("base: &b {type: cross_entropy, weight: 2}\nlosses:\n  - <<: *b\n    weight: 3\n")
    assert root.losses[0].weight == 3 and root.losses[0].type == "cross_entropy"


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    start = time.perf_counter()
    message, *_ = only_issue("\n".join(lines) + "\n")
    assert f"more than {MAX_NODES} nodes" in message
    assert time.perf_counter() - start < 20


def test_deep_nesting_is_refused() -> None:
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    message, *_ = only_issue(text)
    assert "nest" in message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(LossConfigError, match="cannot read file"):
        load_yaml(tmp_path / "absent.yaml")


def test_top_level_scalar_is_refused() -> None:
    message, *_ = only_issue("just a string\n")
    assert message == "expected a mapping or a list at the top of the document, found str"


def test_dates_stay_strings() -> None:
    assert load_yaml_text("d: 2024-01-01\n").d == "2024-01-01"
