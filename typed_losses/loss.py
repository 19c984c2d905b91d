"""`Loss[P]`: the typed `nn.Module` base of every loss, and declarations of the inputs it reads.

A loss is a thin shell: it declares its params class as the generic argument, declares the keys it reads
from `sample_list` and `model_output` as [`Input`][typed_losses.Input] values (so errors and docs can name them), and
calls a pure function for the math:

```python
@attrs.frozen
class FocalParams:
    gamma: float = attrs.field(default=2.0, validator=attrs.validators.ge(0), metadata=doc("focusing"))

SCORES = model_input("scores", ranks=(2,), dtype="float", doc="logits, B x C")
TARGETS = sample_input("targets", ranks=(1,), dtype="integer", doc="class indices, B")

@register_loss("focal")
class FocalLoss(Loss[FocalParams]):
    inputs = (SCORES, TARGETS)

    def forward(self, sample_list, model_output):
        scores = self.read(SCORES, sample_list, model_output)
        targets = self.read(TARGETS, sample_list, model_output)
        return focal_loss(scores, targets, gamma=self.params.gamma)
```
"""

from __future__ import annotations

import operator
import types
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, NoReturn, Protocol, TypeGuard, TypeVar

import attrs
import torch
from torch import Tensor, nn

from typed_losses.errors import (
    LossInputError,
    LossOutputError,
    LossShapeError,
    _rebuild_input_error,
    _rebuild_output_error,
)

__all__ = [
    "Batch",
    "Input",
    "Loss",
    "LossValue",
    "P",
    "ParamsInstance",
    "doc",
    "model_input",
    "sample_input",
    "shape_of",
]

#: What `forward` receives: MMF's `SampleList` or any string-keyed mapping.
Batch = Mapping[str, Any]
#: What `forward` returns: one term, or several named terms.
LossValue = Tensor | Mapping[str, Tensor]

#: `MYPY` is always true for mypy (like `TYPE_CHECKING`) and false for every other checker and at run time.
MYPY = False
if MYPY:

    class ParamsInstance(attrs.AttrsInstance, Protocol):  # pyright: ignore[reportRedeclaration]
        """An instance of an attrs class: what params are (mypy's attrs plugin gives them `__attrs_attrs__`)."""

else:

    class ParamsInstance(Protocol):
        """An instance of an attrs class: what params are.

        `attrs.AttrsInstance` is a real protocol only for mypy; attrs' stubs make it empty (anything matches)
        for pyright and Pylance. Those see an attrs class as a dataclass (`dataclass_transform`) with
        `__dataclass_fields__`, so this protocol, which mypy reads as `AttrsInstance` (branch above), lets
        both checkers reject a string, a dict or a loss class where params are expected.
        """

        __dataclass_fields__: ClassVar[dict[str, Any]]


#: The params type of a loss: an attrs class (`Loss[CrossEntropyParams]`).
P = TypeVar("P", bound=ParamsInstance)
#: What a particular loss's `forward` returns (for typing `loss(...)` as precisely).
R_co = TypeVar("R_co", bound=LossValue, covariant=True)


class _Forward(Protocol[R_co]):
    def forward(self, sample_list: Batch, model_output: Batch) -> R_co: ...


Source = Literal["sample_list", "model_output"]
DType = Literal["float", "integer", "bool", "any"]
_DTYPE_CODES = {"any": 0, "float": 1, "integer": 2, "bool": 3}


def doc(text: str, **extra: object) -> dict[str, object]:
    """Field metadata carrying a one-line description, for `attrs.field(metadata=doc("..."))`."""
    return {"doc": text, **extra}


