"""Constraints on params, declared once: the attrs validator, the config check, the JSON Schema and the docs.

A params field declares its constraint with [`param()`][typed_losses.param] (a field with a default) or
`attrs.field(**constraint(...))` (any field: required ones, converters, factories):

```python
@attrs.frozen(kw_only=True)
class FocalParams:
    gamma: float = param(2.0, ge=0, doc="focusing strength")
    alpha: float = param(0.25, ge=0, le=1, doc="weight of the positive class")
    weights: tuple[float, ...] = attrs.field(converter=tuple, **constraint(ge=0, min_len=1, doc="..."))
```

Both keep the declaration (a frozen `Constraint`) in the field's metadata and install a validator
derived from it, so Python construction, the config checker (`problems()`), the JSON Schema and
`typed-losses list` / `docs/losses.md` (`FieldRule.text()`) read the same data.

Some rules come from the field's type and need no declaration; they apply to every params class, plain
attrs ones included (through `problems()`, which the config checker calls for any params class):

- a `Literal[...]` or `Enum` field takes one of its values (enforced at Python construction for
  declared fields);
- a `float` value (also an item of a list, a value of a mapping) is finite, unless `finite=False`;
- an `int` value fits in int64 (what torch takes), unless `int64=False`.

Bounds, choices and patterns of a list or mapping field apply to each item; `min_len`/`max_len` to the
container (or to a string). A rule a schema cannot express is a `check` function returning a message (or
`None`) with its `check_text`. Type checkers see [`param()`][typed_losses.param] as the default it is given and
`attrs.field(**constraint(...))` as an ordinary attrs field, so both keep checking types, names,
required params and frozenness.

Examples:
    >>> import attrs
    >>> @attrs.frozen(kw_only=True)
    ... class P:
    ...     margin: float = param(0.5, ge=0, doc="hinge margin")
    >>> P(margin=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: P.margin: expected a finite number >= 0, found -1.0
    >>> P(margin=float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: P.margin: expected a finite number >= 0, found inf
    >>> problems(P, {"margin": float("nan")})
    [Problem(field='margin', message='expected a finite number >= 0, found nan', hint=None)]
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypedDict, TypeVar, Unpack

import attrs

from typed_losses.config.types import (
    describe_type,
    literal_values,
    mapping_value,
    optional_inner,
    params_fields,
    sequence_item,
)
from typed_losses.rules import describe_value, short_repr
from typed_losses.term import is_term_type

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Bound",
    "Constraint",
    "ConstraintKeywords",
    "FieldRule",
    "Problem",
    "allowed_hint",
    "choice_problem",
    "choices_of_type",
    "constraint",
    "describe_validator",
    "param",
    "problems",
    "rules_of",
]

T = TypeVar("T")

#: The range of an `int` param unless its field says `int64=False` (torch's index type).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: The metadata key under which a field keeps its `Constraint`.
METADATA_KEY = "typed_losses.constraint"

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


def _num(value: float) -> str:
    """`0` for `0.0`, `1e-16`, `0.25`: a bound as people write it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


@attrs.frozen
class Bound:
    """One numeric bound: `op` is `>=`, `>`, `<=` or `<`."""

    op: str
    value: float

    def holds(self, number: float) -> bool:
        return _OPS[self.op](number, self.value)

    def __str__(self) -> str:
        return f"{self.op} {_num(self.value)}"


