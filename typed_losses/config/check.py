"""Checking a whole `losses` value: entry forms, names, weights, params; every problem at once.

One path for every input kind. Plain Python data and [`Term`][typed_losses.Term] lists become an OmegaConf
node (`typed_losses.config.source.as_node()`); yaml loaded with positions, Hydra-composed configs and checkpoint states already
are one. The node is then checked by `_Checker` against the entry rules of
`typed_losses.rules` and, for `params`, against the params classes
(`typed_losses.config.params.check_params()`: the OmegaConf mirror of the class checks values, cattrs
builds the instance). Issues are collected by a `Locator` and raised
once, in file order.

Accepted forms of the value: a list of entries, or a mapping `{term_name: entry}` (MMF's ViLT and
UNITER). An entry is a loss name (`- cross_entropy`) or a mapping with `type` and optional `params`,
`weight` (>= 0, default 1.0) and `name` (default: the type). A container may be an interpolation
(`losses: ${x}`, `- ${shared.ce}`, `params: ${defaults}`): it is checked where it points, and
problems below it carry the target's position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import attrs
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.base import Container, Node
from omegaconf.errors import OmegaConfBaseException

from typed_losses.config.bounds import MAX_DEPTH, check_depth
from typed_losses.config.convert import weight_entry
from typed_losses.config.issues import Locator
from typed_losses.config.params import check_params, first_line
from typed_losses.config.paths import Key, find_key, render_path
from typed_losses.config.source import EXPECTED_LOSSES, as_node, literal_data, unrepresentable
from typed_losses.config.types import params_fields, term_sequence_fields
from typed_losses.config.yaml import path_of
from typed_losses.constraints import problems
from typed_losses.errors import LossConfigError
from typed_losses.loss import Loss, P
from typed_losses.registry import REGISTRY, LossSpec, Registry, suggest
from typed_losses.rules import (
    DEFAULT_WEIGHT,
    ENTRY_KEYS,
    INPUTS_KEY,
    LOSSES_KEY,
    NESTED_WEIGHT_TEXT,
    TermNames,
    describe_value,
    name_problem,
    routes_problems,
    weight_problem,
)
from typed_losses.term import Term
from typed_losses.weighting import WEIGHT_KINDS, WeightForm, WeightParams

__all__ = [
    "CheckedTerm",
    "check_losses",
    "check_params_data",
    "check_terms",
    "entry_nodes",
    "term_spec",
]

#: Keys whose values a mis-indented entry leaves beside the `losses` key.
_STRAY_KEYS = tuple(key for key in ENTRY_KEYS if key != "type")


@attrs.frozen
class CheckedTerm:
    """One checked entry: its term name, weight (a number or a weight kind's params), loss and params
    instance, and its dotted path."""

    name: str
    weight: WeightForm
    spec: LossSpec
    params: attrs.AttrsInstance
    path: str
    #: The entry's `inputs:` routes (declared input key -> key read instead).
    inputs: Mapping[str, str] = attrs.field(factory=dict)

    def to_term(self) -> Term[Any]:
        return Term(self.params, weight=self.weight, name=self.name, loss=self.spec.loss_class, inputs=self.inputs)

    def build(self) -> Loss[Any]:
        """The loss module of this term, its routes resolved."""
        module = self.spec.loss_class(self.params, name=self.name)
        if self.inputs:
            module.route_inputs(self.inputs)
        return module


# -- entry points ---------------------------------------------------------------------------------------------


class _Specs:
    """The losses a check knows: the registry, and loss classes given in Python (`Term(loss=...)`)."""

    def __init__(self, registry: Registry, extra: Mapping[str, LossSpec] | None = None) -> None:
        self.registry = registry
        self.extra = dict(extra or {})

    def get(self, name: str) -> LossSpec | None:
        return self.extra.get(name) or self.registry.get(name)

    def suggest(self, name: str) -> str | None:
        return self.registry.suggest(name)


def check_losses(cfg: object, *, registry: Registry = REGISTRY, label: str = LOSSES_KEY) -> list[CheckedTerm]:
    """Check a `losses` value (plain data or OmegaConf); the checked terms, or [`LossConfigError`][typed_losses.LossConfigError].

    Every problem is collected before raising: the error lists them all, one per line, in file order.

    Examples:
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
    python_values = _python_values(cfg, label)
    if python_values.issues:
        raise LossConfigError(python_values.issues)
    node, loc = as_node(cfg, label)
    return _check(node, loc, _Specs(registry))


def _python_values(cfg: object, label: str) -> Locator:
    """Params instances and [`Term`][typed_losses.Term] values given as config entries (or as the whole value): they
    belong in `LossCollection([...])`."""
    loc = Locator(label)
    items: list[tuple[tuple[Key, ...], object]] = [((), cfg)]
    if isinstance(cfg, (list, tuple)):
        items = [((index,), item) for index, item in enumerate(cfg)]
    elif isinstance(cfg, Mapping) and not isinstance(cfg, Node):
        items = [((str(key),), item) for key, item in cfg.items()]
    for rel, item in items:
        if isinstance(item, Term) or attrs.has(type(item)):
            loc.add(
                rel,
                f"expected a config entry, found a {type(item).__name__} (a Python value)",
                hint="Python values: use LossCollection([...])",
            )
    return loc


def _check(
    node: Node | None,
    loc: Locator,
    specs: _Specs,
    reported: Sequence[tuple[Key, ...]] = (),
    given: Mapping[tuple[Key, ...], attrs.AttrsInstance] | None = None,
    given_specs: Mapping[tuple[Key, ...], LossSpec] | None = None,
) -> list[CheckedTerm]:
    terms: list[CheckedTerm] | None = None
    if node is not None:
        checker = _Checker(specs, loc)
        checker.given = dict(given or {})
        checker.given_specs = dict(given_specs or {})
        for rel in reported:
            checker.mark(rel)
        terms = checker.losses(node)
    if loc.issues or terms is None:
        raise LossConfigError(loc.in_order())
    return terms


def check_terms(items: Sequence[object], *, registry: Registry = REGISTRY, label: str = "items") -> list[CheckedTerm]:
    """Check the items of `LossCollection([...])` (params instances or [`Term`][typed_losses.Term] values) as the
    equivalent `losses` entries: the same checker, so the same verdict and messages as the config.

    A loss class that is not in `registry` (`Term(params, loss=MyLoss)`) is known by its name here.
    The entry rules (names, weights, the loss) are checked here; params instances were checked by the same
    declared constraints when they were constructed, and are kept as they are (values such as tensors,
    which a config cannot hold, included).
    """
    loc = Locator(label)
    entries: list[object] = []
    reported: list[tuple[Key, ...]] = []
    extra: dict[str, LossSpec] = {}
    given: dict[tuple[Key, ...], attrs.AttrsInstance] = {}
    given_specs: dict[tuple[Key, ...], LossSpec] = {}
    for index, item in enumerate(items):
        entry = _entry_of(item, (index,), loc, registry, extra, given, given_specs)
        if entry is None:
            reported.append((index,))
        entries.append(entry)
    check_depth(entries, label)
    try:
        node = OmegaConf.create(literal_data(entries))  # Python values are literal: no interpolation
    except Exception:
        for rel, message in unrepresentable(entries):
            loc.add(rel, message)
        raise LossConfigError(loc.issues) from None
    return _check(node, loc, _Specs(registry, extra), reported, given, given_specs)


def _entry_of(
    item: object,
    rel: tuple[Key, ...],
    loc: Locator,
    registry: Registry,
    extra: dict[str, LossSpec],
    given: dict[tuple[Key, ...], attrs.AttrsInstance],
    given_specs: dict[tuple[Key, ...], LossSpec],
) -> dict[str, Any] | None:
    """The `losses` entry equivalent to `item` (its params instance goes to `given`: it was checked
    when it was constructed, by the same constraints; its loss to `given_specs`: by position, as two
    unregistered loss classes may share a name); `None` after an issue."""
    if isinstance(item, Term):
        term: Term[Any] = item
    elif attrs.has(type(item)):
        term = Term(item)
    else:
        loc.add(rel, f"expected a params instance or a Term, found {type(item).__name__}")
        return None
    spec = _spec_of(term, rel, loc, registry)
    if spec is None:
        return None
    if registry.get(spec.name) is not spec:
        extra.setdefault(spec.name, spec)
    given[(*rel, "params")] = term.params
    given_specs[rel] = spec
    _params_problems(term.params, (*rel, "params"), loc, registry)
    entry: dict[str, Any] = {"type": spec.name}
    if term.name is not None:
        entry["name"] = term.name
    entry["weight"] = weight_entry(term.weight)
    if term.inputs:
        entry[INPUTS_KEY] = dict(term.inputs)
    return entry


def _params_problems(params: attrs.AttrsInstance, rel: tuple[Key, ...], loc: Locator, registry: Registry) -> None:
    """The constraints of `params`' fields, declared or derived from their types, on the values it holds.

    A declared constraint already ran when `params` was constructed; the rules derived from the types
    (finite floats, int64 ints, `Literal` choices) reach a plain attrs class only here, so a params
    instance built in Python gets the verdict the same values get in a config. Nested terms (`multi`)
    are walked iteratively, each given its loss (`term_spec()`, a problem at its path); a tree whose entries already nest deeper than the bound is reported here,
    before anything recursive (building its modules) runs.
    """
    # (params, path, nesting level of its entry: the losses list is level 1, a top entry level 2, and each
    # `multi` adds its params list and the child entry)
    stack: list[tuple[attrs.AttrsInstance, tuple[Key, ...], int]] = [(params, rel, 2)]
    while stack:
        current, where, level = stack.pop()
        if level > MAX_DEPTH:
            loc.add(rel[:1], f"nests deeper than {MAX_DEPTH} levels (the limit for configs)")
            return
        cls = type(current)
        values = {field.name: getattr(current, field.name) for field in params_fields(cls)}
        for problem in problems(cls, values):
            loc.add((*where, problem.field), problem.message, hint=problem.hint)
        for name in term_sequence_fields(cls):
            children = []
            for index, child in enumerate(values[name]):
                if not isinstance(child, Term):
                    continue
                spec = term_spec(child, registry)
                if not isinstance(spec, LossSpec):
                    loc.add((*where, name, index), spec[0], hint=spec[1])
                children.append((child.params, (*where, name, index, "params"), level + 2))
            stack.extend(reversed(children))
            for index, child in enumerate(values[name]):
                if isinstance(child, Term) and child.inputs:
                    _routes_problems_of(child, (*where, name, index, INPUTS_KEY), loc)


def _routes_problems_of(term: Term[Any], rel: tuple[Key, ...], loc: Locator) -> None:
    """The routes of a nested `Term` built in Python, checked against its loss's declared inputs."""
    spec = term_spec(term)
    if not isinstance(spec, LossSpec):
        return  # reported where the child is built
    declared = [i.key for i in spec.loss_class.inputs]
    for key, message, hint in routes_problems(term.inputs, declared, f"loss {spec.name!r}"):
        loc.add(rel if key is None else (*rel, key), message, hint=hint)


def _spec_of(term: Term[Any], rel: tuple[Key, ...], loc: Locator, registry: Registry) -> LossSpec | None:
    spec = term_spec(term, registry)
    if isinstance(spec, LossSpec):
        return spec
    loc.add(rel, spec[0], hint=spec[1])
    return None


def term_spec(term: Term[Any], registry: Registry = REGISTRY) -> LossSpec | tuple[str, str | None]:
    """The loss of `term`: its `loss` class, else the one registered loss taking its params class; a
    message and a hint when there is none or several."""
    params_class = type(term.params)
    if term.loss is not None:
        if term.loss.loss_name is not None:
            spec = registry.get(term.loss.loss_name)
            if spec is not None and spec.loss_class is term.loss:
                return spec
        return LossSpec(term.loss.type_name(), term.loss, params_class)
    specs = registry.for_params(params_class)
    if len(specs) == 1:
        return specs[0]
    if not specs:
        return f"no registered loss takes {params_class.__name__}", None
    names = ", ".join(s.name for s in specs)
    return (
        f"{params_class.__name__} is the params class of several losses ({names})",
        "wrap it in Term(params, loss=TheLossClass)",
    )


def check_params_data(cls: type[P], data: Mapping[str, Any]) -> P:
    """Structure plain `data` into `cls` through the full checking pipeline (raises LossConfigError).

    Examples:
        >>> from typed_losses.losses import CrossEntropyParams
        >>> check_params_data(CrossEntropyParams, {"label_smoothing": "0.1"}).label_smoothing
        0.1
    """
    node, loc = as_node(dict(data), "params")
    result = None
    if node is not None:
        checker = _Checker(_Specs(REGISTRY), loc)
        checker.walk_missing(node, ())
        result = check_params(cls, node, None, (), loc, checker.nested_terms, checker.done)
    if result is None or loc.issues:
        raise LossConfigError(loc.in_order())
    return cast(P, result)  # an instance of cls


def entry_nodes(node: Node) -> list[tuple[Key, Node, str | None]] | None:
    """The entries of a `losses` list or mapping node: (key, node, the term name a mapping key gives).

    An interpolated container (`losses: ${x}`) is followed. `None` when `node` is neither a list
    nor a mapping.
    """
    node = _followed(node)
    items: list[tuple[Key, Node, str | None]] = []
    if isinstance(node, ListConfig):
        for i in range(len(node)):
            child = node._get_node(i)
            assert isinstance(child, Node)
            items.append((i, child, None))
    elif isinstance(node, DictConfig):
        for key in node.keys():  # noqa: SIM118 - ??? values too
            child = node._get_node(key)
            assert isinstance(child, Node)
            items.append((str(key), child, str(key)))
    else:
        return None
    return items


# -- the checker ----------------------------------------------------------------------------------------------


def _followed(node: Node) -> Node:
    if node._is_interpolation():
        try:
            target = node._maybe_dereference_node(throw_on_resolution_failure=True)
        except OmegaConfBaseException:
            return node
        if isinstance(target, Container):
            return target
    return node


def _child(node: DictConfig, key: str) -> Node | None:
    """The node under `key`, `???` values included (`key in node` is False for those)."""
    if key not in node.keys():  # noqa: SIM118
        return None
    child = node._get_node(key)
    assert isinstance(child, Node)
    return child


def _value(node: Node) -> Any:
    """The resolved plain value of a node (raises OmegaConf errors for broken interpolations)."""
    parent = node._get_parent()
    if isinstance(node, Container) or parent is None:
        return OmegaConf.to_container(node, resolve=True) if isinstance(node, Container) else node._value()
    value = parent[node._key()]  # type: ignore[index]
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _plain_string(node: Node | None) -> str | None:
    """The string a scalar node holds, read without resolving (`None` for anything else)."""
    if node is None or isinstance(node, Container) or node._is_missing() or node._is_interpolation():
        return None
    raw = node._value()
    return raw if isinstance(raw, str) else None


_FAILED = object()


class _Checker:
    def __init__(self, specs: _Specs, loc: Locator) -> None:
        self.specs = specs
        self.loc = loc
        #: Paths (and every prefix of them) whose problems are reported: they fail without another issue.
        self.done: set[tuple[Key, ...]] = set()
        #: Params instances built in Python (`LossCollection([...])`), by the path of their `params`.
        self.given: dict[tuple[Key, ...], attrs.AttrsInstance] = {}
        #: The losses of those entries (`Term(loss=...)` or the registry's), by the path of their entry.
        self.given_specs: dict[tuple[Key, ...], LossSpec] = {}

    def mark(self, rel: tuple[Key, ...]) -> None:
        for size in range(len(rel) + 1):
            self.done.add(rel[:size])

    def walk_missing(self, node: Node, rel: tuple[Key, ...]) -> None:
        """Report every `???` below `node` (interpolations are not followed: see `follow()`), and
        rank the paths in document order."""
        self.loc.order.setdefault(rel, len(self.loc.order))
        if node._is_missing():
            self.loc.add(rel, "value is missing")
            self.mark(rel)
        elif isinstance(node, DictConfig):
            for key in node.keys():  # noqa: SIM118
                child = node._get_node(key)
                assert isinstance(child, Node)
                self.walk_missing(child, (*rel, str(key)))
        elif isinstance(node, ListConfig):
            for index in range(len(node)):
                item = node._get_node(index)
                assert isinstance(item, Node)
                self.walk_missing(item, (*rel, index))

    def decoded(self, value: list[Any] | dict[Any, Any], rel: tuple[Key, ...]) -> DictConfig | ListConfig:
        """A resolver's result (`${oc.decode:...}`) at `rel` as a node, checked as it is (taken literally);
        its `???` values are reported."""
        node: DictConfig | ListConfig = OmegaConf.create(literal_data(value))
        self.walk_missing(node, rel)
        return node

    def follow(self, node: Node, rel: tuple[Key, ...]) -> Node | None:
        """The container an interpolation at `rel` points at (its problems are placed there), `node`
        itself for anything else; `None` after an issue."""
        if rel in self.done and node._is_missing():
            return None
        if not node._is_interpolation():
            return node
        try:
            target = node._maybe_dereference_node(throw_on_resolution_failure=True)
        except OmegaConfBaseException as exc:
            self.loc.add(rel, f"cannot resolve {node._value()!r}: {first_line(exc)}")
            self.mark(rel)
            return None
        if not isinstance(target, Container):
            return node
        path, root = path_of(target)
        if root is path_of(node)[1]:
            self.loc.moved_to(rel, path)
        self.walk_missing(target, rel)
        return target

    # -- the losses value ---------------------------------------------------------------------------------

    def losses(self, node: Node) -> list[CheckedTerm] | None:
        self.stray_keys(node)
        self.walk_missing(node, ())
        target = self.follow(node, ())
        if target is None:
            return None
        if isinstance(target, DictConfig) and self.document(target):
            return None
        return self.entries(target, (), unique=True)

    def stray_keys(self, node: Node) -> None:
        """Entry keys beside the `losses` key: the entries above them were indented too little."""
        parent = node._get_parent()
        if not isinstance(parent, DictConfig) or not self.loc.doc_path:
            return
        *above, key = self.loc.doc_path
        for stray in _STRAY_KEYS:
            if stray in parent.keys():  # noqa: SIM118
                self.loc.add_in_document(
                    (*above, stray),
                    f"`{stray}` is beside `{key}`, not inside a loss entry",
                    hint=f"indent it under the entry of `{key}` it belongs to",
                    at_key=True,
                )

    def document(self, node: DictConfig) -> bool:
        """Whether `node` is a whole config (with `losses` keys inside) given for a `losses` value."""
        found = find_key(node, LOSSES_KEY, skip=ENTRY_KEYS)
        if not found:
            return False
        where = ", ".join(render_path("", (*self.loc.doc_path, *path)) for path, _ in found)
        self.loc.add(
            (),
            f"{EXPECTED_LOSSES}, found a whole config; its `{LOSSES_KEY}` values are at {where}",
            hint=f"pass the value of the `{LOSSES_KEY}` key",
        )
        return True

    def nested_terms(self, node: Node, loc: Locator, rel: tuple[Key, ...]) -> tuple[Term[Any], ...] | None:
        # Nested entries (e.g. `multi`'s children) are summed into one term: their names need not differ.
        assert loc is self.loc
        terms = self.entries(node, rel, unique=False)
        return None if terms is None else tuple(t.to_term() for t in terms)

    def entries(self, node: Node, rel: tuple[Key, ...], *, unique: bool) -> list[CheckedTerm] | None:
        """Check a list or mapping of entries at `rel`."""
        target = self.follow(node, rel)
        if target is None:
            return None
        items: list[tuple[Key, Node, str | None]] | None = entry_nodes(target)
        if items is None:
            value = self.scalar(target, rel, "the entries")
            if isinstance(value, (list, dict)):
                return self.entries(self.decoded(value, rel), rel, unique=unique)
            if value is not _FAILED:
                self.loc.add(rel, f"{EXPECTED_LOSSES}, found {describe_value(value)}")
            return None
        if not items:
            self.loc.add(rel, "no losses configured: the list is empty")
            return None
        names = TermNames() if unique else None
        checked: list[CheckedTerm] = []
        ok = True
        for key, child, term_name in items:
            where = (*rel, key)
            term = self.entry(child, where, term_name, top=unique)
            ok = ok and term is not None
            if names is not None:
                claim = (term.name, term.spec.loss_class.output_terms) if term else self.claimed_name(child, term_name)
                problem = None if claim is None else names.add(claim[0], claim[1], self.loc.label_of(where))
                if problem is not None:
                    self.loc.add(where, problem[0], hint=problem[1])
                    ok = False
            if term is not None:
                checked.append(term)
        return checked if ok else None

    def claimed_name(self, node: Node, term_name: str | None) -> tuple[str, Sequence[str] | None] | None:
        """The term name a failed entry certainly asks for (`None` when not certain: no follow-up issue)."""
        loss_type = _plain_string(node)
        name = term_name
        if isinstance(node, DictConfig):
            loss_type = _plain_string(_child(node, "type"))
            if name is None and "name" in node.keys():  # noqa: SIM118
                name = _plain_string(_child(node, "name"))
                if name is None:
                    return None
        spec = self.specs.get(loss_type) if loss_type is not None else None
        if name is None:
            name = spec.name if spec is not None else None
        if name is None or name_problem(name) is not None:
            return None
        return name, spec.loss_class.output_terms if spec is not None else None

    def entry(self, value: Node, rel: tuple[Key, ...], term_name: str | None, *, top: bool) -> CheckedTerm | None:
        path = self.loc.label_of(rel)
        ok = True
        if term_name is not None:
            problem = name_problem(term_name)
            if problem is not None:
                self.loc.add(rel, problem[0], hint=problem[1], at_key=True)
                ok = False
        node = self.follow(value, rel)
        if node is None:
            return None
        if isinstance(node, ListConfig):
            self.loc.add(rel, "expected a loss name or a mapping with `type`, found a list")
            return None
        if not isinstance(node, DictConfig):
            loss_name = self.scalar(node, rel, "the loss name")
            spec = None if loss_name is _FAILED else self.spec(loss_name, rel)
            if spec is None:
                return None
            params = check_params(spec.params_class, None, None, rel, self.loc, self.nested_terms, self.done)
            if params is None or not ok:
                return None
            return CheckedTerm(term_name or spec.name, DEFAULT_WEIGHT, spec, params, path)

        loss: LossSpec | None = None
        type_node = _child(node, "type")
        if type_node is None:
            self.loc.add(rel, "missing `type`: the registry name of the loss")
            ok = False
        else:
            loss = self.given_specs.get(rel)
            if loss is None:
                loss_type = self.scalar(type_node, (*rel, "type"), "`type`")
                loss = None if loss_type is _FAILED else self.spec(loss_type, (*rel, "type"))
        for key in node.keys():  # noqa: SIM118
            if str(key) not in ENTRY_KEYS:
                if self.unknown_key(str(key), (*rel, str(key)), loss):
                    self.mark((*rel, "params", str(key)))  # reported here: not also "missing required param"
                ok = False
        weight = self.weight(node, rel, top=top)
        name = self.name(node, rel, term_name)
        params = None
        routes: dict[str, str] | None = {}
        if loss is not None:
            params = self.params(loss, node, (*rel, "params"))
            routes = self.routes(loss, node, (*rel, INPUTS_KEY))
        if not ok or loss is None or weight is None or name is None or params is None or routes is None:
            return None
        return CheckedTerm(name or loss.name, weight, loss, params, path, routes)

    def routes(self, loss: LossSpec, entry: DictConfig, rel: tuple[Key, ...]) -> dict[str, str] | None:
        """The entry's `inputs:` (declared input key -> key read instead); `None` after an issue."""
        node = _child(entry, INPUTS_KEY)
        if node is None:
            return {}
        if rel in self.done:
            return None
        target = self.follow(node, rel)
        if target is None:
            return None
        if not isinstance(target, Container) and target._is_none():
            return {}
        value = self.scalar(target, rel, "`inputs`")
        if value is _FAILED:
            return None
        declared = [spec.key for spec in loss.loss_class.inputs]
        found = routes_problems(value, declared, f"loss {loss.name!r}")
        for key, message, hint in found:
            self.loc.add(
                rel if key is None else (*rel, key), message, hint=hint, at_key=key is not None and key not in declared
            )
        if found:
            return None
        assert isinstance(value, Mapping)
        return {str(k): str(v) for k, v in value.items()}

    def unknown_key(self, key: str, rel: tuple[Key, ...], loss: LossSpec | None) -> bool:
        """Report an unknown entry key; whether it is a field of the params class (written one level up)."""
        is_param = loss is not None and key in {f.name for f in params_fields(loss.params_class)}
        if is_param:
            assert loss is not None
            hint = f"{key!r} is a param of {loss.params_class.__name__}: indent it under `params:`"
        else:
            hint = suggest(key, list(ENTRY_KEYS)) or "allowed: " + ", ".join(ENTRY_KEYS)
        self.loc.add(rel, f"unknown key {key!r} in a loss entry", hint=hint, at_key=True)
        return is_param

    def scalar(self, node: Node, rel: tuple[Key, ...], what: str) -> Any:
        """The resolved value of `node`; `_FAILED` when it is missing or does not resolve."""
        if rel in self.done:
            return _FAILED
        try:
            return _value(node)
        except OmegaConfBaseException as exc:
            self.loc.add(rel, f"cannot resolve {what}: {first_line(exc)}")
            self.mark(rel)
            return _FAILED

    def spec(self, value: object, rel: tuple[Key, ...]) -> LossSpec | None:
        if not isinstance(value, str):
            self.loc.add(rel, f"expected a loss name (str), found {describe_value(value)}")
            return None
        spec = self.specs.get(value)
        if spec is None:
            self.loc.add(rel, f"unknown loss {value!r}", hint=self.specs.suggest(value))
        return spec

    def weight(self, node: DictConfig, rel: tuple[Key, ...], *, top: bool) -> WeightForm | None:
        """The entry's weight: a number, or (`top`: a top-level term) the params of a weight kind."""
        child = _child(node, "weight")
        if child is None:
            return DEFAULT_WEIGHT
        where = (*rel, "weight")
        target = self.follow(child, where)
        if target is None:
            return None
        if isinstance(target, DictConfig):
            if not top:
                self.loc.add(where, NESTED_WEIGHT_TEXT)
                return None
            return self.weight_kind(target, where)
        value = self.scalar(target, where, "`weight`")
        if value is _FAILED:
            return None
        if isinstance(value, dict) and top:
            decoded = self.decoded(value, where)
            assert isinstance(decoded, DictConfig)  # created from a dict (OmegaConf 2.3 types it as either)
            return self.weight_kind(decoded, where)
        problem = weight_problem(value)
        if problem is not None:
            self.loc.add(where, problem)
            return None
        return float(cast(float, value))  # weight_problem accepted it: an int or a float

    def weight_kind(self, node: DictConfig, rel: tuple[Key, ...]) -> WeightParams | None:
        """A weight given as a mapping: `type` names a registered weight kind, the other keys are its fields."""
        type_node = _child(node, "type")
        known = ", ".join(WEIGHT_KINDS.names())
        if type_node is None:
            self.loc.add(rel, f"missing `type`: the weight kind ({known})", at_key=True)
            return None
        kind = self.scalar(type_node, (*rel, "type"), "`type`")
        if kind is _FAILED:
            return None
        if not isinstance(kind, str):
            self.loc.add((*rel, "type"), f"expected a weight kind name (str), found {describe_value(kind)}")
            return None
        spec = WEIGHT_KINDS.get(kind)
        if spec is None:
            hint = suggest(kind, WEIGHT_KINDS.names()) or f"weight kinds: {known}"
            self.loc.add((*rel, "type"), f"unknown weight kind {kind!r}", hint=hint)
            return None
        entry = node._get_parent()  # the mirror hangs there, so that `${...}` in the fields resolve as in params
        parent = entry if isinstance(entry, Container) else None
        found = check_params(spec.params_class, node, parent, rel, self.loc, self.nested_terms, self.done, ("type",))
        assert found is None or isinstance(found, WeightParams)
        return found

    def name(self, node: DictConfig, rel: tuple[Key, ...], term_name: str | None) -> str | None:
        """The explicit term name: `""` when none is given (the type is used), `None` on a problem."""
        child = _child(node, "name")
        if child is None:
            return term_name or ""
        where = (*rel, "name")
        value = self.scalar(child, where, "`name`")
        if value is _FAILED:
            return None
        problem = name_problem(value)
        if problem is not None:
            self.loc.add(where, problem[0], hint=problem[1])
            return None
        if term_name is not None and value != term_name:
            self.loc.add(
                where,
                f"`name: {value}` conflicts with the mapping key {term_name!r}",
                hint="in the mapping form the key names the term; drop `name:`",
            )
            return None
        return str(value)

    def params(self, loss: LossSpec, entry: DictConfig, rel: tuple[Key, ...]) -> attrs.AttrsInstance | None:
        if rel in self.given:
            return self.given[rel]
        node = _child(entry, "params")
        if node is not None:
            if rel in self.done:
                return None
            node = self.follow(node, rel)
            if node is None:
                return None
            if not isinstance(node, Container) and node._is_none():
                node = None
        return check_params(loss.params_class, node, entry, rel, self.loc, self.nested_terms, self.done)
