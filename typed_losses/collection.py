"""`LossCollection`: the losses of a model as one `nn.Module` returning a [`LossOutput`][typed_losses.LossOutput]."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Never, overload

import torch
from torch import Tensor, nn

from typed_losses import checkpoint
from typed_losses.checkpoint import STATE_FORMAT
from typed_losses.config.bounds import MAX_DEPTH, check_depth, ensure_headroom
from typed_losses.config.check import CheckedTerm, check_losses, check_terms, term_spec
from typed_losses.errors import ConfigIssue, LossConfigError, LossInputError, NonFiniteLossError
from typed_losses.loss import Batch, Loss, ParamsInstance, find, output_error
from typed_losses.output import LossOutput, complex_error, contribution, describe, mean_of
from typed_losses.registry import REGISTRY, LossSpec, Registry
from typed_losses.rules import DEFAULT_WEIGHT, LOSSES_KEY, OUTPUT_SEPARATOR, RESERVED_NAMES
from typed_losses.term import Term
from typed_losses.weight_clock import WeightClock
from typed_losses.weighting import WEIGHT_KINDS, WeightForm, Weighting, WeightParams

__all__ = ["STATE_FORMAT", "LossCollection", "LossList", "MissingTargets", "build_term"]

#: What a collection does when a term's targets are absent from `sample_list`.
MissingTargets = Literal["error", "skip"]
_MISSING_TARGETS = ("error", "skip")

# What forward checks of a term's value beyond the common case (a tensor): 0 nothing; _DECLARES its loss declares
# output_terms (a tensor is refused); _SHARED its name is a prefix of another's (``a`` and ``a/b``), so an output
# key it adds may already be there (``a`` returning ``{"b": ...}``): its keys are checked against the others'.
_DECLARES = 1
_SHARED = 2
# A plan step: (term name, its fixed weight or None when 1.0 or not fixed, its Weighting module when the weight
# changes during training, the loss, what its value needs checked).
_Step = tuple[str, float | None, Weighting[Any] | None, Loss[Any], int]

_FIXED_AT_CONSTRUCTION = (
    "the weights of a collection are fixed at construction; for a weight that changes during training, "
    "configure a schedule or a learned weight (`weight: {type: linear, start: 0.0, end: 1.0, steps: 2000}`, "
    "Term(params, weight=LinearSchedule(...))) and call collection.step() once per optimizer step"
)

# skip_missing_targets() is per thread: each thread's open blocks, as {id(collection): depth}. A collection
# also counts the blocks open on any thread (under _SKIP_LOCK), so forward reads the thread-local only while
# one is open somewhere.
_SKIPPING = threading.local()
_SKIP_LOCK = threading.Lock()


def _skipping_here() -> dict[int, int]:
    """This thread's open `skip_missing_targets()` blocks: `{id(collection): depth}`."""
    try:
        blocks: dict[int, int] = _SKIPPING.blocks
    except AttributeError:
        blocks = _SKIPPING.blocks = {}
    return blocks


class LossList(nn.ModuleList):
    """The collection's losses, typed as [`Loss`][typed_losses.Loss] when indexed or iterated."""

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, idx: slice) -> LossList: ...

        @overload
        def __getitem__(self, idx: int) -> Loss[Any]: ...

        def __getitem__(self, idx: int | slice) -> Loss[Any] | LossList: ...

        def __iter__(self) -> Iterator[Loss[Any]]: ...


class _RegistryRef:
    """The registry a collection was built with; copies share it (a registry holds locks, it is not copied)
    and a pickled collection is restored with the default registry."""

    def __init__(self, registry: Registry = REGISTRY) -> None:
        self.registry = registry

    def __deepcopy__(self, memo: object) -> _RegistryRef:
        return self

    def __copy__(self) -> _RegistryRef:
        return self

    def __reduce__(self) -> tuple[type[_RegistryRef], tuple[()]]:
        return _RegistryRef, ()


