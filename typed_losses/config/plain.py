"""The fast path for ``losses`` entries given as plain Python data (lists, dicts, scalars).

Turning plain data into OmegaConf nodes costs about 0.1 ms a node: most of the time of checking a long
``losses`` list written in Python. An entry that is plainly valid needs no node: this module accepts it
directly and builds its :class:`CheckedTerm`. It is deliberately conservative: it answers only for entries
that the OmegaConf-based checker (:mod:`typed_losses.config.entries`) would accept with the same result,
and returns ``None`` for anything else (a mistake, a value OmegaConf would convert, a missing required
param), which that checker then handles, message for message. ``tests/reliability/test_config_fuzz.py``
checks that both paths agree on generated valid and broken configs.

Interpolations (``${...}``) and OmegaConf's missing value (``???``) depend on the whole document:
:func:`needs_omegaconf` finds them (and OmegaConf nodes, and containers that contain themselves), and such a
config takes the OmegaConf path as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

import attrs
from omegaconf.base import Node

from typed_losses.config.checked import ENTRY_KEYS, CheckedTerm, weight_of
from typed_losses.config.convert import converter
from typed_losses.config.params import passes_unchanged
from typed_losses.config.types import params_fields, term_sequence_fields
from typed_losses.registry import Registry
from typed_losses.term import Term

__all__ = ["fast_entry", "is_plain_losses", "lists_for_tuples", "needs_omegaconf"]

_ENTRY_KEYS = frozenset(ENTRY_KEYS)
#: Exactly these types (no subclasses: OmegaConf converts or rejects those) pass the fast path unchanged.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def is_plain_losses(value: object) -> TypeGuard[list[Any] | tuple[Any, ...] | dict[str, Any]]:
    """Whether ``value`` is a plain list of entries, or a plain mapping with string keys (term names)."""
    if isinstance(value, (list, tuple)):
        return True
    return type(value) is dict and all(isinstance(key, str) for key in value)


def needs_omegaconf(value: object) -> bool:
    """Whether plain ``value`` must be checked through OmegaConf as a whole.

    True when it holds a string OmegaConf interprets (``${...}``, ``???``: they depend on the whole value),
    an OmegaConf node (it becomes part of the value, as ``OmegaConf.create`` makes it), or a container that
    contains itself (OmegaConf reports it).
    """
    on_path: set[int] = set()
    done: set[int] = set()
    stack: list[tuple[object, bool]] = [(value, False)]
    while stack:
        item, leaving = stack.pop()
        if leaving:
            on_path.discard(id(item))
            done.add(id(item))
        elif isinstance(item, str):
            if "${" in item or item == "???":
                return True
        elif isinstance(item, Node):
            return True
        elif isinstance(item, (Mapping, list, tuple)):
            key = id(item)
            if key in on_path:
                return True
            if key in done:  # the same object met again (a YAML alias): already looked through
                continue
            on_path.add(key)
            stack.append((item, True))
            children = [*item.keys(), *item.values()] if isinstance(item, Mapping) else item
            stack.extend((child, False) for child in children)
    return False


def lists_for_tuples(value: Any) -> Any:
    """``value`` with every tuple inside turned into a list (omegaconf 2.4 makes tuples ``TupleConfig``s,
    which are not lists, where 2.3 makes ``ListConfig``s); dicts and lists are copied, nothing else."""
    if isinstance(value, (list, tuple)):
        return [lists_for_tuples(item) for item in value]
    if type(value) is dict:
        return {key: lists_for_tuples(item) for key, item in value.items()}
    return value


def fast_entry(value: object, path: str, term_name: str | None, registry: Registry) -> CheckedTerm | None:
    """The checked term of a plainly valid entry, or ``None``: let the OmegaConf-based checker decide.

    ``term_name`` is the mapping key in the ``{term_name: entry}`` form (``None`` in a list).
    """
    if type(value) is str:
        spec = registry.get(value)
        if spec is None:
            return None
        params = _params(spec.params_class, None, registry)
        return None if params is None else CheckedTerm(term_name or spec.name, 1.0, spec, params, path)
    if type(value) is not dict or not value.keys() <= _ENTRY_KEYS:
        return None
    loss_type = value.get("type")
    spec = registry.get(loss_type) if type(loss_type) is str else None
    if spec is None:
        return None
    raw_weight = value.get("weight", 1.0)
    weight = weight_of(raw_weight) if type(raw_weight) in (int, float) else None
    if weight is None:
        return None
    name = term_name
    if "name" in value:
        name = value["name"]
        if type(name) is not str or not name or (term_name is not None and name != term_name):
            return None
    params = _params(spec.params_class, value.get("params"), registry)
    if params is None:
        return None
    return CheckedTerm(name or spec.name, weight, spec, params, path)


def _params(cls: type[attrs.AttrsInstance], raw: object, registry: Registry) -> attrs.AttrsInstance | None:
    nested = term_sequence_fields(cls)
    provided: dict[str, Any]
    if raw is None:
        provided = {}
    elif isinstance(raw, (list, tuple)) and len(nested) == 1:  # `params: [entry, ...]` (MMF's `multi`)
        (field,) = nested
        terms = _nested(raw, registry)
        if terms is None:
            return None
        provided = {field: terms}
    elif type(raw) is dict:
        types = {f.name: f.type for f in params_fields(cls)}
        provided = {}
        for key, item in raw.items():
            if key not in types:
                return None
            if key in nested:
                if not isinstance(item, (list, tuple)):
                    return None
                terms = _nested(item, registry)
                if terms is None:
                    return None
                provided[key] = terms
            elif type(item) in _SCALARS and passes_unchanged(item, types[key]):
                provided[key] = item
            else:
                return None
    else:
        return None
    try:
        return converter.structure(provided, cls)
    except Exception:  # a missing required param, a validator: the OmegaConf path reports it
        return None


def _nested(entries: list[Any] | tuple[Any, ...], registry: Registry) -> tuple[Term[Any], ...] | None:
    """Nested entries (summed into one term, so their names need not differ), all plainly valid, or ``None``."""
    if not entries:
        return None
    terms = []
    for entry in entries:
        checked = fast_entry(entry, "", None, registry)  # only its Term is kept: no path needed
        if checked is None:
            return None
        terms.append(checked.to_term())
    return tuple(terms)