@attrs.frozen(kw_only=True)
class Constraint:
    """What a param's values may be, beyond its type: the declaration of one field, as data."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    #: Floats must be finite (no `inf`/`nan`).
    finite: bool = True
    #: Ints must fit in int64.
    int64: bool = True
    #: The allowed values (a `Literal`/`Enum` type gives its own; declare them for other types).
    choices: tuple[Any, ...] | None = None
    min_len: int | None = None
    max_len: int | None = None
    #: A regular expression that a string must match in full.
    pattern: str | None = None
    #: A rule a schema cannot express: returns what is wrong with one value, or `None`.
    check: Callable[[Any], str | None] | None = attrs.field(default=None, eq=False)
    #: What `check` requires, for people (docs, `list`).
    check_text: str = ""
    #: A value to show in an example config (the loss reference's example entry): needed by required fields,
    #: written as in a config (plain data); not a rule, and checked like any config value where it is used.
    example: Any = attrs.field(default=None, eq=False)

    def bounds(self) -> tuple[Bound, ...]:
        pairs = ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
        return tuple(Bound(op, float(v)) for op, v in pairs if v is not None)


#: A field with no declaration: only the rules derived from its type apply.
NO_CONSTRAINT = Constraint()


class Problem(NamedTuple):
    """What is wrong with the value of one field: the message and a hint (or `None`)."""

    field: str
    message: str
    hint: str | None


class FieldSpec(TypedDict):
    """The keyword arguments [`constraint()`][typed_losses.constraint] gives `attrs.field`."""

    validator: Callable[[Any, attrs.Attribute[Any], Any], None]
    metadata: dict[str, object]


def choices_of_type(tp: Any) -> tuple[Any, ...] | None:
    """The values a `Literal` or `Enum` type (or an optional one) allows, else `None`."""
    inner = optional_inner(tp)
    if inner is not None:
        tp = inner
    values = literal_values(tp)
    if values is not None:
        return values
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tuple(tp)
    return None


def _allowed(choices: tuple[Any, ...]) -> str:
    return "allowed: " + ", ".join(repr(c.name if isinstance(c, enum.Enum) else c) for c in choices)


def allowed_hint(tp: Any) -> str | None:
    """`allowed: 'mean', 'sum'` for a `Literal`/`Enum` type (enum members by name), else `None`."""
    choices = choices_of_type(tp)
    return None if choices is None else _allowed(choices)


#: The Python types a value of a scalar field may have (an `int` is a `float`; a `bool` is only a `bool`).
_SCALAR_TYPES: dict[Any, tuple[type, ...]] = {float: (int, float), int: (int,), bool: (bool,), str: (str,)}


def choice_problem(value: object, choices: tuple[Any, ...]) -> str | None:
    """The message when `value` is not one of `choices` (equal and of the same type: `1` is not
    `True`), else `None`; the choice rule of declared choices, `Literal` and enum fields."""
    if any(value is c or (type(value) is type(c) and value == c) for c in choices):
        return None
    return f"{describe_value(value)} is not an allowed value"


@attrs.frozen
class FieldRule:
    """The constraint of one field together with what its type implies: what `problems()` checks."""

    name: str
    constraint: Constraint
    #: Whether the field declares its constraint (`param()`/`constraint()`).
    declared: bool
    #: The type of the values the scalar rules apply to (the item type of a list, ...).
    scalar: Any
    #: `""` (a single value), `"sequence"` or `"mapping"`.
    container: str
    choices: tuple[Any, ...] | None
    #: The choices come from the declaration, not from the type.
    declared_choices: bool
    #: The declared bounds (computed once: construction checks them often).
    bounds: tuple[Bound, ...] = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "bounds", self.constraint.bounds())

    @classmethod
    def of(cls, field: attrs.Attribute[Any], tp: Any = None) -> FieldRule:
        tp = field.type if tp is None else tp
        declared = field.metadata.get(METADATA_KEY)
        c = declared if isinstance(declared, Constraint) else NO_CONSTRAINT
        inner = optional_inner(tp)
        if inner is not None:
            tp = inner
        container = ""
        item = sequence_item(tp)
        if item is not None and not is_term_type(item):
            container, tp = "sequence", item
        elif item is None and mapping_value(tp) is not None:
            container, tp = "mapping", mapping_value(tp)
        choices = c.choices if c.choices is not None else choices_of_type(tp)
        return cls(field.name, c, isinstance(declared, Constraint), tp, container, choices, c.choices is not None)

    # -- checking ------------------------------------------------------------------------------------------

    def problem(self, value: object) -> tuple[str, str | None] | None:
        """What is wrong with `value` (already of the field's type), with a hint; `None` when it is fine."""
        if value is None:
            return None
        c = self.constraint
        if c.min_len is not None or c.max_len is not None:
            size = _size(value)
            if size is not None:
                unit = "character" if isinstance(value, str) else "item"
                if c.min_len is not None and size < c.min_len:
                    return f"expected at least {_count(c.min_len, unit)}, found {size}", None
                if c.max_len is not None and size > c.max_len:
                    return f"expected at most {_count(c.max_len, unit)}, found {size}", None
        if self.container == "sequence":
            if not isinstance(value, (list, tuple)):
                return f"expected list of {describe_type(self.scalar)}, found {describe_value(value)}", None
            for i, item in enumerate(value):
                found = self._scalar(item)
                if found is not None:
                    return f"item {i}: {found[0]}", found[1]
            return None
        if self.container == "mapping":
            if not isinstance(value, Mapping):
                return f"expected mapping of str to {describe_type(self.scalar)}, found {describe_value(value)}", None
            for key, item in value.items():
                found = self._scalar(item)
                if found is not None:
                    return f"key {key!r}: {found[0]}", found[1]
            return None
        return self._scalar(value)

    def _scalar(self, value: object) -> tuple[str, str | None] | None:
        c = self.constraint
        if value is None:
            return None
        if self.choices is not None:
            problem = choice_problem(value, self.choices)
            if problem is not None:
                return problem, _allowed(self.choices)
            return None
        expected = _SCALAR_TYPES.get(self.scalar)
        if expected is not None and (
            not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected)
        ):
            # Python construction gets no conversion: a value of another type is refused as the config refuses it
            return f"expected {describe_type(self.scalar)}, found {describe_value(value)}", None
        if isinstance(value, bool):
            pass
        elif isinstance(value, int) and self.scalar is not float:
            if c.int64 and not INT64_MIN <= value <= INT64_MAX:
                return f"expected an integer within int64 ({INT64_MIN} to {INT64_MAX}), found {short_repr(value)}", None
            if not all(b.holds(value) for b in self.bounds):
                return f"expected {self.number_text()}, found {short_repr(value)}", None
        elif isinstance(value, (int, float)):
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if (c.finite and not math.isfinite(number)) or not all(b.holds(number) for b in self.bounds):
                return f"expected {self.number_text()}, found {short_repr(value)}", None
        elif isinstance(value, str) and c.pattern is not None and re.fullmatch(c.pattern, value) is None:
            return f"expected a string matching {c.pattern!r}, found {short_repr(value)}", None
        if c.check is not None:
            message = c.check(value)
            if message:
                return message, None
        return None

    # -- describing ----------------------------------------------------------------------------------------

    def number_text(self) -> str:
        """`a finite number >= 0`, `a number > 0 and <= 1`, `an integer >= 1`."""
        c = self.constraint
        bounds = self.bounds
        if self.scalar is int:
            kind = "an integer"
        else:
            lower = any(b.op in (">=", ">") for b in bounds)
            upper = any(b.op in ("<=", "<") for b in bounds)
            kind = "a finite number" if c.finite and not (lower and upper) else "a number"
        return " ".join([kind, " and ".join(str(b) for b in bounds)]).strip()

    def text(self) -> str:
        """The declared constraint for people (`typed-losses list`, `docs/losses.md`): `>= 0, < 1`.

        Choices that the type already names, finiteness and the int64 range (the rules of every param)
        are left out; a declaration that lifts them says so.
        """
        c = self.constraint
        parts: list[str] = []
        unit = "character" if self.scalar is str and not self.container else "item"
        if c.min_len is not None:
            parts.append(f"at least {_count(c.min_len, unit)}")
        if c.max_len is not None:
            parts.append(f"at most {_count(c.max_len, unit)}")
        each = "each " if self.container else ""
        parts.extend(each + str(b) for b in self.bounds)
        if self.declared_choices and c.choices is not None:
            parts.append(each + "one of " + ", ".join(repr(o) for o in c.choices))
        if c.pattern is not None:
            parts.append(f"{each}matches {c.pattern!r}")
        if not c.finite and self.scalar is float:
            parts.append("inf and nan allowed")
        if not c.int64 and self.scalar is int:
            parts.append("any size")
        if c.check_text:
            parts.append(c.check_text)
        return ", ".join(parts)


