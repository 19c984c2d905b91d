"""Checking one entry's `params` against its params class.

The user's keys are merged one by one into the OmegaConf mirror of the params class, attached under the
entry in the document tree (so `${...}` interpolations resolve against the document root), resolved,
then structured with the strict cattrs converter, which runs the attrs validators. Every problem becomes
an issue; nothing from OmegaConf, cattrs or attrs escapes raw.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Collection
from typing import Any, cast

import attrs
from omegaconf import DictConfig, ListConfig, OmegaConf, read_write
from omegaconf.base import Container, Node
from omegaconf.errors import OmegaConfBaseException

from typed_losses.config.convert import converter
from typed_losses.config.issues import Locator
from typed_losses.config.types import (
    describe_type,
    literal_values,
    mirror_of,
    optional_inner,
    params_fields,
    term_sequence_fields,
)
from typed_losses.config.yaml import Key
from typed_losses.constraints import allowed_hint, problems, rules_of
from typed_losses.registry import suggest
from typed_losses.rules import describe_value

__all__ = ["NestedEntries", "check_params", "first_line", "passes_unchanged"]

#: How nested loss entries (a field typed `Sequence[Term]`) are checked; supplied by the entries layer.
NestedEntries = Callable[[Node, Locator, tuple[Key, ...]], tuple[Any, ...] | None]


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (OmegaConf appends `full_key`/`object_type` lines)."""
    msg = getattr(exc, "msg", None) or str(exc)
    return str(msg).strip().splitlines()[0] if str(msg).strip() else type(exc).__name__


def _attached_mirror(cls: type, entry_node: Container | None) -> DictConfig:
    """The OmegaConf mirror of `cls`, attached under `entry_node` as its `params` (not inserted)."""
    typed: DictConfig = OmegaConf.structured(mirror_of(cls))
    if entry_node is not None:
        typed._set_parent(entry_node)
        typed._set_key("params")
    return typed


_EXACT: dict[Any, tuple[type, ...]] = {float: (float, int), int: (int,), bool: (bool,), str: (str,)}


def passes_unchanged(raw: object, tp: Any) -> bool:
    """Whether OmegaConf would keep `raw` exactly as it is for a field of type `tp`.

    True for a plain scalar (no interpolation) that already has the field's type, or any plain scalar
    for fields the mirror leaves to the converter (`Literal`, enums, unions). Such values skip the
    OmegaConf merge, which costs milliseconds per key; everything else takes the full path.
    """
    if (isinstance(raw, str) and "${" in raw) or isinstance(raw, Node):
        return False
    if raw is None:
        return optional_inner(tp) is not None or tp is Any
    if type(raw) is float and not math.isfinite(raw):
        return False  # against a constraint of every param unless declared otherwise: checked where it is reported
    inner = optional_inner(tp)
    if inner is not None:
        tp = inner
    allowed = _EXACT.get(tp)
    if allowed is not None:
        return type(raw) in allowed
    return isinstance(raw, (str, int, float, bool)) and _mirror_is_any(tp)


def _mirror_is_any(tp: Any) -> bool:
    return literal_values(tp) is not None or (isinstance(tp, type) and issubclass(tp, enum.Enum))


def _raw(node: Node) -> Any:
    """The value to assign into the mirror: containers as nodes, scalars unresolved."""
    return node if isinstance(node, Container) else node._value()


def _resolve(typed: DictConfig, key: str) -> Any:
    value = typed[key]
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
    return value