@attrs.frozen
class Input:
    """One value a loss reads: `sample_list[key]` or `model_output[key]`.

    `key` may be dotted (`info.attention_supervision`) to read nested mappings. `ranks` lists the
    accepted tensor ranks (empty: any), `dtype` the accepted kind of dtype. `tensor=False` declares a
    value that is not a tensor (e.g. a list of attention maps): it is looked up but not checked.
    """

    key: str
    source: Source = attrs.field(validator=attrs.validators.in_(("sample_list", "model_output")))
    ranks: tuple[int, ...] = ()
    dtype: DType = attrs.field(default="any", validator=attrs.validators.in_(tuple(_DTYPE_CODES)))
    optional: bool = False
    tensor: bool = True
    doc: str = ""
    #: The declared key this input stands for when an entry's `inputs:` routed it here ("" when declared).
    routed_from: str = attrs.field(default="", kw_only=True)
    # Precomputed for Loss.read, which runs every step: the key's parts, whether it reads sample_list,
    # whether the key has one part, and the dtype check as a code (0 any, 1 float, 2 integer, 3 bool; an
    # unknown dtype fails its validator right after). Factories taking self: both mypy and pyright read them.
    _path: tuple[str, ...] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(lambda self: tuple(self.key.split(".")), takes_self=True),
    )
    _from_sample: bool = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(lambda self: self.source == "sample_list", takes_self=True),
    )
    _flat: bool = attrs.field(
        init=False, repr=False, eq=False, default=attrs.Factory(lambda self: len(self._path) == 1, takes_self=True)
    )
    _dtype_code: int = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(lambda self: _DTYPE_CODES.get(self.dtype, 0), takes_self=True),
    )

    def accepts(self, value: Tensor) -> bool:
        """Whether the tensor `value` has an accepted rank and dtype (the fast check of every read)."""
        if self.ranks and value.dim() not in self.ranks:
            return False
        code = self._dtype_code
        if code == 0:
            return True
        if code == 1:
            return value.is_floating_point()
        if code == 2:
            return not (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool)
        return value.dtype == torch.bool

    def describe(self) -> str:
        """A short human description, e.g. `model_output["scores"]: float tensor of rank 2`."""
        parts = []
        if self.tensor:
            kind = "tensor" if self.dtype == "any" else f"{self.dtype} tensor"
            if self.ranks:
                kind += " of rank " + " or ".join(str(r) for r in self.ranks)
            parts.append(kind)
        if self.optional:
            parts.append("optional")
        return f"{self.access}: {', '.join(parts) or 'any value'}"

    @property
    def access(self) -> str:
        """How the value is read, e.g. `model_output['heads']['depth']`."""
        return self.source + "".join(f"[{k!r}]" for k in self._path)

    @property
    def route_text(self) -> str:
        """`routed from input 'scores'` for a routed input, `""` for a declared one (for messages)."""
        return f"routed from input {self.routed_from!r}" if self.routed_from else ""

    def routed_to(self, key: str) -> Input:
        """This input read from `key` (same source, same checks) instead of its declared key."""
        return attrs.evolve(self, key=key, routed_from=self.routed_from or self.key)


def sample_input(
    key: str,
    *,
    ranks: tuple[int, ...] = (),
    dtype: DType = "any",
    optional: bool = False,
    tensor: bool = True,
    doc: str = "",
) -> Input:
    """Declare a value read from `sample_list`."""
    return Input(key, "sample_list", ranks, dtype, optional, tensor, doc)


def model_input(
    key: str,
    *,
    ranks: tuple[int, ...] = (),
    dtype: DType = "any",
    optional: bool = False,
    tensor: bool = True,
    doc: str = "",
) -> Input:
    """Declare a value read from `model_output`."""
    return Input(key, "model_output", ranks, dtype, optional, tensor, doc)


def _keys_of(mapping: object) -> list[str]:
    if isinstance(mapping, Mapping):
        return [str(k) for k in mapping]
    return []


