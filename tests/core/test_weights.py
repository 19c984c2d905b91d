"""Weights that change during training: schedules, learned weights, the step counter, checkpoints, logging."""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import torch
from helpers.sync import assert_no_sync
from torch import Tensor

from typed_losses import (
    WEIGHT_KINDS,
    CosineSchedule,
    LinearSchedule,
    LossCollection,
    LossConfigError,
    StepSchedule,
    Term,
    UncertaintyWeight,
    Weighting,
    WeightParams,
    load_yaml_text,
    register_weight,
)
from typed_losses.losses import CrossEntropyParams, MSEParams, MultiParams
from typed_losses.mmf import REGULARIZER_KEY, MMFLosses, mmf_log_keys

SCORES = torch.tensor([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
TARGETS = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
SAMPLE = {"targets": TARGETS}
MSE = float(torch.nn.functional.mse_loss(SCORES, TARGETS))  # 1.0416666...


def f32(value: float) -> float:
    """``value`` rounded to float32, as the weights are computed."""
    return float(torch.tensor(value, dtype=torch.float32))


def weight_at(weight: dict[str, Any], step: int) -> float:
    collection = LossCollection.from_config([{"type": "mse", "weight": weight}])
    collection.set_step(step)
    return float(collection(SAMPLE, {"scores": SCORES}).weights["mse"])


def linear(start: float, end: float, steps: int, begin: int, k: int) -> float:
    p = min(max((k - begin) / steps, 0.0), 1.0)
    return start + (end - start) * p


def cosine(start: float, end: float, steps: int, begin: int, k: int) -> float:
    p = min(max((k - begin) / steps, 0.0), 1.0)
    return start + (end - start) * (1 - math.cos(math.pi * p)) / 2


# -- the schedules' values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 1, 500, 1000, 1999, 2000, 2001, 10**9])
def test_linear_schedule(k: int) -> None:
    weight = {"type": "linear", "start": 0.0, "end": 1.0, "steps": 2000}
    assert weight_at(weight, k) == pytest.approx(f32(linear(0.0, 1.0, 2000, 0, k)), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("k", "expected"), [(0, 2.0), (100, 2.0), (150, 1.5), (200, 1.0), (300, 0.5), (5000, 0.5)])
def test_linear_schedule_with_begin_goes_down_too(k: int, expected: float) -> None:
    # from 2 at step 100 to 0.5 at step 250: exact at these steps
    assert weight_at({"type": "linear", "start": 2, "end": 0.5, "steps": 150, "begin": 100}, k) == expected


@pytest.mark.parametrize("k", [0, 500, 501, 3000, 5500, 8000, 10499, 10500, 20000])
def test_cosine_schedule(k: int) -> None:
    weight = {"type": "cosine", "start": 1.0, "end": 0.1, "steps": 10000, "begin": 500}
    assert weight_at(weight, k) == pytest.approx(cosine(1.0, 0.1, 10000, 500, k), rel=1e-6)


def test_schedules_reach_their_ends_exactly() -> None:
    for kind in ("linear", "cosine"):
        weight = {"type": kind, "start": 0.3, "end": 0.1, "steps": 7, "begin": 3}
        assert weight_at(weight, 0) == weight_at(weight, 3) == f32(0.3)
        assert weight_at(weight, 10) == weight_at(weight, 11) == f32(0.1)
    assert weight_at({"type": "cosine", "start": 1.0, "end": 0.0, "steps": 2}, 1) == 0.5  # half-way exactly


@pytest.mark.parametrize(
    ("k", "expected"), [(0, 0.0), (999, 0.0), (1000, 0.5), (1001, 0.5), (4999, 0.5), (5000, 1.0), (10**6, 1.0)]
)
def test_step_schedule(k: int, expected: float) -> None:
    assert weight_at({"type": "step", "milestones": [1000, 5000], "values": [0.0, 0.5, 1.0]}, k) == expected


def test_a_step_schedule_without_milestones_is_its_one_value() -> None:
    assert weight_at({"type": "step", "milestones": [], "values": [0.25]}, 123) == 0.25


def test_the_total_weights_each_term_by_its_weight_at_the_step() -> None:
    collection = LossCollection.from_config(
        [
            {"type": "mse", "weight": {"type": "linear", "start": 0.0, "end": 1.0, "steps": 4}},
            {"type": "mse", "name": "fixed", "weight": 0.5},
            {"type": "mse", "name": "stepped", "weight": {"type": "step", "milestones": [2], "values": [3.0, 0.0]}},
        ]
    )
    seen = []
    for _ in range(6):
        out = collection(SAMPLE, {"scores": SCORES})
        w = {name: float(value) for name, value in out.weights.items()}
        seen.append(w)
        expected = (w["mse"] + 0.5 + w["stepped"]) * MSE
        assert float(out.total) == pytest.approx(expected, rel=1e-6)
        collection.step()
    assert [s["mse"] for s in seen] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert [s["stepped"] for s in seen] == [3.0, 3.0, 0.0, 0.0, 0.0, 0.0]
    assert {s["fixed"] for s in seen} == {0.5}
    assert int(collection.step_count) == 6


def test_a_scheduled_weight_keeps_the_terms_dtype_and_gradient() -> None:
    collection = LossCollection.from_config(
        [{"type": "mse", "weight": {"type": "linear", "start": 1.0, "end": 0.0, "steps": 4}}]
    )
    collection.set_step(1)
    scores = SCORES.clone().requires_grad_()
    collection(SAMPLE, {"scores": scores}).total.backward()
    expected = 0.75 * 2 * (SCORES - TARGETS) / SCORES.numel()
    assert scores.grad is not None
    torch.testing.assert_close(scores.grad, expected)


# -- learned weights --------------------------------------------------------------------------------------------


def test_uncertainty_weight_value_and_gradients() -> None:
    collection = LossCollection.from_config([{"type": "mse", "weight": {"type": "uncertainty", "init": 0.5}}])
    scores = SCORES.clone().requires_grad_()
    out = collection(SAMPLE, {"scores": scores})
    assert float(out.weights["mse"]) == pytest.approx(math.exp(-0.5), rel=1e-7)
    assert float(out.total) == pytest.approx(math.exp(-0.5) * MSE + 0.5, rel=1e-6)
    out.total.backward()
    (log_variance,) = collection.parameters()
    assert log_variance.grad is not None and scores.grad is not None
    # d/ds (exp(-s) L + s) = 1 - exp(-s) L; d/dscores = exp(-s) dL/dscores
    assert float(log_variance.grad) == pytest.approx(1 - math.exp(-0.5) * MSE, rel=1e-6)
    torch.testing.assert_close(scores.grad, math.exp(-0.5) * 2 * (SCORES - TARGETS) / SCORES.numel())
    assert dict(collection.named_parameters()) == {"weighting.0.log_variance": log_variance}


def test_learned_weights_train_towards_the_inverse_loss() -> None:
    # With a fixed loss L, exp(-s) L + s is minimal at s = log L: the weight goes to 1 / L.
    collection = LossCollection([Term(MSEParams(), weight=UncertaintyWeight())])
    optimizer = torch.optim.SGD(collection.parameters(), lr=0.5)
    for _ in range(200):
        optimizer.zero_grad()
        collection(SAMPLE, {"scores": SCORES}).total.backward()
        optimizer.step()
    out = collection(SAMPLE, {"scores": SCORES})
    assert float(out.weights["mse"]) == pytest.approx(1 / MSE, rel=1e-4)


def test_a_skipped_term_keeps_its_weight_but_adds_nothing() -> None:
    collection = LossCollection.from_config(
        [
            {"type": "mse", "weight": {"type": "uncertainty", "init": 1.0}},
            {"type": "cos_emb_loss", "name": "cos", "weight": 2},
        ],
        missing_targets="skip",
    )
    out = collection({}, {"scores": SCORES})
    assert out.skipped == ("mse", "cos")
    assert float(out.total) == 0.0
    assert {k: round(float(v), 6) for k, v in out.weights.items()} == {"mse": round(math.exp(-1), 6), "cos": 2.0}


# -- the step counter, and no silent no-op ----------------------------------------------------------------------


def test_set_step_takes_an_int_at_least_zero() -> None:
    collection = LossCollection([MSEParams()])
    collection.set_step(41)
    collection.step()
    assert collection.step_count.dtype == torch.int64 and int(collection.step_count) == 42
    for bad in (-1, 1.5, True, "3", 2**63, None):
        with pytest.raises(ValueError, match=r"^the step is an int >= 0, found "):
            collection.set_step(bad)  # type: ignore[arg-type]
    assert int(collection.step_count) == 42


def test_changing_a_weight_at_run_time_raises_and_points_to_schedules() -> None:
    collection = LossCollection.from_config(
        [{"type": "mse", "weight": 0.5}, {"type": "cos_emb_loss", "weight": {"type": "uncertainty"}}]
    )
    with pytest.raises(AttributeError, match=r"fixed at construction.*configure a schedule.*collection\.step\(\)"):
        collection.weights = (1.0, 1.0)  # type: ignore[assignment]
    with pytest.raises(AttributeError, match="term names of a collection are fixed"):
        collection.names = ("a", "b")  # type: ignore[assignment]
    module = collection.weighting_of("cos_emb_loss")
    assert isinstance(module, Weighting)
    with pytest.raises(AttributeError, match="params of a weight are fixed"):
        module.params = UncertaintyWeight(init=2.0)  # type: ignore[assignment]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        collection.terms[0].weight = 2.0  # type: ignore[misc]
    assert collection.weights == (0.5, UncertaintyWeight())
    assert collection.weighting_of("mse") is None
    with pytest.raises(KeyError, match="no term named 'x'; terms: mse, cos_emb_loss"):
        collection.weighting_of("x")


def test_the_weights_follow_the_counter_however_it_changes() -> None:
    collection = LossCollection.from_config(
        [{"type": "mse", "weight": {"type": "linear", "start": 0.0, "end": 1.0, "steps": 10}}]
    )

    def weight() -> float:
        return float(collection(SAMPLE, {"scores": SCORES}).weights["mse"])

    assert weight() == 0.0
    with torch.no_grad():
        collection.step_count.fill_(5)  # in place, as DDP's buffer broadcast does
    assert weight() == 0.5
    collection.load_state_dict({**collection.state_dict(), "step_count": torch.tensor(8)})
    assert weight() == f32(0.8)
    collection.double()
    out = collection(SAMPLE, {"scores": SCORES.double()})
    assert out.weights["mse"].dtype == torch.float64 and float(out.weights["mse"]) == 0.8
    collection.float()
    with torch.inference_mode():
        collection.step()
        assert float(collection(SAMPLE, {"scores": SCORES}).weights["mse"]) == f32(0.9)
    scores = SCORES.clone().requires_grad_()
    collection(SAMPLE, {"scores": scores}).total.backward()  # the inference-mode weight was not kept
    assert scores.grad is not None


# -- config and Python forms ------------------------------------------------------------------------------------


def test_weight_mistakes_are_reported_with_positions_and_hints() -> None:
    text = """\
losses:
  - type: mse
    weight: {type: linaer, start: 0.0, end: 1.0, steps: 10}
  - type: mse
    name: b
    weight:
      type: linear
      start: -1
      stpes: 10
  - type: mse
    name: c
    weight: {type: step, milestones: [5, 3], values: [1.0, 0.5, 0.0]}
  - type: mse
    name: d
    weight: {start: 1}
  - type: multi
    params:
      - type: mse
        weight: {type: uncertainty}
"""
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(load_yaml_text(text, file="w.yaml").losses)
    assert str(info.value).splitlines() == [
        "w.yaml:3:20: losses[0].weight.type: unknown weight kind 'linaer' (did you mean 'linear'?)",
        "w.yaml:6:5: losses[1].weight: missing required param 'end' (float) of LinearSchedule",
        "w.yaml:6:5: losses[1].weight: missing required param 'steps' (int) of LinearSchedule",
        "w.yaml:8:14: losses[1].weight.start: expected a finite number >= 0, found -1.0",
        "w.yaml:9:7: losses[1].weight.stpes: unknown param 'stpes' for LinearSchedule (did you mean 'steps'?)",
        "w.yaml:12:13: losses[2].weight: invalid params for StepSchedule: "
        "milestones must be strictly increasing, found 5 then 3",
        "w.yaml:15:5: losses[3].weight: missing `type`: the weight kind (cosine, linear, step, uncertainty)",
        "w.yaml:19:17: losses[4].params[0].weight: a weight that changes during training applies to a top-level "
        "term; here it is a number >= 0",
    ]


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ({"type": "step", "milestones": [1], "values": [1.0]}, "values needs one more item than milestones"),
        ({"type": "linear", "start": 0, "end": 1, "steps": 0}, "steps: expected an integer >= 1, found 0"),
        ({"type": "cosine", "start": 0, "end": float("nan"), "steps": 3}, "end: expected a finite number >= 0"),
        (
            {"type": "step", "milestones": [-1], "values": [1.0, 2.0]},
            "milestones: item 0: expected an integer >= 0, found -1",
        ),
        ({"type": 3}, "weight.type: expected a weight kind name (str), found 3 (int)"),
        ({"type": "uncertainty", "init": "x"}, "weight.init: expected float, found 'x' (str)"),
    ],
)
def test_each_weight_rule_is_checked(weight: dict[str, Any], message: str) -> None:
    with pytest.raises(LossConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LossCollection.from_config([{"type": "mse", "weight": weight}])


def test_python_terms_take_the_same_forms_as_the_config() -> None:
    schedule = CosineSchedule(start=1.0, end=0.1, steps=100, begin=10)
    from_python = LossCollection([Term(MSEParams(), weight=schedule), Term(CrossEntropyParams(), weight=0.5)])
    config = from_python.to_config()
    assert config[0]["weight"] == {"type": "cosine", "start": 1.0, "end": 0.1, "steps": 100, "begin": 10}
    from_config = LossCollection.from_config(config)
    assert from_config.weights == from_python.weights == (schedule, 0.5)
    assert from_config.terms == from_python.terms
    assert LossCollection.from_config(from_config.to_config()).to_config() == config


def test_python_weight_forms_are_checked_where_they_are_written() -> None:
    with pytest.raises(ValueError, match="milestones must be strictly increasing, found 2 then 2"):
        StepSchedule(milestones=(2, 2), values=(1.0, 0.5, 0.0))
    with pytest.raises(ValueError, match=r"LinearSchedule.steps: expected an integer >= 1, found 0"):
        LinearSchedule(start=0.0, end=1.0, steps=0)

    @attrs.frozen
    class Unregistered(WeightParams):
        pass

    with pytest.raises(ValueError, match="Unregistered is not the params class of a registered weight kind"):
        Term(MSEParams(), weight=Unregistered())
    with pytest.raises(ValueError, match=r"^expected a number >= 0 or a weight kind \(\{type: \.\.\.\}\), found \{"):
        Term(MSEParams(), weight={"type": "linear"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"MultiParams.losses\[0\].weight: a weight that changes during training"):
        MultiParams(losses=(Term(MSEParams(), weight=LinearSchedule(start=0.0, end=1.0, steps=2)),))


@pytest.fixture
def halving() -> Iterator[type[WeightParams]]:
    @attrs.frozen(kw_only=True)
    class HalvingParams(WeightParams):
        every: int = 10

    @register_weight("halving")
    class Halving(Weighting[HalvingParams]):
        """Halves the weight every `every` steps."""

        def forward(self, step: Tensor) -> Tensor:
            return torch.pow(0.5, torch.div(step, self.params.every, rounding_mode="floor").float())

    yield HalvingParams
    WEIGHT_KINDS.unregister("halving")


def test_a_user_weight_kind_is_configured_like_a_built_in_one(halving: type[WeightParams]) -> None:
    collection = LossCollection.from_config([{"type": "mse", "weight": {"type": "halving", "every": 4}}])
    collection.set_step(9)
    out = collection(SAMPLE, {"scores": SCORES})
    assert float(out.weights["mse"]) == 0.25 and float(out.total) == pytest.approx(0.25 * MSE)
    assert collection.weights == (halving(every=4),)  # type: ignore[call-arg]
    assert "halving" in WEIGHT_KINDS and WEIGHT_KINDS.get("halving") is not None
    with pytest.raises(
        LossConfigError, match="weight.type: unknown weight kind 'halvng' \\(did you mean 'halving'\\?\\)"
    ):
        LossCollection.from_config([{"type": "mse", "weight": {"type": "halvng"}}])


def test_registering_a_weight_kind_checks_the_declaration() -> None:
    @attrs.frozen
    class P(WeightParams):
        pass

    class NoParams(Weighting):  # type: ignore[type-arg]
        pass

    class Good(Weighting[P]):
        pass

    with pytest.raises(ValueError, match="a weight kind name is letters"):
        register_weight("bad name")(Good)
    with pytest.raises(TypeError, match="is not a subclass of typed_losses.Weighting"):
        register_weight("x")(int)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="must declare its params class"):
        register_weight("x")(NoParams)
    with pytest.raises(ValueError, match="the name is already taken"):
        register_weight("linear")(Good)
    register_weight("good")(Good)
    try:
        with pytest.raises(ValueError, match="P is already the params class of weight kind 'good'"):
            register_weight("good_again")(Good)
    finally:
        WEIGHT_KINDS.unregister("good")


# -- checkpoints ------------------------------------------------------------------------------------------------

CONFIG: list[Any] = [
    {"type": "mse", "weight": {"type": "linear", "start": 0.0, "end": 1.0, "steps": 10}},
    {"type": "cos_emb_loss", "name": "cos", "weight": {"type": "uncertainty", "init": 0.25}},
]


def trained(steps: int = 3) -> LossCollection:
    collection = LossCollection.from_config(CONFIG)
    optimizer = torch.optim.SGD(collection.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        collection(SAMPLE, {"scores": SCORES}).total.backward()
        optimizer.step()
        collection.step()
    return collection


def same_state(a: LossCollection, b: LossCollection) -> None:
    assert int(a.step_count) == int(b.step_count)
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b) == ["step_count", "_extra_state", "weighting.1.log_variance"]
    assert torch.equal(state_a["weighting.1.log_variance"], state_b["weighting.1.log_variance"])
    out_a, out_b = a(SAMPLE, {"scores": SCORES}), b(SAMPLE, {"scores": SCORES})
    assert float(out_a.total) == float(out_b.total)
    assert {k: float(v) for k, v in out_a.weights.items()} == {k: float(v) for k, v in out_b.weights.items()}


def test_state_dict_holds_the_counter_and_the_learned_weights() -> None:
    original = trained()
    state = original.state_dict()
    assert int(state["step_count"]) == 3
    assert float(state["weighting.1.log_variance"]) != 0.25  # trained
    assert state["_extra_state"]["losses"][1]["weight"] == {"type": "uncertainty", "init": 0.25}
    same_state(original, LossCollection.from_state_dict(state))
    fresh = LossCollection.from_config(CONFIG)
    fresh.load_state_dict(state)
    same_state(original, fresh)
    same_state(original, copy.deepcopy(original))
    same_state(original, pickle.loads(pickle.dumps(original)))


def test_a_state_saved_with_torch_save_resumes_training_exactly(tmp_path: Any) -> None:
    path = tmp_path / "ckpt.pt"
    original = trained(2)
    torch.save(original.state_dict(), path)
    resumed = LossCollection.from_state_dict(torch.load(path, weights_only=True))
    for collection in (original, resumed):  # two more steps each
        optimizer = torch.optim.SGD(collection.parameters(), lr=0.1)
        for _ in range(2):
            optimizer.zero_grad()
            collection(SAMPLE, {"scores": SCORES}).total.backward()
            optimizer.step()
            collection.step()
    same_state(original, resumed)
    same_state(original, trained(4))


def test_a_state_without_a_counter_loads_only_where_no_weight_changes() -> None:
    fixed = LossCollection([MSEParams(), Term(CrossEntropyParams(), weight=0.5)])
    old = {k: v for k, v in fixed.state_dict().items() if k != "step_count"}  # saved by typed_losses 0.1
    fixed.load_state_dict(old)
    scheduled = LossCollection.from_config(CONFIG)
    state = {k: v for k, v in scheduled.state_dict().items() if k != "step_count"}
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "step_count"'):
        scheduled.load_state_dict(state)


def test_a_strict_load_names_a_different_weight_form() -> None:
    saved = LossCollection.from_config(CONFIG).state_dict()
    other = LossCollection.from_config([{**CONFIG[0], "weight": 0.5}, CONFIG[1]])
    with pytest.raises(LossConfigError, match=r"_extra_state\.losses\[0\]\.weight"):
        other.load_state_dict(saved)


# -- logging ----------------------------------------------------------------------------------------------------


def test_to_log_is_flat_detached_and_names_the_changing_weights() -> None:
    collection = LossCollection.from_config(
        [*CONFIG, {"type": "bce_kl", "params": {"weight_softmax": 1.0}, "weight": 0.5}]
    )
    collection.set_step(5)
    scores = SCORES.clone().requires_grad_()
    out = collection({"targets": TARGETS}, {"scores": scores})
    log = out.to_log("train/")
    assert list(log) == [
        "train/mse",
        "train/cos",
        "train/bce_kl/kl",
        "train/bce_kl/bce",
        "train/total",
        "train/weight/mse",
        "train/weight/cos",
    ]
    assert all(v.dim() == 0 and not v.requires_grad for v in log.values())
    assert float(log["train/weight/mse"]) == 0.5
    assert float(log["train/weight/cos"]) == pytest.approx(math.exp(-0.25))
    assert float(log["train/total"]) == float(out.total)
    assert float(log["train/cos"]) == pytest.approx(float(out.terms["cos"].mean()))
    assert list(out.to_log()) == [k.removeprefix("train/") for k in log]
    with pytest.raises(TypeError, match="to_log: prefix must be a str"):
        out.to_log(1)  # type: ignore[arg-type]


def test_weight_log_keys_cannot_meet_term_names() -> None:
    for name in ("weight", "weight/mse"):
        with pytest.raises(LossConfigError, match=f"term name '{name}' is reserved: logs use `weight/<term>`"):
            LossCollection.from_config([{"type": "mse", "name": name}])


def test_forward_and_to_log_do_not_sync() -> None:
    collection = LossCollection.from_config(CONFIG)
    scores = SCORES.clone().requires_grad_()
    for _ in range(2):  # the first call computes the scheduled weight, the second reuses it
        out = assert_no_sync(collection, SAMPLE, {"scores": scores})
        assert_no_sync(out.to_log, "train/")
        assert_no_sync(out.total.backward)
        assert_no_sync(collection.step)


# -- MMF adapter ------------------------------------------------------------------------------------------------


def test_mmf_values_sum_to_the_total_with_changing_weights() -> None:
    losses = MMFLosses(CONFIG)
    losses.set_step(3)
    losses.step()
    assert int(losses.collection.step_count) == 4
    sample = {**SAMPLE, "dataset_type": "train", "dataset_name": "vqa2"}
    values = losses(sample, {"scores": SCORES})
    assert list(values) == ["train/vqa2/mse", "train/vqa2/cos", f"train/vqa2/cos/{REGULARIZER_KEY}"]
    out = losses.collection(sample, {"scores": SCORES})
    assert float(sum(v.mean() for v in values.values())) == pytest.approx(float(out.total), rel=1e-6)
    assert float(values["train/vqa2/mse"]) == pytest.approx(0.4 * MSE, rel=1e-6)
    keys = mmf_log_keys(out, "train", "vqa2")
    assert float(keys["train/vqa2/weight/mse"]) == f32(0.4)
    assert "train/vqa2/weight/cos" in keys


# -- torch.compile ----------------------------------------------------------------------------------------------


def test_advancing_the_step_does_not_recompile() -> None:
    torch._dynamo.reset()
    collection = LossCollection.from_config(CONFIG)
    compiled = torch.compile(collection, fullgraph=True, backend="eager")
    seen = []
    with torch._dynamo.config.patch(error_on_recompile=True):
        for _ in range(4):
            scores = SCORES.clone().requires_grad_()
            out = compiled(SAMPLE, {"scores": scores})
            out.total.backward()
            eager = collection(SAMPLE, {"scores": SCORES})
            torch.testing.assert_close(out.total, eager.total)
            seen.append(float(out.weights["mse"]))
            collection.step()
    assert seen == [0.0, f32(0.1), f32(0.2), f32(0.3)]


def test_a_weight_kind_given_by_a_resolver_is_checked_as_written() -> None:
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver(
        "warmup_of", lambda steps: {"type": "linear", "start": 0.0, "end": 1.0, "steps": steps}
    )
    try:
        cfg = load_yaml_text("losses:\n  - type: mse\n    weight: ${warmup_of:4}\n")
        assert LossCollection.from_config(cfg.losses).weights == (LinearSchedule(start=0.0, end=1.0, steps=4),)
        bad = load_yaml_text("losses:\n  - type: mse\n    weight: ${warmup_of:0}\n", file="r.yaml")
        with pytest.raises(LossConfigError, match=r"losses\[0\]\.weight\.steps: expected an integer >= 1, found 0"):
            LossCollection.from_config(bad.losses)
    finally:
        OmegaConf.clear_resolver("warmup_of")
