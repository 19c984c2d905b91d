"""The input of a check as an OmegaConf node: a node as it is, plain Python data converted (what OmegaConf
cannot represent is placed at its path), Python values and checkpoint states kept literal."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from omegaconf import OmegaConf
from omegaconf.base import Node

from typed_losses.config.issues import Locator
from typed_losses.config.params import first_line
from typed_losses.config.paths import Key, render_path
from typed_losses.config.yaml import source_map_of
from typed_losses.rules import describe_value

__all__ = ["EXPECTED_LOSSES", "as_node", "literal_data", "unrepresentable"]

EXPECTED_LOSSES = "expected a list of loss entries or a mapping of term names to entries"


def as_node(value: object, label: str) -> tuple[Node | None, Locator]:
    """`value` as an OmegaConf node, with a locator knowing where it sits in its document.

    A node is taken as it is; plain data (lists, tuples, mappings, a single loss name) becomes a new
    node. What OmegaConf cannot represent (an unsupported value, keys `1` and `'1'` in one mapping, a
    malformed `${`) is an issue at its path, and the result is `None`.
    """
    if isinstance(value, Node):
        source, path = source_map_of(value)
        return value, Locator(render_path("", path) if path else label, path, source)
    loc = Locator(label)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, Mapping)):
        loc.add((), f"{EXPECTED_LOSSES}, found {describe_value(value)}")
        return None, loc
    clashes = _key_clashes(value, ())
    if clashes:  # omegaconf 2.3 merges such keys silently, 2.4 refuses them
        for rel, message in clashes:
            loc.add(rel, message)
        return None, loc
    try:
        return OmegaConf.create(_omegaconf_input(value)), loc
    except Exception:  # what OmegaConf refuses, or a container holding itself
        for rel, message in unrepresentable(value):
            loc.add(rel, message)
        return None, loc


_INTERPOLATION = re.compile(r"(\\*)\$\{")


def literal_data(value: Any) -> Any:
    """`value` with every string escaped for OmegaConf, so that checking keeps it literally.

    `${...}` becomes `\\${...}` (and backslashes before it are doubled): OmegaConf then gives back
    the original text instead of evaluating an interpolation or a resolver such as `oc.env`. For data
    that is not a config text: checkpoint states, Python values (`Term(..., name="a${b}")`).
    Containers are copied (tuples become lists; a container met twice is copied once, so a container
    holding itself stays so, for the checker to report); nothing else changes. Iterative: any depth.
    """
    if not isinstance(value, (Mapping, list, tuple)):
        return _literal_scalar(value)
    copies: dict[int, Any] = {}
    result = copies[id(value)] = {} if isinstance(value, Mapping) else []
    stack: list[tuple[Any, Any]] = [(value, result)]
    while stack:
        source, target = stack.pop()
        for key, item in source.items() if isinstance(source, Mapping) else enumerate(source):
            if isinstance(item, (Mapping, list, tuple)):
                copied = copies.get(id(item))
                if copied is None:
                    copied = copies[id(item)] = {} if isinstance(item, Mapping) else []
                    stack.append((item, copied))
            else:
                copied = _literal_scalar(item)
            if isinstance(target, dict):
                target[key] = copied
            else:
                target.append(copied)
    return result


def _literal_scalar(value: Any) -> Any:
    if isinstance(value, str) and "${" in value:
        return _INTERPOLATION.sub(lambda m: m.group(1) * 2 + "\\${", value)
    return value


def _omegaconf_input(value: Any) -> Any:
    """`value` with every tuple a list and every mapping a `dict` (omegaconf 2.4 makes tuples
    `TupleConfig`s where 2.3 makes lists, and the versions differ on other mapping types)."""
    if isinstance(value, (list, tuple)):
        return [_omegaconf_input(item) for item in value]
    if isinstance(value, Mapping) and not isinstance(value, Node):
        return {key: _omegaconf_input(item) for key, item in value.items()}
    return value


def _key_clashes(
    value: object, rel: tuple[Key, ...], on_path: frozenset[int] = frozenset()
) -> list[tuple[tuple[Key, ...], str]]:
    """Mappings with two keys that are one key in a config (`1` and `'1'`)."""
    found: list[tuple[tuple[Key, ...], str]] = []
    if id(value) in on_path:  # a container holding itself: reported by unrepresentable
        return found
    inner = on_path | {id(value)}
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(_key_clashes(item, (*rel, index), inner))
    elif isinstance(value, Mapping) and not isinstance(value, Node):
        first: dict[str, object] = {}
        for key, item in value.items():
            text = str(key)
            if text in first:
                found.append(((*rel, text), f"keys {first[text]!r} and {key!r} are the same key in a config"))
            else:
                first[text] = key
            found.extend(_key_clashes(item, (*rel, text), inner))
    return found


def unrepresentable(value: object) -> list[tuple[tuple[Key, ...], str]]:
    """The innermost parts of plain `value` that OmegaConf refuses (paths and reasons, one line each).

    Run only after `OmegaConf.create` failed: it tries the parts one by one.
    """
    return _unrepresentable(value, (), set())


def _unrepresentable(value: object, rel: tuple[Key, ...], on_path: set[int]) -> list[tuple[tuple[Key, ...], str]]:
    children: list[tuple[Key, object]] = []
    if isinstance(value, (list, tuple)):
        children = list(enumerate(value))
    elif isinstance(value, Mapping) and not isinstance(value, Node):
        children = [(key if isinstance(key, (str, int)) else str(key), item) for key, item in value.items()]
    if children and id(value) in on_path:
        return [(rel, "the value contains itself")]
    try:
        OmegaConf.create([_omegaconf_input(value)])
        return []
    except RecursionError:
        reason = "the value contains itself"
    except Exception as exc:
        reason = first_line(exc)
    found: list[tuple[tuple[Key, ...], str]] = []
    for key, item in children:
        found.extend(_unrepresentable(item, (*rel, key), on_path | {id(value)}))
    if found:
        return found
    if isinstance(value, str):
        return [(rel, f"malformed interpolation {value!r}: {reason}")]
    return [(rel, f"cannot represent {describe_value(value)} in a config: {reason}")]
