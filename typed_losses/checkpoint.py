"""Checkpoints of a [`LossCollection`][typed_losses.LossCollection]: its config travels in `state_dict()` as data.

`state_dict()` holds `{"format": 1, "losses": [...]}` under `_extra_state`: the collection's config as
plain types, so a checkpoint loads with `torch.load(weights_only=True)` and `from_state_dict()`
rebuilds the collection from it alone. The saved config is data, not YAML: its strings are taken literally
(`${oc.env:SECRET}` stays that text, it is never resolved), and it is read through the same checker as
any config, so a state saved before a params field existed loads with that field's default.

Loading a state whose config differs from the collection's (compared after both are normalised by the
checker) fails a strict load, listing the differences (a [`LossConfigError`][typed_losses.LossConfigError] when the
collection itself is loaded, the error of the enclosing module's `load_state_dict` when it is part of a
larger model) and warns in a `strict=False` one.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any

import attrs
from torch import nn

from typed_losses.config.check import check_losses
from typed_losses.config.convert import config_params, weight_entry
from typed_losses.config.diff import differences
from typed_losses.config.source import literal_data
from typed_losses.errors import ConfigIssue, LossConfigError
from typed_losses.registry import REGISTRY, Registry
from typed_losses.rules import DEFAULT_WEIGHT, INPUTS_KEY, describe_value
from typed_losses.weighting import WeightForm

if TYPE_CHECKING:
    from typed_losses.collection import LossCollection, MissingTargets

__all__ = [
    "EXTRA_STATE",
    "STATE_FORMAT",
    "config_entry",
    "config_of_state",
    "extra_state",
    "from_state_dict",
    "literal_data",
    "normalised_config",
]

#: Version of the `{"format": ..., "losses": ...}` extra state a collection keeps in its `state_dict`.
STATE_FORMAT = 1
EXTRA_STATE = "_extra_state"
#: The state-dict key of the step counter (`LossCollection.step_count`).
STEP_KEY = "step_count"
# Per-load markers kept in the collection's __dict__ while a state dict is loaded.
_LOAD_ISSUES = "_typed_losses_load_issues"
_SKIP_CONFIG_CHECK = "_typed_losses_skip_config_check"
# The `strict` of the collection's own load_state_dict call, while it runs.
_ROOT_STRICT = "_typed_losses_root_strict"


def config_entry(
    loss_type: str,
    name: str,
    weight: WeightForm,
    params: attrs.AttrsInstance,
    inputs: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One entry of a plain `losses` list, as `to_config()` writes it (name, weight and input routes only
    when not the defaults)."""
    entry: dict[str, Any] = {"type": loss_type}
    if name != loss_type:
        entry["name"] = name
    if weight != DEFAULT_WEIGHT:
        entry["weight"] = weight_entry(weight)
    entry["params"] = config_params(params)
    if inputs:
        entry[INPUTS_KEY] = dict(inputs)
    return entry


def extra_state(collection: LossCollection) -> dict[str, Any]:
    """What `state_dict()` stores under `_extra_state`: the format and the config as plain types."""
    return {"format": STATE_FORMAT, "losses": collection.to_config()}


def normalised_config(
    losses: Any, *, registry: Registry = REGISTRY, label: str = f"{EXTRA_STATE}.losses"
) -> list[dict[str, Any]]:
    """A saved `losses` list as `to_config()` would write it today: checked as data (nothing is
    resolved), with the defaults of params fields it does not mention. Raises LossConfigError."""
    checked = check_losses(literal_data(losses), registry=registry, label=label)
    return [config_entry(t.spec.name, t.name, t.weight, t.params, t.inputs) for t in checked]


