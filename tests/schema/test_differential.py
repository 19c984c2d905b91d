"""Differential test: the JSON Schema's verdict equals the Python validator's on every case a schema can see.

Hypothesis builds whole config documents around a ``losses`` value (list or mapping form, nested ``multi``)
from the live registry: valid ones, and ones with one mutation a schema can see (unknown keys, wrong
types, out-of-range numbers, unknown loss names, bad literals, missing required params, ...). For those,
``Draft7Validator(schema).is_valid(doc)`` must equal "``check_losses`` raises no ``LossConfigError``".

The classes of mistakes only Python can see (``docs/editors.md``, "What only Python checks") are tagged
when a case contains them, and for those only the direction a schema can promise is checked:

- lenient schema (``duplicate``, ``name_conflict``, ``interpolation``, ``validator``, ``float_for_int``,
  ``non_finite``): whatever Python accepts the schema accepts;
- strict schema (``coercion``: OmegaConf converts ``'0.5'``, ``'yes'``, ``1`` for a bool): whatever the
  schema accepts Python accepts.

``TYPED_LOSSES_DIFF_EXAMPLES`` sets the number of examples per mutation kind (default 15, deterministic).
"""

from __future__ import annotations

import collections
import enum
import math
import os
import typing
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import jsonschema
import pytest
from helpers.strategies import bounded_floats, interval_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

from typed_losses import REGISTRY, LossConfigError, check_losses
from typed_losses.cli_support import find_losses
from typed_losses.config.convert import converter
from typed_losses.config.types import (
    literal_values,
    optional_inner,
    params_fields,
    sequence_item,
    term_sequence_fields,
)
from typed_losses.introspect import bounds_of, options_of
from typed_losses.registry import LossSpec
from typed_losses.rules import ENTRY_KEYS
from typed_losses.schema import losses_schema, python_only_constraints

EXAMPLES = int(os.environ.get("TYPED_LOSSES_DIFF_EXAMPLES", "15"))  # per mutation kind

#: Classes where the schema may accept what Python rejects (never the reverse).
LENIENT = frozenset({"duplicate", "name_conflict", "interpolation", "validator", "float_for_int", "non_finite"})
#: Classes where Python may accept what the schema rejects (never the reverse).
STRICT = frozenset({"coercion"})

MUTATIONS = (
    "unknown_entry_key",
    "unknown_param",
    "wrong_type",
    "out_of_range",
    "bad_literal",
    "missing_required",
    "unknown_loss",
    "bare_name_required",
    "bad_weight",
    "bad_name",
    "bad_route",
    "bad_params_shape",
    "missing_type",
    "empty",
)
STATS: collections.Counter[str] = collections.Counter()

SPECS: list[LossSpec] = list(REGISTRY)
VALIDATOR = jsonschema.Draft7Validator(losses_schema())
CUSTOM = python_only_constraints()

#: The classes only Python sees; "validator" only while a registered loss has a check the schema cannot express.
PYTHON_ONLY = tuple(
    kind
    for kind in ("duplicate", "name_conflict", "interpolation", "validator", "float_for_int", "non_finite", "coercion")
    if kind != "validator" or CUSTOM
)


def has_required(spec: LossSpec) -> bool:
    return any(f.default is attrs.NOTHING for f in params_fields(spec.params_class))


# -- values ----------------------------------------------------------------------------------------------


def _bounded_number(draw: st.DrawFn, field: attrs.Attribute[Any], integer: bool) -> float | int:
    lo, lo_open, hi, hi_open = interval_of(field)
    if integer:
        ilo = None if lo is None else math.floor(lo) + 1 if lo_open or lo != math.floor(lo) else int(lo)
        ihi = None if hi is None else math.ceil(hi) - 1 if hi_open or hi != math.ceil(hi) else int(hi)
        return draw(st.integers(min_value=ilo if ilo is not None else -200, max_value=ihi if ihi is not None else 200))
    value = draw(bounded_floats(field))
    return int(value) if draw(st.booleans()) and value == int(value) and abs(value) < 1e6 else value


