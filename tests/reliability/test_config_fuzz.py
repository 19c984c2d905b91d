"""Fuzzing the config checker: generated valid configs build, mutated ones fail with every mistake named.

Valid entries are generated for every registered loss from its params fields (types, bounds, options:
:func:`typed_losses.introspect.params_info` via ``helpers.strategies``). Mutations: an unknown entry key,
a misspelled loss name, an unknown params key, a wrong scalar type, an out-of-range value, a wrong
container, a missing required field, a bad weight. k mutated entries must produce issues at each of those
k entries, none at the untouched ones, and nothing but :class:`LossConfigError` may escape. Every input kind
goes through one checker: on every generated config, valid, mutated or junk, plain data, the same data as an
OmegaConf container and as yaml text give the same verdict and the same messages, and ``Term`` lists built
from the same values the same verdict.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from helpers.strategies import params_instances, supported
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

from typed_losses import (
    REGISTRY,
    LossCollection,
    LossConfigError,
    Term,
    check_losses,
    load_yaml_text,
    unstructure_params,
)
from typed_losses.config.check import check_terms
from typed_losses.introspect import ParamInfo, params_info
from typed_losses.rules import ENTRY_KEYS

SPECS = [spec for spec in REGISTRY if supported(spec.params_class)]
NAMES = [spec.name for spec in SPECS]
#: Examples per property; raise it for a longer fuzzing run (``TYPED_LOSSES_FUZZ=2000 pytest tests/reliability``).
SCALE = int(os.environ.get("TYPED_LOSSES_FUZZ", "60"))
FUZZ = settings(max_examples=SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Entry = dict[str, Any]


def test_every_loss_but_multi_is_generated() -> None:
    assert sorted(s.name for s in REGISTRY if s not in SPECS) == ["multi"]
    assert len(SPECS) == len(REGISTRY) - 1 >= 20


@st.composite
def valid_entries(draw: st.DrawFn, index: int) -> Entry:
    spec = draw(st.sampled_from(SPECS))
    params = unstructure_params(draw(params_instances(spec.params_class)))
    entry: Entry = {"type": spec.name, "name": f"t{index}"}
    if draw(st.booleans()):
        entry["weight"] = draw(st.floats(min_value=0, max_value=100, allow_nan=False))
    entry["params"] = params
    return entry


@st.composite
def multi_entries(draw: st.DrawFn, index: int) -> Entry:
    children = draw(st.lists(valid_entries(0), min_size=1, max_size=3))
    for child in children:
        child.pop("name")
    return {"type": "multi", "name": f"t{index}", "params": children}


def _entries(draw: Callable[[st.SearchStrategy[Entry]], Entry], size: int) -> list[Entry]:
    return [draw(valid_entries(i) | multi_entries(i)) for i in range(size)]


# -- mutations: each returns the path (below losses[i]) where an issue must be reported --------------------


def _fields(entry: Entry) -> list[ParamInfo]:
    return params_info(REGISTRY[entry["type"]].params_class)


def _wrong_scalar(info: ParamInfo) -> object:
    text = info.type_text
    if text in ("float", "int", "float or null", "int or null"):
        return "not a number" if text.startswith("float") else 1.5
    if text.startswith("bool"):
        return "maybe"
    if text.startswith("one of"):
        return "no-such-option"
    if text.startswith("list of"):
        return {"not": "a list"}
    return [["nested"]]


def _out_of_range(info: ParamInfo) -> object | None:
    for bound in info.bounds:
        if bound.op in (">=", ">"):
            return bound.value - 1.0 if bound.op == ">=" else bound.value
        return bound.value + 1.0 if bound.op == "<=" else bound.value
    return None


@st.composite
def mutate(draw: st.DrawFn, entry: Entry) -> tuple[Entry, str, str]:
    """A mutated copy of ``entry``, the kind of mutation and the relative path of the expected issue."""
    entry = {**entry, "params": entry["params"] if entry["type"] == "multi" else dict(entry["params"])}
    fields = [] if entry["type"] == "multi" else _fields(entry)
    kinds = ["entry_key", "type", "params_container", "weight"]
    if entry["type"] != "multi":
        kinds.append("params_key")
    if fields:
        kinds.append("scalar")
    ranged = [f for f in fields if _out_of_range(f) is not None]
    if ranged:
        kinds.append("range")
    required = [f for f in fields if f.required]
    if required:
        kinds.append("missing")
    kind = draw(st.sampled_from(kinds))
    if kind == "entry_key":
        key = draw(st.sampled_from(["wieght", "param", "types", "loss", "extra"]))
        entry[key] = 1
        return entry, kind, f".{key}"
    if kind == "type":
        misspelled = entry["type"] + draw(st.sampled_from(["_", "x", "_loss2"]))
        assert misspelled not in REGISTRY
        entry["type"] = misspelled
        return entry, kind, ".type"
    if kind == "params_container":
        entry["params"] = draw(
            st.sampled_from([42, "x", True]) if entry["type"] == "multi" else st.sampled_from([[1, 2], "x", 3.5])
        )
        return entry, kind, ".params"
    if kind == "weight":
        entry["weight"] = draw(st.sampled_from([-1.0, "heavy", [1.0], math.inf, None]))
        return entry, kind, ".weight"
    if kind == "params_key":
        key = "zz_" + draw(st.sampled_from([f.name for f in fields] or ["unknown"]))
        entry["params"][key] = 0
        return entry, kind, f".params.{key}"
    if kind == "scalar":
        info = draw(st.sampled_from(fields))
        entry["params"][info.name] = _wrong_scalar(info)
        return entry, kind, f".params.{info.name}"
    if kind == "range":
        info = draw(st.sampled_from(ranged))
        entry["params"][info.name] = _out_of_range(info)
        return entry, kind, f".params.{info.name}"
    info = draw(st.sampled_from(required))
    del entry["params"][info.name]
    return entry, kind, ".params"


# -- properties -----------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), size=st.integers(min_value=1, max_value=4))
def test_generated_valid_configs_build_and_round_trip(data: st.DataObject, size: int) -> None:
    config = _entries(data.draw, size)
    collection = LossCollection.from_config(config)
    assert collection.names == tuple(f"t{i}" for i in range(size))
    plain = collection.to_config()
    again = LossCollection.from_config(plain)
    assert again.terms == collection.terms
    assert again.to_config() == plain


@FUZZ
@given(data=st.data(), size=st.integers(min_value=1, max_value=5))
def test_k_mistakes_in_k_entries_are_all_reported_at_their_paths(data: st.DataObject, size: int) -> None:
    config = _entries(data.draw, size)
    mutated = data.draw(st.sets(st.integers(min_value=0, max_value=size - 1), min_size=1))
    expected: dict[int, str] = {}
    for index in mutated:
        config[index], _kind, rel = data.draw(mutate(config[index]))
        expected[index] = f"losses[{index}]{rel}"
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(config)
    issues = info.value.issues
    paths = [issue.path for issue in issues]
    assert len(issues) >= len(mutated)
    for path in expected.values():
        assert any(p == path or p.startswith((path + ".", path + "[")) for p in paths), (path, paths)
    for index in set(range(size)) - mutated:
        assert not [p for p in paths if p.startswith(f"losses[{index}]")], (index, paths)


@settings(max_examples=max(SCALE // 2, 1), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), size=st.integers(min_value=1, max_value=3))
def test_mistakes_in_a_yaml_file_carry_their_lines(data: st.DataObject, size: int) -> None:
    config = _entries(data.draw, size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    config[index], _, _rel = data.draw(mutate(config[index]))
    root = load_yaml_text(yaml.safe_dump({"model": {"losses": config}}, sort_keys=False), file="fuzz.yaml")
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(root.model.losses)
    for issue in info.value.issues:
        assert issue.path.startswith(f"model.losses[{index}]")
        assert issue.file == "fuzz.yaml" and issue.line is not None and issue.line >= 3


# -- junk: arbitrary data never raises anything else, and never slips an unknown name or key through ------------

_SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.text(max_size=6)
_KEYS = st.sampled_from([*ENTRY_KEYS, "wieght", "gamma", "margin", "label_smoothing", "reduction", "x"]) | st.text(
    max_size=4
)
_NAMES = st.sampled_from([*NAMES, "multi", "cross_entropyy", "CrossEntropy", ""])
_JUNK = st.recursive(
    _SCALARS | _NAMES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)
_ENTRY = st.fixed_dictionaries(
    {"type": _NAMES | _JUNK},
    optional={
        "params": _JUNK | st.dictionaries(_KEYS, _JUNK, max_size=3),
        "weight": _JUNK,
        "name": _JUNK,
        "wieght": _JUNK,
    },
)


def _assert_accepted_entry(entry: object) -> None:
    """What an accepted entry must look like: known loss, known keys, known params fields."""
    if isinstance(entry, str):
        assert entry in REGISTRY
        return
    assert isinstance(entry, dict) and set(entry) <= set(ENTRY_KEYS), entry
    spec = REGISTRY[entry["type"]]
    params = entry.get("params")
    if spec.name == "multi":
        assert isinstance(params, list) and params
        for child in params:
            _assert_accepted_entry(child)
    elif params is not None:
        assert isinstance(params, dict)
        assert set(params) <= {f.name for f in params_info(spec.params_class)}, params


@settings(max_examples=SCALE * 3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=st.lists(_ENTRY | _NAMES | _JUNK, min_size=0, max_size=3) | _JUNK)
def test_junk_raises_only_loss_config_error_and_accepts_nothing_unknown(config: object) -> None:
    try:
        collection = LossCollection.from_config(config)
    except LossConfigError as exc:
        assert exc.issues and all(issue.message for issue in exc.issues)
        return
    entries = list(config.values()) if isinstance(config, dict) else config if isinstance(config, list) else [config]
    for entry in entries:
        _assert_accepted_entry(entry)
    assert len(collection) == len(entries)


# -- every input kind gets the same verdict and the same messages ---------------------------------------------


def _outcome(check: Callable[[], list[Any]]) -> object:
    """What a check gives: the checked terms, or the issues as plain tuples."""
    try:
        terms = check()
    except LossConfigError as exc:
        return [(i.path, i.message, i.hint) for i in exc.issues]
    return [(t.name, t.weight, t.spec.name, t.params, t.path) for t in terms]


def _assert_kinds_agree(config: object) -> None:
    """Plain data, an OmegaConf node and yaml text (loaded with positions) give the same outcome."""
    plain = _outcome(lambda: check_losses(config))
    try:
        node = OmegaConf.create(config)  # type: ignore[call-overload]
    except Exception:  # not representable in OmegaConf: the plain check says where (see test_checker)
        assert isinstance(plain, list) and plain and len(plain[0]) == 3, plain
        return
    assert _outcome(lambda: check_losses(node)) == plain
    try:
        root = load_yaml_text(yaml.safe_dump({"losses": config}, sort_keys=False))
    except LossConfigError:  # yaml cannot carry it (e.g. keys yaml reads back as other types)
        return
    assert isinstance(root, DictConfig)
    assert _outcome(lambda: check_losses(root._get_node("losses"))) == plain


@FUZZ
@given(data=st.data(), size=st.integers(min_value=1, max_value=4))
def test_input_kinds_agree_on_valid_configs(data: st.DataObject, size: int) -> None:
    config = _entries(data.draw, size)
    outcome = _outcome(lambda: check_losses(config))
    assert isinstance(outcome, list) and len(outcome) == size and all(len(t) == 5 for t in outcome)
    _assert_kinds_agree(config)
    _assert_kinds_agree({f"term{i}": {k: v for k, v in e.items() if k != "name"} for i, e in enumerate(config)})


@FUZZ
@given(data=st.data(), size=st.integers(min_value=1, max_value=4))
def test_input_kinds_agree_on_mistakes(data: st.DataObject, size: int) -> None:
    config = _entries(data.draw, size)
    for index in data.draw(st.sets(st.integers(min_value=0, max_value=size - 1), min_size=1)):
        config[index], _, _ = data.draw(mutate(config[index]))
    _assert_kinds_agree(config)


@settings(max_examples=SCALE * 3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=st.lists(_ENTRY | _NAMES | _JUNK, min_size=1, max_size=3)
    | st.dictionaries(_KEYS, _ENTRY | _JUNK, max_size=3)
)
def test_input_kinds_agree_on_junk(config: object) -> None:
    _assert_kinds_agree(config)


_TERM_NAMES = st.sampled_from([None, "t0", "t1", "total", "t0/kl", "t1/bce", "bce_kl", "mse"])


@FUZZ
@given(data=st.data(), size=st.integers(min_value=1, max_value=4))
def test_term_lists_get_the_verdict_of_the_same_config(data: st.DataObject, size: int) -> None:
    config = _entries(data.draw, size)
    for entry in config:  # names that may collide, be reserved or be absent
        name = data.draw(_TERM_NAMES)
        if name is None:
            del entry["name"]
        else:
            entry["name"] = name
    expected = _outcome(lambda: check_losses(config))
    terms = []
    for entry in config:
        (checked,) = check_losses([{"type": entry["type"], "params": entry["params"]}])
        spec = REGISTRY[entry["type"]]
        try:
            term = Term(checked.params, weight=entry.get("weight", 1.0), name=entry.get("name"), loss=spec.loss_class)
        except ValueError as exc:  # Term applies the entry rules itself: the config fails with the same message
            assert isinstance(expected, list) and any(len(i) == 3 and i[1] in str(exc) for i in expected), exc
            return
        terms.append(term)
    assert _outcome(lambda: check_terms(terms, label="losses")) == expected
