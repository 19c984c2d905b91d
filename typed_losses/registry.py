"""The loss registry: name -> (loss class, params class), and `@register_loss`.

Losses register themselves when their module is imported. The built-in catalog and third-party packages
are found through the entry-point group `typed_losses.losses`, loaded the first time a name is looked up,
so this module never imports the catalog.

Thread safety: lookups may run in many threads at once, also before the entry points have loaded (every
thread waits until the first one has loaded them); registration is serialised. An entry point's module may
itself register losses or look names up while it loads (the loading lock is re-entrant).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import attrs

from typed_losses.loss import Loss, ParamsInstance, is_params_class, params_class_of
from typed_losses.rules import output_terms_problem

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "LossSpec", "Registry", "load_plugin", "register_loss"]

ENTRY_POINT_GROUP = "typed_losses.losses"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

L = TypeVar("L", bound=type[Loss[Any]])


@attrs.frozen
class LossSpec:
    """A registered loss: its name, its module class and its params class."""

    name: str
    loss_class: type[Loss[Any]]
    params_class: type[ParamsInstance]

    @property
    def summary(self) -> str:
        """The first line of the loss class's docstring, as plain text (a cross-reference is its name)."""
        return doc_summary(self.loss_class)


#: A Markdown cross-reference of the docstrings (mkdocstrings): [`Name`][typed_losses.Name].
_CROSSREF = re.compile(r"\[(`[^`]+`)\]\[[\w.]+\]")


def plain_text(markdown: str) -> str:
    """Docstring text for a terminal or a schema: a cross-reference is shown as its code span.

    Examples:
        >>> plain_text("raises [`LossShapeError`][typed_losses.LossShapeError]")
        'raises `LossShapeError`'
    """
    return _CROSSREF.sub(r"\1", markdown)


def doc_summary(cls: type) -> str:
    """The first line of `cls`'s docstring as plain text ([`plain_text`][typed_losses.registry.plain_text]):
    the summary of a registered loss or weight kind in `list`, the schema and the docs."""
    text = (cls.__doc__ or "").strip()
    return plain_text(text.splitlines()[0]) if text else ""


