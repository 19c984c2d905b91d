"""Errors raised for users' mistakes: config problems and runtime input problems.

Config problems are collected as [`ConfigIssue`][typed_losses.ConfigIssue] values and raised once, all together, as a
[`LossConfigError`][typed_losses.LossConfigError]. Runtime problems (a key missing from the batch, a shape mismatch) raise a
[`LossInputError`][typed_losses.LossInputError] that names the loss term, the key and what was available; a loss returning something
that is not a loss value raises [`LossOutputError`][typed_losses.LossOutputError]; a NaN or infinite loss, when a collection checks
for them, raises [`NonFiniteLossError`][typed_losses.NonFiniteLossError] naming every such term. Any other exception escaping a loss
carries a note naming the term (`raised by loss term 'ce' (cross_entropy)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "ConfigIssue",
    "LossConfigError",
    "LossInputError",
    "LossOutputError",
    "LossShapeError",
    "NonFiniteLossError",
]


@attrs.frozen
class ConfigIssue:
    """One problem found in a loss config.

    Attributes:
        path: dotted path of the offending node, e.g. `model_config.vqa.losses[1].params.margin`.
        message: what was expected and what was found.
        line: 1-based line in the source file, when the config came from a file.
        column: 1-based column in the source file, when the config came from a file.
        hint: a did-you-mean suggestion or the allowed values, when there is one.
        file: the source file, when the config came from a file.
    """

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    file: str | None = None

    def format(self, *, severity: str | None = None) -> str:
        """`FILE:LINE:COL: [severity: ]PATH: message (hint)`; location parts only when known."""
        location = ""
        if self.file is not None:
            location = self.file
            if self.line is not None:
                location += f":{self.line}:{self.column if self.column is not None else 1}"
            location += ": "
        elif self.line is not None:
            location = f"{self.line}:{self.column if self.column is not None else 1}: "
        label = f"{severity}: " if severity else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{location}{label}{self.path}: {self.message}{hint}"

    def __str__(self) -> str:
        return self.format()


class LossConfigError(ValueError):
    """A loss config has one or more problems; `issues` lists every one of them."""

    issues: tuple[ConfigIssue, ...]

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(issue.format() for issue in self.issues))

    def __reduce__(self) -> tuple[type[LossConfigError], tuple[tuple[ConfigIssue, ...]]]:
        return (type(self), (self.issues,))


def _describe_available(available: Sequence[str]) -> str:
    if not available:
        return "it is empty"
    return "available: " + ", ".join(repr(k) for k in available)


def _describe_keys(keys: Sequence[str]) -> str:
    return "keys: " + ", ".join(repr(k) for k in keys) if keys else "empty"


class LossInputError(ValueError):
    """A loss could not read what it needs from `sample_list` or `model_output`."""

    def __init__(
        self,
        message: str,
        *,
        term: str,
        key: str,
        source: str,
        available: Sequence[str] = (),
    ) -> None:
        self.term = term
        self.key = key
        self.source = source
        self.available = tuple(available)
        super().__init__(message)

    @classmethod
    def missing(cls, *, term: str, key: str, source: str, available: Sequence[str], routed: str = "") -> LossInputError:
        """The key `key` is absent from the mapping `source`; `routed` describes the route that made the
        loss read it (`` routed from its input 'scores' by `inputs:` ``), if any."""
        via = f" ({routed})" if routed else ""
        return cls(
            f"loss {term!r} needs {source}[{key!r}]{via}, which is missing ({_describe_available(available)})",
            term=term,
            key=key,
            source=source,
            available=available,
        )

    @classmethod
    def missing_from_both(
        cls, *, term: str, key: str, sample_keys: Sequence[str], output_keys: Sequence[str]
    ) -> LossInputError:
        """The loss raised `KeyError(key)` and neither mapping holds `key`.

        Most likely the loss read it from the batch by subscription (`model_output["scores"]`), but the failing
        subscript may be another mapping of the loss's own: the message says what is known, and the caller keeps
        the `KeyError` as `__cause__` (its traceback shows the line that failed).
        """
        return cls(
            f"loss {term!r} looked up {key!r} (KeyError), which neither sample_list ({_describe_keys(sample_keys)}) "
            f"nor model_output ({_describe_keys(output_keys)}) holds",
            term=term,
            key=key,
            source="sample_list and model_output",
            available=(*sample_keys, *output_keys),
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_input_error, (type(self), str(self), self.term, self.key, self.source, self.available))


class LossShapeError(LossInputError):
    """An input has the wrong rank, dtype or a shape that does not match another input."""


def _rebuild_input_error(
    cls: type[LossInputError], message: str, term: str, key: str, source: str, available: tuple[str, ...]
) -> LossInputError:
    return cls(message, term=term, key=key, source=source, available=available)


class LossOutputError(TypeError):
    """A loss returned something other than a loss value, or other terms than its `output_terms`.

    A loss value is a tensor (floating-point unless 0-dim: the total takes its mean) or a mapping of term
    names to such tensors. `term` is the term's name.
    """

    def __init__(self, message: str, *, term: str) -> None:
        self.term = term
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_output_error, (type(self), str(self), self.term))


def _rebuild_output_error(cls: type[LossOutputError], message: str, term: str) -> LossOutputError:
    return cls(message, term=term)


class NonFiniteLossError(FloatingPointError):
    """A loss term (or the total) is NaN or infinite; raised by `LossCollection(..., check_finite=True)`.

    Attributes:
        terms: the names of the non-finite terms, in config order (`"total"` when only the total is).
        details: one description per name, e.g. `"'ce' is nan"` or `"'mse' has 2 of 6 elements nan"`.
    """

    def __init__(self, terms: Sequence[str], details: Sequence[str]) -> None:
        self.terms = tuple(terms)
        self.details = tuple(details)
        super().__init__("non-finite loss: " + "; ".join(self.details))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.terms, self.details))
