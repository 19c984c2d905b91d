"""Review findings on the checker, conversion and checkpoints: each fails before its fix."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import torch
from omegaconf import OmegaConf

from typed_losses import LossCollection, LossConfigError, Term, load_yaml_text
from typed_losses.collection import STATE_FORMAT
from typed_losses.config.source import literal_data
from typed_losses.loss import Batch, Loss
from typed_losses.losses import MSELoss, MSEParams, MultiParams
from typed_losses.registry import Registry


@attrs.frozen
class P:
    x: float = 1.0


@attrs.frozen
class P2:
    x: float = 2.0


def _constant_loss(value: float, params: type[Any]) -> type[Loss[Any]]:
    """An unregistered loss class named ``MyLoss`` returning ``value``."""

    class MyLoss(Loss[params]):  # type: ignore[valid-type]
        def forward(self, sample_list: Batch, model_output: Batch) -> torch.Tensor:
            return torch.tensor(value)

    return MyLoss


ONE = _constant_loss(1.0, P)
TWO = _constant_loss(2.0, P)
TWO_P2 = _constant_loss(2.0, P2)


def _terms(collection: LossCollection) -> dict[str, float]:
    return {name: float(value) for name, value in collection({}, {}).terms.items()}


# -- #2: each term keeps its own loss class ------------------------------------------------------------------


def test_two_unregistered_losses_with_one_name_each_run() -> None:
    collection = LossCollection([Term(P(), loss=ONE, name="a"), Term(P(), loss=TWO, name="b")])
    assert _terms(collection) == {"a": 1.0, "b": 2.0}
    assert [type(m) for m in collection.losses] == [ONE, TWO]


def test_two_unregistered_losses_with_one_name_and_other_params_classes() -> None:
    collection = LossCollection([Term(P(), loss=ONE, name="a"), Term(P2(), loss=TWO_P2, name="b")])
    assert _terms(collection) == {"a": 1.0, "b": 2.0}


# -- #7: nested Python terms get their loss from the checker -------------------------------------------------


def test_a_nested_unregistered_loss_is_written_by_its_name() -> None:
    collection = LossCollection([MultiParams(losses=(Term(P(), loss=ONE, weight=0.5),))])
    assert _terms(collection) == {"multi": 0.5}
    assert collection.to_config() == [
        {"type": "multi", "params": [{"type": "MyLoss", "weight": 0.5, "params": {"x": 1.0}}]}
    ]
    assert set(collection.state_dict()) == {"step_count", "_extra_state"}


def test_a_nested_term_without_a_loss_is_reported_at_its_path() -> None:
    with pytest.raises(LossConfigError) as caught:
        LossCollection([MSEParams(), MultiParams(losses=(Term(MSEParams()), Term(P())))])
    assert str(caught.value) == "items[1].params.losses[1]: no registered loss takes P"


@pytest.mark.usefixtures("clean_registry")
def test_a_nested_params_class_of_several_losses_is_reported_at_its_path() -> None:
    from typed_losses import register_loss

    register_loss("p_one")(_constant_loss(1.0, P))
    register_loss("p_two")(_constant_loss(2.0, P))
    with pytest.raises(LossConfigError) as caught:
        LossCollection([MultiParams(losses=(Term(P()),))])
    assert str(caught.value) == (
        "items[0].params.losses[0]: P is the params class of several losses (p_one, p_two)"
        " (wrap it in Term(params, loss=TheLossClass))"
    )


def test_the_loss_type_name_is_the_registry_name_else_the_class_name() -> None:
    assert MSELoss.type_name() == "mse"
    assert ONE.type_name() == "MyLoss"


# -- #8: a collection of its own registry round-trips its checkpoint -----------------------------------------


def test_a_collection_of_its_own_registry_restores_from_its_checkpoint() -> None:
    registry = Registry(entry_point_group=None)
    registry.register("my_mse", MSELoss, params=MSEParams)
    collection = LossCollection.from_config([{"type": "my_mse", "weight": 0.5}], registry=registry)
    assert collection.to_config() == [{"type": "my_mse", "weight": 0.5, "params": {}}]
    state = collection.state_dict()
    restored = LossCollection.from_state_dict(state, registry=registry)
    assert restored.to_config() == collection.to_config()
    restored.load_state_dict(state)  # the config comparison uses the collection's registry
    built = LossCollection([Term(MSEParams(), weight=0.5)], registry=registry)
    assert built.to_config() == [{"type": "my_mse", "weight": 0.5, "params": {}}]


# -- #9: checkpoints with junk --------------------------------------------------------------------------------


def _state(**extra: object) -> dict[Any, Any]:
    return {**LossCollection.from_config(["mse"]).state_dict(), **extra}


@pytest.mark.parametrize(
    ("version", "shown"),
    [(torch.tensor([1, 1]), "tensor([1, 1]) (Tensor)"), (True, "True (bool)"), (1.0, "1.0 (float)"), (2, "2")],
)
def test_a_format_that_is_not_the_int_1_is_refused(version: object, shown: str) -> None:
    state = _state(_extra_state={"format": version, "losses": ["mse"]})
    with pytest.raises(LossConfigError) as caught:
        LossCollection.from_state_dict(state)
    assert str(caught.value) == (
        f"_extra_state.format: unsupported state format {shown}; this version reads format {STATE_FORMAT}"
        " (upgrade typed_losses)"
    )


def test_a_losses_list_holding_itself_is_a_config_error() -> None:
    losses: list[object] = []
    losses.append(losses)
    with pytest.raises(LossConfigError) as caught:
        LossCollection.from_state_dict(_state(_extra_state={"format": 1, "losses": losses}))
    assert str(caught.value) == "_extra_state.losses[0]: the value contains itself"


def test_state_dict_keys_that_are_not_strings_are_a_config_error() -> None:
    with pytest.raises(LossConfigError) as caught:
        LossCollection.from_state_dict(_state() | {3: torch.zeros(1)})  # pyright: ignore[reportArgumentType]
    assert str(caught.value) == "state_dict: keys of a state dict are strings, found 3 (int)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefix": None}, "prefix must be a str, found None (NoneType)"),
        ({"strict": "no"}, "strict must be True or False, found 'no' (str)"),
    ],
)
def test_from_state_dict_options_of_the_wrong_type(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as caught:
        LossCollection.from_state_dict(_state(), **options)
    assert str(caught.value) == message


def test_literal_data_is_iterative_and_keeps_a_cycle() -> None:
    deep: list[object] = ["${x}"]
    for _ in range(5000):
        deep = [deep]
    copied = literal_data(deep)
    for _ in range(5000):
        copied = copied[0]
    assert copied == ["\\${x}"]
    cyclic: dict[str, object] = {}
    cyclic["self"] = cyclic
    result = literal_data(cyclic)
    assert result["self"] is result and result is not cyclic


# -- #11: messages ---------------------------------------------------------------------------------------------


def test_a_resolver_giving_a_list_is_checked_as_that_list() -> None:
    good = OmegaConf.create({"losses": '${oc.decode:"[mse, {type: mse, name: b, weight: 0.5}]"}'})
    assert LossCollection.from_config(good._get_node("losses")).names == ("mse", "b")
    bad = OmegaConf.create({"losses": '${oc.decode:"[mse, msee, {type: mse, weight: -1}]"}'})
    with pytest.raises(LossConfigError) as caught:
        LossCollection.from_config(bad._get_node("losses"))
    assert str(caught.value).splitlines() == [
        "losses[1]: unknown loss 'msee' (did you mean 'mse'?)",
        "losses[2]: duplicate term name 'mse' (also at losses[0]) (give one of them a distinct `name:`)",
        "losses[2].weight: weight must be a finite number >= 0, found -1",
    ]


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ([Term(MSEParams())], "losses[0]: expected a config entry, found a Term (a Python value)"),
        (["mse", MSEParams()], "losses[1]: expected a config entry, found a MSEParams (a Python value)"),
        ({"a": MSEParams()}, "losses.a: expected a config entry, found a MSEParams (a Python value)"),
        (MSEParams(), "losses: expected a config entry, found a MSEParams (a Python value)"),
    ],
)
def test_python_values_in_from_config_point_to_the_constructor(cfg: object, message: str) -> None:
    with pytest.raises(LossConfigError) as caught:
        LossCollection.from_config(cfg)
    assert str(caught.value) == message + " (Python values: use LossCollection([...]))"


def test_load_yaml_text_of_none_is_a_type_error() -> None:
    with pytest.raises(TypeError) as caught:
        load_yaml_text(None)  # type: ignore[arg-type]
    assert str(caught.value) == "load_yaml_text takes the YAML text as a str, found NoneType"


def test_a_nul_byte_in_yaml_is_one_positioned_line() -> None:
    with pytest.raises(LossConfigError) as caught:
        load_yaml_text("losses:\n  - mse\x00\n", file="c.yaml")
    assert str(caught.value) == (
        "c.yaml:2:8: <document>: invalid YAML: unacceptable character #x0000: control characters are not allowed"
    )


# -- #10: the collection's own load_state_dict knows its strict ------------------------------------------------


def _other_state() -> dict[str, Any]:
    return LossCollection.from_config([{"type": "mse", "weight": 0.5}]).state_dict()


def test_a_wrapped_module_load_state_dict_keeps_the_strict_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    original = torch.nn.Module.load_state_dict

    def wrapped(self: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "load_state_dict", wrapped)
    with pytest.raises(LossConfigError) as caught:
        LossCollection.from_config(["mse"]).load_state_dict(_other_state())
    assert str(caught.value) == (
        "_extra_state.losses[0].weight: this collection has (absent), the loaded state has 0.5"
        " (rebuild it with LossCollection.from_state_dict(state_dict))"
    )


def test_a_lenient_load_warns_at_the_caller() -> None:
    with pytest.warns(UserWarning) as record:
        LossCollection.from_config(["mse"]).load_state_dict(_other_state(), strict=False)
    (warning,) = record
    assert warning.filename == __file__