# -- errors raised while torch.compile traces a loss -------------------------------------------------------
#
# Dynamo cannot build a user exception inside a traced frame (``LossInputError.__init__`` calls
# ``super().__init__``), and with ``fullgraph=True`` any exception leaving the traced frame becomes
# ``torch._dynamo.exc.Unsupported``. So while compiling, the error is built and raised by real Python code
# that Dynamo runs at trace time (``_raise_while_compiling`` is marked as a constant-result function, which is
# what ``torch.compiler.assume_constant_result`` does, without importing Dynamo at import time). Its class
# subclasses the user-facing error *and* Dynamo's ``TorchRuntimeError``, which Dynamo re-raises unchanged:
# the caller of the compiled module gets a ``LossInputError`` / ``LossShapeError`` with the eager message and
# attributes. Nothing of this runs outside compilation, and the successful graph is unaffected.


@cache
def _compiling_error_class(kind: str) -> type[LossInputError]:
    from traceback import StackSummary

    from torch._dynamo.exc import TorchRuntimeError  # imported only once Dynamo is tracing

    base: type[LossInputError] = LossShapeError if kind == "shape" else LossInputError

    class _RaisedWhileCompiling(base, TorchRuntimeError):  # type: ignore[valid-type,misc]
        def __init__(self, message: str, *, term: str, key: str, source: str, available: Sequence[str] = ()) -> None:
            base.__init__(self, message, term=term, key=key, source=source, available=available)
            self.msg = self._text = message
            self.real_stack = StackSummary()  # no "from user code" trace appended by Dynamo

        def __str__(self) -> str:
            return self._text  # Dynamo appends debugging hints to ``args``; keep the eager message

        def __reduce__(self) -> tuple[object, ...]:  # pickles as the plain user-facing class
            return (_rebuild_input_error, (base, self._text, self.term, self.key, self.source, self.available))

    _RaisedWhileCompiling.__name__ = _RaisedWhileCompiling.__qualname__ = base.__name__
    _RaisedWhileCompiling.__module__ = base.__module__
    return _RaisedWhileCompiling


def _raise_while_compiling(
    kind: str,
    message: str,
    term: str,
    key: str,
    source: str,
    available: tuple[str, ...],
    other: tuple[str, ...] = (),
) -> NoReturn:
    """Raise the error of `kind`: "missing" (`available` are the keys), "both" (missing from both mappings:
    `available` are sample_list's keys, `other` model_output's), "shape" or "input" (`message`)."""
    cls = _compiling_error_class(kind)
    if kind == "missing":
        raise cls.missing(term=term, key=key, source=source, available=available, routed=message)
    if kind == "both":
        raise cls.missing_from_both(term=term, key=key, sample_keys=available, output_keys=other)
    raise cls(message, term=term, key=key, source=source, available=available)


@cache
def _compiling_output_error_class() -> type[LossOutputError]:
    from traceback import StackSummary

    from torch._dynamo.exc import TorchRuntimeError  # imported only once Dynamo is tracing

    class _RaisedWhileCompiling(LossOutputError, TorchRuntimeError):
        def __init__(self, message: str, *, term: str) -> None:
            LossOutputError.__init__(self, message, term=term)
            self.msg = self._text = message
            self.real_stack = StackSummary()

        def __str__(self) -> str:
            return self._text

        def __reduce__(self) -> tuple[object, ...]:
            return (_rebuild_output_error, (LossOutputError, self._text, self.term))

    _RaisedWhileCompiling.__name__ = _RaisedWhileCompiling.__qualname__ = LossOutputError.__name__
    _RaisedWhileCompiling.__module__ = LossOutputError.__module__
    return _RaisedWhileCompiling


def _raise_output_error_while_compiling(message: str, term: str) -> NoReturn:
    raise _compiling_output_error_class()(message, term=term)


# What ``torch.compiler.assume_constant_result`` sets: Dynamo calls the function for real while tracing.
_raise_while_compiling._dynamo_marked_constant = True  # type: ignore[attr-defined]
_raise_output_error_while_compiling._dynamo_marked_constant = True  # type: ignore[attr-defined]


