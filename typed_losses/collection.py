"""``LossCollection``: the losses of a model as one ``nn.Module`` returning a :class:`LossOutput`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

import attrs
import torch
from torch import Tensor, nn

from typed_losses.config.convert import unstructure_params
from typed_losses.config.entries import DEFAULT_LABEL, CheckedTerm, check_losses
from typed_losses.errors import ConfigIssue, LossConfigError
from typed_losses.loss import Batch, Loss
from typed_losses.output import LossOutput
from typed_losses.registry import REGISTRY, LossSpec, Registry
from typed_losses.term import Term

__all__ = ["LossCollection", "LossList", "build_term"]


class LossList(nn.ModuleList):
    """The collection's losses, typed as :class:`Loss` when indexed or iterated."""

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, idx: slice) -> LossList: ...

        @overload
        def __getitem__(self, idx: int) -> Loss[Any]: ...

        def __getitem__(self, idx: int | slice) -> Loss[Any] | LossList: ...

        def __iter__(self) -> Iterator[Loss[Any]]: ...


def _spec_for(term: Term[Any], registry: Registry) -> LossSpec:
    params_class = type(term.params)
    if term.loss is not None:
        if term.loss.loss_name is not None:
            spec = registry.get(term.loss.loss_name)
            if spec is not None and spec.loss_class is term.loss:
                return spec
        return LossSpec(term.loss.loss_name or term.loss.__name__, term.loss, params_class)
    specs = registry.for_params(params_class)
    if len(specs) == 1:
        return specs[0]
    if not specs:
        raise LossConfigError(
            [ConfigIssue(params_class.__name__, f"no registered loss takes {params_class.__name__}")]
        )
    names = ", ".join(s.name for s in specs)
    raise LossConfigError(
        [
            ConfigIssue(
                params_class.__name__,
                f"{params_class.__name__} is the params class of several losses ({names})",
                hint="wrap it in Term(params, loss=TheLossClass)",
            )
        ]
    )


def build_term(term: Term[Any], registry: Registry = REGISTRY) -> tuple[str, Loss[Any]]:
    """The term name and the loss module for ``term``."""
    spec = _spec_for(term, registry)
    name = term.name or spec.name
    return name, spec.loss_class(term.params, name=name)


