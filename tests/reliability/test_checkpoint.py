"""Checkpoints: the config travels in ``state_dict`` as plain types and rebuilds the collection exactly."""

from __future__ import annotations

import copy
import io
import pickle
import warnings
from typing import Any

import plugin_losses
import pytest
import torch
from helpers.cli import LOAD_HINT
from torch import nn

from typed_losses import LossCollection, LossConfigError, Term
from typed_losses.collection import STATE_FORMAT
from typed_losses.losses import MSEParams, MultiParams

CONFIG: list[dict[str, Any]] = [
    {
        "type": "cross_entropy",
        "name": "ce",
        "weight": 0.5,
        "params": {"weight": [1.0, 2.0, 3.0], "label_smoothing": 0.1},
    },
    {
        "type": "multi",
        "params": [
            {"type": plugin_losses.NAME, "weight": 0.3, "params": {"scale": [1.0, 1.0, 1.0]}},
            {"type": plugin_losses.NAME, "params": {"scale": [1.0, 4.0, 0.5]}},
        ],
    },
    {"type": plugin_losses.NAME, "name": "scaled", "params": {"scale": [2.0, 2.0, 2.0]}},
]
SCORES = torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]])
SAMPLE = {"targets": torch.tensor([0, 2]), "target": torch.tensor([[0.5, 0.0, 1.0], [1.0, 1.0, 0.0]])}
OUTPUT = {"scores": SCORES, "pred": SCORES * 0.5}


def trained() -> LossCollection:
    collection = LossCollection.from_config(CONFIG)
    for _ in range(3):
        collection({"targets": SAMPLE["targets"], "target": SAMPLE["target"]}, {"scores": SCORES, "pred": SCORES * 0.5})
    return collection


def saved(obj: object) -> Any:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def mse_target_batch() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    target = SAMPLE["target"]
    return {"targets": SAMPLE["targets"], "target": target}, {"scores": SCORES, "pred": SCORES * 0.5}


def test_state_dict_carries_the_config_as_plain_types_and_the_buffers() -> None:
    state = trained().state_dict()
    assert list(state) == [
        "step_count",
        "_extra_state",
        "losses.1.losses.0.scale",
        "losses.1.losses.0.calls",
        "losses.1.losses.1.scale",
        "losses.1.losses.1.calls",
        "losses.2.scale",
        "losses.2.calls",
    ]
    assert state["_extra_state"] == {"format": STATE_FORMAT, "losses": LossCollection.from_config(CONFIG).to_config()}
    assert int(state["losses.2.calls"]) == 3
    # class_weight is derived from params and not persistent: it is rebuilt from the config.
    assert not [k for k in state if k.endswith("class_weight")]


def test_weights_only_load_rebuilds_exactly() -> None:
    original = trained()
    loaded = saved(original.state_dict())
    rebuilt = LossCollection.from_state_dict(loaded)
    assert rebuilt.terms == original.terms
    assert rebuilt.to_config() == original.to_config()
    for (name, a), (name_b, b) in zip(original.state_dict().items(), rebuilt.state_dict().items(), strict=True):
        assert name == name_b
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b)
    torch.testing.assert_close(rebuilt.losses[0].class_weight, torch.tensor([1.0, 2.0, 3.0]))
    sample, output = mse_target_batch()
    assert rebuilt(sample, output).detached() == original(sample, output).detached()
    assert int(rebuilt.get_buffer("losses.2.calls")) == 4 == int(original.get_buffer("losses.2.calls"))


def test_from_state_dict_inside_a_larger_module() -> None:
    model = nn.Module()
    model.head = nn.Linear(3, 3)
    model.criterion = trained()
    state = saved(model.state_dict())
    rebuilt = LossCollection.from_state_dict(state, prefix="criterion.")
    assert rebuilt.to_config() == model.criterion.to_config() and int(rebuilt.get_buffer("losses.2.calls")) == 3
    with pytest.raises(LossConfigError, match=r"^_extra_state: the state has no loss config: .* \(check `prefix`\)$"):
        LossCollection.from_state_dict(state)


def test_loading_a_state_with_another_config_is_an_error() -> None:
    state = trained().state_dict()
    other = copy.deepcopy(CONFIG)
    other[0]["params"]["label_smoothing"] = 0.2
    other[2]["weight"] = 3
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(other).load_state_dict(state)
    assert [str(i) for i in info.value.issues] == [
        "_extra_state.losses[0].params.label_smoothing: this collection has 0.2, the loaded state has 0.1 "
        "(rebuild it with LossCollection.from_state_dict(state_dict))",
        "_extra_state.losses[2].weight: this collection has 3.0, the loaded state has (absent) "
        "(rebuild it with LossCollection.from_state_dict(state_dict))",
    ]


