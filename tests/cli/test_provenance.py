"""``typed_losses.provenance``: every resolved setting of a ``losses`` value, with where it came from."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from typed_losses.cli_support import select
from typed_losses.config.yaml import load_yaml_text
from typed_losses.errors import LossConfigError
from typed_losses.provenance import Origin, TermProvenance, Where, losses_provenance

FILE = "c.yaml"


def shown(text: str, key: str = "losses") -> list[TermProvenance]:
    node = select(load_yaml_text(text, file=FILE), key)
    assert node is not None
    return losses_provenance(node)


def table(terms: list[TermProvenance]) -> list[tuple[int, str, str, object, str]]:
    return [
        (depth, term.name, s.key, s.value, s.origin.describe())
        for top in terms
        for depth, term in top.walk()
        for s in term.settings
    ]


def test_literal_default_and_interpolation_origins() -> None:
    terms = shown(
        "defaults:\n"  # 1
        "  smoothing: 0.2\n"  # 2
        "  alias: ${defaults.smoothing}\n"  # 3
        "losses:\n"  # 4
        "  - type: cross_entropy\n"  # 5
        "    name: ce\n"  # 6
        "    params:\n"  # 7
        "      label_smoothing: ${defaults.alias}\n"  # 8: a chain, followed to its end
        "      reduction: sum\n"  # 9
    )
    assert table(terms) == [
        (0, "ce", "type", "cross_entropy", "c.yaml:5"),
        (0, "ce", "name", "ce", "c.yaml:6"),
        (0, "ce", "weight", 1.0, "default"),
        (0, "ce", "params.weight", None, "default"),
        (0, "ce", "params.ignore_index", -100, "default"),
        (0, "ce", "params.reduction", "sum", "c.yaml:9"),
        (
            0,
            "ce",
            "params.label_smoothing",
            0.2,
            "interpolation ${defaults.alias} (c.yaml:8) -> defaults.smoothing (c.yaml:2)",
        ),
    ]
    assert terms[0].path == "losses[0]"


def test_relative_interpolation_names_its_target() -> None:
    (term,) = shown(
        "losses:\n"  # 1
        "  - type: bce_kl\n"  # 2
        "    name: kl\n"  # 3
        "    params:\n"  # 4
        "      weight_softmax: ${..weight}\n"  # 5
        "    weight: 0.5\n"  # 6
    )
    assert term.params[0].value == 0.5
    assert term.params[0].origin.describe() == "interpolation ${..weight} (c.yaml:5) -> losses[0].weight (c.yaml:6)"


def test_weight_and_type_from_interpolations_and_string_interpolation_without_target() -> None:
    terms = shown(
        "w: 0.25\n"  # 1
        "kind: bce_kl\n"  # 2
        "tag: kl\n"  # 3
        "losses:\n"  # 4
        "  - type: ${kind}\n"  # 5
        "    name: vqa_${tag}\n"  # 6
        "    weight: ${w}\n"  # 7
        "    params: {weight_softmax: 2}\n"  # 8
    )
    origins = {s.key: s.origin for s in terms[0].settings}
    assert [(s.key, s.value) for s in terms[0].settings] == [
        ("type", "bce_kl"),
        ("name", "vqa_kl"),
        ("weight", 0.25),
        ("params.weight_softmax", 2.0),
    ]
    assert origins["type"] == Origin("interpolation", Where(FILE, 5, 11), "${kind}", "kind", Where(FILE, 2, 7))
    assert origins["name"] == Origin("interpolation", Where(FILE, 6, 11), "vqa_${tag}")
    assert origins["name"].describe() == "interpolation vqa_${tag} (c.yaml:6)"
    assert origins["weight"].describe() == "interpolation ${w} (c.yaml:7) -> w (c.yaml:1)"
    assert origins["params.weight_softmax"] == Origin("yaml", Where(FILE, 8, 30))


def test_mapping_form_bare_names_and_yaml_merge_keys() -> None:
    terms = shown(
        "base: &base\n"  # 1
        "  label_smoothing: 0.3\n"  # 2
        "losses:\n"  # 3
        "  scores: logit_bce\n"  # 4
        "  answers:\n"  # 5
        "    type: cross_entropy\n"  # 6
        "    params:\n"  # 7
        "      <<: *base\n"  # 8
        "      ignore_index: 3\n"  # 9
    )
    assert [t.path for t in terms] == ["losses.scores", "losses.answers"]
    assert table(terms)[:3] == [
        (0, "scores", "type", "logit_bce", "c.yaml:4"),
        (0, "scores", "name", "scores", "mapping key (c.yaml:4)"),
        (0, "scores", "weight", 1.0, "default"),
    ]
    rows = {key: (value, origin) for _, name, key, value, origin in table(terms) if name == "answers"}
    assert rows["name"] == ("answers", "mapping key (c.yaml:5)")
    assert rows["params.label_smoothing"] == (0.3, "c.yaml:2")  # written in the anchor, not at the merge
    assert rows["params.ignore_index"] == (3, "c.yaml:9")


def test_multi_children_are_nested_terms() -> None:
    terms = shown(
        "losses:\n"  # 1
        "  - type: multi\n"  # 2
        "    weight: 2\n"  # 3
        "    params:\n"  # 4
        "      - type: cross_entropy\n"  # 5
        "        weight: 0.3\n"  # 6
        "        params: {label_smoothing: 0.1}\n"  # 7
        "      - mse\n"  # 8
    )
    assert [(depth, term.path, term.name) for depth, term in terms[0].walk()] == [
        (0, "losses[0]", "multi"),
        (1, "losses[0].params[0]", "cross_entropy"),
        (1, "losses[0].params[1]", "mse"),
    ]
    assert terms[0].params == ()  # the nested entries are children, not a param row
    child = terms[0].children[0]
    assert [(s.key, s.value, s.origin.describe()) for s in child.settings if s.origin.kind != "default"] == [
        ("type", "cross_entropy", "c.yaml:5"),
        ("weight", 0.3, "c.yaml:6"),
        ("params.label_smoothing", 0.1, "c.yaml:7"),
    ]
    assert terms[0].weight.value == 2.0
    assert terms[0].children[1].type.origin.describe() == "c.yaml:8"


def test_invalid_config_raises_the_usual_issues() -> None:
    with pytest.raises(LossConfigError) as info:
        shown("losses:\n  - type: cross_entropy\n    params: {label_smoothing: 2}\n")
    assert [i.format() for i in info.value.issues] == [
        "c.yaml:3:31: losses[0].params.label_smoothing: expected a number >= 0 and < 1, found 2.0"
    ]


def test_config_not_from_a_file() -> None:
    terms = losses_provenance(OmegaConf.create([{"type": "cross_entropy", "weight": 0.5}]))
    assert terms[0].weight.origin.describe() == "<config>"
    assert terms[0].weight.to_dict() == {
        "key": "weight",
        "value": 0.5,
        "origin": {"kind": "yaml", "text": "<config>", "file": None, "line": None, "column": None},
    }


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    written=st.fixed_dictionaries(
        {},
        optional={
            "label_smoothing": st.floats(0, 0.99, allow_nan=False).map(lambda v: round(v, 3)),
            "ignore_index": st.integers(-1000, 1000),
            "reduction": st.sampled_from(["mean", "sum", "none"]),
        },
    ),
    weight=st.none() | st.floats(0, 10).map(lambda v: round(v, 2)),
)
def test_written_params_are_reported_at_their_line_and_the_rest_as_defaults(
    written: dict[str, object], weight: float | None
) -> None:
    lines = ["losses:", "  - type: cross_entropy"]
    if weight is not None:
        lines.append(f"    weight: {weight}")
    lines.append("    params:" if written else "    params: {}")
    line_of = {}
    for key, value in written.items():
        lines.append(f"      {key}: {value}")
        line_of[key] = len(lines)
    defaults = {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}
    (term,) = shown("\n".join(lines) + "\n")
    assert term.weight.value == (1.0 if weight is None else weight)
    assert term.weight.origin.describe() == ("default" if weight is None else "c.yaml:3")
    for setting in term.params:
        key = setting.key.removeprefix("params.")
        if key in written:
            assert (setting.value, setting.origin.describe()) == (written[key], f"c.yaml:{line_of[key]}")
        else:
            assert (setting.value, setting.origin) == (defaults[key], Origin("default"))