def suggest(name: str, candidates: list[str], *, cutoff: float = 0.6) -> str | None:
    """A did-you-mean hint for `name` among `candidates`, or `None`."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}?" if close else None


#: How close an unknown loss name must be to a registered one for a did-you-mean (difflib's ratio): a
#: typo (`cross_entropi`, `msee`), not a different loss that shares a few letters.
LOSS_NAME_CUTOFF = 0.75


class Registry:
    """Maps loss names to [`LossSpec`][typed_losses.LossSpec]; one global instance is [`REGISTRY`][typed_losses.REGISTRY]."""

    def __init__(self, *, entry_point_group: str | None = ENTRY_POINT_GROUP) -> None:
        self._by_name: dict[str, LossSpec] = {}
        self._entry_point_group = entry_point_group
        # True only once the entry points have loaded (not when loading starts): other threads wait for it.
        self._entry_points_loaded = entry_point_group is None
        self._loading = False  # the entry points are being loaded by the thread holding _load_lock
        self._load_lock = threading.RLock()  # held while loading entry points; re-entrant for their imports
        self._lock = threading.Lock()  # guards _by_name; held briefly, never while importing

    # -- registration ----------------------------------------------------------------------------------

    def register(self, name: str, loss_class: type[Loss[Any]], *, params: type[Any] | None = None) -> LossSpec:
        """Register `loss_class` under `name`; raise `TypeError`/`ValueError` on a bad declaration."""
        where = f"{loss_class.__module__}.{loss_class.__qualname__}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"register_loss({name!r}) on {where}: a loss name is letters, digits, '_' or '-', "
                "starting with a letter or '_'"
            )
        if not (isinstance(loss_class, type) and issubclass(loss_class, Loss)):
            raise TypeError(f"register_loss({name!r}): {where} is not a subclass of typed_losses.Loss")
        terms = loss_class.output_terms
        problem = output_terms_problem(terms)
        if problem is not None:
            kind = ValueError if isinstance(terms, (tuple, list)) and all(type(t) is str for t in terms) else TypeError
            raise kind(f"register_loss({name!r}): output_terms of {where}: {problem}")
        params_class = params if params is not None else params_class_of(loss_class)
        if params_class is None:
            raise TypeError(
                f"register_loss({name!r}): {where} does not declare its params class; write "
                f"`class {loss_class.__name__}(Loss[MyParams])` or pass params=MyParams"
            )
        if not is_params_class(params_class):
            raise TypeError(
                f"register_loss({name!r}): params class {params_class!r} of {where} is not an attrs class; "
                "decorate it with @attrs.frozen"
            )
        if not _is_frozen(params_class):
            raise TypeError(
                f"register_loss({name!r}): params class {params_class.__name__} of {where} must be frozen; "
                "use @attrs.frozen"
            )
        spec = LossSpec(name, loss_class, params_class)
        with self._lock:
            existing = self._by_name.get(name)
            if existing is not None and not _same_definition(existing.loss_class, loss_class):
                raise ValueError(
                    f"register_loss({name!r}): the name is already taken by "
                    f"{existing.loss_class.__module__}.{existing.loss_class.__qualname__}; "
                    f"cannot register {where} under it"
                )
            self._by_name[name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove `name` (for tests and interactive sessions)."""
        with self._lock:
            self._by_name.pop(name, None)

    def _specs(self) -> dict[str, LossSpec]:
        """A snapshot of the registrations (another thread may register while the caller iterates)."""
        with self._lock:
            return dict(self._by_name)

    # -- lookup -----------------------------------------------------------------------------------------

    def get(self, name: str) -> LossSpec | None:
        """The spec registered as `name`, or `None`; loads entry points on a miss."""
        spec = self._by_name.get(name)
        if spec is None and not self._entry_points_loaded:
            self.load_entry_points()
            spec = self._by_name.get(name)
        return spec

    def __getitem__(self, name: str) -> LossSpec:
        spec = self.get(name)
        if spec is None:
            hint = self.suggest(name)
            raise KeyError(f"no loss named {name!r}" + (f"; {hint}" if hint else ""))
        return spec

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self.load_entry_points()
        return sorted(self._specs())

    def __iter__(self) -> Iterator[LossSpec]:
        self.load_entry_points()
        specs = self._specs()
        return iter([specs[n] for n in sorted(specs)])

    def __len__(self) -> int:
        return len(self.names())

    def suggest(self, name: str) -> str:
        """The hint for an unknown loss name: did-you-mean for a close match (a typo), otherwise how to load
        the module that registers it. The one place that says this: the config checker, `build_loss`,
        checkpoints and the command line all use it.
        """
        close = suggest(name, self.names(), cutoff=LOSS_NAME_CUTOFF) if isinstance(name, str) else None
        if close is not None:
            return close
        ways = ["`--plugin MODULE` on the command line"]
        if self._entry_point_group is not None:
            ways.append(f"an entry point in the group {self._entry_point_group!r}")
        ways.append("`import MODULE` before building")
        return (
            "no loss of that name is registered; if a module of yours registers it, load that module first: "
            + ", ".join(ways[:-1])
            + " or "
            + ways[-1]
        )

    def for_params(self, params_class: type[Any]) -> list[LossSpec]:
        """Every spec whose params class is exactly `params_class`."""
        self.load_entry_points()
        return [s for s in self._specs().values() if s.params_class is params_class]

    # -- plugins ----------------------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Import every module registered in the entry-point group (once).

        Returns when they have loaded: a thread that comes while another loads them waits. A lookup made by
        an entry point's own import (same thread, while loading) returns at once and sees what has
        registered so far.
        """
        if self._entry_points_loaded:
            return
        with self._load_lock:
            if self._entry_points_loaded or self._loading:
                return
            self._loading = True
            try:
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
            finally:
                self._loading = False
                self._entry_points_loaded = True


def _is_frozen(cls: type[Any]) -> bool:
    """Whether instances of the attrs class `cls` refuse every assignment (probed on a bare instance,
    through attrs' public `FrozenInstanceError`: no private attrs names)."""
    try:
        probe = object.__new__(cls)
    except Exception:
        return False
    names = [f.name for f in attrs.fields(cls)] or ["_typed_losses_probe"]
    for name in names:
        try:
            setattr(probe, name, None)
        except attrs.exceptions.FrozenInstanceError:
            continue
        except Exception:  # a missing slot, an on_setattr validator refusing None: not frozen by attrs
            return False
        return False
    return True


def _same_definition(a: type[Any], b: type[Any]) -> bool:
    """The same class, or the same class re-created by a module reload."""
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


#: The global registry that `register_loss` and `LossCollection.from_config` use.
REGISTRY = Registry()


def register_loss(name: str, *, params: type[Any] | None = None) -> Callable[[L], L]:
    """Class decorator registering a [`Loss`][typed_losses.Loss] subclass under `name`.

    The params class is the generic argument (`class MyLoss(Loss[MyParams])`); `params=` overrides it.

    Examples:
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


def load_plugin(module: str) -> ModuleType:
    """Import a user module that registers losses (`--plugin`), and return it.

    `module` is a module name (`my_package.losses`) or a path to a `.py` file (`./my_losses.py`).
    A module name is looked up on `sys.path` and in the current directory, as `python -m` does (the
    current directory is put first on `sys.path` when it is not there). A file is imported under its
    stem as module name, with its folder added to `sys.path` (as `python FILE` does), so that it can
    import its neighbours and spawned workers can import it again. Every failure (an empty or relative
    name, a missing module or file, a plugin raising while it is imported) raises `ImportError` whose
    message is one line naming the plugin.
    """
    if not isinstance(module, str) or not module.strip():
        raise ImportError(f"loss plugin {module!r}: expected a module name (my_package.losses) or a path to a .py file")
    if module.endswith(".py") or os.sep in module or (os.altsep is not None and os.altsep in module):
        return _load_plugin_file(module)
    if module.startswith("."):
        raise ImportError(
            f"loss plugin {module!r}: a relative module name cannot be imported; "
            "give the absolute name (my_package.losses) or a path to a .py file"
        )
    _put_first_on_path(os.getcwd())
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            raise ImportError(
                f"cannot import loss plugin module {module!r}: no module named {exc.name!r} "
                f"on sys.path or in the current directory ({os.getcwd()})"
            ) from exc
        raise _plugin_failed(module, exc) from exc
    except Exception as exc:
        raise _plugin_failed(module, exc) from exc


def _load_plugin_file(path_text: str) -> ModuleType:
    path = Path(path_text)
    if path.suffix != ".py":
        raise ImportError(f"loss plugin {path_text!r}: a plugin file is a .py file")
    if not path.is_file():
        raise ImportError(f"loss plugin file {path_text!r} does not exist (or is not a file)")
    path = path.resolve()
    name = path.stem
    if not name.isidentifier():
        raise ImportError(f"loss plugin file {path_text!r}: {name!r} is not a valid module name; rename the file")
    loaded = sys.modules.get(name)
    if loaded is not None:
        origin = getattr(loaded, "__file__", None)
        if origin is not None and Path(origin).resolve() == path:
            return loaded
        raise ImportError(
            f"loss plugin file {path_text!r}: a module named {name!r} is already imported"
            + (f" from {origin}" if origin else "")
            + "; rename the file"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise ImportError(f"loss plugin file {path_text!r} cannot be imported")
    loaded = importlib.util.module_from_spec(spec)
    _put_first_on_path(str(path.parent))
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, Exception):
            raise _plugin_failed(path_text, exc) from exc
        raise
    return loaded


def _put_first_on_path(folder: str) -> None:
    here = os.path.realpath(folder)
    if not any(os.path.realpath(entry or os.curdir) == here for entry in sys.path):
        sys.path.insert(0, folder)


def _plugin_failed(module: str, exc: BaseException) -> ImportError:
    """One line: which plugin, what it raised and where (the plugin's line that led to it)."""
    message = " ".join(str(exc).split()) or "(no message)"
    where = ""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<frozen") and f.filename not in (__file__, importlib.__file__)
    ]
    if frames:
        where = f" at {frames[0].filename}:{frames[0].lineno}"
    return ImportError(f"loss plugin {module!r} failed while importing: {type(exc).__name__}: {message}{where}")
