"""The rules of a `losses` entry, written once: its keys, what a weight may be, what a term name may be.

Everything that accepts or describes an entry reads them from here: the config checker, [`Term`][typed_losses.Term]
and [`LossCollection`][typed_losses.LossCollection] (Python), the JSON Schema, the Hydra adapter, `typed-losses list`
and the docs. A rule returns a message (`None` when the value follows it); callers decide where the
message goes (a positioned [`ConfigIssue`][typed_losses.ConfigIssue], or an exception from Python).

Examples:
    >>> weight_problem(0.5) is None, weight_problem(-1), weight_problem("2")
    (True, 'weight must be a finite number >= 0, found -1', "expected a number >= 0 or a weight kind ({type: ...}), found '2' (str)")
    >>> names = TermNames()
    >>> names.add("x", ("kl", "bce"), "losses[0]") is None
    True
    >>> names.add("x/kl", None, "losses[1]")
    ("term name 'x/kl' is also the key of output 'kl' of term 'x' (at losses[0])", 'give one of them a distinct `name:`')
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence

__all__ = [
    "DEFAULT_WEIGHT",
    "ENTRY_KEYS",
    "INPUTS_KEY",
    "LOSSES_KEY",
    "NESTED_WEIGHT_TEXT",
    "RESERVED_NAMES",
    "ROUTES_TEXT",
    "WEIGHT_JSON_SCHEMA",
    "WEIGHT_LOG_PREFIX",
    "WEIGHT_NUMBER_TEXT",
    "WEIGHT_TEXT",
    "TermNames",
    "describe_value",
    "name_problem",
    "output_keys",
    "output_terms_problem",
    "route_problem",
    "routes_problems",
    "short_repr",
    "weight_problem",
]

#: The key of a config document that holds the loss entries (MMF: `model_config.<model>.losses`); also the
#: label of a `losses` value given without a document.
LOSSES_KEY = "losses"

#: The keys of a mapping entry: `{type, params, weight, name, inputs}`; any other key is a mistake.
ENTRY_KEYS: tuple[str, ...] = ("type", "params", "weight", "name", "inputs")

#: The entry key that routes a loss's declared inputs to other keys of the same source (several heads).
INPUTS_KEY = "inputs"
#: What a route is, for people (docs, `list`, hints).
ROUTES_TEXT = "a mapping from the loss's declared input keys to the keys to read instead (dotted: nested)"

#: The weight of an entry that does not give one.
DEFAULT_WEIGHT = 1.0

#: What a weight is, for people (docs, `list`, hints) ...
WEIGHT_NUMBER_TEXT = "a finite number >= 0 (default 1.0)"
WEIGHT_TEXT = (
    f"{WEIGHT_NUMBER_TEXT}, or a weight that changes during training: a mapping with the `type` "
    "of a weight kind and its fields ({type: linear, start: 0.0, end: 1.0, steps: 2000})"
)
#: ... and for editors (JSON numbers are finite): the number form (the kinds' mappings come from their classes).
WEIGHT_JSON_SCHEMA: dict[str, object] = {"type": "number", "minimum": 0}
#: Where a weight kind is not allowed: the terms nested in another loss (`multi`) are summed with numbers.
NESTED_WEIGHT_TEXT = "a weight that changes during training applies to a top-level term; here it is a number >= 0"

#: Term names that logs and output files use for something else (`total` is the sum of the terms).
RESERVED_NAMES: tuple[str, ...] = ("total",)
#: The prefix of the log keys of the weights (`weight/<term>`, `LossOutput.to_log()`): no term name
#: starts with it (nor is `weight`), so no log key of a term meets one of a weight.
WEIGHT_LOG_PREFIX = "weight/"

#: The separator between a term's name and the name of one of its outputs (`bce_kl/kl`).
OUTPUT_SEPARATOR = "/"


def short_repr(value: object) -> str:
    """`'abc'`, `10000...`: a value as messages show it (its `repr`, long ones shortened to 60 characters)."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__, an int beyond Python's digit limit
        text = f"<{type(value).__name__}>"
    return text[:57] + "..." if len(text) > 60 else text


def describe_value(value: object) -> str:
    """`'abc' (str)`: how a wrong value is shown in messages, with its type (long values are shortened)."""
    return f"{short_repr(value)} ({type(value).__name__})"


