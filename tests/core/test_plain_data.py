"""Checking plain Python data: valid entries never become OmegaConf nodes, the others do, one at a time.

The agreement of both paths on generated configs is a property in ``tests/reliability/test_config_fuzz.py``;
these tests pin down which path runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from omegaconf import OmegaConf

from typed_losses import LossCollection, LossConfigError, check_losses
from typed_losses.config.plain import needs_omegaconf
from typed_losses.losses import CrossEntropyParams, MultiParams

VALID: list[Any] = [
    "logit_bce",
    {"type": "cross_entropy", "weight": 0.5, "params": {"label_smoothing": 0.1, "reduction": "mean"}},
    {"type": "bce_kl", "name": "bce_kl_terms", "params": {"weight_softmax": 2}},
    {"type": "multi", "name": "both", "params": [{"type": "mse", "weight": 0.3}, "cos_emb_loss"]},
    {"type": "mse", "params": None, "weight": 2},
]


class CountingOmegaConf:
    """Stands in for ``OmegaConf`` in ``typed_losses.config.entries``, counting ``create`` calls made there."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def create(self, obj: Any = None, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(obj)
        return OmegaConf.create(obj, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(OmegaConf, name)


@pytest.fixture
def create(monkeypatch: pytest.MonkeyPatch) -> CountingOmegaConf:
    counting = CountingOmegaConf()
    monkeypatch.setattr("typed_losses.config.entries.OmegaConf", counting)
    return counting


def test_valid_plain_entries_never_become_nodes(create: CountingOmegaConf) -> None:
    terms = check_losses(VALID)
    assert create.calls == []
    assert [(t.name, t.weight, t.path) for t in terms] == [
        ("logit_bce", 1.0, "losses[0]"),
        ("cross_entropy", 0.5, "losses[1]"),
        ("bce_kl_terms", 1.0, "losses[2]"),
        ("both", 1.0, "losses[3]"),
        ("mse", 2.0, "losses[4]"),
    ]
    assert terms[1].params == CrossEntropyParams(label_smoothing=0.1)
    assert isinstance(terms[2].params.weight_softmax, float)  # type: ignore[attr-defined]
    multi = terms[3].params
    assert isinstance(multi, MultiParams)
    assert [(t.name, t.weight) for t in multi.losses] == [("mse", 0.3), ("cos_emb_loss", 1.0)]
    # the same result as through OmegaConf
    assert [(t.name, t.weight, t.params, t.path) for t in check_losses(OmegaConf.create(VALID))] == [
        (t.name, t.weight, t.params, t.path) for t in terms
    ]


def test_the_mapping_form_is_plain_too(create: CountingOmegaConf) -> None:
    terms = check_losses({"vqa": {"type": "logit_bce"}, "itm": "cross_entropy"}, label="model.losses")
    assert create.calls == []
    assert [(t.name, t.spec.name, t.path) for t in terms] == [
        ("vqa", "logit_bce", "model.losses.vqa"),
        ("itm", "cross_entropy", "model.losses.itm"),
    ]


def test_only_the_entries_with_problems_become_nodes(create: CountingOmegaConf) -> None:
    config = [
        *VALID,
        {"type": "cross_entropy", "name": "ce", "params": {"label_smothing": 0.1}},
        {"type": "mse", "name": "m", "weight": -1},
    ]
    with pytest.raises(LossConfigError) as info:
        check_losses(config)
    assert create.calls == [[config[5]], [config[6]]]
    assert [(i.path, i.message, i.hint) for i in info.value.issues] == [
        (
            "losses[5].params.label_smothing",
            "unknown param 'label_smothing' for CrossEntropyParams",
            "did you mean 'label_smoothing'?",
        ),
        ("losses[6].weight", "weight must be a finite number >= 0, found -1", None),
    ]


def test_values_omegaconf_converts_take_the_node_path(create: CountingOmegaConf) -> None:
    # "0.1" for a float is converted by OmegaConf (as in yaml); the fast path leaves it to the node path
    (term,) = check_losses([{"type": "cross_entropy", "params": {"label_smoothing": "0.1"}}])
    assert term.params == CrossEntropyParams(label_smoothing=0.1)
    assert len(create.calls) == 1


def test_duplicate_names_across_plain_and_node_entries() -> None:
    with pytest.raises(LossConfigError) as info:
        check_losses(["mse", {"type": "mse", "params": {"zz": 1}}, {"type": "mse"}])
    assert [(i.path, i.message) for i in info.value.issues] == [
        ("losses[1].params.zz", "unknown param 'zz' for MSEParams"),
        ("losses[1]", "duplicate term name 'mse' (also at losses[0])"),
        ("losses[2]", "duplicate term name 'mse' (also at losses[0])"),
    ]


_CYCLE: dict[str, Any] = {"type": "mse"}
_CYCLE["params"] = _CYCLE
_SHARED = {"type": "mse"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["mse", {"type": "mse", "weight": 1}], False),
        ([{"type": "mse", "name": "${other}"}], True),
        ({"a": {"type": "mse", "params": {"x": ["???"]}}}, True),
        ({"${key}": "mse"}, True),
        (("mse", "$notinterp", "{x}"), False),
        (["mse", OmegaConf.create({"type": "mse"})], True),
        (["mse", _CYCLE], True),
        ([_SHARED, {"type": "multi", "params": [_SHARED, _SHARED]}], False),  # a YAML alias: shared, no cycle
    ],
)
def test_needs_omegaconf(value: object, expected: bool) -> None:
    assert needs_omegaconf(value) is expected