def check_params(
    cls: type[attrs.AttrsInstance],
    params_node: Node | None,
    entry_node: Container | None,
    rel: tuple[Key, ...],
    loc: Locator,
    nested: NestedEntries,
    reported: Collection[tuple[Key, ...]] = frozenset(),
    ignore: Collection[str] = (),
) -> attrs.AttrsInstance | None:
    """Check the `params` node at `rel` against `cls`; an instance, or `None` after adding issues.

    `params_node` is the DictConfig written under `params:` (`None` when absent); `entry_node` is
    the entry holding it, used to attach the schema in the tree. A key whose path (or a path below it)
    is in `reported` (a `???` value, reported already) fails without another issue. Keys in `ignore`
    are not fields (the `type` of a weight kind's mapping, whose other keys are its fields).
    """
    before = len(loc.issues)
    fields = {f.name: f for f in params_fields(cls)}
    nested_fields = term_sequence_fields(cls)
    provided: dict[str, Any] = {}
    failed: set[str] = set()
    keys: list[str] = []
    if isinstance(params_node, ListConfig) and len(nested_fields) == 1:
        # `params: [entry, ...]` fills the one field of nested loss entries (MMF's `multi`).
        (list_field,) = nested_fields
        terms = nested(params_node, loc, rel)
        if terms is None:
            return None
        return _build(cls, {list_field: terms}, rel, loc, before)
    if params_node is not None:
        if not isinstance(params_node, DictConfig):
            value = params_node._value() if not isinstance(params_node, Container) else params_node
            loc.add(rel, f"params of {cls.__name__} must be a mapping, found {describe_value(_plain(value))}")
            return None
        keys = [str(k) for k in params_node.keys() if str(k) not in ignore]  # noqa: SIM118 - ??? values too

    typed: DictConfig | None = None  # the mirror, built only when a value needs OmegaConf
    for key in keys:
        where = (*rel, key)
        if where in reported:
            failed.add(key)
            continue
        field = fields.get(key)
        if field is None:
            hint = suggest(key, list(fields)) or (
                "allowed: " + ", ".join(fields) if fields else f"{cls.__name__} takes no params"
            )
            loc.add(where, f"unknown param {key!r} for {cls.__name__}", hint=hint, at_key=True)
            failed.add(key)
            continue
        assert params_node is not None
        node = params_node._get_node(key)
        assert isinstance(node, Node)
        if key in nested_fields:
            terms = nested(node, loc, where)
            if terms is None:
                failed.add(key)
            else:
                provided[key] = terms
            continue
        raw = _raw(node)
        if passes_unchanged(raw, field.type):
            provided[key] = raw
            continue
        if typed is None:
            typed = _attached_mirror(cls, entry_node)
        try:
            with read_write(typed):
                typed.merge_with({key: raw})
        except (OmegaConfBaseException, OverflowError):
            loc.add(
                where,
                f"expected {describe_type(field.type)}, found {describe_value(_plain(raw))}",
                hint=allowed_hint(field.type),
            )
            failed.add(key)
            continue
        try:
            provided[key] = _resolve(typed, key)
        except (OmegaConfBaseException, OverflowError) as exc:
            if isinstance(raw, str) and "${" in raw:
                loc.add(where, f"cannot use {raw!r} as {describe_type(field.type)}: {first_line(exc)}")
            else:
                loc.add(where, f"expected {describe_type(field.type)}: {first_line(exc)}")
            failed.add(key)
    for name, field in fields.items():
        if field.default is attrs.NOTHING and name not in provided and name not in failed:
            if (*rel, name) in reported:  # written elsewhere by mistake, and reported there
                failed.add(name)
                continue
            loc.add(
                rel,
                f"missing required param {name!r} ({describe_type(field.type)}) of {cls.__name__}",
                at_key=True,
            )
    if len(loc.issues) > before or failed:
        _diagnose(cls, provided, rel, loc, construct=False)
        return None
    return _build(cls, provided, rel, loc, before)


def _build(
    cls: type[attrs.AttrsInstance], provided: dict[str, Any], rel: tuple[Key, ...], loc: Locator, before: int
) -> attrs.AttrsInstance | None:
    try:
        instance = converter.structure(provided, cls)
    except Exception:  # diagnose field by field so that every problem is reported
        _diagnose(cls, provided, rel, loc, construct=True)
        if len(loc.issues) == before:
            loc.add(rel, f"cannot build {cls.__name__} from {provided!r}")
        return None
    # The rules every params class follows (finite floats, int64 ints, choices): declared fields were checked
    # by their validators while the instance was built, the others are checked here.
    rules = rules_of(cls)
    found = problems(cls, {name: getattr(instance, name) for name in provided if not rules[name].declared})
    for problem in found:
        loc.add((*rel, problem.field), problem.message, hint=problem.hint)
    return None if found else instance


def _diagnose(
    cls: type[attrs.AttrsInstance], provided: dict[str, Any], rel: tuple[Key, ...], loc: Locator, *, construct: bool
) -> None:
    """Structure and validate each provided field alone, adding an issue for each that fails."""
    fields = {f.name: f for f in params_fields(cls)}
    rules = rules_of(cls)
    structured: dict[str, Any] = {}
    for name, value in provided.items():
        field = fields[name]
        try:
            structured[name] = converter.structure(value, cast(Any, field.type))
        except Exception as exc:
            too_large = rules[name].problem(value) if isinstance(exc, OverflowError) else None
            if too_large is not None:  # an int beyond a float for a float field: the rule says what is allowed
                loc.add((*rel, name), too_large[0], hint=too_large[1])
                continue
            for message in _messages(exc):
                loc.add((*rel, name), message, hint=allowed_hint(field.type))
            continue
        problem = rules[name].problem(structured[name])
        if problem is not None:
            loc.add((*rel, name), problem[0], hint=problem[1])
            del structured[name]
            continue
        if field.validator is not None:  # a plain attrs validator (user code); a declared one passes here
            try:
                field.validator(None, field, structured[name])
            except (ValueError, TypeError) as exc:
                loc.add((*rel, name), _validator_message(exc, value))
                del structured[name]
            except Exception:  # a validator that needs the instance: the constructor below runs it
                pass
    if construct and len(structured) == len(provided):
        try:
            cls(**structured)
        except Exception as exc:
            loc.add(rel, f"invalid params for {cls.__name__}: {first_line(exc)}")


def _messages(exc: BaseException) -> list[str]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[str] = []
        for inner in exc.exceptions:
            out.extend(_messages(inner))
        return out
    return [first_line(exc)]


def _validator_message(exc: BaseException, value: object) -> str:
    text = first_line(exc)
    return text if repr(value) in text else f"{text} (found {describe_value(value)})"


def _plain(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=False)
    return value
