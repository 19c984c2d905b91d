"""Constraints declared once (typed_losses.constraints): Python construction, the config check, the JSON
Schema and ``typed-losses list`` read the same declaration; rules derived from the type need none."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest
import torch
from helpers.schema_forms import branches

import typed_losses
from typed_losses import LossConfigError, check_losses, constraint, load_yaml_text, param
from typed_losses.cli import main
from typed_losses.config.types import params_fields, term_sequence_fields
from typed_losses.constraints import INT64_MAX, choices_of_type, problems, rules_of
from typed_losses.generate import catalog_registry
from typed_losses.introspect import params_info
from typed_losses.losses import (
    CrossEntropyParams,
    InBatchHingeParams,
    LabelSmoothingCrossEntropyParams,
    MultiSimilarityParams,
    RefinerMultiSimilarityParams,
)
from typed_losses.schema import losses_schema

INT64 = "expected an integer within int64 (-9223372036854775808 to 9223372036854775807)"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: CrossEntropyParams(reduction="bogus"),  # type: ignore[arg-type]
            "CrossEntropyParams.reduction: 'bogus' (str) is not an allowed value (allowed: 'mean', 'sum', 'none')",
        ),
        (
            lambda: RefinerMultiSimilarityParams(base=math.nan),
            "RefinerMultiSimilarityParams.base: expected a finite number, found nan",
        ),
        (
            lambda: InBatchHingeParams(margin=math.inf),
            "InBatchHingeParams.margin: expected a finite number >= 0, found inf",
        ),
        (
            lambda: MultiSimilarityParams(alpha=math.inf),
            "MultiSimilarityParams.alpha: expected a finite number > 0, found inf",
        ),
        (
            lambda: CrossEntropyParams(weight=[1.0, math.inf]),
            "CrossEntropyParams.weight: item 1: expected a finite number >= 0, found inf",
        ),
        (
            lambda: CrossEntropyParams(weight=[]),
            "CrossEntropyParams.weight: expected at least 1 item, found 0",
        ),
        (
            lambda: CrossEntropyParams(ignore_index=10**30),
            f"CrossEntropyParams.ignore_index: {INT64}, found 1000000000000000000000000000000",
        ),
        (
            lambda: LabelSmoothingCrossEntropyParams(label_smoothing=-0.5),
            "LabelSmoothingCrossEntropyParams.label_smoothing: expected a number >= 0 and < 1, found -0.5",
        ),
        # the type rule: Python construction converts nothing, so a value of another type is refused
        (
            lambda: CrossEntropyParams(label_smoothing="abc"),  # type: ignore[arg-type]
            "CrossEntropyParams.label_smoothing: expected float, found 'abc' (str)",
        ),
        (
            lambda: CrossEntropyParams(label_smoothing=True),
            "CrossEntropyParams.label_smoothing: expected float, found True (bool)",
        ),
        (
            lambda: CrossEntropyParams(ignore_index=True),
            "CrossEntropyParams.ignore_index: expected int, found True (bool)",
        ),
        (
            lambda: CrossEntropyParams(ignore_index=1.0),  # type: ignore[arg-type]
            "CrossEntropyParams.ignore_index: expected int, found 1.0 (float)",
        ),
        (
            lambda: CrossEntropyParams(weight=["a"]),  # type: ignore[list-item]
            "CrossEntropyParams.weight: item 0: expected float, found 'a' (str)",
        ),
        (
            lambda: CrossEntropyParams(weight=3),  # type: ignore[arg-type]
            "CrossEntropyParams.weight: expected list of float, found 3 (int)",
        ),
        (
            lambda: CrossEntropyParams(weight=torch.tensor([math.nan])),  # pyright: ignore[reportArgumentType]
            "CrossEntropyParams.weight: expected list of float, found tensor([nan]) (Tensor)",
        ),
        (
            lambda: CrossEntropyParams(weight=[torch.tensor(1.0)]),  # type: ignore[list-item]
            "CrossEntropyParams.weight: item 0: expected float, found tensor(1.) (Tensor)",
        ),
    ],
)
def test_python_construction_refuses_with_the_rule_message(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build()


def test_the_int64_range_itself_is_accepted() -> None:
    assert CrossEntropyParams(ignore_index=INT64_MAX).ignore_index == INT64_MAX


def test_python_values_of_the_field_type_are_accepted_as_plain_data() -> None:
    """An int is a float; the items of a weight list become floats, so the collection's config and state
    dict hold plain data and restore it."""
    from typed_losses import LossCollection

    params = CrossEntropyParams(weight=[1, 2.5], label_smoothing=0)
    assert params.weight == (1.0, 2.5)
    assert params.weight is not None
    assert [type(w) for w in params.weight] == [float, float]
    assert params.label_smoothing == 0
    losses = LossCollection([params])
    restored = LossCollection.from_state_dict(losses.state_dict())
    assert (
        restored.to_config()
        == losses.to_config()
        == [
            {
                "type": "cross_entropy",
                "params": {"weight": [1.0, 2.5], "ignore_index": -100, "reduction": "mean", "label_smoothing": 0},
            }
        ]
    )


def test_config_refuses_the_same_values_at_their_positions() -> None:
    text = (
        "losses:\n"
        "- type: refiner_ms\n"
        "  params: {base: .nan}\n"
        "- type: in_batch_hinge\n"
        "  params: {margin: .inf}\n"
        "- type: ms_loss\n"
        "  params: {alpha: .inf}\n"
        "- type: cross_entropy\n"
        "  params: {weight: [1.0, .inf], ignore_index: 1000000000000000000000000000000, reduction: bogus}\n"
    )
    with pytest.raises(LossConfigError) as info:
        check_losses(load_yaml_text(text).losses)
    assert [(i.format(), i.hint) for i in info.value.issues] == [
        ("3:18: losses[0].params.base: expected a finite number, found nan", None),
        ("5:20: losses[1].params.margin: expected a finite number >= 0, found inf", None),
        ("7:19: losses[2].params.alpha: expected a finite number > 0, found inf", None),
        ("9:20: losses[3].params.weight: item 1: expected a finite number >= 0, found inf", None),
        (f"9:47: losses[3].params.ignore_index: {INT64}, found 1000000000000000000000000000000", None),
        (
            "9:91: losses[3].params.reduction: 'bogus' (str) is not an allowed value (allowed: 'mean', 'sum', 'none')",
            "allowed: 'mean', 'sum', 'none'",
        ),
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ignore_index": 10**30}, f"{INT64}, found 1000000000000000000000000000000"),
        ({"label_smoothing": math.inf}, "expected a number >= 0 and < 1, found inf"),
        ({"weight": [math.nan]}, "item 0: expected a finite number >= 0, found nan"),
    ],
)
def test_plain_python_data_gives_the_same_messages(params: dict[str, Any], message: str) -> None:
    with pytest.raises(LossConfigError) as info:
        check_losses([{"type": "cross_entropy", "params": params}])
    assert [(i.path, i.message) for i in info.value.issues] == [(f"losses[0].params.{next(iter(params))}", message)]


# -- plain attrs params classes: the rules derived from the type apply in configs ---------------------------


def _no_seven(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value == 7:
        raise ValueError(f"{attribute.name} may not be 7")


@attrs.frozen(kw_only=True)
class PlainParams:
    scale: float = 1.0
    sizes: list[float] = attrs.field(factory=list)
    count: int = attrs.field(default=0, validator=_no_seven)
    mode: Literal["a", "b"] = "a"


def test_derived_rules_apply_to_plain_attrs_classes() -> None:
    assert problems(PlainParams, {"scale": math.inf, "sizes": [1.0, math.nan], "count": 2**64, "mode": "c"}) == [
        ("scale", "expected a finite number, found inf", None),
        ("sizes", "item 1: expected a finite number, found nan", None),
        ("count", f"{INT64}, found 18446744073709551616", None),
        ("mode", "'c' (str) is not an allowed value", "allowed: 'a', 'b'"),
    ]
    assert problems(PlainParams, {"scale": 2.0, "sizes": [1.0], "count": 3, "mode": "b"}) == []
    assert not any(rule.declared for rule in rules_of(PlainParams).values())


def test_plain_class_in_a_config(clean_registry: None) -> None:
    from typed_losses import Loss, LossValue, register_loss

    @register_loss("plain_constraints_test")
    class PlainLoss(Loss[PlainParams]):
        def forward(self, sample_list: Any, model_output: Any) -> LossValue:
            raise NotImplementedError

    for params, message in (
        ({"scale": math.inf}, "expected a finite number, found inf"),
        ({"scale": -math.inf, "count": 1}, "expected a finite number, found -inf"),
        ({"count": 2**63}, f"{INT64}, found 9223372036854775808"),
        ({"count": 7}, "count may not be 7"),  # the class's own attrs validator still runs
    ):
        with pytest.raises(LossConfigError) as info:
            check_losses([{"type": "plain_constraints_test", "params": params}])
        assert [i.message for i in info.value.issues] == [message], params
    check_losses([{"type": "plain_constraints_test", "params": {"scale": 2.0, "count": 3, "sizes": [0.5]}}])


def test_a_plain_class_built_in_python_gets_the_config_verdict(clean_registry: None) -> None:
    """The type-derived rules reach a plain attrs class built in Python when it joins a collection (its own
    construction cannot run them), with the config's messages, nested ``multi`` terms included."""
    from typed_losses import Loss, LossCollection, LossValue, Term, register_loss
    from typed_losses.losses import MultiParams

    @register_loss("plain_python_test")
    class PlainLoss(Loss[PlainParams]):
        def forward(self, sample_list: Any, model_output: Any) -> LossValue:
            raise NotImplementedError

    for params, issues in (
        (PlainParams(scale=math.inf), ["items[0].params.scale: expected a finite number, found inf"]),
        (
            PlainParams(count=2**63, mode="c"),  # type: ignore[arg-type]
            [
                f"items[0].params.count: {INT64}, found 9223372036854775808",
                "items[0].params.mode: 'c' (str) is not an allowed value (allowed: 'a', 'b')",
            ],
        ),
        (
            MultiParams(losses=[Term(PlainParams(sizes=[math.nan]))]),
            ["items[0].params.losses[0].params.sizes: item 0: expected a finite number, found nan"],
        ),
    ):
        with pytest.raises(LossConfigError) as info:
            LossCollection([params])
        assert [str(issue) for issue in info.value.issues] == issues
    with pytest.raises(LossConfigError) as info:
        check_losses([{"type": "plain_python_test", "params": {"scale": math.inf}}])
    assert [issue.message for issue in info.value.issues] == ["expected a finite number, found inf"]
    assert LossCollection([PlainParams(scale=2.0)]).names == ("plain_python_test",)