def valid_value(draw: st.DrawFn, tp: Any, field: attrs.Attribute[Any] | None) -> Any:
    """A value of type ``tp`` within the bounds and options a schema can express."""
    options = options_of(field) if field is not None else None
    if options is not None:
        return draw(st.sampled_from([o.name if isinstance(o, enum.Enum) else o for o in options]))
    inner = optional_inner(tp)
    if inner is not None:
        return None if draw(st.integers(0, 3)) == 0 else valid_value(draw, inner, field)
    if tp is bool:
        return draw(st.booleans())
    if tp is int:
        return _bounded_number(draw, field, True) if field is not None else draw(st.integers(-50, 50))
    if tp is float:
        return _bounded_number(draw, field, False) if field is not None else draw(st.floats(-10, 10))
    if tp is str:
        return draw(st.text(alphabet="abcxyz_", min_size=1, max_size=6))
    values = literal_values(tp)
    if values is not None:
        return draw(st.sampled_from(values))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        member = draw(st.sampled_from(list(tp)))
        return draw(st.sampled_from([member.name, member.value]))
    item = sequence_item(tp)
    if item is not None:
        return draw(st.lists(typed_values(item), max_size=3))
    if isinstance(tp, type) and attrs.has(tp):
        return {f.name: valid_value(draw, f.type, f) for f in params_fields(tp)}
    return draw(st.integers(0, 3))


@st.composite
def typed_values(draw: st.DrawFn, tp: Any) -> Any:
    return valid_value(draw, tp, None)


def wrong_value(draw: st.DrawFn, tp: Any) -> Any:
    """A value of a clearly wrong JSON type for ``tp`` (nothing OmegaConf would convert)."""
    pool: list[Any] = [{"x": 1}, "not a value"]
    inner = optional_inner(tp)
    base = inner if inner is not None else tp
    if inner is None:
        pool.append(None)
    if sequence_item(base) is None:
        pool.append([1.5])
    if base is bool or base is int:
        pool.append(0.5)
    if base is int or base is float:
        pool.append(True)
    if base is str:
        pool = [{"x": 1}, [1.5], None] if inner is None else [{"x": 1}, [1.5]]
    if literal_values(base) is not None or (isinstance(base, type) and issubclass(base, enum.Enum)):
        pool += [1.5, [1.5]]
    if sequence_item(base) is not None:
        pool = [v for v in pool if v is not None or inner is None] + [["not a number"], [{"x": 1}]]
    return draw(st.sampled_from(pool))


def out_of_range(field: attrs.Attribute[Any]) -> float | None:
    for b in bounds_of(field):
        if b.op in (">=", ">"):
            return b.value if b.op == ">" else b.value - 1.0
        return b.value if b.op == "<" else b.value + 1.0
    return None


COERCIONS: dict[Any, list[Any]] = {
    float: ["0.5", "2"],
    int: ["3", "-7"],
    bool: ["yes", "true", "off", 1, 0],
}


# -- cases -----------------------------------------------------------------------------------------------


@attrs.define
class Case:
    """One generated document: the tags of what it contains, the interpolation targets it needs."""

    tags: set[str] = attrs.Factory(set)
    mutations: list[str] = attrs.Factory(list)
    values: dict[str, Any] = attrs.Factory(dict)

    def interpolate(self, value: Any) -> str:
        key = f"v{len(self.values)}"
        self.values[key] = value
        self.tags.add("interpolation")
        return "${vals." + key + "}"


def _validator_rejects(spec: LossSpec, name: str, value: Any) -> bool:
    field = next(f for f in params_fields(spec.params_class) if f.name == name)
    try:
        structured = converter.structure(value, typing.cast(Any, field.type))
    except Exception:
        return False  # a type error: the schema sees it
    if field.converter is not None:
        structured = typing.cast(Callable[[Any], Any], field.converter)(structured)
    try:
        field.validator(None, field, structured)  # type: ignore[misc]
    except (ValueError, TypeError):
        return True
    return False


def _is_choice(field: attrs.Attribute[Any]) -> bool:
    tp = optional_inner(field.type) or field.type
    return (
        options_of(field) is not None
        or literal_values(tp) is not None
        or (isinstance(tp, type) and issubclass(tp, enum.Enum))
    )


