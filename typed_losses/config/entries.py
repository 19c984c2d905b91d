"""Checking a whole ``losses`` value: entry forms, names, weights, params; every problem at once.

Accepted forms of the value: a list of entries, or a mapping ``{term_name: entry}`` (MMF's ViLT and
UNITER). An entry is a loss name (``- cross_entropy``) or a mapping with ``type`` and optional ``params``,
``weight`` (>= 0, default 1.0) and ``name`` (default: the type).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.base import Container, Node
from omegaconf.errors import OmegaConfBaseException

from typed_losses.config.bounds import check_depth
from typed_losses.config.checked import ENTRY_KEYS, CheckedTerm, weight_of
from typed_losses.config.convert import found
from typed_losses.config.locate import Locator, render_path
from typed_losses.config.params import check_params, first_line
from typed_losses.config.plain import fast_entry, is_plain_losses, lists_for_tuples, needs_omegaconf
from typed_losses.config.yaml import Key, source_map_of
from typed_losses.errors import LossConfigError
from typed_losses.registry import REGISTRY, LossSpec, Registry, suggest
from typed_losses.term import Term

__all__ = ["ENTRY_KEYS", "CheckedTerm", "check_losses", "check_params_data", "entry_nodes"]

DEFAULT_LABEL = "losses"


def _as_node(cfg: object, loc_label: str) -> tuple[Node | None, Locator]:
    """``cfg`` as an OmegaConf node, with a locator knowing where it sits in its document."""
    if isinstance(cfg, Node):
        source, path = source_map_of(cfg)
        label = render_path("", path) if path else loc_label
        return cfg, Locator(label, path, source)
    loc = Locator(loc_label)
    if isinstance(cfg, str):
        cfg = [cfg]
    try:
        node = OmegaConf.create(lists_for_tuples(cfg))
    except Exception as exc:  # e.g. a value OmegaConf does not support, a container holding itself
        loc.add((), f"expected a list of loss entries or a mapping of term names to entries: {first_line(exc)}")
        return None, loc
    if node is None:  # OmegaConf.create(None) is None
        loc.add((), f"expected a list of loss entries or a mapping of term names to entries, found {found(cfg)}")
    return node, loc


def check_losses(cfg: object, *, registry: Registry = REGISTRY, label: str = DEFAULT_LABEL) -> list[CheckedTerm]:
    """Check a ``losses`` value (plain data or OmegaConf); the checked terms, or :class:`LossConfigError`.

    Every problem is collected before raising: the error lists them all, one per line.

    Example:
        >>> terms = check_losses(["logit_bce", {"type": "cross_entropy", "weight": 0.5, "name": "ce"}])
        >>> [(t.name, t.weight, t.spec.name) for t in terms]
        [('logit_bce', 1.0, 'logit_bce'), ('ce', 0.5, 'cross_entropy')]
        >>> try:
        ...     check_losses([{"type": "cross_entropy", "params": {"label_smothing": 0.1}}, "logit_bcee"])
        ... except LossConfigError as error:
        ...     print(error)
        losses[0].params.label_smothing: unknown param 'label_smothing' for CrossEntropyParams (did you mean 'label_smoothing'?)
        losses[1]: unknown loss 'logit_bcee' (did you mean 'logit_bce'?)
    """
    check_depth(cfg, label)  # before anything recurses through it (OmegaConf, cattrs, nested entries)
    terms: list[CheckedTerm] = []
    if is_plain_losses(cfg) and not needs_omegaconf(cfg):
        # Plain data: valid entries are accepted without OmegaConf nodes (see typed_losses.config.plain);
        # only the others become nodes, one entry at a time.
        loc = Locator(label)
        terms = _Checker(registry, loc).entries(cfg, ()) or []
    else:
        node, loc = _as_node(cfg, label)
        if node is not None:
            terms = _Checker(registry, loc).entries(node, ()) or []
    if loc.issues:
        raise LossConfigError(loc.issues)
    return terms


def check_params_data(cls: type[attrs.AttrsInstance], data: Mapping[str, Any]) -> attrs.AttrsInstance:
    """Structure plain ``data`` into ``cls`` through the full checking pipeline (raises LossConfigError).

    Example:
        >>> from typed_losses.losses import CrossEntropyParams
        >>> check_params_data(CrossEntropyParams, {"label_smoothing": "0.1"}).label_smoothing
        0.1
    """
    loc = Locator("params")
    try:
        node = OmegaConf.create(lists_for_tuples(dict(data)))
    except Exception as exc:
        loc.add((), f"cannot read params: {first_line(exc)}")
        raise LossConfigError(loc.issues) from None
    result = check_params(cls, node, None, (), loc, _Checker(REGISTRY, loc).nested)
    if result is None:
        raise LossConfigError(loc.issues)
    return result


def _value(node: Node) -> Any:
    """The resolved plain value of a node (raises OmegaConf errors for broken interpolations)."""
    parent = node._get_parent()
    if isinstance(node, Container) or parent is None:
        return OmegaConf.to_container(node, resolve=True) if isinstance(node, Container) else node._value()
    key = node._key()
    value = parent[key]  # type: ignore[index]
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def entry_nodes(node: Node) -> list[tuple[Key, Node, str | None]] | None:
    """The entries of a ``losses`` list or mapping node: (key, node, the term name a mapping key gives).

    ``None`` when ``node`` is neither a list nor a mapping.
    """
    items: list[tuple[Key, Node, str | None]] = []
    if isinstance(node, ListConfig):
        for i in range(len(node)):
            child = node._get_node(i)
            assert isinstance(child, Node)
            items.append((i, child, None))
    elif isinstance(node, DictConfig):
        for key in node:
            child = node._get_node(key)
            assert isinstance(child, Node)
            items.append((str(key), child, str(key)))
    else:
        return None
    return items


def _intended_name(node: object, term_name: str | None) -> str | None:
    """The term name an entry asks for, read without resolving anything (``None`` when unclear)."""
    if term_name is not None:
        return term_name
    if not isinstance(node, Node):  # plain data (no interpolations: see check_losses)
        if isinstance(node, dict):
            for key in ("name", "type"):
                if isinstance(node.get(key), str):
                    return str(node[key])
            return None
        return node if isinstance(node, str) else None
    if isinstance(node, DictConfig):
        for key in ("name", "type"):
            child = node._get_node(key) if key in node else None
            if isinstance(child, Node) and not isinstance(child, Container):
                raw = child._value()
                if isinstance(raw, str) and "${" not in raw:
                    return raw
        return None
    if isinstance(node, Container):
        return None
    raw = node._value()
    return raw if isinstance(raw, str) and "${" not in raw else None


class _Checker:
    def __init__(self, registry: Registry, loc: Locator) -> None:
        self.registry = registry
        self.loc = loc

    def nested(self, node: Node, loc: Locator, rel: tuple[Key, ...]) -> tuple[Term[Any], ...] | None:
        # Nested entries (e.g. `multi`'s children) are summed into one term: their names need not differ.
        terms = _Checker(self.registry, loc).entries(node, rel, unique_names=False)
        return None if terms is None else tuple(t.to_term() for t in terms)

    def entries(
        self,
        node: Node | list[Any] | tuple[Any, ...] | dict[str, Any],
        rel: tuple[Key, ...],
        *,
        unique_names: bool = True,
    ) -> list[CheckedTerm] | None:
        """Check a list or mapping of entries: OmegaConf nodes, or plain data (see :func:`check_losses`)."""
        before = len(self.loc.issues)
        checked: list[CheckedTerm] = []
        items: list[tuple[Key, object, str | None]]
        if isinstance(node, (list, tuple)):
            items = [(i, child, None) for i, child in enumerate(node)]
        elif isinstance(node, dict):
            items = [(key, child, key) for key, child in node.items()]
        else:
            nodes = entry_nodes(node)
            if nodes is None:
                self.loc.add(
                    rel,
                    "expected a list of loss entries or a mapping of term names to entries, "
                    f"found {found(node._value())}",
                )
                return None
            items = list(nodes)
        if not items:
            self.loc.add(rel, "no losses configured: the list is empty")
            return None
        first_seen: dict[str, str] = {}
        for key, value, term_name in items:
            where = (*rel, key)
            term = self.entry(value, where, term_name)
            intended = term.name if term is not None else _intended_name(value, term_name)
            if unique_names and intended is not None and intended in first_seen:
                self.loc.add(
                    where,
                    f"duplicate term name {intended!r} (also at {first_seen[intended]})",
                    hint="give one of them a distinct `name:`",
                )
                continue
            if intended is not None:
                first_seen[intended] = self.loc.child(where).label
            if term is not None:
                checked.append(term)
        return checked if len(self.loc.issues) == before else None

    def entry(self, value: object, rel: tuple[Key, ...], term_name: str | None) -> CheckedTerm | None:
        path = self.loc.child(rel).label
        if isinstance(value, Node):
            node = value
        else:  # plain data: accepted as is when plainly valid, else checked as a node like any other
            fast = fast_entry(value, path, term_name, self.registry)
            if fast is not None:
                return fast
            try:
                child = OmegaConf.create([lists_for_tuples(value)])._get_node(0)
            except Exception as exc:  # e.g. a value OmegaConf does not support
                self.loc.add(rel, f"cannot represent this entry as a config: {first_line(exc)}")
                return None
            assert isinstance(child, Node)
            node = child
        if isinstance(node, ListConfig):
            self.loc.add(rel, "expected a loss name or a mapping with `type`, found a list")
            return None
        if not isinstance(node, DictConfig):
            try:
                value = _value(node)
            except OmegaConfBaseException as exc:
                self.loc.add(rel, f"cannot resolve loss name: {exc}")
                return None
            spec = self.spec(value, rel)
            if spec is None:
                return None
            params = check_params(spec.params_class, None, None, rel, self.loc, self.nested)
            if params is None:
                return None
            return CheckedTerm(term_name or spec.name, 1.0, spec, params, path)

        ok = True
        for key in node:
            if key not in ENTRY_KEYS:
                self.loc.add(
                    (*rel, str(key)),
                    f"unknown key {str(key)!r} in a loss entry",
                    hint=suggest(str(key), list(ENTRY_KEYS)) or "allowed: " + ", ".join(ENTRY_KEYS),
                    at_key=True,
                )
                ok = False
        loss: LossSpec | None = None
        if "type" not in node:
            self.loc.add(rel, "missing `type`: the registry name of the loss")
            ok = False
        else:
            try:
                loss = self.spec(_value(node._get_node("type")), (*rel, "type"))  # type: ignore[arg-type]
            except OmegaConfBaseException as exc:
                self.loc.add((*rel, "type"), f"cannot resolve `type`: {exc}")
        weight = self.weight(node, rel)
        name = self.name(node, rel, term_name)
        params = None
        if loss is not None:
            params_node = node._get_node("params") if "params" in node else None
            assert params_node is None or isinstance(params_node, Node)
            if params_node is not None and not isinstance(params_node, Container) and params_node._is_none():
                params_node = None
            params = check_params(loss.params_class, params_node, node, (*rel, "params"), self.loc, self.nested)
        if not ok or loss is None or weight is None or name is None or params is None:
            return None
        return CheckedTerm(name or loss.name, weight, loss, params, path)

    def spec(self, value: object, rel: tuple[Key, ...]) -> LossSpec | None:
        if not isinstance(value, str):
            self.loc.add(rel, f"expected a loss name (str), found {found(value)}")
            return None
        spec = self.registry.get(value)
        if spec is None:
            self.loc.add(rel, f"unknown loss {value!r}", hint=self.registry.suggest(value))
        return spec

    def weight(self, node: DictConfig, rel: tuple[Key, ...]) -> float | None:
        if "weight" not in node:
            return 1.0
        where = (*rel, "weight")
        try:
            value = _value(node._get_node("weight"))  # type: ignore[arg-type]
        except OmegaConfBaseException as exc:
            self.loc.add(where, f"cannot resolve `weight`: {exc}")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.loc.add(where, f"expected a number >= 0, found {found(value)}")
            return None
        weight = weight_of(value)
        if weight is None:
            self.loc.add(where, f"weight must be a finite number >= 0, found {value!r}")
        return weight

    def name(self, node: DictConfig, rel: tuple[Key, ...], term_name: str | None) -> str | None:
        """The explicit term name: ``""`` when none is given (the type is used), ``None`` on a problem."""
        if "name" not in node:
            return term_name or ""
        where = (*rel, "name")
        try:
            value = _value(node._get_node("name"))  # type: ignore[arg-type]
        except OmegaConfBaseException as exc:
            self.loc.add(where, f"cannot resolve `name`: {exc}")
            return None
        if not isinstance(value, str) or not value:
            self.loc.add(where, f"expected a non-empty string, found {found(value)}")
            return None
        if term_name is not None and value != term_name:
            self.loc.add(
                where,
                f"`name: {value}` conflicts with the mapping key {term_name!r}",
                hint="in the mapping form the key names the term; drop `name:`",
            )
            return None
        return value