def config_of_state(state: Any, where: str) -> list[Any]:
    """The `losses` list of a collection's extra state, checked for shape and format."""
    if not isinstance(state, Mapping) or "losses" not in state or "format" not in state:
        raise LossConfigError(
            [
                ConfigIssue(
                    where, f"expected {{'format': {STATE_FORMAT}, 'losses': [...]}}, found {type(state).__name__}"
                )
            ]
        )
    version = state["format"]
    if type(version) is not int or version != STATE_FORMAT:  # not True, 1.0 or a tensor
        shown = repr(version) if type(version) is int else describe_value(version)
        raise LossConfigError(
            [
                ConfigIssue(
                    f"{where}.format",
                    f"unsupported state format {shown}; this version reads format {STATE_FORMAT}",
                    hint="upgrade typed_losses",
                )
            ]
        )
    losses = state["losses"]
    if not isinstance(losses, list):
        raise LossConfigError([ConfigIssue(f"{where}.losses", f"expected a list, found {type(losses).__name__}")])
    return losses


def from_state_dict(
    cls: type[LossCollection],
    state_dict: Mapping[str, Any],
    *,
    prefix: str,
    registry: Registry,
    strict: bool,
    check_finite: bool,
    missing_targets: MissingTargets,
) -> LossCollection:
    """See [`LossCollection.from_state_dict()`][typed_losses.LossCollection.from_state_dict]."""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, found {describe_value(prefix)}")
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False, found {describe_value(strict)}")
    key = prefix + EXTRA_STATE
    if not isinstance(state_dict, Mapping):
        raise LossConfigError(
            [ConfigIssue("state_dict", f"expected a state dict (a mapping), found {type(state_dict).__name__}")]
        )
    odd = [k for k in state_dict if not isinstance(k, str)]
    if odd:
        shown = ", ".join(describe_value(k) for k in odd[:3]) + (", ..." if len(odd) > 3 else "")
        raise LossConfigError([ConfigIssue("state_dict", f"keys of a state dict are strings, found {shown}")])
    if key not in state_dict:
        raise LossConfigError(
            [
                ConfigIssue(
                    key,
                    "the state has no loss config: it was not saved from a LossCollection",
                    hint="check `prefix`" if prefix or any(k.endswith(EXTRA_STATE) for k in state_dict) else None,
                )
            ]
        )
    losses = config_of_state(state_dict[key], key)
    collection = cls.from_config(
        literal_data(losses),
        registry=registry,
        label=f"{key}.losses",
        check_finite=check_finite,
        missing_targets=missing_targets,
    )
    own = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    # The collection was just built from this very config: only the buffers remain to be loaded.
    collection.__dict__[_SKIP_CONFIG_CHECK] = True
    try:
        collection.load_state_dict(own, strict=strict)
    finally:
        del collection.__dict__[_SKIP_CONFIG_CHECK]
    return collection


def set_extra_state(collection: LossCollection, state: Any) -> None:
    """Check that a loaded state was saved from a collection with this config (see the module docstring).

    Loaded by torch's `load_state_dict` (of the collection or of a module holding it), the differences
    are handed to `load_from_state_dict()`, which knows the prefix and the strictness; called
    directly, a difference raises [`LossConfigError`][typed_losses.LossConfigError].
    """
    if collection.__dict__.get(_SKIP_CONFIG_CHECK):
        return
    issues = _differences(collection, config_of_state(state, EXTRA_STATE))
    if not issues:
        return
    if _LOAD_ISSUES in collection.__dict__:  # inside load_from_state_dict, which knows more
        collection.__dict__[_LOAD_ISSUES] = issues
        return
    raise LossConfigError(_with_hints(issues, ""))


_REBUILD_HINT = "rebuild it with LossCollection.from_state_dict(state_dict{prefix})"


def _with_hints(issues: list[ConfigIssue], prefix: str) -> list[ConfigIssue]:
    """`issues` under `prefix`; a difference says how to rebuild the collection from the state instead."""
    rebuild = _REBUILD_HINT.format(prefix=f", prefix={prefix!r}" if prefix else "")
    return [attrs.evolve(i, path=prefix + i.path, hint=rebuild if i.hint is _REBUILD_HINT else i.hint) for i in issues]