#: For each params-level mutation: the fields it can act on.
FIELD_MUTATIONS: dict[str, Callable[[LossSpec, attrs.Attribute[Any]], bool]] = {
    "wrong_type": lambda spec, f: True,
    "out_of_range": lambda spec, f: out_of_range(f) is not None,
    "bad_literal": lambda spec, f: _is_choice(f),
    "missing_required": lambda spec, f: f.default is attrs.NOTHING,
    "coercion": lambda spec, f: f.type in COERCIONS and not bounds_of(f),
    "float_for_int": lambda spec, f: f.type is int and not bounds_of(f),
    "validator": lambda spec, f: f"{spec.name}.{f.name}" in CUSTOM,
}


def applicable(spec: LossSpec, mutation: str | None) -> bool:
    """Whether ``mutation`` can act on an entry of ``spec``."""
    if mutation == "empty":  # an empty list of child entries
        return bool(term_sequence_fields(spec.params_class))
    test = FIELD_MUTATIONS.get(mutation or "")
    if test is None:
        return True
    return any(test(spec, f) for f in params_fields(spec.params_class))


def gen_params(draw: st.DrawFn, case: Case, spec: LossSpec, mutation: str | None, depth: int) -> Any:
    cls = spec.params_class
    fields = params_fields(cls)
    nested = term_sequence_fields(cls)
    if nested:
        (field_name,) = nested
        if mutation == "missing_required":
            return {}
        child = gen_losses(draw, case, depth + 1, "empty" if mutation == "empty" else None)
        if isinstance(child, list) and draw(st.booleans()):
            return child
        return {field_name: child}
    params: dict[str, Any] = {}
    for field in fields:
        required = field.default is attrs.NOTHING
        forced = mutation == "validator" and f"{spec.name}.{field.name}" in CUSTOM
        if required or forced or draw(st.integers(0, 2)) == 0:
            params[field.name] = valid_value(draw, field.type, field)
            if f"{spec.name}.{field.name}" in CUSTOM and _validator_rejects(spec, field.name, params[field.name]):
                case.tags.add("validator")
    plain = list(fields)
    if mutation == "unknown_param":
        params[draw(st.sampled_from(["gama", "marginn", "x", "params"]))] = 1
    elif mutation == "wrong_type" and plain:
        field = draw(st.sampled_from(plain))
        params[field.name] = wrong_value(draw, field.type)
    elif mutation == "out_of_range":
        bounded = [f for f in plain if out_of_range(f) is not None]
        if bounded:
            field = draw(st.sampled_from(bounded))
            params[field.name] = out_of_range(field)
    elif mutation == "bad_literal":
        choices = [f for f in plain if _is_choice(f)]
        if choices:
            params[draw(st.sampled_from(choices)).name] = "not_an_option"
    elif mutation == "missing_required":
        needed = [f.name for f in fields if f.default is attrs.NOTHING]
        if needed:
            del params[draw(st.sampled_from(needed))]
    elif mutation == "coercion":
        scalar = [f for f in plain if f.type in COERCIONS and not bounds_of(f)]
        if scalar:
            field = draw(st.sampled_from(scalar))
            params[field.name] = draw(st.sampled_from(COERCIONS[field.type]))
            case.tags.add("coercion")
    elif mutation == "float_for_int":
        ints = [f for f in plain if f.type is int and not bounds_of(f)]
        if ints:
            params[draw(st.sampled_from(ints)).name] = float(draw(st.integers(-5, 5)))
            case.tags.add("float_for_int")
    elif mutation == "interpolation" and params:
        key = draw(st.sampled_from(sorted(params)))
        params[key] = case.interpolate(params[key] if draw(st.booleans()) else "not a value")
    if mutation == "bad_params_shape":
        return draw(st.sampled_from([[1], "abc", 3]))
    if not params and not any(f.default is attrs.NOTHING for f in fields):
        return draw(st.sampled_from([{}, None]))
    return params


