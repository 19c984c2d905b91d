"""Hydra interop: a `losses` schema for Hydra's ConfigStore, and checking a composed config.

OmegaConf cannot type a list whose entries' `params` depend on their `type` (a list of a union of
params classes is unsupported on OmegaConf 2.3 and silently unchecked on 2.4), so the schema types what
Hydra can check while it composes, and [`losses_from_hydra()`][typed_losses.hydra.losses_from_hydra] does the rest:

- [`LossEntry`][typed_losses.hydra.LossEntry] types one entry (`type`, `weight`, `name`, `params`): at composition Hydra
  rejects an unknown entry key (`parms:`) with Hydra's own error; `weight` (a number or a weight kind's
  mapping) and `params` are checked by typed_losses.
- [`losses_from_hydra()`][typed_losses.hydra.losses_from_hydra] runs typed_losses' full check on the composed `losses` value and raises
  [`LossConfigError`][typed_losses.LossConfigError] with the issues the YAML path gives (unknown loss or param with
  a did-you-mean, types, ranges, duplicate names), each naming its path in the composed config.
- [`CheckLosses`][typed_losses.hydra.CheckLosses], a Hydra callback, runs that check when a job starts (before the
  task function) and prints the problems without a Python traceback.

A complete app, and what each kind of mistake prints: `docs/guides/hydra.md`.

Hydra is imported only by [`register_configs()`][typed_losses.hydra.register_configs]; the rest needs only OmegaConf:

```python
from hydra import compose, initialize_config_dir
from typed_losses.hydra import losses_from_hydra, register_configs

register_configs()  # ConfigStore: "typed_losses", a node with a typed `losses` list
with initialize_config_dir(config_dir="/abs/conf", version_base=None):
    cfg = compose("config", overrides=["model.losses.0.params.gamma=2"])
losses = losses_from_hydra(cfg, "model.losses")  # LossCollection, or LossConfigError
```
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import Any, Protocol

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.base import Container, Node
from omegaconf.errors import OmegaConfBaseException

from typed_losses.cli_support import printable
from typed_losses.collection import LossCollection
from typed_losses.config.params import first_line
from typed_losses.config.paths import followed, node_at
from typed_losses.config.yaml import path_of
from typed_losses.errors import ConfigIssue, LossConfigError
from typed_losses.registry import REGISTRY, Registry
from typed_losses.rules import DEFAULT_WEIGHT, ENTRY_KEYS, LOSSES_KEY

__all__ = [
    "ENTRY_TYPE_NAME",
    "SCHEMA_NAME",
    "CheckLosses",
    "LossEntry",
    "LossesSchema",
    "losses_from_hydra",
    "losses_schema",
    "register_configs",
]

SCHEMA_NAME = "typed_losses"
"""The ConfigStore name [`register_configs()`][typed_losses.hydra.register_configs] uses by default."""


@dataclasses.dataclass
class LossEntry:
    """One entry of a `losses` list, as Hydra can type it: `params` is checked by typed_losses."""

    type: str = MISSING
    #: A number or a weight kind's mapping (`{type: linear, ...}`): typed `Any` (OmegaConf cannot type a
    #: union of a float and a mapping) and checked by typed_losses, with the same messages as a YAML file.
    weight: Any = DEFAULT_WEIGHT
    name: str | None = None
    params: Any = None
    #: Routes (declared input key -> key read instead); checked by typed_losses (typed `Any` so that
    #: OmegaConf does not turn a wrong value into a string first).
    inputs: Any = None


assert {f.name for f in dataclasses.fields(LossEntry)} == set(ENTRY_KEYS), "entry keys changed: update LossEntry"

ENTRY_TYPE_NAME = "LossEntry (a mapping: write {type: NAME}, not NAME)"
"""The `__name__` of [`LossEntry`][typed_losses.hydra.LossEntry]: the name OmegaConf's messages give it.

