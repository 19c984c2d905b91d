"""The loss registry: name -> (loss class, params class), and ``@register_loss``.

Losses register themselves when their module is imported. The built-in catalog and third-party packages
are found through the entry-point group ``typed_losses.losses``, loaded the first time a name is looked up,
so this module never imports the catalog.
"""

from __future__ import annotations

import difflib
import importlib
import re
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, TypeVar

import attrs

from typed_losses.loss import Loss, params_class_of

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "LossSpec", "Registry", "load_plugin", "register_loss"]

ENTRY_POINT_GROUP = "typed_losses.losses"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

L = TypeVar("L", bound=type[Loss[Any]])


@attrs.frozen
class LossSpec:
    """A registered loss: its name, its module class and its params class."""

    name: str
    loss_class: type[Loss[Any]]
    params_class: type[attrs.AttrsInstance]

    @property
    def summary(self) -> str:
        """The first line of the loss class's docstring."""
        text = (self.loss_class.__doc__ or "").strip()
        return text.splitlines()[0] if text else ""


def suggest(name: str, candidates: list[str]) -> str | None:
    """A did-you-mean hint for ``name`` among ``candidates``, or ``None``."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class Registry:
    """Maps loss names to :class:`LossSpec`; one global instance is :data:`REGISTRY`."""

    def __init__(self, *, entry_point_group: str | None = ENTRY_POINT_GROUP) -> None:
        self._by_name: dict[str, LossSpec] = {}
        self._entry_point_group = entry_point_group
        self._entry_points_loaded = entry_point_group is None

    # -- registration ----------------------------------------------------------------------------------

    def register(self, name: str, loss_class: type[Loss[Any]], *, params: type[Any] | None = None) -> LossSpec:
        """Register ``loss_class`` under ``name``; raise ``TypeError``/``ValueError`` on a bad declaration."""
        where = f"{loss_class.__module__}.{loss_class.__qualname__}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"register_loss({name!r}) on {where}: a loss name is letters, digits, '_' or '-', "
                "starting with a letter or '_'"
            )
        if not (isinstance(loss_class, type) and issubclass(loss_class, Loss)):
            raise TypeError(f"register_loss({name!r}): {where} is not a subclass of typed_losses.Loss")
        params_class = params if params is not None else params_class_of(loss_class)
        if params_class is None:
            raise TypeError(
                f"register_loss({name!r}): {where} does not declare its params class; write "
                f"`class {loss_class.__name__}(Loss[MyParams])` or pass params=MyParams"
            )
        if not (isinstance(params_class, type) and attrs.has(params_class)):
            raise TypeError(
                f"register_loss({name!r}): params class {params_class!r} of {where} is not an attrs class; "
                "decorate it with @attrs.frozen"
            )
        if not _is_frozen(params_class):
            raise TypeError(
                f"register_loss({name!r}): params class {params_class.__name__} of {where} must be frozen; "
                "use @attrs.frozen"
            )
        existing = self._by_name.get(name)
        if existing is not None and not _same_definition(existing.loss_class, loss_class):
            raise ValueError(
                f"register_loss({name!r}): the name is already taken by "
                f"{existing.loss_class.__module__}.{existing.loss_class.__qualname__}; "
                f"cannot register {where} under it"
            )
        spec = LossSpec(name, loss_class, params_class)
        self._by_name[name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and interactive sessions)."""
        self._by_name.pop(name, None)

    # -- lookup -----------------------------------------------------------------------------------------

    def get(self, name: str) -> LossSpec | None:
        """The spec registered as ``name``, or ``None``; loads entry points on a miss."""
        spec = self._by_name.get(name)
        if spec is None and not self._entry_points_loaded:
            self.load_entry_points()
            spec = self._by_name.get(name)
        return spec

    def __getitem__(self, name: str) -> LossSpec:
        spec = self.get(name)
        if spec is None:
            hint = suggest(name, self.names())
            raise KeyError(f"no loss named {name!r}" + (f"; {hint}" if hint else ""))
        return spec

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self.load_entry_points()
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[LossSpec]:
        return iter([self._by_name[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self.names())

    def suggest(self, name: str) -> str | None:
        """A did-you-mean hint for an unknown loss name."""
        return suggest(name, self.names())

    def for_params(self, params_class: type[Any]) -> list[LossSpec]:
        """Every spec whose params class is exactly ``params_class``."""
        self.load_entry_points()
        return [s for s in self._by_name.values() if s.params_class is params_class]

    # -- plugins ----------------------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Import every module registered in the entry-point group (once)."""
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        assert self._entry_point_group is not None
        for ep in entry_points(group=self._entry_point_group):
            try:
                ep.load()
            except Exception as exc:  # a broken plugin must not break every other loss
                warnings.warn(
                    f"typed_losses: could not load loss plugin {ep.name!r} ({ep.value}): {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )


def _is_frozen(cls: type[Any]) -> bool:
    """Whether instances of the attrs class ``cls`` refuse every assignment (probed on a bare instance,
    through attrs' public ``FrozenInstanceError``: no private attrs names)."""
    try:
        probe = object.__new__(cls)
    except TypeError:
        return False
    names = [f.name for f in attrs.fields(cls)] or ["_typed_losses_probe"]
    for name in names:
        try:
            setattr(probe, name, None)
        except attrs.exceptions.FrozenInstanceError:
            continue
        except AttributeError:  # a slotted class without that slot: not frozen by attrs
            return False
        return False
    return True


def _same_definition(a: type[Any], b: type[Any]) -> bool:
    """The same class, or the same class re-created by a module reload."""
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


#: The global registry that ``register_loss`` and ``LossCollection.from_config`` use.
REGISTRY = Registry()


def register_loss(name: str, *, params: type[Any] | None = None) -> Callable[[L], L]:
    """Class decorator registering a :class:`~typed_losses.Loss` subclass under ``name``.

    The params class is the generic argument (``class MyLoss(Loss[MyParams])``); ``params=`` overrides it.

    Example:
        >>> import attrs, torch
        >>> from typed_losses import Loss, LossCollection, model_input
        >>> @attrs.frozen
        ... class ScaleParams:
        ...     factor: float = 2.0
        >>> SCORES = model_input("scores")
        >>> @register_loss("scaled_mean")
        ... class ScaledMean(Loss[ScaleParams]):
        ...     inputs = (SCORES,)
        ...     def forward(self, sample_list, model_output):
        ...         return self.read(SCORES, sample_list, model_output).mean() * self.params.factor
        >>> losses = LossCollection.from_config([{"type": "scaled_mean", "params": {"factor": 3}}])
        >>> float(losses({}, {"scores": torch.tensor([1.0, 2.0])}).total)
        4.5
        >>> REGISTRY.unregister("scaled_mean")  # only for this example
    """

    def decorate(cls: L) -> L:
        spec = REGISTRY.register(name, cls, params=params)
        cls.loss_name = name
        cls.params_class = spec.params_class
        return cls

    return decorate


def load_plugin(module: str) -> None:
    """Import a user module that registers losses (``--plugin``); raises ``ImportError`` clearly."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"cannot import loss plugin module {module!r}: {exc}") from exc