def _spec_for(term: Term[Any], registry: Registry) -> LossSpec:
    spec = term_spec(term, registry)
    if isinstance(spec, LossSpec):
        return spec
    raise LossConfigError([ConfigIssue(type(term.params).__name__, spec[0], hint=spec[1])])


def build_term(term: Term[Any], registry: Registry = REGISTRY) -> tuple[str, Loss[Any]]:
    """The term name and the loss module for `term`."""
    spec = _spec_for(term, registry)
    name = term.name or spec.name
    module = spec.loss_class(term.params, name=name)
    if term.inputs:
        module.route_inputs(term.inputs)
    return name, module


class LossCollection(nn.Module):
    """Several weighted loss terms; calling it gives a [`LossOutput`][typed_losses.LossOutput].

    Build it from a `losses` config with [`from_config()`][typed_losses.LossCollection.from_config], or from Python with params instances or
    [`Term`][typed_losses.Term] values:

    ```python
    LossCollection([CrossEntropyParams(label_smoothing=0.1), Term(MSEParams(), weight=0.5)])
    ```

    `output.total` is `sum(weight * term.mean())`; with all weights 1 it is MMF's trainer total.

    Weights that change during training: an entry's `weight` may be a schedule (`linear`, `cosine`,
    `step`) or a learned weight (`uncertainty`), as `weight: {type: linear, start: 0.0, end: 1.0,
    steps: 2000}` or `Term(params, weight=LinearSchedule(...))`. Schedules read the collection's step
    counter (`step_count`, a buffer saved in `state_dict()`): call [`step()`][typed_losses.LossCollection.step] once per optimizer
    step, or [`set_step()`][typed_losses.LossCollection.set_step] to resume from a trainer's global step. Learned weights are parameters of the
    collection (put `collection.parameters()` in the optimizer). `output.weights` holds every term's
    weight at the call, and [`LossOutput.to_log()`][typed_losses.LossOutput.to_log] the values to log. The weights are fixed at
    construction otherwise: assigning `collection.weights` raises.

    Options (both off by default, and then `forward` does no extra work):

    `missing_targets="skip"` - inference without targets. A term whose required `sample_list` inputs
    (its targets: every non-optional input the loss, or any child of a `multi`, reads from
    `sample_list`) are absent or `None` is not computed: it is left out of `output.terms` and
    `output.total` and listed in `output.skipped`. With every term skipped, `total` is a zero tensor.
    The default `"error"` raises [`LossInputError`][typed_losses.LossInputError] naming the term and the key.
    (MMF instead returns no losses and warns on every batch.) Model outputs are never optional: a missing
    `model_output` key is an error in both modes. The mode given here is the collection's default; choose
    it for one call with `collection(sample_list, model_output, missing_targets="skip")`, or for the
    calls of the current thread within `with collection.skip_missing_targets(): ...` (other threads
    calling the same collection meanwhile keep their mode; under `torch.compile` use the argument).

    `check_finite=True` - after computing, raise [`NonFiniteLossError`][typed_losses.NonFiniteLossError] naming every
    NaN or infinite term (and how many elements are). It costs one host-device synchronisation per call
    (all terms are checked in a single reduction; the detailed message is built only on failure) and a
    graph break under `torch.compile`: use it to debug, or every N steps.

    Checkpoints: `state_dict()` carries the config as plain types (`{"format": 1, "losses": [...]}`
    under `_extra_state`), the step counter and the learned weights, so it loads with `torch.load(weights_only=True)` and
    [`from_state_dict()`][typed_losses.LossCollection.from_state_dict] rebuilds the collection from it alone (the options above are not saved: pass
    them again). The saved config is data (never resolved; fields added since take their defaults).
    Loading a state whose config differs from this collection's fails a strict load naming every
    difference ([`LossConfigError`][typed_losses.LossConfigError], or the error of an enclosing module's
    `load_state_dict`), and warns with `strict=False`; a state without a config (saved by MMF's
    `Losses`) loads as is. The protocol lives in `typed_losses.checkpoint`.

    Examples:
        >>> import torch
        >>> from typed_losses import LossCollection
        >>> losses = LossCollection.from_config([
        ...     {"type": "mse", "weight": 0.5},
        ...     {"type": "cos_emb_loss", "name": "cos"},
        ... ])
        >>> losses.names, losses.weights
        (('mse', 'cos'), (0.5, 1.0))
        >>> scores = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> targets = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
        >>> output = losses({"targets": targets}, {"scores": scores})
        >>> {name: round(float(value), 4) for name, value in output.terms.items()}
        {'mse': 0.5, 'cos': 0.1464}
        >>> round(float(output.total), 4)  # 0.5 * 0.5 + 0.1464
        0.3964

        From Python, without strings:

        >>> from typed_losses import Term
        >>> from typed_losses.losses import CrossEntropyParams, MSEParams
        >>> LossCollection([MSEParams(), Term(CrossEntropyParams(label_smoothing=0.1), weight=0.5, name="ce")]).names
        ('mse', 'ce')
    """

    losses: LossList

    def __init__(
        self,
        items: Sequence[ParamsInstance | Term[Any]],
        *,
        registry: Registry = REGISTRY,
        check_finite: bool = False,
        missing_targets: MissingTargets = "error",
    ) -> None:
        super().__init__()
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise TypeError(
                "LossCollection takes a sequence of params instances or Term values; "
                "use LossCollection.from_config for a config"
            )
        option_issues = _option_issues(check_finite, missing_targets)
        try:
            checked = check_terms(items, registry=registry)
        except LossConfigError as exc:
            raise LossConfigError([*exc.issues, *option_issues]) from None
        if option_issues:
            raise LossConfigError(option_issues)
        self._init_checked(checked, registry, check_finite, missing_targets)

    def _init_checked(
        self,
        checked: Sequence[CheckedTerm],
        registry: Registry,
        check_finite: bool,
        missing_targets: MissingTargets,
    ) -> None:
        modules = [t.build() for t in checked]
        # The name each term's loss was built from, and the registry knowing it: to_config writes them.
        self._types: tuple[str, ...] = tuple(t.spec.name for t in checked)
        self._registry = _RegistryRef(registry)
        self._init_terms([t.name for t in checked], [t.weight for t in checked], modules)
        self._init_options(check_finite, missing_targets)

    def _init_terms(self, names: list[str], weights: list[WeightForm], modules: list[Loss[Any]]) -> None:
        levels = _config_levels(modules)
        ensure_headroom(levels)  # a deep `multi` tree: room to copy, pickle and save it (see config.bounds)
        self.losses = LossList(modules)
        self._names: tuple[str, ...] = tuple(names)
        self._weights: tuple[WeightForm, ...] = tuple(weights)
        #: The step counter (0-dim int64): the schedules' `k`; saved in `state_dict()`.
        self.step_count: Tensor
        self.register_buffer(checkpoint.STEP_KEY, torch.zeros((), dtype=torch.int64))
        fixed = [math.nan if isinstance(w, WeightParams) else float(w) for w in weights]
        self._fixed_weights: Tensor
        self.register_buffer("_fixed_weights", torch.tensor(fixed, dtype=torch.float32), persistent=False)
        # The weights that change during training, by term index (a key of the state dict: weighting.2.log_variance)
        kinds = [(i, _weighting_of(w)) for i, w in enumerate(weights) if isinstance(w, WeightParams)]
        self.weighting = nn.ModuleDict({str(i): module for i, module in kinds})
        varying = {names[i]: module for i, module in kinds}
        self._varying: tuple[str, ...] = tuple(varying)
        self._learned = tuple((n, m) for n, m in varying.items() if m.learned)
        self._scheduled = tuple((n, m) for n, m in varying.items() if not m.learned)
        self._clock = WeightClock(self._names, self._scheduled, self._learned, self.step_count)
        # Precomputed for forward: see _Step.
        shared = _shared_names(self._names)
        self._plan: tuple[_Step, ...] = tuple(
            (
                n,
                None if isinstance(w, WeightParams) or w == DEFAULT_WEIGHT else float(w),
                varying.get(n),
                m,
                _SHARED if n in shared else _DECLARES if m.output_terms else 0,
            )
            for n, w, m in zip(self._names, self._weights, modules, strict=True)
        )
        # For missing_targets="skip": the sample_list paths each term requires.
        self._targets: tuple[tuple[tuple[str, ...], ...], ...] = tuple(_required_targets(m) for m in modules)
        if levels > MAX_DEPTH:  # built from Python: as deep as from_config(to_config()) would refuse?
            check_depth(self.to_config(), "items")

    @property
    def names(self) -> tuple[str, ...]:
        """The term names, in order."""
        return self._names

    @names.setter
    def names(self, value: Never) -> None:  # Never: type checkers reject the assignment too
        raise AttributeError("the term names of a collection are fixed at construction; build a new collection")

    @property
    def varying_weights(self) -> tuple[str, ...]:
        """The names of the terms whose weight changes during training (schedules, learned weights)."""
        return self._varying

    def weighting_of(self, name: str) -> Weighting[Any] | None:
        """The module computing the weight of term `name` (`None`: a constant weight)."""
        self._index(name)  # a KeyError naming the terms for an unknown name
        return dict(self._scheduled + self._learned).get(name)

    @property
    def weights(self) -> tuple[WeightForm, ...]:
        """The terms' weights as configured: numbers, or the params of weight kinds (`LinearSchedule(...)`).

        The weight of each term at a call is in `LossOutput.weights`. Assigning raises: weights are fixed
        at construction; a weight that changes during training is a schedule or a learned weight.
        """
        return self._weights

    @weights.setter
    def weights(self, value: Never) -> None:  # Never: type checkers reject the assignment too
        raise AttributeError(_FIXED_AT_CONSTRUCTION)

    # -- the step counter ---------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance the step counter by one: call it once per optimizer step (after `optimizer.step()`).

        Schedules read the counter (`k`, from 0); it is a tensor, so this is no host sync and, under
        `torch.compile`, no recompilation. It is saved in `state_dict()`.
        """
        self._clock.advance(self._buffers[checkpoint.STEP_KEY])  # type: ignore[arg-type]  # registered in __init__

    def set_step(self, step: int) -> None:
        """Set the step counter, e.g. to a trainer's global step when resuming without this collection's
        state (`collection.set_step(trainer.global_step)`); read it with `int(collection.step_count)`."""
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < 2**63:
            raise ValueError(f"the step is an int >= 0, found {step!r}")
        self._clock.set(self.step_count, step)

    def _apply(self, fn: Any, recurse: bool = True) -> LossCollection:
        # `.to()`, `.cuda()`, `.double()` replace the counter by a tensor of the same value: the clock follows
        before = self.step_count
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        self._clock.moved(before, self.step_count)
        return self

    def _init_options(self, check_finite: bool, missing_targets: MissingTargets) -> None:
        self.check_finite = check_finite
        self.missing_targets = missing_targets
        self._skip_blocks = 0  # skip_missing_targets() blocks open on any thread

    @property
    def check_finite(self) -> bool:
        """Whether `forward` raises [`NonFiniteLossError`][typed_losses.NonFiniteLossError] for NaN/inf terms (one sync)."""
        return self._check_finite

    @check_finite.setter
    def check_finite(self, value: bool) -> None:
        issues = _option_issues(value, "error")
        if issues:
            raise LossConfigError(issues)
        self._check_finite: bool = value

    @property
    def missing_targets(self) -> MissingTargets:
        """`"error"` (default) or `"skip"`: what to do when a term's targets are absent.

        Reads the mode of calls from this thread (`"skip"` inside [`skip_missing_targets()`][typed_losses.LossCollection.skip_missing_targets]); setting it
        sets the default of every thread.
        """
        return "skip" if self._skips_here() else "error"

    @missing_targets.setter
    def missing_targets(self, value: MissingTargets) -> None:
        self._skip_missing: bool = _skips(value)

    def _skips_here(self) -> bool:
        """Whether a call from this thread without `missing_targets=` skips terms without targets."""
        return self._skip_missing or (self._skip_blocks > 0 and id(self) in _skipping_here())

    @contextlib.contextmanager
    def skip_missing_targets(self) -> Iterator[LossCollection]:
        """Within the block, this thread's calls skip terms whose targets are absent (`missing_targets="skip"`).

        Other threads calling the same collection meanwhile keep their mode; blocks nest.
        """
        blocks = _skipping_here()
        key = id(self)
        with _SKIP_LOCK:
            self._skip_blocks += 1
        blocks[key] = blocks.get(key, 0) + 1
        try:
            yield self
        finally:
            if blocks[key] == 1:
                del blocks[key]
            else:
                blocks[key] -= 1
            with _SKIP_LOCK:
                self._skip_blocks -= 1

    @classmethod
    def from_config(
        cls,
        cfg: object,
        *,
        registry: Registry = REGISTRY,
        label: str = LOSSES_KEY,
        check_finite: bool = False,
        missing_targets: MissingTargets = "error",
    ) -> LossCollection:
        """Build from the value of a `losses` key (a list, a mapping, plain data or OmegaConf).

        Every problem is reported at once as a [`LossConfigError`][typed_losses.LossConfigError], with file positions when the
        config was loaded with [`load_yaml()`][typed_losses.load_yaml]. The options are the constructor's.
        """
        option_issues = _option_issues(check_finite, missing_targets)
        if option_issues:
            raise LossConfigError(option_issues)
        checked = check_losses(cfg, registry=registry, label=label)
        return cls._from_checked(checked, registry, check_finite, missing_targets)

    @classmethod
    def _from_checked(
        cls,
        checked: Sequence[CheckedTerm],
        registry: Registry,
        check_finite: bool,
        missing_targets: MissingTargets,
    ) -> LossCollection:
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._init_checked(checked, registry, check_finite, missing_targets)
        return self

    @classmethod
    def from_state_dict(
        cls,
        state_dict: Mapping[str, Any],
        *,
        prefix: str = "",
        registry: Registry = REGISTRY,
        strict: bool = True,
        check_finite: bool = False,
        missing_targets: MissingTargets = "error",
    ) -> LossCollection:
        """Rebuild a collection from its `state_dict()` alone (config and state).

        `prefix` selects a collection saved inside a larger module (`"loss_fn."`). The saved config is
        data: its strings are taken literally (never resolved), and params fields it does not mention (saved
        by an older version) take their defaults. Raises [`LossConfigError`][typed_losses.LossConfigError] when the state holds no
        collection config or the config is invalid. See `typed_losses.checkpoint`.
        """
        return checkpoint.from_state_dict(
            cls,
            state_dict,
            prefix=prefix,
            registry=registry,
            strict=strict,
            check_finite=check_finite,
            missing_targets=missing_targets,
        )

    # -- checkpoints --------------------------------------------------------------------------------------

    def get_extra_state(self) -> dict[str, Any]:
        """The config as plain types, stored in `state_dict()` (loads with `weights_only=True`)."""
        return checkpoint.extra_state(self)

    def set_extra_state(self, state: Any) -> None:
        """Check that a loaded state was saved from a collection with this config.

        A different config (compared after both are normalised by the checker) fails a strict
        `load_state_dict`, of the collection or of a module holding it, naming every difference, and
        warns in a `strict=False` one (e.g. fine-tuning with other losses than in pretraining).
        """
        checkpoint.set_extra_state(self, state)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """`nn.Module.load_state_dict`; a config difference raises [`LossConfigError`][typed_losses.LossConfigError] when `strict`
        and warns otherwise (this call's own `strict`: see `typed_losses.checkpoint`)."""
        with checkpoint.loading_itself(self, strict):
            return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        def load() -> None:
            super(LossCollection, self)._load_from_state_dict(
                state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
            )

        checkpoint.load_from_state_dict(self, load, prefix, missing_keys, unexpected_keys, error_msgs)
        # The clock's Python copy of the counter, read where that costs no host sync (the buffer on the CPU, or
        # the loaded value when it is there); otherwise the counter's new version drops the copy.
        step = self.step_count
        value = step if step.device.type == "cpu" else state_dict.get(prefix + checkpoint.STEP_KEY)
        if isinstance(value, Tensor) and value.device.type == "cpu" and value.shape == () and not error_msgs:
            self._clock.loaded(step, value)

    # -- introspection ------------------------------------------------------------------------------------

    @property
    def terms(self) -> tuple[Term[Any], ...]:
        """The collection's terms (params, weight, name, loss class), in order."""
        return tuple(
            Term(m.params, weight=w, name=n, loss=type(m), inputs=m.routes)
            for n, w, m in zip(self._names, self._weights, self.losses, strict=True)
        )

    def __getitem__(self, name: str) -> Loss[Any]:
        return self.losses[self._index(name)]

    def _index(self, name: str) -> int:
        try:
            return self._names.index(name)
        except ValueError:
            raise KeyError(f"no term named {name!r}; terms: {', '.join(self._names)}") from None

    def __len__(self) -> int:
        return len(self.names)

    def to_config(self) -> list[dict[str, Any]]:
        """The collection as a plain `losses` list; `from_config` of it rebuilds an equal collection."""
        return [
            checkpoint.config_entry(loss_type, name, weight, module.params, module.routes)
            for loss_type, name, weight, module in zip(
                self._types, self._names, self._weights, self.losses, strict=True
            )
        ]

    def extra_repr(self) -> str:
        return ", ".join(
            f"{n}: {w!r}" if isinstance(w, WeightParams) else f"{n}: x{w:g}"
            for n, w in zip(self._names, self._weights, strict=True)
        )

    # -- forward ------------------------------------------------------------------------------------------

    def forward(
        self, sample_list: Batch, model_output: Batch, missing_targets: MissingTargets | None = None
    ) -> LossOutput:
        """The terms and their weighted total; `missing_targets` overrides the mode for this call only."""
        plan = self._plan
        skipped: tuple[str, ...] = ()
        # the collection's mode, or this thread's skip_missing_targets() block
        if self._skips_here() if missing_targets is None else _skips(missing_targets):
            plan, skipped = self._present(sample_list, model_output)
        buffers = self._buffers  # not nn.Module.__getattr__: this runs at every call
        step, fixed = buffers[checkpoint.STEP_KEY], buffers["_fixed_weights"]
        assert step is not None and fixed is not None
        weights, numbers = self._clock.weights(step, fixed)
        terms: dict[str, Tensor] = {}
        owners: dict[str, str] = {}  # output key -> term, kept for the terms whose keys may collide (_SHARED)
        total: Tensor | None = None
        for name, fixed_weight, varying, loss, check in plan:
            value = loss(sample_list, model_output)
            part: Tensor
            if not check and isinstance(value, Tensor):  # the common case, inline; the rest: contribution()
                terms[name] = value
                part = value if value.dim() == 0 else mean_of(value, loss)
            else:
                summed = (
                    _shared_contribution(value, name, terms, loss, owners)
                    if check == _SHARED
                    else contribution(value, name, terms, loss=loss)
                )
                if summed is None:
                    continue
                part = summed
            if varying is not None and name not in numbers:
                # a weight tensor (a learned weight, or a schedule computed in the graph) and maybe a regulariser
                now = weights[name]
                total = part * now if total is None else torch.addcmul(total, part, now)
                extra = varying.regularizer()
                if extra is not None:
                    total = total + extra
                continue
            # a fixed weight, or a schedule's value at this step known in Python: a Python float (None: 1.0)
            weight = fixed_weight if varying is None else numbers[name]
            if total is None:
                total = part if weight is None else part * weight
            elif weight is None:
                total = total + part
            elif total.is_floating_point() and part.is_floating_point():
                # one fused op (and no tensor wrapping the Python scalar) for total + weight * part
                total = torch.add(total, part, alpha=weight)
            else:  # integer or bool terms: alpha must be integral there, `*` promotes to float
                total = total + part * weight
        if total is None:
            total = torch.zeros((), device=_device_of(model_output))
        elif total.is_complex():  # a complex 0-dim term (one check per step, not per term)
            _raise_complex(plan, terms)
        output = LossOutput(terms, total, skipped, weights, self._varying)
        if self._check_finite:
            _raise_if_not_finite(output)
        return output

    def _present(self, sample_list: Batch, model_output: Batch) -> tuple[tuple[_Step, ...], tuple[str, ...]]:
        """The plan's entries whose targets are all in `sample_list`, and the names of the others."""
        for label, batch in (("sample_list", sample_list), ("model_output", model_output)):
            if not isinstance(batch, Mapping):  # else every term would be skipped, silently
                raise LossInputError(
                    f"missing_targets='skip' needs {label} to be a mapping of names to values, found {describe(batch)}",
                    term="",
                    key="",
                    source=label,
                )
        kept = []
        skipped = []
        for entry, targets in zip(self._plan, self._targets, strict=True):
            if all(find(sample_list, path) is not None for path in targets):
                kept.append(entry)
            else:
                skipped.append(entry[0])
        return tuple(kept), tuple(skipped)

    if TYPE_CHECKING:

        def __call__(
            self, sample_list: Batch, model_output: Batch, missing_targets: MissingTargets | None = None
        ) -> LossOutput: ...


# -- helpers ------------------------------------------------------------------------------------------------


def _weighting_of(weight: WeightParams) -> Weighting[Any]:
    """The module of a weight kind's params (checked: the kind is registered)."""
    spec = WEIGHT_KINDS.for_params(type(weight))
    if spec is None:  # pragma: no cover - the checker refused it
        raise LossConfigError([ConfigIssue("weight", f"{type(weight).__name__} is not a registered weight kind")])
    return spec.weight_class(weight)


def _option_issues(check_finite: object, missing_targets: object) -> list[ConfigIssue]:
    issues = []
    if not isinstance(check_finite, bool):
        issues.append(ConfigIssue("check_finite", f"expected True or False, found {check_finite!r}"))
    if missing_targets not in _MISSING_TARGETS:
        issues.append(ConfigIssue("missing_targets", f"expected 'error' or 'skip', found {missing_targets!r}"))
    return issues


def _skips(missing_targets: object) -> bool:
    """Whether the mode `missing_targets` skips terms without targets (a [`LossConfigError`][typed_losses.LossConfigError] if unknown)."""
    if isinstance(missing_targets, str) and missing_targets in _MISSING_TARGETS:
        return missing_targets == "skip"
    raise LossConfigError(_option_issues(False, missing_targets))


def _config_levels(modules: Sequence[Loss[Any]]) -> int:
    """An upper bound on how deep `to_config()` of these modules nests: 2 levels for each loss nested in
    another (its entry and the list holding it), 4 for the list, the innermost entry, its params and a list
    param (counted without recursion)."""
    deepest = 0
    stack: list[tuple[nn.Module, int]] = [(m, 1) for m in modules]
    while stack:
        module, losses = stack.pop()
        deepest = max(deepest, losses)
        stack.extend((child, losses + isinstance(child, Loss)) for child in module.children())
    return 2 * deepest + 2


def _required_targets(module: Loss[Any]) -> tuple[tuple[str, ...], ...]:
    """The `sample_list` paths `module` (and every loss inside it) requires, without duplicates."""
    paths: dict[tuple[str, ...], None] = {}
    for sub in module.modules():
        if isinstance(sub, Loss):
            for spec in sub.routed_inputs():
                if spec.source == "sample_list" and not spec.optional:
                    paths[spec._path] = None
    return tuple(paths)


def _shared_names(names: Sequence[str]) -> set[str]:
    """The names that another name extends by `/...` (`a` and `a/b`), and those names: only their output
    keys can meet (`a` returning `{"b/c": ...}` and `a/b` returning `{"c": ...}`). Linear in the text."""
    present = set(names)
    shared: set[str] = set()
    for name in names:
        at = name.find(OUTPUT_SEPARATOR)
        while at != -1:
            if name[:at] in present:
                shared.update((name, name[:at]))
            at = name.find(OUTPUT_SEPARATOR, at + 1)
    return shared


def _shared_contribution(
    value: object, name: str, terms: dict[str, Tensor], loss: Loss[Any], owners: dict[str, str]
) -> Tensor | None:
    """`contribution()` for a term whose output keys may meet another's: a key already in `terms` is a
    [`LossOutputError`][typed_losses.LossOutputError] naming both terms (`owners`: which term added each such key)."""
    mine: dict[str, Tensor] = {}
    part = contribution(value, name, mine, loss=loss)  # type: ignore[arg-type]  # contribution checks value
    for key in mine:
        if key in owners:
            raise output_error(
                loss,
                f"adds the key {key!r} to output.terms, which term {owners[key]!r} added already; "
                "give one of them a distinct name",
            )
    terms.update(mine)
    owners.update(dict.fromkeys(mine, name))
    return part


def _raise_complex(plan: Sequence[_Step], terms: Mapping[str, Tensor]) -> None:
    """Raise the error for the first complex term of `terms` (the total is complex), naming its loss."""
    for key, value in terms.items():
        if value.is_complex():
            for name, _, _, loss, _ in plan:
                if key == name or key.startswith(name + OUTPUT_SEPARATOR):
                    child = None if key == name else key[len(name) + 1 :]
                    raise complex_error(loss, value, child)
    raise AssertionError("a complex total without a complex term")  # pragma: no cover


def _device_of(batch: object) -> torch.device | None:
    """The device of the first tensor in `batch` (`None`: none there, or `batch` is not a mapping)."""
    if not isinstance(batch, Mapping):
        return None
    for value in batch.values():
        if isinstance(value, Tensor):
            return value.device
    return None


def _raise_if_not_finite(output: LossOutput) -> None:
    values = [*output.terms.values(), output.total]
    # One reduction, one host sync; the details are computed only on failure.
    if bool(torch.stack([torch.isfinite(v.detach()).all() for v in values]).all()):
        return
    names: list[str] = []
    details: list[str] = []
    for name, value in output.terms.items():
        problem = _non_finite(value.detach())
        if problem:
            names.append(name)
            details.append(f"{name!r} {problem}")
    if not names:
        names.append(RESERVED_NAMES[0])
        details.append(f"the total {_non_finite(output.total.detach())} (every term is finite: overflow?)")
    raise NonFiniteLossError(names, details)


def _non_finite(value: Tensor) -> str:
    """`"is nan"`, `"has 2 of 6 elements nan, 1 inf"`, or `""` when finite."""
    nan = int(torch.isnan(value).sum())
    inf = int(torch.isinf(value).sum())
    if not nan and not inf:
        return ""
    if value.numel() == 1:
        return "is nan" if nan else f"is {float(value.reshape(())):g}"
    parts = [f"{count} {kind}" for count, kind in ((nan, "nan"), (inf, "inf")) if count]
    return f"has {', '.join(parts)} of {value.numel()} elements"