def gen_entry(draw: st.DrawFn, case: Case, depth: int, mutation: str | None, taken: set[str], key: str | None) -> Any:
    specs = [s for s in SPECS if (depth < 2 or not term_sequence_fields(s.params_class)) and applicable(s, mutation)]
    if mutation == "bare_name_required":
        needy = [s.name for s in specs if has_required(s)]
        if needy:
            return draw(st.sampled_from(needy))
    spec = draw(st.sampled_from(specs))
    if mutation == "unknown_loss":
        return draw(st.sampled_from([spec.name + "x", "lossy", "Cross_Entropy"]))
    name = key if key is not None else spec.name
    bare_ok = not has_required(spec) and mutation is None and name not in taken
    if bare_ok and draw(st.integers(0, 3)) == 0:
        taken.add(name)
        return spec.name
    entry: dict[str, Any] = {"type": spec.name}
    if key is None and (name in taken or draw(st.integers(0, 3)) == 0):
        name = f"term{len(taken)}"
        entry["name"] = name
    taken.add(name)
    if draw(st.booleans()):
        entry["weight"] = draw(st.sampled_from([0, 1, 0.5, 2.25, 1e-3]))
    params = gen_params(draw, case, spec, mutation, depth)
    if has_required(spec) or params or draw(st.booleans()):
        entry["params"] = params
    declared = [i.key for i in spec.loss_class.inputs]
    if declared and draw(st.integers(0, 3)) == 0:
        entry["inputs"] = {draw(st.sampled_from(declared)): draw(st.sampled_from(["aux", "heads.aux"]))}
    if mutation == "unknown_entry_key":
        entry[draw(st.sampled_from(["wieght", "param", "loss", "kind"]))] = 1
    elif mutation == "bad_route":
        route = declared[0] if declared else "scores"
        entry["inputs"] = draw(
            st.sampled_from([{route + "x": "aux"}, {route: ""}, {route: 3}, {route: "a..b"}, "aux", [route]])
        )
    elif mutation == "bad_weight":
        entry["weight"] = draw(st.sampled_from([-1, -0.5, "heavy", True, None, [1]]))
    elif mutation == "bad_name":
        entry["name"] = draw(st.sampled_from(["", 3, None, ["a"]]))
    elif mutation == "missing_type":
        del entry["type"]
    elif mutation == "non_finite":
        entry["weight"] = draw(st.sampled_from([math.inf, math.nan]))
        case.tags.add("non_finite")
    elif mutation == "name_conflict" and key is not None:
        entry["name"] = key + "_other"
        case.tags.add("name_conflict")
    elif mutation == "interpolation":
        choice = draw(st.sampled_from(["weight", "name", "type", "params"]))
        if choice == "weight":
            entry["weight"] = case.interpolate(draw(st.sampled_from([0.5, -1.0, "heavy"])))
        elif choice == "name" and key is None:
            entry["name"] = case.interpolate(draw(st.sampled_from([name, 3])))
        elif choice == "type":
            entry["type"] = case.interpolate(draw(st.sampled_from([spec.name, "lossy"])))
    return entry


def gen_losses(draw: st.DrawFn, case: Case, depth: int, mutation: str | None) -> Any:
    if mutation == "empty" and (depth > 0 or draw(st.sampled_from(["top", "nested"])) == "top"):
        return draw(st.sampled_from([[], {}]))
    mapping = draw(st.booleans())
    count = draw(st.integers(1, 3))
    target = draw(st.integers(0, count - 1)) if mutation is not None else -1
    taken: set[str] = set()
    entries: list[tuple[str, Any]] = []
    for i in range(count):
        key = f"k{i}" if mapping else None
        entries.append((key or "", gen_entry(draw, case, depth, mutation if i == target else None, taken, key)))
    if mutation == "duplicate" and not mapping:
        entries.append(("", entries[0][1]))
        case.tags.add("duplicate")
    if mapping:
        return dict(entries)
    return [e for _, e in entries]


@st.composite
def documents(draw: st.DrawFn, mutation: str | None) -> tuple[dict[str, Any], Case]:
    case = Case()
    if mutation is not None:
        case.mutations.append(mutation)
    losses = gen_losses(draw, case, 0, mutation)
    where = draw(st.sampled_from(["top", "model", "list"]))
    doc: dict[str, Any]
    if where == "top":
        doc = {"losses": losses}
    elif where == "model":
        doc = {"model_config": {"visual_bert": {"num_labels": 3129, "losses": losses}}, "training": {"batch_size": 8}}
    else:
        doc = {"stages": [{"params": {"lr": 0.1}}, {"losses": losses}]}
    if case.values:
        doc["vals"] = case.values
    return doc, case


