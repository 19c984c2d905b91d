"""Weights that change during training: the `Weighting` module of a weight kind, and the weight-kind registry.

A term's weight is a number (constant), or a *weight kind* configured as a mapping with `type`:

```python
weight: {type: linear, start: 0.0, end: 1.0, steps: 2000}
```

A kind is an attrs params class (a subclass of [`WeightParams`][typed_losses.WeightParams], checked by the same constraints and
messages as loss params) and a [`Weighting`][typed_losses.Weighting] module computing the weight from the collection's step
counter, a 0-dim int64 tensor: a schedule is a function of the step, a learned weight has parameters.
`@register_weight("name")` registers a kind; the built-in ones are in `typed_losses.weights`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Never, TypeVar, cast, get_args, get_origin

import attrs
from torch import Tensor, nn

from typed_losses.registry import doc_summary
from typed_losses.rules import weight_problem

__all__ = [
    "WEIGHT_KINDS",
    "WeightForm",
    "WeightKinds",
    "WeightParams",
    "WeightSpec",
    "Weighting",
    "as_weight",
    "register_weight",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@attrs.frozen
class WeightParams:
    """The base of the params class of a weight kind (`@attrs.frozen(kw_only=True)` subclasses).

    An instance is the weight of a [`Term`][typed_losses.Term] built in Python, as the mapping
    `{type: <kind>, ...fields}` is in a config.
    """


#: A term's weight as Python gives it: a number, or the params of a registered weight kind.
WeightForm = float | WeightParams

W = TypeVar("W", bound=WeightParams)
K = TypeVar("K", bound="type[Weighting[Any]]")


class Weighting(nn.Module, Generic[W]):
    """The module of a weight kind: computes a term's weight at a step (see [`forward()`][typed_losses.Weighting.forward]).

    Subclass it as `class MyWeight(Weighting[MyWeightParams])` and register it with
    [`register_weight()`][typed_losses.register_weight]. The weight must depend only on the step, the params and the module's own
    parameters (a weight without parameters is computed once per step and reused by the collection).
    """

    #: The registered name of the kind (set by `register_weight()`).
    kind_name: ClassVar[str | None] = None
    #: The params class (the generic argument; set by `register_weight()`).
    params_class: ClassVar[type[WeightParams]]

    def __init__(self, params: W) -> None:
        super().__init__()
        self._params = params

    @property
    def params(self) -> W:
        """The kind's params (fixed: the weight is saved and compared as this config)."""
        return self._params

    @params.setter
    def params(self, value: Never) -> None:  # Never: type checkers reject the assignment too
        raise AttributeError(
            "the params of a weight are fixed at construction (they are the term's configured weight); "
            "build a new collection with the new weight"
        )

    def forward(self, step: Tensor) -> Tensor:  # pragma: no cover - abstract
        """The weight at `step` (0-dim int64 tensor, the collection's counter): a 0-dim float tensor.

        Computed with tensor operations only (no `int(step)`, no `.item()`): no host-device sync, and
        under `torch.compile` advancing the step causes no recompilation.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement forward(step)")

    def value_at(self, step: int) -> float | None:
        """The weight at `step` as a Python float, computed without tensors, or `None` (the default: only
        [`forward`][typed_losses.Weighting.forward] computes it).

        A schedule that gives it is as cheap as a fixed weight in eager mode: the collection calls it once per
        step when it knows the step without reading the counter tensor, and joins the term to the total with
        one fused `add`. It must equal `forward` to float32 rounding (a test of the built-in kinds checks this
        for random params and steps). Under `torch.compile` the collection always calls `forward`.
        """
        return None

    def regularizer(self) -> Tensor | None:
        """A 0-dim tensor added to the total beside `weight * term` (`None`: nothing, the default).

        A learned weight needs one, or training would drive the weight to 0 (`uncertainty` adds `s`).
        """
        return None

    @property
    def learned(self) -> bool:
        """Whether the weight has parameters (trained with the model; recomputed at every call)."""
        return any(True for _ in self.parameters())

    def extra_repr(self) -> str:
        return repr(self.params)

    if TYPE_CHECKING:

        def __call__(self, step: Tensor) -> Tensor: ...


@attrs.frozen
class WeightSpec:
    """A registered weight kind: its name, its module class and its params class."""

    name: str
    weight_class: type[Weighting[Any]]
    params_class: type[WeightParams]

    @property
    def summary(self) -> str:
        """The first line of the module class's docstring, as plain text (as a loss's summary)."""
        return doc_summary(self.weight_class)


def _params_class_of(cls: type[Weighting[Any]]) -> type[Any] | None:
    """The params class of `cls`: the argument of the first `Weighting[X]` (or generic subclass) base."""
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin, args = get_origin(base), get_args(base)
            if isinstance(origin, type) and issubclass(origin, Weighting) and args and isinstance(args[0], type):
                return args[0]
    return None


class WeightKinds:
    """Maps weight-kind names to [`WeightSpec`][typed_losses.WeightSpec]; the global instance is [`WEIGHT_KINDS`][typed_losses.WEIGHT_KINDS].

    Registration is serialised; lookups read a dict (thread-safe in CPython).
    """

    def __init__(self) -> None:
        self._by_name: dict[str, WeightSpec] = {}
        self._lock = threading.Lock()

    def register(self, name: str, weight_class: type[Weighting[Any]]) -> WeightSpec:
        """Register `weight_class` under `name`; `TypeError`/`ValueError` on a bad declaration."""
        where = f"{getattr(weight_class, '__module__', '?')}.{getattr(weight_class, '__qualname__', weight_class)}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"register_weight({name!r}) on {where}: a weight kind name is letters, digits, '_' or '-', "
                "starting with a letter or '_'"
            )
        if not (isinstance(weight_class, type) and issubclass(weight_class, Weighting)):
            raise TypeError(f"register_weight({name!r}): {where} is not a subclass of typed_losses.Weighting")
        params_class = _params_class_of(weight_class)
        if params_class is None or not (issubclass(params_class, WeightParams) and attrs.has(params_class)):
            raise TypeError(
                f"register_weight({name!r}): {where} must declare its params class, an attrs subclass of "
                f"WeightParams: `class {weight_class.__name__}(Weighting[MyWeightParams])`"
            )
        spec = WeightSpec(name, weight_class, cast(type[WeightParams], params_class))
        with self._lock:
            existing = self._by_name.get(name)
            if existing is not None and (existing.weight_class.__module__, existing.weight_class.__qualname__) != (
                weight_class.__module__,
                weight_class.__qualname__,
            ):
                raise ValueError(
                    f"register_weight({name!r}): the name is already taken by "
                    f"{existing.weight_class.__module__}.{existing.weight_class.__qualname__}"
                )
            for other in self._by_name.values():
                if other.params_class is params_class and other.name != name:
                    raise ValueError(
                        f"register_weight({name!r}): {params_class.__name__} is already the params class of "
                        f"weight kind {other.name!r}; each kind has its own params class"
                    )
            self._by_name[name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove `name` (for tests and interactive sessions)."""
        with self._lock:
            self._by_name.pop(name, None)

    def get(self, name: str) -> WeightSpec | None:
        return self._by_name.get(name)

    def for_params(self, params_class: type[Any]) -> WeightSpec | None:
        """The kind whose params class is exactly `params_class`."""
        for spec in list(self._by_name.values()):
            if spec.params_class is params_class:
                return spec
        return None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[WeightSpec]:
        specs = dict(self._by_name)
        return iter([specs[n] for n in sorted(specs)])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name


