"""Config checking: every problem at once, with exact paths, positions, messages and hints."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from typed_losses import ConfigIssue, LossCollection, LossConfigError, load_yaml, load_yaml_text
from typed_losses.losses import BinaryCrossEntropyKlParams, CrossEntropyParams

FIXTURES = Path(__file__).parent / "fixtures"


def issues_of(cfg: object) -> list[ConfigIssue]:
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(cfg)
    return list(info.value.issues)


def test_valid_file_builds_and_resolves_interpolations_against_the_document_root() -> None:
    root = load_yaml(FIXTURES / "vqa.yaml")
    collection = LossCollection.from_config(root.model_config.visual_bert.losses)
    assert collection.names == ("cross_entropy", "vqa_bce_kl")
    assert collection.weights == (1.0, 0.5)
    assert collection["cross_entropy"].params == CrossEntropyParams(label_smoothing=0.1)
    assert collection["vqa_bce_kl"].params == BinaryCrossEntropyKlParams(weight_softmax=0.2)


def test_other_parts_of_the_document_are_neither_validated_nor_resolved() -> None:
    # `training.batch_size` uses an env resolver that is not set: checking the losses must not touch it.
    root = load_yaml(FIXTURES / "vqa.yaml")
    LossCollection.from_config(root.model_config.visual_bert.losses)
    assert OmegaConf.to_container(root.training, resolve=False) == {"batch_size": "${env:BATCH_SIZE}"}


def test_user_config_is_not_mutated() -> None:
    root = load_yaml(FIXTURES / "vqa.yaml")
    before = OmegaConf.to_container(root, resolve=False)
    LossCollection.from_config(root.model_config.visual_bert.losses)
    assert OmegaConf.to_container(root, resolve=False) == before


def test_every_problem_of_a_file_is_reported_with_file_line_and_column() -> None:
    file = str(FIXTURES / "broken.yaml")
    issues = issues_of(load_yaml(file).model_config.visual_bert.losses)
    base = "model_config.visual_bert.losses"
    got = [(i.path, i.line, i.column, i.hint) for i in issues]
    assert got == [
        (f"{base}[0].type", 4, 15, "did you mean 'cross_entropy'?"),
        (f"{base}[1].params", 5, 9, None),
        (f"{base}[1].parms", 6, 9, "did you mean 'params'?"),
        (f"{base}[2].weight", 9, 17, None),
        (f"{base}[2].params.reduction", 11, 22, "allowed: 'mean', 'sum', 'none'"),
        (f"{base}[2].params.label_smothing", 12, 11, "did you mean 'label_smoothing'?"),
        (f"{base}[2].params.ignore_index", 13, 25, None),
        (f"{base}[3]", 14, 9, "give one of them a distinct `name:`"),
        (f"{base}[3].params.weight_softmax", 16, 27, None),
    ]  # in file order
    assert all(i.file == file for i in issues)
    messages = [i.message for i in issues]
    assert messages[0] == "unknown loss 'cross_entropi'"
    assert messages[1] == "missing required param 'weight_softmax' (float) of BinaryCrossEntropyKlParams"
    assert messages[2] == "unknown key 'parms' in a loss entry"
    assert messages[3] == "weight must be a finite number >= 0, found -2"
    assert messages[4] == "'avg' (str) is not an allowed value"
    assert messages[6] == "expected int, found 1.5 (float)"
    assert messages[7] == "duplicate term name 'bce_kl' (also at model_config.visual_bert.losses[1])"
    assert messages[8].startswith("cannot use '${model_config.visual_bert.nothing}' as float")


def test_str_gives_one_line_per_issue_in_compiler_format() -> None:
    file = str(FIXTURES / "broken.yaml")
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(load_yaml(file).model_config.visual_bert.losses)
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.issues) == 9
    assert lines[0] == (
        f"{file}:4:15: model_config.visual_bert.losses[0].type: unknown loss 'cross_entropi' "
        "(did you mean 'cross_entropy'?)"
    )
    assert isinstance(info.value, ValueError)


def test_mapping_form_uses_keys_as_term_names() -> None:
    root = load_yaml(FIXTURES / "mapping_form.yaml")
    collection = LossCollection.from_config(root.model_config.vilt.losses)
    assert collection.names == ("vqa2", "answers")
    assert collection["answers"].params == CrossEntropyParams(ignore_index=0)


def test_mapping_form_rejects_a_conflicting_name() -> None:
    (issue,) = issues_of({"vqa": {"type": "cross_entropy", "name": "other"}})
    assert issue.path == "losses.vqa.name"
    assert issue.hint == "in the mapping form the key names the term; drop `name:`"


def test_duplicate_term_names_are_an_error() -> None:
    issues = issues_of(["cross_entropy", {"type": "cross_entropy", "params": {"ignore_index": 3}}])
    assert [(i.path, i.message) for i in issues] == [
        ("losses[1]", "duplicate term name 'cross_entropy' (also at losses[0])")
    ]


def test_distinct_names_make_duplicates_fine() -> None:
    collection = LossCollection.from_config(["cross_entropy", {"type": "cross_entropy", "name": "ce2"}])
    assert collection.names == ("cross_entropy", "ce2")


@pytest.mark.parametrize(
    ("cfg", "path", "message"),
    [
        ([], "losses", "no losses configured: the list is empty"),
        ([{"params": {}}], "losses[0]", "missing `type`: the registry name of the loss"),
        ([3], "losses[0]", "expected a loss name (str), found 3 (int)"),
        ([["cross_entropy"]], "losses[0]", "expected a loss name or a mapping with `type`, found a list"),
        (
            [{"type": "cross_entropy", "weight": "heavy"}],
            "losses[0].weight",
            "expected a number >= 0 or a weight kind ({type: ...}), found 'heavy' (str)",
        ),
        (
            [{"type": "cross_entropy", "weight": True}],
            "losses[0].weight",
            "expected a number >= 0 or a weight kind ({type: ...}), found True (bool)",
        ),
        ([{"type": "cross_entropy", "name": ""}], "losses[0].name", "expected a non-empty string, found '' (str)"),
        (
            [{"type": "cross_entropy", "params": [1, 2]}],
            "losses[0].params",
            "params of CrossEntropyParams must be a mapping, found [1, 2] (list)",
        ),
        (
            [{"type": "cross_entropy", "params": {"weight": [1, "x"]}}],
            "losses[0].params.weight",
            "expected list of float or null, found [1, 'x'] (list)",
        ),
        (
            [{"type": "cross_entropy", "params": {"label_smoothing": 1.0}}],
            "losses[0].params.label_smoothing",
            "expected a number >= 0 and < 1, found 1.0",
        ),
        (
            [{"type": "bce_kl", "params": {"weight_softmax": None}}],
            "losses[0].params.weight_softmax",
            "expected float, found None (NoneType)",
        ),
    ],
)
def test_single_mistakes(cfg: object, path: str, message: str) -> None:
    (issue,) = issues_of(cfg)
    assert (issue.path, issue.message) == (path, message)
    assert issue.line is None and issue.file is None


def test_a_string_is_accepted_as_a_single_entry() -> None:
    assert LossCollection.from_config("cross_entropy").names == ("cross_entropy",)


def test_null_params_mean_defaults() -> None:
    collection = LossCollection.from_config([{"type": "cross_entropy", "params": None}])
    assert collection["cross_entropy"].params == CrossEntropyParams()


def test_yaml_strings_convert_like_omegaconf() -> None:
    collection = LossCollection.from_config(
        [{"type": "cross_entropy", "params": {"label_smoothing": "0.25", "weight": [1, "2.5"]}}]
    )
    assert collection["cross_entropy"].params == CrossEntropyParams(label_smoothing=0.25, weight=(1.0, 2.5))


def test_interpolated_weight_and_type_resolve() -> None:
    root = load_yaml_text("w: 0.25\nkind: cross_entropy\nlosses:\n  - type: ${kind}\n    weight: ${w}\n")
    collection = LossCollection.from_config(root.losses)
    assert collection.names == ("cross_entropy",)
    assert collection.weights == (0.25,)


def test_relative_interpolation_resolves_from_the_params_node() -> None:
    root = load_yaml_text(
        "losses:\n  - type: bce_kl\n    weight: 0.5\n    params:\n      weight_softmax: ${..weight}\n"
    )
    collection = LossCollection.from_config(root.losses)
    assert collection["bce_kl"].params == BinaryCrossEntropyKlParams(weight_softmax=0.5)


def test_readonly_config_is_accepted() -> None:
    root = load_yaml(FIXTURES / "vqa.yaml")
    OmegaConf.set_readonly(root, True)
    OmegaConf.set_struct(root, True)
    assert len(LossCollection.from_config(root.model_config.visual_bert.losses)) == 2


def test_absent_required_param_is_placed_at_the_enclosing_params_node() -> None:
    root = load_yaml_text("losses:\n  - type: bce_kl\n    params:\n      {}\n", file="f.yaml")
    (issue,) = issues_of(root.losses)
    assert (issue.path, issue.line, issue.column) == ("losses[0].params", 3, 5)
    root = load_yaml_text("losses:\n  - bce_kl\n", file="f.yaml")
    (issue,) = issues_of(root.losses)
    assert (issue.path, issue.line, issue.column) == ("losses[0]", 2, 5)