# -- one declaration, every reader -------------------------------------------------------------------------


def _floats(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class DeclaredParams:
    """Params declared with the helpers."""

    rate: float = param(0.1, gt=0, le=1, doc="a rate")
    weights: tuple[float, ...] = attrs.field(converter=_floats, **constraint(ge=0, min_len=1, doc="class weights"))
    raw: float = param(0.0, finite=False, doc="anything, inf included")
    big: int = param(0, int64=False, doc="any integer")


def test_declaration_is_metadata_validator_and_doc() -> None:
    field = attrs.fields_dict(DeclaredParams)["rate"]
    assert field.metadata["doc"] == "a rate"
    with pytest.raises(ValueError, match=r"^DeclaredParams\.rate: expected a number > 0 and <= 1, found 0\.0$"):
        DeclaredParams(rate=0.0, weights=(1.0,))
    with pytest.raises(TypeError, match="weights"):
        DeclaredParams()  # type: ignore[call-arg]
    params = DeclaredParams(weights=[2.0], raw=math.inf, big=2**80)
    assert params.weights == (2.0,) and params.raw == math.inf
    infos = {i.name: (i.constraint, i.doc, i.required) for i in params_info(DeclaredParams)}
    assert infos == {
        "rate": ("> 0, <= 1", "a rate", False),
        "weights": ("at least 1 item, each >= 0", "class weights", True),
        "raw": ("inf and nan allowed", "anything, inf included", False),
        "big": ("any size", "any integer", False),
    }


def test_check_needs_its_text() -> None:
    with pytest.raises(ValueError, match=r"^constraint\(check=\.\.\.\) needs check_text"):
        constraint(check=lambda v: None)


def test_list_shows_the_declared_constraints() -> None:
    out = io.StringIO()
    assert main(["list"], out=out) == 0
    lines = out.getvalue().splitlines()
    assert "    label_smoothing: float = 0.0 [>= 0, < 1]  - torch's label smoothing, in [0, 1)" in lines
    assert (
        "    weight: list of float or null = null [at least 1 item, each >= 0]  - per-class weights "
        "(a list of C numbers), or null for equal weights"
    ) in lines
    assert "    alpha: float = 50.0 [> 0]  - scale of the negative term" in lines
    assert "    base: float = 0.5  - similarity base (lambda) of both terms" in lines


def test_schema_keywords_come_from_the_declarations() -> None:
    definitions = losses_schema()["definitions"]
    ce = definitions["params.cross_entropy"]["properties"]
    weight = branches(ce["weight"])[0]
    assert weight["minItems"] == 1
    assert branches(weight["items"])[0] == {"type": "number", "minimum": 0}
    assert branches(ce["label_smoothing"])[0] == {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
    assert branches(ce["ignore_index"])[0] == {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    assert branches(ce["reduction"])[0] == {"enum": ["mean", "sum", "none"]}
    ms = definitions["params.ms_loss"]["properties"]
    assert branches(ms["alpha"])[0] == {"type": "number", "exclusiveMinimum": 0}
    assert definitions["params.multi"]["properties"]["losses"]["description"].endswith("[at least 1 item]")


# -- Python construction and the config checker agree, message for message, on the whole catalog ----------

_FLOATS = (0.0, 0.5, 1.0, -1.0, 1e-300, 2.0, math.inf, -math.inf, math.nan)
_INTS = (0, -1, 5, -100, INT64_MAX, INT64_MAX + 1, -(2**63), -(2**63) - 1, 10**30)


def _hostile_values(tp: Any) -> tuple[Any, ...]:
    """Values of the field's own Python type (so that only the constraint can refuse them)."""
    if tp is float:
        return _FLOATS
    if tp is int:
        return _INTS
    if tp is bool:
        return (True, False)
    choices = choices_of_type(tp)
    if choices is not None:
        return (*choices, "bogus", "")
    if tp == (tuple[float, ...] | None):
        return (None, [], [1.0], [0.0, 2.5], [-1.0], [1.0, math.inf], [math.nan])
    return ()


CATALOG = catalog_registry()  # what the package ships, whatever else a test registers


def _catalog_cases() -> list[tuple[str, str, Any]]:
    cases: list[tuple[str, str, Any]] = []
    for spec in CATALOG:
        if term_sequence_fields(spec.params_class):
            continue
        for field in params_fields(spec.params_class):
            cases.extend((spec.name, field.name, value) for value in _hostile_values(field.type))
    return cases


CASES = _catalog_cases()


def test_the_catalog_cases_cover_every_scalar_param() -> None:
    covered = {(loss, name) for loss, name, _ in CASES}
    for spec in CATALOG:
        for field in params_fields(spec.params_class):
            if field.name not in term_sequence_fields(spec.params_class):
                assert (spec.name, field.name) in covered, f"no hostile values for {spec.name}.{field.name}"


@pytest.mark.parametrize(("loss", "name", "value"), CASES, ids=[f"{c[0]}.{c[1]}={c[2]!r}" for c in CASES])
def test_python_and_config_agree(loss: str, name: str, value: Any) -> None:
    cls = CATALOG[loss].params_class
    required = {f.name: 1.0 for f in params_fields(cls) if f.default is attrs.NOTHING and f.name != name}
    try:
        cls(**required, **{name: value})
        python_error = None
    except ValueError as error:
        python_error = str(error)
    try:
        check_losses([{"type": loss, "params": {**required, name: value}}])
        config_error = None
    except LossConfigError as error:
        (issue,) = error.issues
        assert issue.path == f"losses[0].params.{name}"
        hint = f" ({issue.hint})" if issue.hint else ""
        config_error = f"{cls.__name__}.{name}: {issue.message}{hint}"
    assert python_error == config_error


def test_no_module_reads_attrs_private_names() -> None:
    package = Path(typed_losses.__file__).parent
    private = re.compile(
        r"\b_[A-Z]\w*Validator\b|_frozen_setattrs|\._validators\b|\bcompare_func\b|\bmember_validator\b"
    )
    found = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if private.search(line)
    ]
    assert found == []