def output_error(loss: Loss[Any] | None, problem: str) -> LossOutputError:
    """A [`LossOutputError`][typed_losses.LossOutputError] about what `loss` returned: `loss 'ce' (cross_entropy) {problem}`.

    `raise` it; under `torch.compile` it raises the error itself (see `_raise_while_compiling`).
    """
    label = "a loss" if loss is None else f"loss {loss.term_label}"
    term = "" if loss is None else loss.term_name
    message = f"{label} {problem}"
    if torch.compiler.is_compiling():
        _raise_output_error_while_compiling(message, term)
    return LossOutputError(message, term=term)


_MODULE_CALL = nn.Module.__call__


def _call_loss(self: Loss[Any], sample_list: Batch, model_output: Batch, *args: Any, **kwargs: Any) -> Any:
    """`Loss.__call__`: `nn.Module.__call__`, and an exception escaping it names the term.

    `try` costs nothing unless something is raised. A `KeyError` whose key one batch mapping holds was read
    from the other (`model_output["scores"]`): the [`LossInputError`][typed_losses.LossInputError] a declared input gives. One whose
    key neither holds becomes a [`LossInputError`][typed_losses.LossInputError] saying just that (which subscript failed is not known:
    the `KeyError` stays its `__cause__`, whose traceback shows the line). Any other exception gets a note
    `raised by loss term 'ce' (cross_entropy)` (type and message kept).
    """
    try:
        return _MODULE_CALL(self, sample_list, model_output, *args, **kwargs)
    except (LossInputError, LossOutputError):
        raise  # they name their term already
    except KeyError as exc:
        self._check_batches(exc, sample_list, model_output)
        error = self._subscript_error(exc, sample_list, model_output)
        if error is None:
            self._name_in(exc)
            raise
        raise error from exc
    except Exception as exc:
        self._check_batches(exc, sample_list, model_output)
        self._name_in(exc)
        raise


def _own_call(cls: type) -> Any:
    """A copy of `_call_loss()` with its own code object, for `cls.__call__`.

    `torch.compile(loss)` compiles the module's `__call__` frame, and Dynamo keeps its compiled frames
    (and counts recompilations against its limit) per code object: one code object shared by every loss
    class would hit that limit after a few compiled losses. A distinct qualified name keeps them apart.
    """
    code = _call_loss.__code__.replace(co_qualname=f"{cls.__qualname__}.__call__")
    function = types.FunctionType(code, _call_loss.__globals__, "__call__")
    function.__qualname__ = f"{cls.__qualname__}.__call__"
    function.__doc__ = _call_loss.__doc__
    function._names_term = True  # type: ignore[attr-defined]  # one of ours: a subclass gets its own copy
    return function


_call_loss._names_term = True  # type: ignore[attr-defined]