class LossCollection(nn.Module):
    """Several weighted loss terms; calling it gives a :class:`LossOutput`.

    Build it from a ``losses`` config with :meth:`from_config`, or from Python with params instances or
    :class:`Term` values::

        LossCollection([CrossEntropyParams(label_smoothing=0.1), Term(MSEParams(), weight=0.5)])

    ``output.total`` is ``sum(weight * term.mean())``; with all weights 1 it is MMF's trainer total.
    """

    losses: LossList

    def __init__(self, items: Sequence[attrs.AttrsInstance | Term[Any]], *, registry: Registry = REGISTRY) -> None:
        super().__init__()
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise TypeError(
                "LossCollection takes a sequence of params instances or Term values; "
                "use LossCollection.from_config for a config"
            )
        terms: list[Term[Any]] = []
        issues: list[ConfigIssue] = []
        for index, item in enumerate(items):
            if isinstance(item, Term):
                terms.append(item)
            elif attrs.has(type(item)):
                terms.append(Term(item))
            else:
                issues.append(
                    ConfigIssue(f"items[{index}]", f"expected a params instance or a Term, found {type(item).__name__}")
                )
        if not terms and not issues:
            issues.append(ConfigIssue("items", "no losses: a collection needs at least one term"))
        names: list[str] = []
        modules: list[Loss[Any]] = []
        for index, term in enumerate(terms):
            try:
                name, module = build_term(term, registry)
            except LossConfigError as exc:
                issues.extend(attrs.evolve(i, path=f"items[{index}]") for i in exc.issues)
                continue
            if name in names:
                issues.append(
                    ConfigIssue(f"items[{index}]", f"duplicate term name {name!r}", hint="give it a distinct name")
                )
                continue
            names.append(name)
            modules.append(module)
        if issues:
            raise LossConfigError(issues)
        self._init_terms(names, [t.weight for t in terms], modules)

    def _init_terms(self, names: list[str], weights: list[float], modules: list[Loss[Any]]) -> None:
        self.losses = LossList(modules)
        self.names: tuple[str, ...] = tuple(names)
        self.weights: tuple[float, ...] = tuple(float(w) for w in weights)
        # Precomputed for forward: (name, weight or None when 1.0, module).
        self._plan: tuple[tuple[str, float | None, Loss[Any]], ...] = tuple(
            (n, None if w == 1.0 else w, m) for n, w, m in zip(self.names, self.weights, modules, strict=True)
        )

    @classmethod
    def from_config(
        cls, cfg: object, *, registry: Registry = REGISTRY, label: str = DEFAULT_LABEL
    ) -> LossCollection:
        """Build from the value of a ``losses`` key (a list, a mapping, plain data or OmegaConf).

        Every problem is reported at once as a :class:`LossConfigError`, with file positions when the
        config was loaded with :func:`~typed_losses.load_yaml`.
        """
        checked = check_losses(cfg, registry=registry, label=label)
        return cls._from_checked(checked)

    @classmethod
    def _from_checked(cls, checked: Sequence[CheckedTerm]) -> LossCollection:
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        modules = [t.spec.loss_class(t.params, name=t.name) for t in checked]
        self._init_terms([t.name for t in checked], [t.weight for t in checked], modules)
        return self

    # -- introspection ------------------------------------------------------------------------------------

    @property
    def terms(self) -> tuple[Term[Any], ...]:
        """The collection's terms (params, weight, name, loss class), in order."""
        return tuple(
            Term(m.params, weight=w, name=n, loss=type(m))
            for n, w, m in zip(self.names, self.weights, self.losses, strict=True)
        )

    def __getitem__(self, name: str) -> Loss[Any]:
        try:
            return self.losses[self.names.index(name)]
        except ValueError:
            raise KeyError(f"no term named {name!r}; terms: {', '.join(self.names)}") from None

    def __len__(self) -> int:
        return len(self.names)

    def to_config(self) -> list[dict[str, Any]]:
        """The collection as a plain ``losses`` list; ``from_config`` of it rebuilds an equal collection."""
        out: list[dict[str, Any]] = []
        for name, weight, module in zip(self.names, self.weights, self.losses, strict=True):
            loss_type = type(module).loss_name or type(module).__name__
            entry: dict[str, Any] = {"type": loss_type}
            if name != loss_type:
                entry["name"] = name
            if weight != 1.0:
                entry["weight"] = weight
            entry["params"] = unstructure_params(module.params)
            out.append(entry)
        return out

    def extra_repr(self) -> str:
        return ", ".join(f"{n}: x{w:g}" for n, w in zip(self.names, self.weights, strict=True))

    # -- forward ------------------------------------------------------------------------------------------

    def forward(self, sample_list: Batch, model_output: Batch) -> LossOutput:
        terms: dict[str, Tensor] = {}
        total: Tensor | None = None
        for name, weight, loss in self._plan:
            value = loss(sample_list, model_output)
            part: Tensor | None = None
            if isinstance(value, Tensor):
                terms[name] = value
                part = value if value.dim() == 0 else value.mean()
            else:
                for child, child_value in value.items():
                    terms[f"{name}/{child}"] = child_value
                    child_part = child_value if child_value.dim() == 0 else child_value.mean()
                    part = child_part if part is None else part + child_part
            if part is None:
                continue
            if weight is not None:
                part = part * weight
            total = part if total is None else total + part
        if total is None:
            total = torch.zeros(())
        return LossOutput(terms, total)

    if TYPE_CHECKING:

        def __call__(self, sample_list: Batch, model_output: Batch) -> LossOutput: ...
