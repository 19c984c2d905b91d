"""A JSON Schema of loss configs, generated from the registry, for editors and `check-jsonschema`.

`typed-losses schema` writes it; the committed copy is `schemas/losses.schema.json`. It uses draft-07
keywords only (what the YAML language server understands in every version, and PyCharm), plus the editor
annotations `errorMessage`, `patternErrorMessage` and `enumDescriptions` (validators ignore them):

- a whole config document is accepted; every key named `losses`, wherever it sits
  (`model_config.visual_bert.losses`), must hold a losses value; nothing else is constrained;
- a losses value is a non-empty list of entries or a non-empty mapping `{term_name: entry}`;
- an entry is the name of a loss whose params all have defaults (the name of a loss that needs params gets
  a message saying so), or a mapping whose `type` selects that loss's definition by `if`/`then` (editors
  complete every name with its one-line description, then that loss's params), with the optional
  `weight` (a number >= 0, or a weight kind's mapping `{type: linear, ...}` whose `type` selects the
  kind the same way), `name`, `inputs` and `params`;
- every choice is made by `if`/`then`/`else` on a value's type or on a `type` key, never by trying all
  alternatives (`oneOf`): each mistake gets one message about itself, in the YAML language server and in
  `check-jsonschema`; values of plain types carry an `errorMessage` that the YAML language server shows
  ("Incorrect type. Expected number (or a ${...} interpolation).");
- params come from the attrs fields of each params class: types, defaults, `Literal`/`Enum` values,
  the declared constraints of `typed_losses.constraints` (bounds, choices, lengths, patterns; items of
  a list take the scalar ones), the int64 range of integers, `required` for fields without defaults,
  `additionalProperties: false`;
- every value a user writes may instead be an OmegaConf interpolation (`${...}`).

Some mistakes only the Python validator sees (duplicate term names, what an interpolation resolves to,
rules a schema cannot express: a declared `check`, a plain attrs validator, finiteness, which JSON cannot
write anyway): `python_only_constraints()` lists the checks and validators, and `docs/editors.md`
describes them all. A plain attrs validator can describe itself to the schema by carrying a
`json_schema` attribute (a dict of draft-07 keywords for the values it accepts).

This module does not import the catalog: it reads whatever [`REGISTRY`][typed_losses.REGISTRY] holds (built-in
losses through the entry point, plugins imported before).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any, Union

import attrs

from typed_losses.config.types import (
    mapping_value,
    optional_inner,
    params_fields,
    sequence_item,
    term_sequence_fields,
)
from typed_losses.constraints import (
    INT64_MAX,
    INT64_MIN,
    Constraint,
    FieldRule,
    choices_of_type,
    describe_validator,
    rules_of,
)
from typed_losses.introspect import params_info
from typed_losses.registry import REGISTRY, LossSpec, Registry
from typed_losses.rules import (
    DEFAULT_WEIGHT,
    ENTRY_KEYS,
    INPUTS_KEY,
    RESERVED_NAMES,
    ROUTES_TEXT,
    WEIGHT_JSON_SCHEMA,
    WEIGHT_LOG_PREFIX,
    WEIGHT_TEXT,
)
from typed_losses.term import is_term_type
from typed_losses.weighting import WEIGHT_KINDS, WeightKinds, WeightSpec

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
#: The term names the weights' log keys take (`weight`, `weight/...`: see rules.name_problem).
_RESERVED_NAME_PATTERN = f"^{WEIGHT_LOG_PREFIX[:-1]}(/.*)?$"
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


# -- constraints -----------------------------------------------------------------------------------------

_KEYWORDS_BY_OP = {">=": "minimum", ">": "exclusiveMinimum", "<=": "maximum", "<": "exclusiveMaximum"}


def _json_values(value: Any) -> list[Any]:
    """The JSON spellings of one allowed Python value: an enum member by name and by value."""
    if isinstance(value, enum.Enum):
        out: list[Any] = [value.name]
        if isinstance(value.value, (str, int, float, bool)) and value.value not in out:
            out.append(value.value)
        return out
    return [value] if isinstance(value, (str, int, float, bool)) or value is None else []


def _fits(value: Any, kind: str) -> bool:
    """Whether a JSON `value` is of the JSON type `kind`."""
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int)
    return kind == "number" and isinstance(value, (int, float))


def _number(kind: str, c: Constraint) -> JSON:
    """A number branch with the bounds of `c` (integers also within int64 unless declared otherwise)."""
    out: JSON = {"type": kind}
    for bound in c.bounds():
        value: float = bound.value
        if kind == "integer" and value.is_integer():
            value = int(value)
        out[_KEYWORDS_BY_OP[bound.op]] = value
    if kind == "integer" and c.int64:
        if c.ge is None and c.gt is None:
            out["minimum"] = INT64_MIN
        if c.le is None and c.lt is None:
            out["maximum"] = INT64_MAX
    return out


def _sized(branch: JSON, c: Constraint) -> JSON:
    suffix = {"array": "Items", "string": "Length", "object": "Properties"}.get(branch.get("type", ""))
    if suffix is None:
        return branch
    out = dict(branch)
    if c.min_len is not None:
        out["min" + suffix] = c.min_len
    if c.max_len is not None:
        out["max" + suffix] = c.max_len
    return out


# -- types -----------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.definitions: dict[str, JSON] = {}
        self.unexpressed: dict[str, list[str]] = {}

    def value(self, tp: Any, c: Constraint, where: str) -> JSON:
        """The schema of one value of type `tp` under constraint `c`: its branches, or an interpolation."""
        branches = self.branches(tp, c, where)
        if any(b == {} for b in branches):
            return {}
        return _or_interpolation(branches)

    def branches(self, tp: Any, c: Constraint, where: str) -> list[JSON]:
        """The branches of `tp`; the scalar parts of `c` apply to scalars, its lengths to containers."""
        if tp is Any or tp is object:
            return [{}]
        if tp is None or tp is type(None):
            return [dict(_NULL)]
        inner = optional_inner(tp)
        if inner is not None:
            return [*self.branches(inner, c, where), dict(_NULL)]
        choices = c.choices if c.choices is not None else choices_of_type(tp)
        if choices is not None:
            kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(tp)
            values = [j for v in choices for j in _json_values(v)]
            return [{"enum": [v for v in values if kind is None or _fits(v, kind)]}]
        if tp is bool:
            return [{"type": "boolean"}]
        if tp is int:
            return [_number("integer", c)]
        if tp is float:
            return [_number("number", c)]
        if tp is str:
            out: JSON = {"type": "string"}
            if c.pattern is not None:
                out["pattern"] = f"^(?:{c.pattern})$"
            return [_sized(out, c)]
        items = attrs.evolve(c, min_len=None, max_len=None)
        item = sequence_item(tp)
        if item is not None:
            return [_sized({"type": "array", "items": self.value(item, items, f"{where}[]")}, c)]
        if typing.get_origin(tp) is tuple and typing.get_args(tp):
            args = typing.get_args(tp)
            values_ = [self.value(a, items, f"{where}[{i}]") for i, a in enumerate(args)]
            return [{"type": "array", "items": values_, "minItems": len(values_), "maxItems": len(values_)}]
        value = mapping_value(tp)
        if value is not None:
            return [_sized({"type": "object", "additionalProperties": self.value(value, items, f"{where}.*")}, c)]
        if typing.get_origin(tp) in (Union, types.UnionType):
            return [b for a in typing.get_args(tp) for b in self.branches(a, c, where)]
        if is_term_type(tp):
            return [_ref("entry")]
        if isinstance(tp, type) and attrs.has(tp):
            self.struct(tp)
            return [_ref(_struct_def(tp))]
        return [{}]  # a type the schema does not know: anything (Python checks it)

    def field(self, field: attrs.Attribute[Any], rule: FieldRule, where: str) -> JSON:
        """The schema of one field: its type under its constraint; what a schema cannot express is noted."""
        c = rule.constraint
        prop = self.value(field.type, c, where)
        unexpressed = []
        if c.check is not None:
            unexpressed.append(c.check_text)
        validator = field.validator
        if validator is not None and not rule.declared:  # a plain attrs validator: opaque
            custom = getattr(validator, "json_schema", None)
            if isinstance(custom, dict) and "anyOf" in prop:
                prop = {"anyOf": [b if b in (_NULL, _ref(_INTERP)) else {**b, **custom} for b in prop["anyOf"]]}
            elif isinstance(custom, dict) and prop:
                prop = {**prop, **custom}
            else:
                unexpressed.append(describe_validator(validator))
        if unexpressed:
            self.unexpressed.setdefault(where, []).extend(unexpressed)
        return prop

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
        rules = rules_of(cls)
        nested = term_sequence_fields(cls)
        for field in params_fields(cls):
            info = infos[field.name]
            if field.name in nested:
                prop: JSON = {"allOf": [_ref("losses")]}
            else:
                prop = dict(self.field(field, rules[field.name], f"{where}.{field.name}"))
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


#: How a message names a JSON type (the YAML a user writes).
_TYPE_WORDS = {
    "number": "number",
    "integer": "integer",
    "boolean": "boolean (true or false)",
    "string": "string",
    "array": "list",
    "object": "mapping",
    "null": "null",
}


def _type_message(types_: list[str]) -> str:
    """One message for a value of the wrong type: "Expected number (or a ${...} interpolation)"."""
    words = " or ".join(_TYPE_WORDS[t] for t in types_)
    return f"Incorrect type. Expected {words} (or a ${{...}} interpolation)."


def _or_interpolation(branches: list[JSON]) -> JSON:
    """`branches` or an interpolation, as one schema an editor reports precisely.

    Where each branch is one plain JSON type (`{"type": "number", "minimum": 0}`, `{"type": "null"}`),
    the value's type is the list of those types plus `string`; `if`/`then`/`else` applies the
    interpolation pattern to a string and the branches' other keywords to the rest. A value of a wrong type then
    gets one message naming what is expected ("Incorrect type. Expected number (or a ${...} interpolation)."),
    where `anyOf` gives the YAML language server's merged `Expected "number | string"`. Other branches
    (choices, nested classes, strings) keep `anyOf`.
    """
    types_ = [t for b in branches if isinstance(t := b.get("type"), str) and t != "string"]
    simple = len(types_) == len(branches) and len(set(types_)) == len(types_)
    rest: JSON = {}
    for branch in branches:
        for key, value in branch.items():
            if key != "type" and rest.setdefault(key, value) != value:
                simple = False
    if not simple:
        alternatives = [*branches, _ref(_INTERP)]
        return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
    out: JSON = {
        "type": [*types_, "string"],
        "errorMessage": _type_message(types_),
        "if": {"type": "string"},
        "then": {"pattern": INTERPOLATION_PATTERN, "patternErrorMessage": _type_message(types_)},
    }
    if rest:
        out["else"] = rest
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
    # Chosen by the value's type: a mapping is checked as the params class, nothing else is tried against it
    # (one message per mistake, in editors and in check-jsonschema).
    params: JSON = {"description": f"params of `{spec.name}` ({cls.__name__})"}
    if len(params_forms) == 1:
        params["allOf"] = params_forms
    else:
        others = params_forms[1:]
        params["type"] = ["object", *(str(form["type"]) for form in others)]
        words = ["a mapping of params", *("a list of entries" if f["type"] == "array" else "nothing" for f in others)]
        params["errorMessage"] = f"Incorrect type. Expected {' or '.join(words)}."
        params["if"] = {"type": "object"}
        params["then"] = params_forms[0]
        rest = {k: v for form in others for k, v in form.items() if k not in ("type", "description")}
        if rest:
            params["else"] = rest
    entry: JSON = {"type": "object", "title": spec.name}
    if spec.summary:
        entry["description"] = _summary(spec.summary)
    entry["properties"] = {
        "type": {"const": spec.name, "description": _loss_text(spec)},
        "params": params,
        "weight": _ref("weight"),
        "name": _ref("name"),
    }
    routes = _routes(spec)
    if routes is not None:
        entry["properties"][INPUTS_KEY] = routes
    entry["required"] = ["type", "params"] if _has_required(cls) else ["type"]
    entry["additionalProperties"] = False
    return entry


#: A key a route reads: non-empty dotted parts (an interpolation such as `${heads.aux}` also matches).
_ROUTE_KEY: JSON = {"type": "string", "minLength": 1, "pattern": r"^[^.]+(\.[^.]+)*$"}


def _routes(spec: LossSpec) -> JSON | None:
    """The `inputs:` of an entry of `spec`: its declared input keys -> keys; `None` when it declares none."""
    declared = spec.loss_class.inputs
    if not declared:
        return None
    properties: JSON = {
        i.key: {
            **_ROUTE_KEY,
            "description": f"the key to read instead of {i.access}" + (f" ({i.doc})" if i.doc else ""),
        }
        for i in declared
    }
    routes: JSON = {"type": "object", "properties": properties, "additionalProperties": False}
    return {"anyOf": [routes, dict(_NULL), _ref(_INTERP)], "description": ROUTES_TEXT}


def _weight_kind_def(kind: str) -> str:
    return f"weight.{kind}"


def _weight_kind(spec: WeightSpec, builder: _Builder) -> JSON:
    """`{type: <kind>, ...fields}`: the mapping form of a weight of kind `spec`."""
    form = builder.object_of(spec.params_class, f"weight.{spec.name}")
    form["title"] = spec.name
    if spec.summary:
        form["description"] = spec.summary
    kind = {"const": spec.name, "description": _summary(spec.summary) or "the weight kind"}
    form["properties"] = {"type": kind, **form["properties"]}
    form["required"] = ["type", *form.get("required", [])]
    return form


def _weight(kinds: WeightKinds, builder: _Builder, definitions: dict[str, JSON]) -> JSON:
    """A term's weight: a number >= 0, an interpolation, or the mapping of a registered weight kind.

    Chosen by the value's type (`if`/`then`/`else`), and a mapping's kind by its `type`, so that each
    mistake gets one message: a wrong type names the three forms, an unknown kind lists the kinds, a field of
    a kind is checked against that kind only.
    """
    names = kinds.names()
    for spec in kinds:
        definitions[_weight_kind_def(spec.name)] = _weight_kind(spec, builder)
    kind_form: JSON = {
        "required": ["type"],
        "properties": {
            "type": {
                "description": "the weight kind",
                "anyOf": [
                    *(
                        {"const": spec.name, "title": spec.name, "description": _summary(spec.summary)}
                        for spec in kinds
                    ),
                    _ref(_INTERP),
                ],
            }
        },
        "allOf": [_if_type({"const": name}, _weight_kind_def(name)) for name in names],
    }
    number = {k: v for k, v in WEIGHT_JSON_SCHEMA.items() if k != "type"}
    message = (
        f"Incorrect type. Expected a number, a mapping with a weight `type` ({', '.join(names)}) "
        "(or a ${...} interpolation)."
    )
    return {
        "description": f"weight of the term in the total loss: {WEIGHT_TEXT}",
        "default": DEFAULT_WEIGHT,
        "type": [str(WEIGHT_JSON_SCHEMA["type"]), "object", "string"],
        "errorMessage": message,
        "if": {"type": "string"},
        "then": {"pattern": INTERPOLATION_PATTERN, "patternErrorMessage": message},
        "else": {**number, "if": {"type": "object"}, "then": kind_form},
    }


def _summary(text: str) -> str:
    """A docstring's first line as editors show it (markdown: single backticks)."""
    return text.replace("``", "`")