class Loss(nn.Module, Generic[P]):
    """Base class of every loss: an `nn.Module` parametrised by a frozen attrs params class `P`.

    Subclasses implement `forward(sample_list, model_output)` returning a tensor, or a mapping of
    several named tensors (each becomes a `"{term}/{child}"` entry of [`LossOutput`][typed_losses.LossOutput]).
    """

    #: The registry name, set by `register_loss()`.
    loss_name: ClassVar[str | None] = None
    #: The params class, set by `register_loss()`.
    params_class: ClassVar[type[ParamsInstance] | None] = None
    #: The values this loss reads; used for docs and error messages.
    inputs: ClassVar[tuple[Input, ...]] = ()
    #: For a loss returning several terms: the names of those terms, in order.
    output_terms: ClassVar[tuple[str, ...]] = ()
    #: `output_terms` as a set (set with them when the class is created).
    _output_set: ClassVar[frozenset[str]] = frozenset()

    params: P
    term_name: str

    @classmethod
    def type_name(cls) -> str:
        """The loss's name in configs and messages: its registry name, else its class name."""
        return cls.loss_name or cls.__name__

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inferred = params_class_of(cls)
        if inferred is not None:
            cls.params_class = inferred
        # A class that inherits one of our __call__ copies gets its own; a __call__ the user wrote (here or in
        # a base class) is kept (it reaches ours through super().__call__).
        if "__call__" not in cls.__dict__ and getattr(cls.__call__, "_names_term", False):
            cls.__call__ = _own_call(cls)  # type: ignore[method-assign]
        try:  # precomputed for the check of a returned mapping (output.contribution)
            cls._output_set = frozenset(cls.output_terms)
        except TypeError:  # unhashable names: every mapping is refused, naming output_terms
            cls._output_set = frozenset()

    def __init__(self, params: P, *, name: str | None = None) -> None:
        super().__init__()
        expected = type(self).params_class
        if expected is not None and not isinstance(params, expected):
            raise TypeError(f"{type(self).__name__} takes {expected.__name__}, got {type(params).__name__}")
        self.params = params
        self.term_name = name or type(self).type_name()
        #: The entry's `inputs:` (declared key -> key read instead); empty when the loss reads its declared keys.
        self.routes: dict[str, str] = {}
        # Resolved once by route_inputs: declared key -> the routed Input; read() consults it only when not empty.
        self._routes: dict[str, Input] = {}

    def route_inputs(self, routes: Mapping[str, str]) -> None:
        """Read each declared input named in `routes` from the key it maps to (same source; dotted keys read
        nested mappings). Resolved once here: reads then cost what unrouted reads cost.

        `routes` was checked against the declared inputs (the config checker, `Term`); an unknown key is a
        `ValueError` here.
        """
        declared = {spec.key: spec for spec in type(self).inputs}
        unknown = [key for key in routes if key not in declared]
        if unknown:
            raise ValueError(f"loss {self.term_label} declares no input {unknown[0]!r}")
        self.routes = dict(routes)
        self._routes = {key: declared[key].routed_to(value) for key, value in routes.items()}

    def route(self, spec: Input) -> Input:
        """The input actually read for the declared `spec`: itself, or where `inputs:` routed it."""
        if self._routes and not spec.routed_from:
            return self._routes.get(spec.key, spec)
        return spec

    def routed_inputs(self) -> tuple[Input, ...]:
        """The declared inputs as this term reads them (routes applied)."""
        return tuple(self.route(spec) for spec in type(self).inputs)

    def forward(self, sample_list: Batch, model_output: Batch) -> LossValue:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    if TYPE_CHECKING:
        # nn.Module.__call__ returns Any; calling a loss returns what its forward returns.
        def __call__(self: _Forward[R_co], sample_list: Batch, model_output: Batch) -> R_co: ...

    else:
        # Every exception escaping the loss names its term (see _call_loss); each subclass gets its own copy.
        __call__ = _call_loss

    @property
    def term_label(self) -> str:
        """The term's name for messages, with the loss type when they differ: `'answer' (cross_entropy)`."""
        loss_type = type(self).type_name()
        return repr(self.term_name) if self.term_name == loss_type else f"{self.term_name!r} ({loss_type})"

    def _name_in(self, exc: BaseException) -> None:
        """Add a note naming this term to `exc` (it keeps its type, message and traceback)."""
        if not torch.compiler.is_compiling():
            exc.add_note(f"raised by loss term {self.term_label}")

    def _check_batches(self, exc: Exception, sample_list: object, model_output: object) -> None:
        """Raise a [`LossInputError`][typed_losses.LossInputError] (from `exc`) when a batch argument is not a mapping: `exc` (e.g.
        torch's `IndexError` for `tensor["scores"]`) came from that. Eager only (the error path)."""
        if torch.compiler.is_compiling():
            return
        for source, batch in (("sample_list", sample_list), ("model_output", model_output)):
            if not isinstance(batch, Mapping):
                from typed_losses.output import describe  # output imports this module

                raise LossInputError(
                    f"loss {self.term_name!r} reads {source} as a mapping of names to values, found {describe(batch)}",
                    term=self.term_name,
                    key="",
                    source=source,
                ) from exc

    def _subscript_error(self, exc: KeyError, sample_list: object, model_output: object) -> LossInputError | None:
        """The [`LossInputError`][typed_losses.LossInputError] for a key read by subscription and missing from the batch, else `None`.

        A key that one mapping holds was read from the other (named); a key that both hold did not come from
        them (`None`: the `KeyError` is the loss's own).
        """
        if len(exc.args) != 1 or not isinstance(exc.args[0], str):
            return None
        key: str = exc.args[0]
        in_sample = isinstance(sample_list, Mapping) and key in sample_list
        in_output = isinstance(model_output, Mapping) and key in model_output
        if in_sample and in_output:
            return None
        sample_keys, output_keys = tuple(_keys_of(sample_list)), tuple(_keys_of(model_output))
        if in_sample or in_output:
            source, available = ("model_output", output_keys) if in_sample else ("sample_list", sample_keys)
            if torch.compiler.is_compiling():
                _raise_while_compiling("missing", "", self.term_name, key, source, available)
            return LossInputError.missing(term=self.term_name, key=key, source=source, available=available)
        if torch.compiler.is_compiling():
            _raise_while_compiling("both", "", self.term_name, key, "", sample_keys, output_keys)
        return LossInputError.missing_from_both(
            term=self.term_name, key=key, sample_keys=sample_keys, output_keys=output_keys
        )

    def extra_repr(self) -> str:
        return repr(self.params)

    # -- reading inputs ------------------------------------------------------------------------------

    def read(self, spec: Input, sample_list: Batch, model_output: Batch) -> Tensor:
        """Read a required tensor input, raising [`LossInputError`][typed_losses.LossInputError] naming what is missing."""
        if self._routes:
            spec = self._routes.get(spec.key, spec)
        if spec._flat:  # the common case, inline: one subscript, one check
            try:
                value = (sample_list if spec._from_sample else model_output)[spec.key]
            except (KeyError, TypeError, AttributeError):
                value = self._lookup(spec, sample_list, model_output)  # raises, naming what is there
        else:
            value = self._lookup(spec, sample_list, model_output)
        if spec.tensor and not (isinstance(value, Tensor) and spec.accepts(value)):
            self._check_tensor(spec, value)
        return value  # type: ignore[no-any-return]

    def read_optional(self, spec: Input, sample_list: Batch, model_output: Batch) -> Tensor | None:
        """Read an optional tensor input: `None` when the key is absent."""
        spec = self.route(spec)
        value = find(sample_list if spec.source == "sample_list" else model_output, spec._path)
        if value is None:
            return None
        if spec.tensor:
            self._check_tensor(spec, value)
        return value  # type: ignore[no-any-return]

    def read_value(self, spec: Input, sample_list: Batch, model_output: Batch) -> Any:
        """Read a required input that is not a tensor (e.g. a list of tensors)."""
        return self._lookup(self.route(spec), sample_list, model_output)

    def _lookup(self, spec: Input, sample_list: Batch, model_output: Batch) -> Any:
        mapping: Any = sample_list if spec.source == "sample_list" else model_output
        for depth, part in enumerate(spec._path):
            try:
                mapping = mapping[part]
            except (KeyError, TypeError, AttributeError):
                # the mapping that lacks ``part``, e.g. ``sample_list['info']`` (built only on this path)
                where = spec.source + "".join(f"[{p!r}]" for p in spec._path[:depth])
                available = _keys_of(mapping)
                routed = spec.route_text
                if routed:
                    routed = f"{spec.access}, {routed}" if depth + 1 < len(spec._path) else routed
                if torch.compiler.is_compiling():
                    _raise_while_compiling("missing", routed, self.term_name, part, where, tuple(available))
                raise LossInputError.missing(
                    term=self.term_name, key=part, source=where, available=available, routed=routed
                ) from None
        return mapping

    def _check_tensor(self, spec: Input, value: object) -> None:
        spec = self.route(spec)
        if not isinstance(value, Tensor):
            raise self.input_error(spec, f"{spec.describe()} must be a tensor, found {type(value).__name__}")
        if spec.ranks and value.dim() not in spec.ranks:
            raise self.input_error(
                spec, f"expected {spec.describe()}, found shape {shape_of(value)} (rank {value.dim()})"
            )
        if not spec.accepts(value):  # the rank is accepted: the dtype is not
            raise self.input_error(spec, f"expected {spec.describe()}, found dtype {value.dtype}")

    def input_error(self, spec: Input, problem: str) -> LossShapeError:
        """A [`LossShapeError`][typed_losses.LossShapeError] about `spec`, prefixed with this loss's term name (`raise` it).

        Under `torch.compile` it raises the error itself (see `_raise_while_compiling`).
        """
        spec = self.route(spec)
        return self._shape_error(f"loss {self.term_name!r}: {problem}", spec.key, spec.source)

    def _shape_error(self, message: str, key: str, source: str) -> LossShapeError:
        if torch.compiler.is_compiling():
            _raise_while_compiling("shape", message, self.term_name, key, source, ())
        return LossShapeError(message, term=self.term_name, key=key, source=source)

    def check_same_shape(self, first: Input, a: Tensor, second: Input, b: Tensor) -> None:
        """Raise [`LossShapeError`][typed_losses.LossShapeError] naming both inputs when `a` and `b` differ in shape."""
        if a.shape != b.shape:
            raise self.shape_mismatch(first, a, second, b, "must have the same shape")

    def check_same_size(self, first: Input, a: Tensor, second: Input, b: Tensor, dim: int) -> None:
        """Raise [`LossShapeError`][typed_losses.LossShapeError] when `a.size(dim) != b.size(dim)`."""
        if a.size(dim) != b.size(dim):
            raise self.shape_mismatch(first, a, second, b, f"must agree in dimension {dim}")

    def shape_mismatch(self, first: Input, a: Tensor, second: Input, b: Tensor, problem: str) -> LossShapeError:
        """A [`LossShapeError`][typed_losses.LossShapeError] naming two inputs and their shapes (`raise` it)."""
        first, second = self.route(first), self.route(second)
        return self._shape_error(
            f"loss {self.term_name!r}: {first.source}[{first.key!r}] {shape_of(a)} and "
            f"{second.source}[{second.key!r}] {shape_of(b)} {problem}",
            second.key,
            second.source,
        )