#: The global weight-kind registry.
WEIGHT_KINDS = WeightKinds()


def register_weight(name: str) -> Callable[[K], K]:
    """Class decorator registering a [`Weighting`][typed_losses.Weighting] subclass as the weight kind `name`.

    Examples:
        >>> import attrs, torch
        >>> from typed_losses import LossCollection, WeightParams, Weighting, register_weight
        >>> @attrs.frozen(kw_only=True)
        ... class HalvingParams(WeightParams):
        ...     every: int = 100
        >>> @register_weight("halving")
        ... class Halving(Weighting[HalvingParams]):
        ...     '''Halves the weight every `every` steps.'''
        ...     def forward(self, step):
        ...         return torch.pow(0.5, torch.div(step, self.params.every, rounding_mode="floor").float())
        >>> losses = LossCollection.from_config([{"type": "mse", "weight": {"type": "halving", "every": 10}}])
        >>> losses.set_step(25)
        >>> out = losses({"targets": torch.zeros(2)}, {"scores": torch.ones(2)})
        >>> float(out.weights["mse"]), float(out.total)
        (0.25, 0.25)
        >>> WEIGHT_KINDS.unregister("halving")  # only for this example
    """

    def decorate(cls: K) -> K:
        spec = WEIGHT_KINDS.register(name, cls)
        cls.kind_name = name
        cls.params_class = spec.params_class
        return cls

    return decorate


def as_weight(value: WeightForm) -> WeightForm:
    """`Term`'s `weight`: a number (as a `float`, the rule of `typed_losses.rules.weight_problem()`)
    or the params of a registered weight kind; `ValueError`/`TypeError` with the rule's message.

    Typed `WeightForm -> WeightForm` so that type checkers keep rejecting `weight="2"` or a dict.
    """
    if isinstance(value, WeightParams):
        if WEIGHT_KINDS.for_params(type(value)) is None:
            raise ValueError(f"weight: {type(value).__name__} is not the params class of a registered weight kind")
        return value
    problem = weight_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return float(value)