def _size(value: object) -> int | None:
    try:
        return len(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


@functools.cache
def rules_of(cls: type) -> dict[str, FieldRule]:
    """The rule of every init field of `cls` (declared or derived), by field name."""
    return {field.name: FieldRule.of(field) for field in params_fields(cls)}


def describe_validator(validator: object) -> str:
    """What a validator that is not a declaration (a plain attrs validator) requires, as far as it says:
    its `constraint` attribute, the first line of its own docstring, or its name."""
    text: object = getattr(validator, "constraint", None)
    if text:
        return str(text)
    own_doc: object = getattr(validator, "__doc__", None)
    if isinstance(own_doc, str) and own_doc != type(validator).__doc__ and own_doc.strip():
        return own_doc.strip().splitlines()[0]
    return str(getattr(validator, "__name__", None) or repr(validator))


def problems(cls: type, values: Mapping[str, object]) -> list[Problem]:
    """What is wrong with `values` (field name -> value, already of the field types) for `cls`.

    Checks each given field's constraint, declared or derived from its type; fields not given are not
    checked (their defaults are the class author's). attrs validators of plain classes are not run here.
    """
    rules = rules_of(cls)
    out = []
    for name, value in values.items():
        rule = rules.get(name)
        found = rule.problem(value) if rule is not None else None
        if found is not None:
            out.append(Problem(name, found[0], found[1]))
    return out


class ConstraintValidator:
    """The attrs validator of a declared field: raises `ValueError` with the rule's message."""

    __slots__ = ("constraint",)

    def __init__(self, constraint: Constraint) -> None:
        self.constraint = constraint

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        owner: type = type(instance)
        # the owner's rules (types resolved, cached once per class); a call without an instance checks the field
        rule = rules_of(owner)[attribute.name] if instance is not None else FieldRule.of(attribute)
        found = rule.problem(value)
        if found is not None:
            where = f"{owner.__name__}.{attribute.name}" if instance is not None else attribute.name
            message, hint = found
            raise ValueError(f"{where}: {message}" + (f" ({hint})" if hint else ""))

    def __repr__(self) -> str:
        return f"<typed_losses constraint validator {self.constraint!r}>"


class ConstraintKeywords(TypedDict, total=False):
    """The keywords of [`constraint()`][typed_losses.constraint] and [`param()`][typed_losses.param]: the fields of `Constraint` (mypy checks
    them against it where `constraint` builds one), written once for both functions."""

    ge: float | None
    gt: float | None
    le: float | None
    lt: float | None
    finite: bool
    int64: bool
    choices: tuple[Any, ...] | None
    min_len: int | None
    max_len: int | None
    pattern: str | None
    check: Callable[[Any], str | None] | None
    check_text: str
    example: Any


def constraint(*, doc: str = "", **keywords: Unpack[ConstraintKeywords]) -> FieldSpec:
    """`attrs.field` keyword arguments declaring a constraint: `attrs.field(**constraint(ge=0, doc="..."))`.

    The keywords are the fields of `Constraint`. Use it for required fields, fields with a converter or
    a factory; [`param()`][typed_losses.param] is the short form for a field with a default. `doc` is the field's one-line
    description.
    """
    if keywords.get("check") is not None and not keywords.get("check_text"):
        raise ValueError("constraint(check=...) needs check_text: what the check requires, for docs")
    choices = keywords.get("choices")
    if choices is not None:
        keywords["choices"] = tuple(choices)
    declared = Constraint(**keywords)
    return {"validator": ConstraintValidator(declared), "metadata": {"doc": doc, METADATA_KEY: declared}}


def param(default: T, *, doc: str = "", **keywords: Unpack[ConstraintKeywords]) -> T:
    """A params field with a default and a declared constraint: `gamma: float = param(2.0, ge=0, doc="...")`.

    The keywords are those of [`constraint()`][typed_losses.constraint]. Type checkers see the field's default, so a wrong default
    type is reported; a required field is `attrs.field(**constraint(...))` (so that checkers know it is).
    """
    field: T = attrs.field(default=default, **constraint(doc=doc, **keywords))
    return field