def _loss_name(specs: list[LossSpec]) -> JSON:
    """A bare loss name (`- logit_bce`): a loss whose params all have defaults, or an interpolation.

    The name of a loss with required params gets its own message (it needs the mapping form with `params`)
    rather than the list of the names allowed here.
    """
    defaultable = [s for s in specs if not _has_required(s.params_class)]
    needs = [s for s in specs if _has_required(s.params_class)]
    out: JSON = {"description": "the registry name of a loss whose params all have defaults"}
    if needs:
        out["allOf"] = [
            {
                "if": {"const": spec.name},
                "then": {
                    "type": ["object"],  # a list: the YAML language server keeps errorMessage as the message
                    "errorMessage": (
                        f"`{spec.name}` needs params ({', '.join(_required(spec))}): write "
                        f"`- type: {spec.name}` with `params:`"
                    ),
                },
            }
            for spec in needs
        ]
        out["if"] = {"enum": [spec.name for spec in needs]}
    names: JSON = {
        "enum": [spec.name for spec in defaultable],
        "enumDescriptions": [_loss_text(spec) for spec in defaultable],
    }
    out["else" if needs else "anyOf"] = {"anyOf": [names, _ref(_INTERP)]} if needs else [names, _ref(_INTERP)]
    return out


def _required(spec: LossSpec) -> list[str]:
    return [f.name for f in params_fields(spec.params_class) if f.default is attrs.NOTHING]