def weight_problem(value: object) -> str | None:
    """What is wrong with `value` as a term weight, or `None`: a weight is a finite number >= 0.

    `bool` is not a number here (`weight: yes` is a mistake), and neither is a numeric string.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number >= 0 or a weight kind ({{type: ...}}), found {describe_value(value)}"
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not (math.isfinite(number) and number >= 0):
        return f"weight must be a finite number >= 0, found {short_repr(value)}"
    return None


def name_problem(value: object) -> tuple[str, str | None] | None:
    """What is wrong with `value` as a term name, with a hint, or `None`.

    A term name is a non-empty string other than the reserved names (`RESERVED_NAMES`).
    """
    if type(value) is not str or not value:  # a str subclass is refused too: OmegaConf and YAML take only str
        return f"expected a non-empty string, found {describe_value(value)}", None
    if value in RESERVED_NAMES:
        return (
            f"term name {value!r} is reserved: logs and output files use it for the sum of the terms",
            "choose another `name:`",
        )
    if value == WEIGHT_LOG_PREFIX[:-1] or value.startswith(WEIGHT_LOG_PREFIX):
        return (
            f"term name {value!r} is reserved: logs use `{WEIGHT_LOG_PREFIX}<term>` for the terms' weights",
            "choose another `name:`",
        )
    return None


def route_problem(value: object) -> str | None:
    """What is wrong with `value` as the key a route reads, or `None`: a non-empty string whose dotted
    parts are non-empty (`heads.depth` reads `["heads"]["depth"]`)."""
    if not isinstance(value, str) or not value:
        return f"expected a non-empty string key, found {describe_value(value)}"
    if "" in value.split("."):
        return f"expected a key with non-empty dotted parts, found {value!r}"
    return None


def _did_you_mean(key: str, candidates: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def routes_problems(
    routes: object, declared: Sequence[str], loss: str = "this loss"
) -> list[tuple[str | None, str, str | None]]:
    """What is wrong with `routes` (an entry's `inputs:`) for a loss declaring the input keys
    `declared` (`loss` names it): `(declared key or None for the whole value, message, hint)` each.

    Examples:
        >>> routes_problems({"scores": "aux", "scoers": "x", "targets": ""}, ["scores", "targets"])
        [('scoers', "unknown input 'scoers' (declared: 'scores', 'targets')", "did you mean 'scores'?"), \
('targets', "expected a non-empty string key, found '' (str)", None)]
    """
    if not isinstance(routes, Mapping):
        return [(None, f"expected a mapping from declared input keys to keys, found {describe_value(routes)}", None)]
    if not declared:
        return [
            (
                None,
                f"{loss} declares no inputs, so it cannot be routed",
                "route the inputs of the losses it is made of: each `multi` child takes `inputs:` in its entry",
            )
        ]
    found: list[tuple[str | None, str, str | None]] = []
    known = ", ".join(repr(k) for k in declared)
    for key, value in routes.items():
        if not isinstance(key, str) or key not in declared:
            found.append((str(key), f"unknown input {key!r} (declared: {known})", _did_you_mean(str(key), declared)))
            continue
        problem = route_problem(value)
        if problem is not None:
            found.append((key, problem, None))
    return found


def output_terms_problem(value: object) -> str | None:
    """What is wrong with `value` as a loss's `output_terms`, or `None`: a tuple (or list) of distinct
    non-empty strings without the separator `/` (each becomes the key `<term name>/<output>`)."""
    if not isinstance(value, (tuple, list)) or not all(type(item) is str for item in value):
        return f"expected a tuple of output names (str), found {describe_value(value)}"
    for item in value:
        if not item or OUTPUT_SEPARATOR in item:
            return f"output name {item!r} must be a non-empty string without {OUTPUT_SEPARATOR!r}"
    repeated = sorted({item for item in value if value.count(item) > 1})
    if repeated:
        return "repeated output names " + ", ".join(repr(item) for item in repeated)
    return None


def output_keys(name: str, output_terms: Sequence[str] | None) -> tuple[str, ...]:
    """The keys a term named `name` adds to `LossOutput.terms`: its name, or `name/child` for each
    declared output (a loss returning several terms)."""
    if not output_terms:
        return (name,)
    return tuple(f"{name}{OUTPUT_SEPARATOR}{child}" for child in output_terms)


class TermNames:
    """The term names of one collection, added in order; each `add()` says whether the name is free.

    A name is taken when another term has it (a duplicate), or when it equals another term's output key
    (`x/kl` beside a two-term loss named `x`), or the other way round: every key of `LossOutput.terms`
    is unique by construction.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # term name -> where it is
        self._keys: dict[str, tuple[str, str, str]] = {}  # output key -> (term name, child, where)

    def add(self, name: str, output_terms: Sequence[str] | None, where: str) -> tuple[str, str | None] | None:
        """Take `name` (declared at `where`); a message and a hint when it is not free."""
        hint = "give one of them a distinct `name:`"
        if name in self._names:
            return f"duplicate term name {name!r} (also at {self._names[name]})", hint
        if name in self._keys:
            owner, child, other = self._keys[name]
            return f"term name {name!r} is also the key of output {child!r} of term {owner!r} (at {other})", hint
        keys = output_keys(name, output_terms) if output_terms else ()
        for key, child in zip(keys, output_terms or (), strict=True):
            if key in self._names:
                return (
                    f"output {child!r} of term {name!r} has the key {key!r}, the name of the term at {self._names[key]}",
                    hint,
                )
            if key in self._keys:
                owner, other_child, other = self._keys[key]
                return (
                    f"output {child!r} of term {name!r} has the key {key!r}, also the key of output "
                    f"{other_child!r} of term {owner!r} (at {other})",
                    hint,
                )
        self._names[name] = where
        for key, child in zip(keys, output_terms or (), strict=True):
            self._keys[key] = (name, child, where)
        return None
