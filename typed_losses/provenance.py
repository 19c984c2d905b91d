"""Where every resolved setting of a `losses` value came from: a file line, an interpolation, a default.

`losses_provenance()` checks a `losses` value (raising [`LossConfigError`][typed_losses.LossConfigError] when
it is invalid, exactly as [`check_losses()`][typed_losses.check_losses] does) and describes each term: its name, type,
weight and every param of its params class with the resolved value and an `Origin`. Nested entries
(`multi`'s children) are described as children of their term. Pure data: rendering is the CLI's job
(`typed-losses show`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import attrs
from omegaconf import DictConfig, ListConfig
from omegaconf.base import Container, Node
from omegaconf.nodes import InterpolationResultNode

from typed_losses.config.check import check_losses, entry_nodes
from typed_losses.config.convert import converter, weight_entry
from typed_losses.config.paths import followed, render_path
from typed_losses.config.types import params_fields, term_sequence_fields
from typed_losses.config.yaml import Key, SourceMap, path_of, source_map_of
from typed_losses.rules import INPUTS_KEY
from typed_losses.term import Term
from typed_losses.weighting import WeightForm, WeightParams

__all__ = ["Origin", "Setting", "TermProvenance", "losses_provenance"]

OriginKind = Literal["yaml", "interpolation", "mapping_key", "default"]


@attrs.frozen
class Where:
    """A position in a file (any part may be unknown when the config did not come from a file)."""

    file: str | None
    line: int | None
    column: int | None

    def __str__(self) -> str:
        if self.line is None:
            return self.file or "<config>"
        return f"{self.file or '<config>'}:{self.line}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column}


@attrs.frozen
class Origin:
    """Where a value came from.

    `kind` is `"yaml"` (written literally at `where`), `"interpolation"` (`expression` written at
    `where`; `target` is the dotted path of the node it finally refers to, at `target_where`, when it
    refers to one node), `"mapping_key"` (a term name given by the key of the mapping form, at `where`)
    or `"default"` (not written: `note` says which default).
    """

    kind: OriginKind
    where: Where | None = None
    expression: str | None = None
    target: str | None = None
    target_where: Where | None = None
    note: str | None = None

    def describe(self) -> str:
        """One line: `f.yaml:12`, `interpolation ${a.b} (f.yaml:12) -> a.b (f.yaml:3)`, `default`."""
        if self.kind == "default":
            return f"default ({self.note})" if self.note else "default"
        if self.kind == "mapping_key":
            return f"mapping key ({self.where})"
        if self.kind == "yaml":
            return str(self.where)
        text = f"interpolation {self.expression} ({self.where})"
        if self.target is not None:
            text += f" -> {self.target}"
            if self.target_where is not None and self.target_where.line is not None:
                text += f" ({self.target_where})"
        return text

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "text": self.describe()}
        if self.where is not None:
            out.update(self.where.to_dict())
        if self.expression is not None:
            out["expression"] = self.expression
        if self.target is not None:
            out["target"] = self.target
        if self.target_where is not None:
            out["target_file"] = self.target_where.file
            out["target_line"] = self.target_where.line
        if self.note is not None:
            out["note"] = self.note
        return out


@attrs.frozen
class Setting:
    """One resolved setting (`type`, `name`, `weight` or a param): its value and origin."""

    key: str
    value: object
    origin: Origin

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "value": self.value, "origin": self.origin.to_dict()}


@attrs.frozen
class TermProvenance:
    """One term of a `losses` value: where it is (`path`) and all its settings, with nested terms."""

    path: str
    name: str
    type: Setting
    name_setting: Setting
    weight: Setting
    params: tuple[Setting, ...]
    children: tuple[TermProvenance, ...] = ()
    #: The entry's `inputs:` routes, one `inputs.<declared key>` setting each (the key read instead).
    routes: tuple[Setting, ...] = ()
    #: A weight kind's fields (`weight.start`, ...; `weight` is then `weight.type`), in field order.
    weight_fields: tuple[Setting, ...] = ()

    @property
    def settings(self) -> tuple[Setting, ...]:
        """`type`, `name`, `weight` (a weight kind: `weight.type` and its fields), the params in the params
        class's field order, then the routes."""
        return (self.type, self.name_setting, self.weight, *self.weight_fields, *self.params, *self.routes)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, TermProvenance]]:
        """This term and its nested terms, depth first, with their nesting depth."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "name": self.name,
            "settings": [s.to_dict() for s in self.settings],
            "children": [c.to_dict() for c in self.children],
        }


class _Context:
    def __init__(self, source: SourceMap | None, doc_path: tuple[Key, ...], label: str) -> None:
        self.source = source
        self.doc_path = doc_path
        self.label = label

    def where(self, path: tuple[Key, ...], *, at_key: bool = False) -> Where:
        file = self.source.file if self.source is not None else None
        found = self.source.locate(path, at_key=at_key) if self.source is not None else None
        line, column = found if found is not None else (None, None)
        return Where(file, line, column)

    def origin(self, node: Node) -> Origin:
        path, _root = path_of(node)
        where = self.where(path)
        if isinstance(node, Container) or not node._is_interpolation():
            return Origin("yaml", where)
        expression = str(node._value())
        try:
            target = node._maybe_dereference_node(throw_on_resolution_failure=False)
        except Exception:  # a resolver that fails: the expression and its place are still worth showing
            target = None
        if target is None or isinstance(target, InterpolationResultNode):
            return Origin("interpolation", where, expression)
        target_path, _ = path_of(target)
        return Origin("interpolation", where, expression, render_path("", target_path), self.where(target_path))


def _plain(value: object) -> object:
    out: object = converter.unstructure(value)
    return out


def _entries(node: Node) -> list[tuple[Key, Node, str | None]]:
    """The entries of a `losses` list or mapping: (key, node, term name given by the mapping key)."""
    return entry_nodes(node) or []


def _child(node: Node, key: str) -> Node | None:
    if isinstance(node, DictConfig) and key in node:
        child = node._get_node(key)
        return child if isinstance(child, Node) else None
    return None


def _describe_term(ctx: _Context, entry: Node, name_key: str | None, term: Term[Any], type_name: str) -> TermProvenance:
    path, _ = path_of(entry)
    label = render_path("", path) or ctx.label
    params = term.params
    name = term.name or type_name
    if isinstance(entry, DictConfig):
        type_node = _child(entry, "type")
        assert type_node is not None  # checked: an entry mapping has a type
        type_setting = Setting("type", type_name, ctx.origin(type_node))
        weight_node = _child(entry, "weight")
        weight_origin = ctx.origin(weight_node) if weight_node is not None else Origin("default")
        name_node = _child(entry, "name")
        params_node = _child(entry, "params")
    else:
        type_setting = Setting("type", type_name, ctx.origin(entry))
        weight_origin = Origin("default")
        name_node = params_node = None
    if name_node is not None:
        name_origin = ctx.origin(name_node)
    elif name_key is not None:
        name_origin = Origin("mapping_key", ctx.where(path, at_key=True))
    else:
        name_origin = Origin("default", note="the type")
    params_class: type = type(params)
    nested = term_sequence_fields(params_class)
    settings: list[Setting] = []
    children: list[TermProvenance] = []
    for field in params_fields(params_class):
        value = getattr(params, field.name)
        if field.name in nested:
            # `params: [entry, ...]` (MMF's `multi`), or `params: {field: [entry, ...]}`
            list_node: Node | None = params_node if isinstance(params_node, ListConfig) else None
            if list_node is None and params_node is not None:
                list_node = _child(params_node, field.name)
            if list_node is not None:
                for (_, child_entry, child_key), child_term in zip(_entries(list_node), value, strict=True):
                    child_type = child_term.loss.loss_name if child_term.loss is not None else None
                    children.append(
                        _describe_term(ctx, child_entry, child_key, child_term, child_type or str(child_term.name))
                    )
            continue
        value_node = _child(params_node, field.name) if params_node is not None else None
        origin = ctx.origin(value_node) if value_node is not None else Origin("default")
        settings.append(Setting(f"params.{field.name}", _plain(value), origin))
    routes: list[Setting] = []
    inputs_node = _child(entry, INPUTS_KEY)
    for key, target in term.inputs.items():
        route_node = _child(inputs_node, key) if inputs_node is not None else None
        found = route_node if route_node is not None else inputs_node
        routes.append(
            Setting(f"{INPUTS_KEY}.{key}", target, ctx.origin(found) if found is not None else Origin("default"))
        )
    weight, weight_fields = _weight_settings(ctx, term.weight, _child(entry, "weight"), weight_origin)
    return TermProvenance(
        path=label,
        name=name,
        type=type_setting,
        name_setting=Setting("name", name, name_origin),
        weight=weight,
        params=tuple(settings),
        children=tuple(children),
        routes=tuple(routes),
        weight_fields=weight_fields,
    )


def _weight_settings(
    ctx: _Context, weight: WeightForm, node: Node | None, origin: Origin
) -> tuple[Setting, tuple[Setting, ...]]:
    """The `weight` setting, and for a weight kind its fields: each with its origin (`default` when not
    written)."""
    if not isinstance(weight, WeightParams):
        return Setting("weight", weight, origin), ()
    data = weight_entry(weight)
    assert isinstance(data, dict)
    target = followed(node) if node is not None else None
    type_node = _child(target, "type") if target is not None else None
    kind = Setting("weight.type", data.pop("type"), ctx.origin(type_node) if type_node is not None else origin)
    fields = []
    for key, value in data.items():
        field_node = _child(target, key) if target is not None else None
        fields.append(Setting(f"weight.{key}", value, ctx.origin(field_node) if field_node else Origin("default")))
    return kind, tuple(fields)


def losses_provenance(node: Node, *, label: str = "losses") -> list[TermProvenance]:
    """Check the `losses` value `node` and describe each of its terms with the origin of every setting.

    `node` should come from [`load_yaml()`][typed_losses.load_yaml] for file positions (without them origins say
    `<config>`). Raises [`LossConfigError`][typed_losses.LossConfigError] when the value is invalid.
    """
    checked = check_losses(node, label=label)
    source, doc_path = source_map_of(node)
    ctx = _Context(source, doc_path, label)
    entries = _entries(node)
    assert len(entries) == len(checked)
    return [
        _describe_term(ctx, entry, name_key, term.to_term(), term.spec.name)
        for (_, entry, name_key), term in zip(entries, checked, strict=True)
    ]
