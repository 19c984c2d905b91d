"""YAML merge keys (``<<``) follow the YAML merge rule, and every merged value keeps the position of the
anchored value it came from (``typed-losses show`` points there).

The rule (https://yaml.org/type/merge.html): explicit keys win over merged ones; in ``<<: [*a, *b]``
earlier mappings win over later ones. PyYAML 6.0.4 lets the later mapping win whenever the keys are not
interned strings (``label_smoothing`` but not ``x``), so every case below uses long keys.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from omegaconf import OmegaConf

from typed_losses import LossConfigError, load_yaml_text
from typed_losses.cli_support import select
from typed_losses.config.yaml import source_map_of
from typed_losses.provenance import losses_provenance

FILE = "m.yaml"

ANCHORS = (
    "first: &first {label_smoothing: 0.1, ignore_index: 1}\n"  # 1
    "second: &second {label_smoothing: 0.2, ignore_index: 2, reduction: sum}\n"  # 2
)


def loaded(text: str) -> dict[str, Any]:
    data = OmegaConf.to_container(load_yaml_text(text, file=FILE))
    assert isinstance(data, dict)
    return {str(key): value for key, value in data.items()}


def positions(text: str, *path: str | int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(key position, value position) of ``path`` in the loaded document."""
    source, _ = source_map_of(load_yaml_text(text, file=FILE))
    assert source is not None
    return source.keys.get(path), source.values.get(path)


def test_earlier_mappings_win_over_later_ones() -> None:
    text = ANCHORS + "both: {<<: [*first, *second]}\n"
    assert loaded(text)["both"] == {"label_smoothing": 0.1, "ignore_index": 1, "reduction": "sum"}
    # PyYAML itself gets this wrong (so does OmegaConf 2.3's own loader; 2.4's gets it right).
    assert yaml.safe_load(text)["both"]["label_smoothing"] == 0.2
    assert positions(text, "both", "label_smoothing") == ((1, 16), (1, 33))
    assert positions(text, "both", "reduction") == ((2, 57), (2, 68))


def test_explicit_keys_win_over_merged_ones() -> None:
    text = ANCHORS + "both:\n  <<: [*first, *second]\n  ignore_index: 7\n"
    assert loaded(text)["both"] == {"label_smoothing": 0.1, "reduction": "sum", "ignore_index": 7}
    assert positions(text, "both", "ignore_index") == ((5, 3), (5, 17))


def test_the_single_form() -> None:
    text = ANCHORS + "one:\n  <<: *second\n  reduction: mean\n"
    assert loaded(text)["one"] == {"label_smoothing": 0.2, "ignore_index": 2, "reduction": "mean"}
    assert positions(text, "one", "label_smoothing") == ((2, 18), (2, 35))


def test_merged_mappings_that_merge_others() -> None:
    text = (
        ANCHORS
        + "third: &third\n"  # 3
        + "  <<: *second\n"  # 4
        + "  ignore_index: 3\n"  # 5
        + "all: {<<: [*third, *first]}\n"  # 6
    )
    # third's own key wins over what it merges; third (earlier) wins over first (later)
    assert loaded(text)["all"] == {"label_smoothing": 0.2, "reduction": "sum", "ignore_index": 3}
    assert positions(text, "all", "ignore_index") == ((5, 3), (5, 17))
    assert positions(text, "all", "label_smoothing") == ((2, 18), (2, 35))


def test_a_chain_of_merges() -> None:
    lines = ["a0: &a0 {label_smoothing: 0.5, ignore_index: 0}"]
    lines += [f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: {i}}}" for i in range(1, 40)]
    lines += ["last: {<<: *a39, ignore_index: 40}"]
    last = loaded("\n".join(lines) + "\n")["last"]
    assert isinstance(last, dict) and len(last) == 41
    assert (last["label_smoothing"], last["ignore_index"], last["k1"], last["k39"]) == (0.5, 40, 1, 39)


def test_nested_values_of_a_merged_mapping_keep_their_anchor_positions() -> None:
    text = (
        "base: &base\n"  # 1
        "  type: cross_entropy\n"  # 2
        "  params:\n"  # 3
        "    label_smoothing: 0.3\n"  # 4
        "losses:\n"  # 5
        "  - <<: *base\n"  # 6
        "    weight: 2\n"  # 7
    )
    assert positions(text, "losses", 0, "params", "label_smoothing") == ((4, 5), (4, 22))
    assert positions(text, "losses", 0, "weight") == ((7, 5), (7, 13))


def test_show_points_at_the_anchor_each_value_came_from() -> None:
    text = (
        "smooth: &smooth\n"  # 1
        "  label_smoothing: 0.1\n"  # 2
        "  ignore_index: 1\n"  # 3
        "strict: &strict\n"  # 4
        "  label_smoothing: 0.2\n"  # 5
        "  ignore_index: 2\n"  # 6
        "  reduction: sum\n"  # 7
        "losses:\n"  # 8
        "  - type: cross_entropy\n"  # 9
        "    params:\n"  # 10
        "      <<: [*smooth, *strict]\n"  # 11
        "      ignore_index: 5\n"  # 12
    )
    node = select(load_yaml_text(text, file=FILE), "losses")
    assert node is not None
    (term,) = losses_provenance(node)
    rows = {s.key: (s.value, s.origin.describe()) for s in term.params}
    assert rows["params.label_smoothing"] == (0.1, "m.yaml:2")
    assert rows["params.ignore_index"] == (5, "m.yaml:12")
    assert rows["params.reduction"] == ("sum", "m.yaml:7")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: {<<: 1}\n",
            [
                "m.yaml:1:9: a: invalid merge key: expected a mapping or a list of mappings to merge, found the scalar '1'"
            ],
        ),
        (
            "a: {<<: [1, {x: 1}, [2]]}\n",
            [
                "m.yaml:1:10: a: invalid merge key: expected a mapping to merge, found the scalar '1'",
                "m.yaml:1:21: a: invalid merge key: expected a mapping to merge, found a list",
            ],
        ),
        (
            "a: &a {label_smoothing: 1}\nb: {<<: *a, <<: *a}\n",
            [
                "m.yaml:2:13: b.<<: duplicate key '<<' (first written on line 2); "
                "merge several mappings with `<<: [*a, *b]`"
            ],
        ),
    ],
)
def test_malformed_merge_keys_are_positioned_errors(text: str, expected: list[str]) -> None:
    with pytest.raises(LossConfigError) as info:
        load_yaml_text(text, file=FILE)
    assert [str(issue) for issue in info.value.issues] == expected