def shape_of(tensor: Tensor) -> tuple[int, ...]:
    """The shape of `tensor` as plain ints, for error messages.

    Under `torch.compile` with dynamic shapes, `tuple(tensor.shape)` holds symbolic sizes and a message
    formatted from it is not a constant, so the error could not be raised as in eager mode;
    `operator.index` makes Dynamo specialise each size to its value (harmless on the way to an error;
    `int()` would keep it symbolic).

    Examples:
        >>> import torch
        >>> shape_of(torch.zeros(2, 3))
        (2, 3)
    """
    return tuple(operator.index(size) for size in tensor.shape)


def find(batch: object, path: tuple[str, ...]) -> Any:
    """The value at `path` in nested mappings, or `None` when a step is absent (or the value is None)."""
    value: Any = batch
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def is_params_class(value: object) -> TypeGuard[type[ParamsInstance]]:
    """Whether `value` is an attrs class (`attrs.has` narrows to `AttrsInstance`, empty for pyright)."""
    return isinstance(value, type) and attrs.has(value)


def params_class_of(cls: type) -> type[ParamsInstance] | None:
    """The attrs class given as generic argument to `Loss[...]` (or a generic subclass of it)."""
    for base in getattr(cls, "__orig_bases__", ()):
        for arg in getattr(base, "__args__", ()):
            if is_params_class(arg):
                return arg
    return None


def describe_inputs(inputs: Sequence[Input]) -> list[str]:
    """One line per declared input, for docs and `typed-losses list`."""
    return [spec.describe() + (f" - {spec.doc}" if spec.doc else "") for spec in inputs]