When a list entry is not a mapping, OmegaConf names the element type by its `__name__`, so MMF's bare-name
form (`- cross_entropy`) under the schema reads "str is not a subclass of LossEntry (a mapping: write
{type: NAME}, not NAME). value: cross_entropy". The class keeps its `__qualname__` (its repr, pickle).
"""
LossEntry.__name__ = ENTRY_TYPE_NAME


@dataclasses.dataclass
class LossesSchema(dict[str, Any]):
    """A config node with a `losses` list of [`LossEntry`][typed_losses.hydra.LossEntry], and any other keys (typed `Any`).

    Subclassing `dict` is how OmegaConf lets a structured node hold keys it does not declare (the
    node holding `losses` is usually a model config with other keys). OmegaConf calls this deprecated
    (omegaconf#663) but supports it on 2.3 and 2.4; [`losses_schema()`][typed_losses.hydra.losses_schema] builds the node once, without
    the warning, and Hydra composes the built node without warning again.
    """

    losses: list[LossEntry] = MISSING


def losses_schema() -> DictConfig:
    """The node [`register_configs()`][typed_losses.hydra.register_configs] stores: [`LossesSchema`][typed_losses.hydra.LossesSchema], as an OmegaConf node.

    Hydra's struct mode still applies to it after composition: an override of a key that is not there
    (`model.hiden=3`) needs Hydra's `+` prefix, as without the schema.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*subclasses `Dict`", category=UserWarning)
        node = OmegaConf.structured(LossesSchema)
    assert isinstance(node, DictConfig)
    return node


class _Store(Protocol):
    def store(self, name: str, node: Any, group: str | None = None, package: str | None = None) -> None: ...


def register_configs(
    cs: _Store | None = None, *, name: str = SCHEMA_NAME, group: str | None = None, package: str | None = None
) -> None:
    """Store [`losses_schema()`][typed_losses.hydra.losses_schema] in Hydra's ConfigStore (`cs`, default `ConfigStore.instance()`).

    Use it from a defaults list at the node holding `losses`, before `_self_`:

    ```yaml
    defaults:
      - typed_losses@model     # `group/name@package` when stored with a group
      - _self_
    ```

    Raises `ImportError` naming the missing extra when `cs` is not given and hydra-core is not
    installed.
    """
    if cs is None:
        try:
            module = importlib.import_module("hydra.core.config_store")
        except ImportError as exc:
            raise ImportError(
                "typed_losses.hydra.register_configs needs hydra-core: pip install 'typed-losses[hydra]'"
            ) from exc
        cs = module.ConfigStore.instance()
        assert cs is not None
    cs.store(name=name, node=losses_schema(), group=group, package=package)


def _strip_null_names(node: Node) -> None:
    """Remove `name: null` (the schema's default, meaning "the type") from every entry of `node`."""
    node = followed(node)
    if isinstance(node, ListConfig):
        entries = [node._get_node(i) for i in range(len(node))]
    elif isinstance(node, DictConfig):
        entries = [node._get_node(k) for k in node]
    else:
        return
    for item in entries:
        entry = followed(item) if isinstance(item, Node) else item
        if isinstance(entry, DictConfig) and "name" in entry:
            value = entry._get_node("name")
            if isinstance(value, Node) and not isinstance(value, Container) and value._is_none():
                del entry["name"]


def _plain_copy(node: Node) -> Node:
    """`node` in an unstructured copy of its whole document (interpolations still resolve there)."""
    path, root = path_of(node)
    copy = OmegaConf.create(OmegaConf.to_container(root, resolve=False))
    assert isinstance(copy, Node)
    found = node_at(copy, path)
    assert found is not None
    return found


def losses_from_hydra(
    cfg: Any, key: str | None = None, *, registry: Registry = REGISTRY, label: str = LOSSES_KEY
) -> LossCollection:
    """The [`LossCollection`][typed_losses.LossCollection] of a composed Hydra config, after the full check.

    `cfg` is the composed config with `key` the dotted path of its `losses` value
    (`"model.losses"`), or the `losses` value itself (a node of the composed config, or plain data).
    Interpolations (`${model.ce_weight}`) resolve against the whole composed config; there is no need
    to call `OmegaConf.to_container(resolve=True)` first (doing so is harmless). Problems raise
    [`LossConfigError`][typed_losses.LossConfigError]; issue paths are dotted paths in the composed config
    (`model.losses[0].params.gama`), or start with `label` for plain data. The input is not modified.
    """
    node: Any = cfg
    if key is not None:
        if not isinstance(cfg, Container):
            found = type(cfg).__name__
            raise LossConfigError([ConfigIssue(key, f"expected a composed config (OmegaConf), found {found}")])
        node = node_at(cfg, key.split("."))
        if node is None:
            raise LossConfigError([ConfigIssue(key, "no such key in the composed config")])
    try:
        if isinstance(node, Node):
            node = _plain_copy(node)
        elif isinstance(node, (list, tuple, dict)):  # plain data (e.g. to_container of a composed config)
            node = OmegaConf.create(node)
    except OmegaConfBaseException as exc:
        raise LossConfigError([ConfigIssue(key or label, f"cannot read the config: {first_line(exc)}")]) from None
    if isinstance(node, Node):
        _strip_null_names(node)
    return LossCollection.from_config(node, registry=registry, label=label)


class CheckLosses:
    """A Hydra callback that checks the composed losses when a job starts, before the task function runs.

    Register it in the primary config, with the dotted path of the `losses` value (or a list of paths):

    ```yaml
    hydra:
      callbacks:
        check_losses:
          _target_: typed_losses.hydra.CheckLosses
          key: model.losses
    ```

    With a mistake, it prints every problem to standard error (`error: PATH: message (hint)`, as
    `typed-losses validate` does) and ends the process with exit status 1: no Python traceback, and the task
    function does not start. It exits rather than raising because Hydra turns an exception raised by a
    callback into a warning and runs the task anyway. It only checks: build the collection in the task
    function with [`losses_from_hydra()`][typed_losses.hydra.losses_from_hydra]. Hydra's Compose API runs no
    callbacks. In a multirun, the first job with a broken config stops the sweep.

    Examples:
        >>> from omegaconf import OmegaConf
        >>> cfg = OmegaConf.create({"model": {"losses": [{"type": "mse"}]}})
        >>> CheckLosses("model.losses").on_job_start(cfg)  # fine: nothing printed
        >>> cfg = OmegaConf.create({"model": {"losses": [{"type": "mse"}, {"type": "mse", "wieght": 2}]}})
        >>> try:
        ...     CheckLosses(["model.losses"]).on_job_start(cfg, out=sys.stdout)
        ... except SystemExit as exit:
        ...     print("exit status", exit.code)
        error: model.losses[1]: duplicate term name 'mse' (also at model.losses[0]) (give one of them a distinct `name:`)
        error: model.losses[1].wieght: unknown key 'wieght' in a loss entry (did you mean 'weight'?)
        exit status 1
    """

    def __init__(self, key: str | Sequence[str] = "model.losses", *, registry: Registry = REGISTRY) -> None:
        self.keys: tuple[str, ...] = (key,) if isinstance(key, str) else tuple(key)
        self.registry = registry

    def on_job_start(self, config: Any, *, out: Any = None, **kwargs: Any) -> None:
        """Check the losses at every key; print the problems and exit with status 1 if there are any."""
        issues: list[ConfigIssue] = []
        for key in self.keys:
            try:
                losses_from_hydra(config, key, registry=self.registry)
            except LossConfigError as error:
                issues.extend(error.issues)
        if issues:
            stream = sys.stderr if out is None else out
            for issue in issues:
                print(printable(issue.format(severity="error")), file=stream)
            raise SystemExit(1)

    # Hydra calls every hook of a callback; the others have nothing to do.
    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        """Nothing: the check runs per job."""

    def on_run_end(self, config: Any, **kwargs: Any) -> None:
        """Nothing."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Nothing: the check runs per job."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        """Nothing."""

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        """Nothing."""
