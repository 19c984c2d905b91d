"""A JSON Schema of loss configs, generated from the registry, for editors and ``check-jsonschema``.

``typed-losses schema`` writes it; the committed copy is ``schemas/losses.schema.json``. It uses draft-07
keywords only (what the YAML language server understands in every version, and PyCharm):

- a whole config document is accepted; every key named ``losses``, wherever it sits
  (``model_config.visual_bert.losses``), must hold a losses value; nothing else is constrained;
- a losses value is a non-empty list of entries or a non-empty mapping ``{term_name: entry}``;
- an entry is the name of a loss whose params all have defaults, or a mapping whose ``type`` ``const``
  selects one ``oneOf`` branch per loss (editors narrow completion once ``type:`` is written), with the
  optional ``weight`` (a number >= 0), ``name`` and ``params``;
- params come from the attrs fields of each params class: types, defaults, ``Literal``/``Enum`` values,
  bounds from ``ge``/``gt``/``le``/``lt``, ``in_``, ``min_len``/``max_len``, ``deep_iterable`` and
  ``matches_re`` validators, ``required`` for fields without defaults, ``additionalProperties: false``;
- every value a user writes may instead be an OmegaConf interpolation (``${...}``).

Some mistakes only the Python validator sees (duplicate term names, what an interpolation resolves to,
validators a schema cannot express): :func:`python_only_constraints` lists the last kind, and
``docs/editors.md`` describes them all. A custom validator can describe itself to the schema by carrying a
``json_schema`` attribute (a dict of draft-07 keywords for the values it accepts).

This module does not import the catalog: it reads whatever :data:`~typed_losses.REGISTRY` holds (built-in
losses through the entry point, plugins imported before).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any, Union

import attrs

from typed_losses.config.entries import ENTRY_KEYS
from typed_losses.config.types import (
    literal_values,
    mapping_value,
    optional_inner,
    params_fields,
    sequence_item,
    term_sequence_fields,
)
from typed_losses.introspect import params_info
from typed_losses.registry import REGISTRY, LossSpec, Registry
from typed_losses.term import is_term_type

__all__ = [
    "DRAFT",
    "INTERPOLATION_PATTERN",
    "SCHEMA_ID",
    "losses_schema",
    "python_only_constraints",
    "schema_text",
]

JSON = dict[str, Any]

DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID = "urn:typed-losses:losses.schema.json"
TITLE = "typed_losses loss configuration"
#: A whole-value OmegaConf interpolation; accepted wherever a value is (its result is checked by Python).
INTERPOLATION_PATTERN = r"^\$\{.+\}$"

_INTERP = "interpolation"
_DEFS = "#/definitions/"
_NULL: JSON = {"type": "null"}


def _ref(name: str) -> JSON:
    return {"$ref": _DEFS + name}


def _params_def(loss: str) -> str:
    return f"params.{loss}"


def _entry_def(loss: str) -> str:
    return f"entry.{loss}"


def _struct_def(cls: type) -> str:
    return f"struct.{cls.__module__}.{cls.__qualname__}"


# -- validators ------------------------------------------------------------------------------------------


@attrs.define
class _Checks:
    """The validators of one value, flattened: ``(validator, under optional(...))`` pairs."""

    top: list[tuple[Any, bool]] = attrs.Factory(list)
    members: list[Any] = attrs.Factory(list)  # deep_iterable member validators
    values: list[Any] = attrs.Factory(list)  # deep_mapping value validators


def _flatten(validator: Any, checks: _Checks, optional: bool = False) -> _Checks:
    if validator is None:
        return checks
    if isinstance(validator, (list, tuple)):
        for v in validator:
            _flatten(v, checks, optional)
        return checks
    kind = type(validator).__name__
    if kind == "_AndValidator":
        _flatten(list(validator._validators), checks, optional)
    elif kind == "_OptionalValidator":
        _flatten(validator.validator, checks, True)
    elif kind == "_DeepIterable":
        checks.members.append(validator.member_validator)
        _flatten(validator.iterable_validator, checks, optional)
    elif kind == "_DeepMapping":
        checks.values.append(validator.value_validator)
        _flatten(validator.mapping_validator, checks, optional)
    else:
        checks.top.append((validator, optional))
    return checks


def _describe_validator(v: Any) -> str:
    """A validator's ``constraint`` text, the first line of a function's docstring, or its name."""
    constraint = getattr(v, "constraint", None)
    if constraint:
        return str(constraint)
    own_doc = getattr(v, "__doc__", None)
    if own_doc and own_doc != type(v).__doc__ and own_doc.strip():
        return str(own_doc).strip().splitlines()[0]
    return str(getattr(v, "__name__", None) or type(v).__name__)


_FAILS_ON_NONE = frozenset(
    {"_NumberValidator", "_InValidator", "_MinLengthValidator", "_MaxLengthValidator", "_MatchesReValidator"}
)
_KEYWORDS_BY_OP = {">=": "minimum", ">": "exclusiveMinimum", "<=": "maximum", "<": "exclusiveMaximum"}


def _json_values(value: Any) -> list[Any]:
    """The JSON spellings of one allowed Python value: an enum member by name and by value."""
    if isinstance(value, enum.Enum):
        out: list[Any] = [value.name]
        if isinstance(value.value, (str, int, float, bool)) and value.value not in out:
            out.append(value.value)
        return out
    return [value] if isinstance(value, (str, int, float, bool)) or value is None else []


def _fits(value: Any, branch: JSON) -> bool:
    """Whether ``value`` fits ``branch``, looking only at ``type`` and ``enum`` (enough for ``in_``)."""
    if "enum" in branch:
        return any(value == o and type(value) is type(o) for o in branch["enum"])
    kind: object = branch.get("type")
    if kind is None:
        return True
    if kind == "null" or value is None:
        return kind == "null" and value is None
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int)
    return kind == "number" and isinstance(value, (int, float))


def _apply(branches: list[JSON], checks: _Checks, unexpressed: list[str]) -> list[JSON]:
    """Narrow the type's branches with the value's validators; note those a schema cannot express."""
    for v, optional in checks.top:
        kind = type(v).__name__
        custom = getattr(v, "json_schema", None)
        # An optional(...)-less validator runs on None too, and fails (unless None is one of its options).
        if (
            not optional
            and kind in _FAILS_ON_NONE
            and custom is None
            and not (kind == "_InValidator" and None in v.options)
        ):
            branches = [b for b in branches if b != _NULL] or branches
        if isinstance(custom, dict):
            branches = [b if b == _NULL else {**b, **custom} for b in branches]
        elif kind == "_NumberValidator" and v.compare_op in _KEYWORDS_BY_OP:
            keyword = _KEYWORDS_BY_OP[v.compare_op]
            out = []
            for b in branches:
                if b.get("type") in ("number", "integer"):
                    out.append({**b, keyword: v.bound})
                elif "enum" in b:
                    out.append({**b, "enum": [o for o in b["enum"] if _compare_ok(v, o)]})
                else:
                    if b != _NULL:
                        unexpressed.append(f"{v.compare_op} {v.bound}")
                    out.append(b)
            branches = out
        elif kind == "_InValidator":
            allowed = [j for o in v.options for j in _json_values(o)]
            others = [b for b in branches if b != _NULL]
            enum_values = [a for a in allowed if a is not None and any(_fits(a, b) for b in others)]
            branches = ([{"enum": enum_values}] if others else []) + [
                b for b in branches if b == _NULL and (optional or None in v.options)
            ]
        elif kind in ("_MinLengthValidator", "_MaxLengthValidator"):
            size = v.min_length if kind == "_MinLengthValidator" else v.max_length
            prefix = "min" if kind == "_MinLengthValidator" else "max"
            out = []
            for b in branches:
                suffix = {"array": "Items", "string": "Length", "object": "Properties"}.get(b.get("type", ""))
                out.append({**b, prefix + suffix: size} if suffix else b)
            branches = out
        elif kind == "_MatchesReValidator":
            pattern = v.pattern.pattern
            func = getattr(v.match_func, "__name__", "fullmatch")
            if func == "fullmatch":
                pattern = f"^(?:{pattern})$"
            elif func == "match":
                pattern = f"^(?:{pattern})"
            branches = [{**b, "pattern": pattern} if b.get("type") == "string" else b for b in branches]
        elif kind == "_InstanceOfValidator":
            continue  # the annotation already says the type
        else:
            unexpressed.append(_describe_validator(v))
    return branches


def _compare_ok(v: Any, value: Any) -> bool:
    try:
        return bool(v.compare_func(value, v.bound))
    except TypeError:
        return False


# -- types -----------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.definitions: dict[str, JSON] = {}
        self.unexpressed: dict[str, list[str]] = {}

    def value(self, tp: Any, checks: _Checks, where: str) -> JSON:
        """The schema of one value of type ``tp``: its branches, narrowed, or an interpolation."""
        unexpressed: list[str] = []
        branches = _apply(self.branches(tp, checks, where), checks, unexpressed)
        if unexpressed:
            self.unexpressed.setdefault(where, []).extend(unexpressed)
        if any(b == {} for b in branches):
            return {}
        branches.append(_ref(_INTERP))
        return branches[0] if len(branches) == 1 else {"anyOf": branches}

    def branches(self, tp: Any, checks: _Checks, where: str) -> list[JSON]:
        if tp is bool:
            return [{"type": "boolean"}]
        if tp is int:
            return [{"type": "integer"}]
        if tp is float:
            return [{"type": "number"}]
        if tp is str:
            return [{"type": "string"}]
        if tp is Any or tp is object or tp is None:
            return [{}] if tp is not None else [dict(_NULL)]
        inner = optional_inner(tp)
        if inner is not None:
            return [*self.branches(inner, checks, where), dict(_NULL)]
        values = literal_values(tp)
        if values is not None:
            return [{"enum": [j for v in values for j in _json_values(v)]}]
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return [{"enum": [j for m in tp for j in _json_values(m)]}]
        item = sequence_item(tp)
        if item is not None:
            member = _flatten([*checks.members], _Checks())
            return [{"type": "array", "items": self.value(item, member, f"{where}[]")}]
        if typing.get_origin(tp) is tuple and typing.get_args(tp):
            args = typing.get_args(tp)
            member = _flatten([*checks.members], _Checks())
            items = [self.value(a, member, f"{where}[{i}]") for i, a in enumerate(args)]
            return [{"type": "array", "items": items, "minItems": len(items), "maxItems": len(items)}]
        value = mapping_value(tp)
        if value is not None:
            inner_checks = _flatten([*checks.values], _Checks())
            return [{"type": "object", "additionalProperties": self.value(value, inner_checks, f"{where}.*")}]
        if typing.get_origin(tp) in (Union, types.UnionType):
            return [b for a in typing.get_args(tp) for b in self.branches(a, checks, where)]
        if is_term_type(tp):
            return [_ref("entry")]
        if isinstance(tp, type) and attrs.has(tp):
            self.struct(tp)
            return [_ref(_struct_def(tp))]
        return [{}]  # a type the schema does not know: anything (Python checks it)

    def struct(self, cls: type) -> None:
        """A definition for a nested attrs class (a mapping with exactly its fields)."""
        name = _struct_def(cls)
        if name in self.definitions:
            return
        self.definitions[name] = {}  # placeholder: recursion stops here
        self.definitions[name] = self.object_of(cls, f"<{cls.__qualname__}>")

    def object_of(self, cls: type, where: str) -> JSON:
        properties: JSON = {}
        required: list[str] = []
        infos = {i.name: i for i in params_info(cls)}
        nested = term_sequence_fields(cls)
        for field in params_fields(cls):
            info = infos[field.name]
            if field.name in nested:
                prop: JSON = {"allOf": [_ref("losses")]}
            else:
                prop = dict(self.value(field.type, _flatten(field.validator, _Checks()), f"{where}.{field.name}"))
            description = info.doc
            if info.constraint:
                description = f"{description} [{info.constraint}]" if description else info.constraint
            if description:
                prop["description"] = description
            if info.required:
                required.append(field.name)
            elif info.default_text != "computed" and _is_json(info.default):
                prop["default"] = info.default
            properties[field.name] = prop
        out: JSON = {"type": "object", "title": cls.__name__}
        doc = (cls.__doc__ or "").strip()
        if doc and not doc.startswith(f"{cls.__name__}("):  # not attrs' generated signature
            out["description"] = doc.splitlines()[0]
        out["properties"] = properties
        if required:
            out["required"] = required
        out["additionalProperties"] = False
        return out


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


# -- the document ----------------------------------------------------------------------------------------


def _has_required(cls: type) -> bool:
    return any(f.default is attrs.NOTHING for f in params_fields(cls))


def _entry(spec: LossSpec, builder: _Builder) -> JSON:
    cls = spec.params_class
    builder.definitions[_params_def(spec.name)] = builder.object_of(cls, spec.name)
    params_forms: list[JSON] = [_ref(_params_def(spec.name))]
    nested = term_sequence_fields(cls)
    if len(nested) == 1:
        params_forms.append(
            {
                "type": "array",
                "minItems": 1,
                "items": _ref("entry"),
                "description": f"the `{next(iter(nested))}` entries themselves (list form)",
            }
        )
    if not _has_required(cls):
        params_forms.append(dict(_NULL))
    params: JSON = params_forms[0] if len(params_forms) == 1 else {"anyOf": params_forms}
    if "$ref" in params:
        params = {"allOf": [params]}
    params["description"] = f"params of `{spec.name}` ({cls.__name__})"
    entry: JSON = {"type": "object", "title": spec.name}
    if spec.summary:
        entry["description"] = spec.summary
    entry["properties"] = {
        "type": {"const": spec.name, "description": "the registry name of the loss"},
        "params": params,
        "weight": _ref("weight"),
        "name": _ref("name"),
    }
    entry["required"] = ["type", "params"] if _has_required(cls) else ["type"]
    entry["additionalProperties"] = False
    return entry


def _ordered(keys: list[str]) -> dict[str, JSON]:
    return {k: _ref(k) for k in keys}


def losses_schema(registry: Registry = REGISTRY) -> JSON:
    """The JSON Schema (draft-07) of config documents holding ``losses`` values, as a plain dict."""
    builder = _Builder()
    specs = list(registry)
    entries = {spec.name: _entry(spec, builder) for spec in specs}
    defaultable = [s.name for s in specs if not _has_required(s.params_class)]
    assert set(ENTRY_KEYS) == {"type", "params", "weight", "name"}, "entry keys changed: update the schema"
    definitions: dict[str, JSON] = {
        "config": {
            "description": "any part of a config document; a key named `losses` holds loss entries",
            "properties": {"losses": _ref("losses")},
            "additionalProperties": _ref("config"),
            "items": _ref("config"),
        },
        _INTERP: {
            "type": "string",
            "pattern": INTERPOLATION_PATTERN,
            "description": "an OmegaConf interpolation such as ${dataset_config.num_labels}; checked by Python",
        },
        "losses": {
            "description": "loss entries: a list, or a mapping of term names to entries",
            "anyOf": [
                {"type": "array", "minItems": 1, "items": _ref("entry")},
                {"type": "object", "minProperties": 1, "additionalProperties": _ref("entry")},
            ],
        },
        "entry": {
            "description": "a loss name, or a mapping with `type` and optional `params`, `weight`, `name`",
            "anyOf": [_ref("lossName"), _ref(_INTERP), _ref("entryObject")],
        },
        "lossName": {
            "description": "the registry name of a loss whose params all have defaults",
            "enum": defaultable,
        },
        "entryObject": {
            "type": "object",
            "required": ["type"],
            "oneOf": [*(_ref(_entry_def(name)) for name in entries), _ref("entry.interpolated")],
        },
        "entry.interpolated": {
            "type": "object",
            "title": "interpolated type",
            "description": "a loss whose `type` is an interpolation: its params are checked by Python",
            "properties": {
                "type": _ref(_INTERP),
                "params": {"type": ["object", "array", "null"]},
                "weight": _ref("weight"),
                "name": _ref("name"),
            },
            "required": ["type"],
            "additionalProperties": False,
        },
        "weight": {
            "description": "weight of the term in the total loss (default 1.0)",
            "default": 1.0,
            "anyOf": [{"type": "number", "minimum": 0}, _ref(_INTERP)],
        },
        "name": {
            "description": "term name (default: the loss type; in the mapping form, the key)",
            "type": "string",
            "minLength": 1,
        },
    }
    for name, entry in entries.items():
        definitions[_entry_def(name)] = entry
    for name in entries:
        definitions[_params_def(name)] = builder.definitions.pop(_params_def(name))
    definitions.update(sorted(builder.definitions.items()))
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": (
            "Generated by `typed-losses schema` from the loss registry; do not edit. Checks every key "
            "named `losses` in a config document; nothing else is constrained."
        ),
        "properties": {"losses": _ref("losses")},
        "additionalProperties": _ref("config"),
        "items": _ref("config"),
        "definitions": definitions,
    }


def schema_text(registry: Registry = REGISTRY) -> str:
    """The schema as committed: 2-space indented JSON with a trailing newline."""
    return json.dumps(losses_schema(registry), indent=2, ensure_ascii=False) + "\n"


def python_only_constraints(registry: Registry = REGISTRY) -> dict[str, list[str]]:
    """``{"loss.field": [constraint, ...]}``: param validators that the schema cannot express."""
    builder = _Builder()
    for spec in registry:
        builder.object_of(spec.params_class, spec.name)
    return dict(sorted(builder.unexpressed.items()))