def _if_type(condition: JSON, definition: str) -> JSON:
    """`definition` applies to an entry whose `type` matches `condition`."""
    return {"if": {"properties": {"type": condition}, "required": ["type"]}, "then": _ref(definition)}


def _loss_text(spec: LossSpec) -> str:
    """What completion and hover show for a loss name: its one-line description, and what it needs."""
    required = _required(spec)
    text = _summary(spec.summary) or f"the `{spec.name}` loss"
    if required:
        text += f" Needs params: {', '.join(required)}."
    return text


def _ordered(keys: list[str]) -> dict[str, JSON]:
    return {k: _ref(k) for k in keys}


def losses_schema(registry: Registry = REGISTRY, weight_kinds: WeightKinds = WEIGHT_KINDS) -> JSON:
    """The JSON Schema (draft-07) of config documents holding `losses` values, as a plain dict."""
    builder = _Builder()
    weight_kind_forms: dict[str, JSON] = {}
    weight = _weight(weight_kinds, builder, weight_kind_forms)
    specs = list(registry)
    entries = {spec.name: _entry(spec, builder) for spec in specs}
    assert set(ENTRY_KEYS) == {"type", "params", "weight", "name", INPUTS_KEY}, "entry keys changed: update the schema"
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
            "type": ["array", "object"],
            "errorMessage": "Incorrect type. Expected a list of loss entries or a mapping of term names to entries.",
            "if": {"type": "array"},
            "then": {"minItems": 1, "items": _ref("entry")},
            "else": {"minProperties": 1, "additionalProperties": _ref("entry")},
        },
        "entry": {
            "description": "a loss name, or a mapping with `type` and optional `params`, `weight`, `name`",
            "if": {"type": "string"},
            "then": _ref("lossName"),
            "else": _ref("entryObject"),
        },
        "lossName": _loss_name(specs),
        "entryObject": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": _ref("lossType")},
            # The branch is chosen by `type` (if/then), not by trying every loss (oneOf): a mistake gets one
            # message about itself, not the best guess among all losses.
            "allOf": [
                *(_if_type({"const": name}, _entry_def(name)) for name in entries),
                _if_type(_ref(_INTERP), "entry.interpolated"),
            ],
        },
        "lossType": {
            "description": "the registry name of the loss",
            "anyOf": [
                *({"const": spec.name, "title": spec.name, "description": _loss_text(spec)} for spec in specs),
                _ref(_INTERP),
            ],
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
        "weight": weight,
        "name": {
            "description": "term name (default: the loss type; in the mapping form, the key)",
            "type": "string",
            "minLength": 1,
            "not": {"anyOf": [{"enum": list(RESERVED_NAMES)}, {"pattern": _RESERVED_NAME_PATTERN}]},
        },
    }
    definitions.update(weight_kind_forms)
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
    """`{"loss.field": [constraint, ...]}`: param validators that the schema cannot express."""
    builder = _Builder()
    for spec in registry:
        builder.object_of(spec.params_class, spec.name)
    return dict(sorted(builder.unexpressed.items()))