# -- verdicts --------------------------------------------------------------------------------------------


def python_ok(doc: dict[str, Any]) -> bool:
    root = OmegaConf.create(doc)
    assert isinstance(root, DictConfig)
    nodes = find_losses(root)
    assert nodes
    try:
        for node in nodes:
            check_losses(node)
    except LossConfigError:
        return False
    return True


def schema_ok(doc: dict[str, Any]) -> bool:
    return VALIDATOR.is_valid(doc)


def check(doc: dict[str, Any], case: Case) -> None:
    py, js = python_ok(doc), schema_ok(doc)
    lenient = case.tags & LENIENT
    strict = case.tags & STRICT
    kind = case.mutations[0] if case.mutations else "none"
    STATS["cases"] += 1
    STATS[f"{kind}:python_{'ok' if py else 'error'}"] += 1
    if lenient and strict:
        STATS["skipped:mixed"] += 1
        return
    if lenient:
        STATS["one_way:lenient"] += 1
        assert js or not py, f"schema rejects what Python accepts ({sorted(lenient)}): {doc}"
    elif strict:
        STATS["one_way:strict"] += 1
        assert py or not js, f"schema accepts what Python rejects ({sorted(strict)}): {doc}"
    else:
        STATS["compared"] += 1
        assert py == js, f"python={'ok' if py else 'error'} schema={'ok' if js else 'error'}: {doc}"


@pytest.mark.parametrize("mutation", [None, *MUTATIONS, *PYTHON_ONLY], ids=lambda m: m or "valid")
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_schema_verdict_equals_python_verdict(mutation: str | None, data: st.DataObject) -> None:
    doc, case = data.draw(documents(mutation))
    check(doc, case)


def test_differential_mutations_were_effective() -> None:
    # runs after the property test (file order): each mutation produced configs Python rejects, the
    # unmutated generator produced configs Python accepts
    if not STATS["cases"]:
        pytest.skip("run together with test_schema_verdict_equals_python_verdict")
    print(dict(sorted(STATS.items())))
    assert STATS["none:python_ok"], "the generator of valid configs produced none"
    ineffective = [m for m in (*MUTATIONS, *PYTHON_ONLY) if m != "coercion" and not STATS[f"{m}:python_error"]]
    assert not ineffective, ineffective


# -- the classes, one known example each -----------------------------------------------------------------


def _docs() -> Iterator[tuple[str, dict[str, Any], bool, bool]]:
    """(class, document, python ok, schema ok) for one representative of each Python-only class."""
    yield "duplicate", {"losses": ["mse", {"type": "mse"}]}, False, True
    yield "name_conflict", {"losses": {"ce": {"type": "cross_entropy", "name": "other"}}}, False, True
    yield (
        "interpolation",
        {"m": -1.0, "losses": [{"type": "in_batch_hinge", "params": {"margin": "${m}"}}]},
        False,
        True,
    )
    yield "float_for_int", {"losses": [{"type": "cross_entropy", "params": {"ignore_index": 3.0}}]}, False, True
    yield "non_finite", {"losses": [{"type": "mse", "weight": math.inf}]}, False, True
    yield "coercion", {"losses": [{"type": "in_batch_hinge", "params": {"margin": "0.5", "hard": "yes"}}]}, True, False
    if CUSTOM:
        yield "validator", {"losses": [{"type": "cross_entropy", "params": {"weight": []}}]}, False, True


@pytest.mark.parametrize(("kind", "doc", "py", "js"), list(_docs()), ids=[d[0] for d in _docs()])
def test_python_only_classes_are_what_the_docs_say(kind: str, doc: dict[str, Any], py: bool, js: bool) -> None:
    assert (python_ok(doc), schema_ok(doc)) == (py, js)


def test_validator_class_matches_the_catalog() -> None:
    # Every constraint of the catalog is declared in a form the schema expresses (docs/editors.md).
    assert CUSTOM == {}
    assert all(key.split(".")[0] in REGISTRY for key in CUSTOM)
    assert not set(ENTRY_KEYS) - {"type", "params", "weight", "name", "inputs"}