def _differences(collection: LossCollection, saved: list[Any]) -> list[ConfigIssue]:
    mine = collection.to_config()
    if not differences(mine, saved, limit=1):
        return []
    label = f"{EXTRA_STATE}.losses"
    registry = collection._registry.registry
    try:
        saved = normalised_config(saved, registry=registry, label=label)
    except LossConfigError as exc:  # not even a valid config here: that is the difference
        return list(exc.issues)
    # Normalised too: e.g. nested terms built from Python have no names until the checker gives them theirs.
    # Loss classes given in Python and not registered fail here: they are compared as written.
    with contextlib.suppress(LossConfigError):
        mine = normalised_config(mine, registry=registry)
    return [
        ConfigIssue(d.path, f"this collection has {d.first}, the loaded state has {d.second}", hint=_REBUILD_HINT)
        for d in differences(mine, saved, label)
    ]


@contextlib.contextmanager
def loading_itself(collection: LossCollection, strict: bool) -> Iterator[None]:
    """Within the block, `collection` is loaded by its own `load_state_dict` with this `strict`."""
    collection.__dict__[_ROOT_STRICT] = bool(strict)
    try:
        yield
    finally:
        collection.__dict__.pop(_ROOT_STRICT, None)


def load_from_state_dict(
    collection: LossCollection,
    load: Any,
    prefix: str,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """Run torch's `_load_from_state_dict` (`load`) for `collection` and act on a config mismatch.

    torch passes `strict=True` to every module, whatever the caller asked. Loaded by its own
    `load_state_dict` (`loading_itself()`), the collection knows the caller's choice; inside a larger
    module it is read from the frame of the enclosing `nn.Module.load_state_dict` call (torch offers a
    module no other way to add its own lines to that call's strict error).
    """
    collection.__dict__[_LOAD_ISSUES] = []
    try:
        load()
        issues: list[ConfigIssue] = collection.__dict__[_LOAD_ISSUES]
    finally:
        del collection.__dict__[_LOAD_ISSUES]
    key = prefix + EXTRA_STATE
    # A state saved without the config (MMF's ``Losses``, a plain module) has nothing to check against.
    if key in missing_keys:
        missing_keys.remove(key)
    # A state without a step counter (saved by typed_losses 0.1, or by MMF) loads into a collection whose weights
    # are all constant: the counter is read by nothing there. With schedules it is missing, as torch says.
    step_key = prefix + STEP_KEY
    if step_key in missing_keys and not collection.varying_weights:
        missing_keys.remove(step_key)
    if not issues:
        return
    if _ROOT_STRICT in collection.__dict__:
        strict, root = collection.__dict__[_ROOT_STRICT], True
    else:
        strict, root = _load_call(collection)
    issues = _with_hints(issues, prefix)
    if strict and root:
        raise LossConfigError(issues)
    if strict:  # part of a larger module: its load_state_dict raises, with every difference named
        error_msgs.extend(issue.format() for issue in issues)
        return
    warnings.warn(
        "loading the state of a LossCollection saved with another config:\n"
        + "\n".join(issue.format() for issue in issues),
        UserWarning,
        # the caller of LossCollection.load_state_dict; inside a larger module, its nn.Module.load_state_dict
        stacklevel=6 if root else 4,
    )
    if strict is None or not root:
        unexpected_keys.append(key)


def _load_call(collection: LossCollection) -> tuple[bool | None, bool]:
    """The `strict` argument of the `nn.Module.load_state_dict` call running now (`None` if none is
    found, e.g. a distributed checkpoint loader), and whether it loads `collection` itself."""
    code = nn.Module.load_state_dict.__code__
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code is code:
            strict = frame.f_locals.get("strict")
            return (bool(strict), frame.f_locals.get("self") is collection)
        frame = frame.f_back
    return None, False