def test_interpolations_in_plain_data_resolve_against_the_whole_value() -> None:
    collection = LossCollection.from_config(
        {"vqa": {"type": "logit_bce", "weight": 0.5}, "kl": {"type": "softmax_kldiv", "weight": "${vqa.weight}"}}
    )
    assert collection.weights == (0.5, 0.5)


def test_nodes_inside_plain_data_become_part_of_it() -> None:
    # as OmegaConf.create makes them: a node's interpolation resolves against the whole value
    node = OmegaConf.create({"type": "softmax_kldiv", "weight": "${vqa.weight}"})
    terms = check_losses({"vqa": {"type": "logit_bce", "weight": 0.5}, "kl": node})
    assert [(t.name, t.weight) for t in terms] == [("vqa", 0.5), ("kl", 0.5)]


@pytest.mark.parametrize(
    ("config", "path", "message"),
    [
        (
            [{"type": "cross_entropy", "name": None}],
            "losses[0].name",
            "expected a non-empty string, found None (NoneType)",
        ),
        (
            {"vqa": {"type": "logit_bce", "name": None}},
            "losses.vqa.name",
            "expected a non-empty string, found None (NoneType)",
        ),
        (
            [{"type": "multi", "params": [{"type": "mse", "name": None}]}],
            "losses[0].params[0].name",
            "expected a non-empty string, found None (NoneType)",
        ),
        (
            [{"type": "mse", "weight": 10**400}],
            "losses[0].weight",
            f"weight must be a finite number >= 0, found {10**400!r}",
        ),
    ],
)
def test_plain_data_gets_the_node_path_messages(config: Any, path: str, message: str) -> None:
    for value in (config, OmegaConf.create(config)):
        with pytest.raises(LossConfigError) as info:
            check_losses(value)
        assert [(i.path, i.message) for i in info.value.issues] == [(path, message)]


def test_tuples_are_lists_on_every_omegaconf_version() -> None:
    assert [t.name for t in check_losses(("mse", "cross_entropy"))] == ["mse", "cross_entropy"]
    (multi,) = check_losses([{"type": "multi", "params": ({"type": "mse"},)}])
    assert [t.name for t in multi.params.losses] == ["mse"]  # type: ignore[attr-defined]
    with pytest.raises(LossConfigError) as info:
        check_losses([{"type": "multi", "params": ({"type": "msee"},)}])
    assert [(i.path, i.message, i.hint) for i in info.value.issues] == [
        ("losses[0].params[0].type", "unknown loss 'msee'", "did you mean 'mse'?")
    ]


def test_a_container_holding_itself_is_a_config_error() -> None:
    with pytest.raises(LossConfigError) as info:
        check_losses(["mse", _CYCLE])
    (issue,) = info.value.issues
    assert issue.path == "losses" and "\n" not in issue.message


class _Name(str):
    pass


def test_only_builtin_scalars_take_the_fast_path(create: CountingOmegaConf) -> None:
    # a str subclass is whatever OmegaConf makes of it (here: not supported); the fast path leaves it alone
    with pytest.raises(LossConfigError) as info:
        check_losses([_Name("mse")])
    assert len(create.calls) == 1
    assert [(i.path, i.message) for i in info.value.issues] == [
        ("losses[0]", "cannot represent this entry as a config: Value '_Name' is not a supported primitive type")
    ]


def test_unrepresentable_values_are_reported_at_their_entry_in_one_line() -> None:
    with pytest.raises(LossConfigError) as info:
        check_losses(["mse", {"type": "cross_entropy", "params": {"weight": object()}}])
    (issue,) = info.value.issues
    assert issue.path == "losses[1]"
    assert issue.message.startswith("cannot represent this entry as a config: ")
    assert "\n" not in issue.message and "full_key" not in issue.message