def test_a_lenient_load_with_another_config_warns_and_loads_the_buffers() -> None:
    state = trained().state_dict()
    other = copy.deepcopy(CONFIG)
    other[0]["params"]["label_smoothing"] = 0.2
    collection = LossCollection.from_config(other)
    with pytest.warns(UserWarning) as record:
        result = collection.load_state_dict(state, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    (warning,) = record
    assert str(warning.message) == (
        "loading the state of a LossCollection saved with another config:\n"
        "_extra_state.losses[0].params.label_smoothing: this collection has 0.2, the loaded state has 0.1 "
        "(rebuild it with LossCollection.from_state_dict(state_dict))"
    )
    assert int(collection.losses[2].calls) == 3  # type: ignore[arg-type]


def test_inside_a_larger_module_another_config_warns_and_fails_only_a_strict_load() -> None:
    state = nn.ModuleDict({"loss": trained()}).state_dict()
    other = copy.deepcopy(CONFIG)
    other[2]["weight"] = 3
    model = nn.ModuleDict({"loss": LossCollection.from_config(other)})
    with pytest.warns(UserWarning) as record:
        result = model.load_state_dict(state, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == ([], ["loss._extra_state"])
    (warning,) = record
    assert str(warning.message) == (
        "loading the state of a LossCollection saved with another config:\n"
        "loss._extra_state.losses[2].weight: this collection has 3.0, the loaded state has (absent) "
        "(rebuild it with LossCollection.from_state_dict(state_dict, prefix='loss.'))"
    )


class Model(nn.Module):
    def __init__(self, config: list[dict[str, Any]]) -> None:
        super().__init__()
        self.head = nn.Linear(3, 3)
        self.losses = LossCollection.from_config(config)


def test_a_strict_load_of_an_enclosing_model_names_the_differences() -> None:
    state = Model(CONFIG).state_dict()
    other = copy.deepcopy(CONFIG)
    other[0]["params"]["label_smoothing"] = 0.2
    other[2]["weight"] = 3
    model = Model(other)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the differences are in the error, not in a separate warning
        with pytest.raises(RuntimeError) as info:
            model.load_state_dict(state)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Model:\n"
        "\tlosses._extra_state.losses[0].params.label_smoothing: this collection has 0.2, the loaded state has 0.1 "
        "(rebuild it with LossCollection.from_state_dict(state_dict, prefix='losses.'))\n"
        "\tlosses._extra_state.losses[2].weight: this collection has 3.0, the loaded state has (absent) "
        "(rebuild it with LossCollection.from_state_dict(state_dict, prefix='losses.'))"
    )
    # the same model with the same config loads strictly, and so does the rebuilt collection
    assert Model(CONFIG).load_state_dict(state) is not None
    assert LossCollection.from_state_dict(state, prefix="losses.").to_config() == Model(CONFIG).losses.to_config()


def test_a_strict_load_of_an_enclosing_model_keeps_torchs_other_errors() -> None:
    state = Model(CONFIG).state_dict()
    del state["head.bias"]
    other = copy.deepcopy(CONFIG)
    other[2]["weight"] = 3
    with pytest.raises(RuntimeError) as info:
        Model(other).load_state_dict(state)
    assert str(info.value).splitlines() == [
        "Error(s) in loading state_dict for Model:",
        '\tMissing key(s) in state_dict: "head.bias". ',
        "\tlosses._extra_state.losses[2].weight: this collection has 3.0, the loaded state has (absent) "
        "(rebuild it with LossCollection.from_state_dict(state_dict, prefix='losses.'))",
    ]


def state_of(config: list[dict[str, Any]]) -> dict[str, Any]:
    return {"_extra_state": {"format": STATE_FORMAT, "losses": config}}


def test_interpolations_in_a_state_are_data_and_never_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TL_TEST_SECRET", "hunter2")
    bad = state_of(
        [
            {"type": "cross_entropy", "params": {"reduction": "${oc.env:TL_TEST_SECRET}"}},
            {"type": "${oc.env:TL_TEST_SECRET}"},
        ]
    )
    for attempt in (
        lambda: LossCollection.from_state_dict(bad),
        lambda: LossCollection.from_config(["mse"]).load_state_dict(bad),
    ):
        with pytest.raises(LossConfigError) as info:
            attempt()
        assert "hunter2" not in str(info.value)
        assert [str(i) for i in info.value.issues] == [
            "_extra_state.losses[0].params.reduction: '${oc.env:TL_TEST_SECRET}' (str) is not an allowed value "
            "(allowed: 'mean', 'sum', 'none')",
            f"_extra_state.losses[1].type: unknown loss '${{oc.env:TL_TEST_SECRET}}' ({LOAD_HINT})",
        ]


def test_strings_of_a_state_are_kept_literally() -> None:
    names = ["${oc.env:HOME}", "a\\${b}", "\\\\${c}", "x${", "back\\slash"]
    original = LossCollection([Term(MSEParams(), name=name) for name in names])
    rebuilt = LossCollection.from_state_dict(saved(original.state_dict()))
    assert rebuilt.names == tuple(names)
    assert rebuilt.load_state_dict(original.state_dict()) is not None


def test_a_state_saved_before_a_params_field_existed_loads_with_its_default() -> None:
    current = LossCollection.from_config(CONFIG).to_config()
    old = copy.deepcopy(current)
    del old[0]["params"]["ignore_index"]  # as if saved before `ignore_index` existed (default -100)
    state = {**trained().state_dict(), "_extra_state": {"format": STATE_FORMAT, "losses": old}}
    assert LossCollection.from_state_dict(state).to_config() == current
    # loading it into a collection of today's config is no difference, strict or not
    model_state = {**Model(CONFIG).state_dict(), "losses._extra_state": state["_extra_state"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert LossCollection.from_config(CONFIG).load_state_dict(state) is not None
        assert Model(CONFIG).load_state_dict(model_state) is not None


def test_configs_are_compared_once_both_are_normalised() -> None:
    # Nested terms are written as top-level entries are (checkpoint.config_entry): built from Python or
    # from a config, the same config.
    built = LossCollection([Term(MultiParams(losses=[Term(MSEParams(), weight=0.5)]))])
    configured = LossCollection.from_config([{"type": "multi", "params": [{"type": "mse", "weight": 0.5}]}])
    assert built.to_config() == configured.to_config()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert built.load_state_dict(configured.state_dict()) is not None
        assert configured.load_state_dict(built.state_dict()) is not None


def test_errors_of_from_state_dict_never_recommend_from_state_dict() -> None:
    broken = copy.deepcopy(LossCollection.from_config(CONFIG).to_config())
    broken[0]["params"]["label_smoothing"] = 2.0
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_state_dict(state_of(broken))
    assert "from_state_dict" not in str(info.value)
    assert [i.path for i in info.value.issues] == ["_extra_state.losses[0].params.label_smoothing"]


def test_a_state_saved_without_the_config_loads_strictly() -> None:
    # MMF's `Losses` and plain modules save no config: there is nothing to check it against.
    collection = LossCollection.from_config(["mse", {"type": "cross_entropy", "params": {"weight": [1.0, 2.0]}}])
    assert collection.load_state_dict({}, strict=True) is not None
    with pytest.raises(RuntimeError, match="Unexpected key"):
        collection.load_state_dict({"losses.0.stray": torch.zeros(())}, strict=True)


@pytest.mark.parametrize("state", [None, [("_extra_state", {})], "losses"])
def test_from_state_dict_of_a_non_mapping_is_a_config_error(state: object) -> None:
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_state_dict(state)  # type: ignore[arg-type]
    assert str(info.value) == f"state_dict: expected a state dict (a mapping), found {type(state).__name__}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"format": 99, "losses": []},
            "_extra_state.format: unsupported state format 99; this version reads format 1 (upgrade typed_losses)",
        ),
        ([1, 2], "_extra_state: expected {'format': 1, 'losses': [...]}, found list"),
        ({"format": 1, "losses": {"a": 1}}, "_extra_state.losses: expected a list, found dict"),
        (
            {"format": 1, "losses": [{"type": "cross_entropyy"}]},
            "_extra_state.losses[0].type: unknown loss 'cross_entropyy' (did you mean 'cross_entropy'?)",
        ),
    ],
)
def test_a_corrupt_state_is_a_config_error(extra: object, message: str) -> None:
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_state_dict({"_extra_state": extra})
    assert str(info.value) == message


def test_pickle_and_deepcopy_keep_config_options_and_buffers() -> None:
    original = LossCollection.from_config(CONFIG, check_finite=True, missing_targets="skip")
    sample, output = mse_target_batch()
    original(sample, output)
    for clone in (pickle.loads(pickle.dumps(original)), copy.deepcopy(original)):
        assert clone.to_config() == original.to_config()
        assert (clone.check_finite, clone.missing_targets) == (True, "skip")
        assert int(clone.get_buffer("losses.2.calls")) == 1
        assert clone(sample, output).detached() == original(sample, output).detached()
        assert clone({"targets": SAMPLE["targets"]}, output).skipped == ("multi", "scaled")
