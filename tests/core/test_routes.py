"""Routing a term's inputs from config (``inputs:``): one loss type on several heads."""

from __future__ import annotations

import copy
import io
import json
import pickle
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch
import torch.nn.functional as F
from helpers.sync import no_host_sync
from torch._dynamo.testing import CompileCounter

from typed_losses import LossCollection, LossConfigError, LossInputError, LossShapeError, Term
from typed_losses.cli import main
from typed_losses.config.yaml import load_yaml_text
from typed_losses.distributed import config_digest
from typed_losses.losses import CrossEntropyParams, MSEParams, MultiParams
from typed_losses.schema import losses_schema

SCORES = torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
AUX = torch.tensor([[0.3, -1.0, 2.0], [1.0, 0.0, 0.0]])
TARGETS = torch.tensor([1, 2])
ANSWERS = torch.tensor([2, 0])
DEPTH = torch.tensor([[0.5, 1.0], [2.0, -1.0]])
DEPTH_TARGETS = torch.tensor([[0.0, 1.0], [1.0, 1.0]])

TWO_HEADS: list[Any] = [
    {"type": "cross_entropy"},
    {
        "type": "cross_entropy",
        "name": "aux_ce",
        "weight": 0.4,
        "inputs": {"scores": "aux_scores", "targets": "answers"},
    },
]


def _messages(error: LossConfigError) -> list[str]:
    return [issue.format() for issue in error.issues]


def test_two_heads_are_two_cross_entropy_terms() -> None:
    collection = LossCollection.from_config(TWO_HEADS)
    output = collection({"targets": TARGETS, "answers": ANSWERS}, {"scores": SCORES, "aux_scores": AUX})
    main, aux = F.cross_entropy(SCORES, TARGETS), F.cross_entropy(AUX, ANSWERS)
    assert list(output.terms) == ["cross_entropy", "aux_ce"]
    assert torch.equal(output.terms["cross_entropy"], main)
    assert torch.equal(output.terms["aux_ce"], aux)
    assert torch.equal(output.total, main + 0.4 * aux)
    assert round(float(main), 6) == 0.286985  # by hand: mean(logsumexp(row) - row[target]) = (0.46440 + 0.10957) / 2
    assert round(float(aux), 6) == 0.380233


def test_a_dotted_route_reads_a_nested_mapping() -> None:
    collection = LossCollection.from_config([{"type": "mse", "name": "depth", "inputs": {"scores": "heads.depth"}}])
    output = collection({"targets": DEPTH_TARGETS}, {"heads": {"depth": DEPTH}})
    assert torch.equal(output.terms["depth"], F.mse_loss(DEPTH, DEPTH_TARGETS))
    assert float(output.total) == pytest.approx((0.25 + 0 + 1 + 4) / 4, abs=0)


def test_routes_inside_multi_children() -> None:
    collection = LossCollection.from_config(
        [
            {
                "type": "multi",
                "params": [
                    {"type": "cross_entropy"},
                    {"type": "cross_entropy", "weight": 0.5, "inputs": {"scores": "aux_scores"}},
                ],
            }
        ]
    )
    output = collection({"targets": TARGETS}, {"scores": SCORES, "aux_scores": AUX})
    assert torch.equal(output.total, F.cross_entropy(SCORES, TARGETS) + F.cross_entropy(AUX, TARGETS) * 0.5)


def test_term_inputs_from_python() -> None:
    collection = LossCollection(
        [
            CrossEntropyParams(),
            Term(
                CrossEntropyParams(), weight=0.4, name="aux_ce", inputs={"scores": "aux_scores", "targets": "answers"}
            ),
        ]
    )
    assert collection.to_config() == LossCollection.from_config(TWO_HEADS).to_config()
    assert collection.terms[1].inputs == {"scores": "aux_scores", "targets": "answers"}
    output = collection({"targets": TARGETS, "answers": ANSWERS}, {"scores": SCORES, "aux_scores": AUX})
    assert torch.equal(output.terms["aux_ce"], F.cross_entropy(AUX, ANSWERS))


def test_term_inputs_values_are_checked_at_construction() -> None:
    with pytest.raises(
        ValueError, match=r"^Term inputs\['scores'\]: expected a non-empty string key, found '' \(str\)$"
    ):
        Term(CrossEntropyParams(), inputs={"scores": ""})
    with pytest.raises(
        TypeError, match=r"^Term inputs must be a mapping of declared input keys to keys, found 'x' \(str\)$"
    ):
        Term(CrossEntropyParams(), inputs="x")  # type: ignore[arg-type]
    with pytest.raises(LossConfigError) as info:
        LossCollection(
            [
                Term(CrossEntropyParams(), inputs={"scors": "aux"}),
                Term(MultiParams(losses=(Term(MSEParams(), inputs={"target": "t"}),))),
            ]
        )
    assert _messages(info.value) == [
        "items[0].inputs.scors: unknown input 'scors' (declared: 'scores', 'targets') (did you mean 'scores'?)",
        "items[1].params.losses[0].inputs.target: unknown input 'target' (declared: 'scores', 'targets') (did you mean 'targets'?)",
    ]


def test_config_mistakes_are_reported_with_positions() -> None:
    text = """\
losses:
  - type: cross_entropy
    inputs: {scoers: aux_scores, targets: ""}
  - type: mse
    inputs: heads.depth
  - type: multi
    inputs: {scores: x}
    params:
      - type: mse
        inputs: {scores: 3, targets: a..b}
"""
    root = load_yaml_text(text, file="heads.yaml")
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(root.losses)
    assert _messages(info.value) == [
        "heads.yaml:3:14: losses[0].inputs.scoers: unknown input 'scoers' (declared: 'scores', 'targets') (did you mean 'scores'?)",
        "heads.yaml:3:43: losses[0].inputs.targets: expected a non-empty string key, found '' (str)",
        "heads.yaml:5:13: losses[1].inputs: expected a mapping from declared input keys to keys, found 'heads.depth' (str)",
        "heads.yaml:7:13: losses[2].inputs: loss 'multi' declares no inputs, so it cannot be routed "
        "(route the inputs of the losses it is made of: each `multi` child takes `inputs:` in its entry)",
        "heads.yaml:10:26: losses[2].params[0].inputs.scores: expected a non-empty string key, found 3 (int)",
        "heads.yaml:10:38: losses[2].params[0].inputs.targets: expected a key with non-empty dotted parts, found 'a..b'",
    ]


def test_mapping_form_routes() -> None:
    collection = LossCollection.from_config(
        {"main": "cross_entropy", "aux": {"type": "cross_entropy", "inputs": {"scores": "aux_scores"}}}
    )
    output = collection({"targets": TARGETS}, {"scores": SCORES, "aux_scores": AUX})
    assert torch.equal(output.terms["aux"], F.cross_entropy(AUX, TARGETS))
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config({"aux": {"type": "cross_entropy", "inputs": {"logits": "aux_scores"}}})
    assert _messages(info.value) == ["losses.aux.inputs.logits: unknown input 'logits' (declared: 'scores', 'targets')"]


def test_a_missing_routed_key_names_the_term_the_key_and_the_declared_input() -> None:
    collection = LossCollection.from_config(TWO_HEADS)
    with pytest.raises(LossInputError) as info:
        collection({"targets": TARGETS, "answers": ANSWERS}, {"scores": SCORES, "aux": AUX})
    assert str(info.value) == (
        "loss 'aux_ce' needs model_output['aux_scores'] (routed from input 'scores'), which is missing "
        "(available: 'scores', 'aux')"
    )
    assert (info.value.term, info.value.key, info.value.source) == ("aux_ce", "aux_scores", "model_output")
    nested = LossCollection.from_config([{"type": "mse", "inputs": {"scores": "heads.depth"}}])
    with pytest.raises(LossInputError) as info:
        nested({"targets": DEPTH_TARGETS}, {"heads": {"seg": DEPTH}})
    assert str(info.value) == (
        "loss 'mse' needs model_output['heads']['depth'] (routed from input 'scores'), which is missing "
        "(available: 'seg')"
    )


def test_shape_and_dtype_errors_name_the_routed_key() -> None:
    collection = LossCollection.from_config(TWO_HEADS)
    with pytest.raises(LossShapeError) as info:
        collection({"targets": TARGETS, "answers": ANSWERS}, {"scores": SCORES, "aux_scores": AUX.long()})
    assert str(info.value) == (
        "loss 'aux_ce': expected model_output['aux_scores']: float tensor of rank 2 or 3 or 4 or 5, found dtype torch.int64"
    )
    assert (info.value.key, info.value.source) == ("aux_scores", "model_output")
    with pytest.raises(LossShapeError) as info:
        collection({"targets": TARGETS, "answers": ANSWERS[:1]}, {"scores": SCORES, "aux_scores": AUX})
    assert str(info.value) == (
        "loss 'aux_ce': model_output['aux_scores'] (2, 3) and sample_list['answers'] (1,) do not match: "
        "class indices for these scores have shape (2,)"
    )
    assert (info.value.key, info.value.source) == ("answers", "sample_list")


def test_skip_uses_the_routed_targets() -> None:
    collection = LossCollection.from_config(TWO_HEADS, missing_targets="skip")
    output = collection({"targets": TARGETS}, {"scores": SCORES, "aux_scores": AUX})
    assert output.skipped == ("aux_ce",)
    assert torch.equal(output.total, F.cross_entropy(SCORES, TARGETS))
    output = collection({"answers": ANSWERS}, {"scores": SCORES, "aux_scores": AUX})
    assert output.skipped == ("cross_entropy",)
    assert torch.equal(output.total, F.cross_entropy(AUX, ANSWERS) * 0.4)


# -- persistence -------------------------------------------------------------------------------------------


def test_to_config_state_dict_pickle_and_deepcopy_carry_routes() -> None:
    config = [*TWO_HEADS, {"type": "multi", "params": [{"type": "mse", "inputs": {"scores": "heads.depth"}}]}]
    collection = LossCollection.from_config(config)
    saved = collection.to_config()
    assert saved[1]["inputs"] == {"scores": "aux_scores", "targets": "answers"}
    assert "inputs" not in saved[0]
    assert saved[2]["params"][0]["inputs"] == {"scores": "heads.depth"}
    assert LossCollection.from_config(saved).to_config() == saved
    assert LossCollection.from_state_dict(collection.state_dict()).to_config() == saved
    for copied in (pickle.loads(pickle.dumps(collection)), copy.deepcopy(collection)):
        assert copied.to_config() == saved
        assert copied.losses[1].routes == {"scores": "aux_scores", "targets": "answers"}
    # a state saved with other routes is another config
    other = LossCollection.from_config([TWO_HEADS[0], {**TWO_HEADS[1], "inputs": {"scores": "aux_scores"}}])
    with pytest.raises(LossConfigError, match=r"inputs"):
        other.load_state_dict(LossCollection.from_config(TWO_HEADS).state_dict())


def test_routed_collection_compiles_to_one_graph_without_syncs(fresh_dynamo: None) -> None:
    config = [*TWO_HEADS, {"type": "mse", "inputs": {"scores": "heads.depth", "targets": "depth"}}]
    collection = LossCollection.from_config(config)
    scores, aux, depth = SCORES.clone().requires_grad_(), AUX.clone().requires_grad_(), DEPTH.clone().requires_grad_()
    sample_list = {"targets": TARGETS, "answers": ANSWERS, "depth": DEPTH_TARGETS}
    model_output = {"scores": scores, "aux_scores": aux, "heads": {"depth": depth}}
    eager = collection(sample_list, model_output)
    counter = CompileCounter()
    compiled = torch.compile(collection, fullgraph=True, backend=counter)(sample_list, model_output)
    assert counter.frame_count == 1
    assert list(compiled.terms) == ["cross_entropy", "aux_ce", "mse"]
    torch.testing.assert_close(compiled.total, eager.total, rtol=0, atol=0)
    with no_host_sync():
        collection(sample_list, model_output).total.backward()
    assert all(t.grad is not None for t in (scores, aux, depth))


# -- surfaces ----------------------------------------------------------------------------------------------


HEADS_YAML = """\
losses:
  - cross_entropy
  - type: cross_entropy
    name: aux_ce
    inputs: {scores: aux_scores, targets: answers}
  - type: multi
    params:
      - type: mse
        inputs:
          scores: heads.depth
"""


def test_show_lists_each_route_with_its_origin(tmp_path: Path) -> None:
    path = tmp_path / "heads.yaml"
    path.write_text(HEADS_YAML)
    out = io.StringIO()
    assert main(["show", "--format", "plain", str(path)], out=out) == 0
    lines = out.getvalue().splitlines()
    f = str(path)
    assert [line for line in lines if "inputs." in line] == [
        f"                 inputs.scores           aux_scores     {f}:5",
        f"                 inputs.targets          answers        {f}:5",
        f"                 inputs.scores           heads.depth    {f}:10",
    ]
    out = io.StringIO()
    assert main(["show", "--format", "json", str(path)], out=out) == 0
    aux = json.loads(out.getvalue())["losses"][0]["terms"][1]
    assert [(s["key"], s["value"], s["origin"]["line"], s["origin"]["column"]) for s in aux["settings"][-2:]] == [
        ("inputs.scores", "aux_scores", 5, 22),  # the value's position
        ("inputs.targets", "answers", 5, 43),
    ]


def test_list_verbose_names_the_routable_inputs() -> None:
    out = io.StringIO()
    assert main(["list", "-v", "cross_entropy"], out=out) == 0
    assert (
        "    inputs: scores, targets (an entry's `inputs:` reads them from other keys)" in out.getvalue().splitlines()
    )


def test_the_distributed_digest_differs_by_routes() -> None:
    routed = LossCollection.from_config(TWO_HEADS)
    other = LossCollection.from_config([TWO_HEADS[0], {**TWO_HEADS[1], "inputs": {"scores": "aux_scores"}}])
    assert config_digest(routed) != config_digest(other)
    assert config_digest(routed) == config_digest(LossCollection.from_config(routed.to_config()))


def test_the_schema_offers_the_declared_inputs() -> None:
    schema = losses_schema()
    validator = jsonschema.Draft7Validator(schema)
    routes = schema["definitions"]["entry.cross_entropy"]["properties"]["inputs"]["anyOf"][0]
    assert sorted(routes["properties"]) == ["scores", "targets"]
    assert routes["additionalProperties"] is False
    assert "inputs" not in schema["definitions"]["entry.multi"]["properties"]
    assert validator.is_valid({"losses": TWO_HEADS})
    for bad in ({"scoers": "x"}, {"scores": ""}, {"scores": "a..b"}, {"scores": 3}, "aux_scores"):
        assert not validator.is_valid({"losses": [{"type": "cross_entropy", "inputs": bad}]}), bad
    assert not validator.is_valid({"losses": [{"type": "multi", "inputs": {}, "params": ["mse"]}]})


def test_hydra_schema_nodes_carry_routes() -> None:
    from omegaconf import OmegaConf

    from typed_losses.hydra import losses_from_hydra, losses_schema

    node = OmegaConf.merge(losses_schema(), {"losses": TWO_HEADS})
    assert OmegaConf.to_container(node.losses[1].inputs) == {"scores": "aux_scores", "targets": "answers"}
    assert node.losses[0].inputs is None
    collection = losses_from_hydra(node.losses)
    assert collection.to_config() == LossCollection.from_config(TWO_HEADS).to_config()
    with pytest.raises(LossConfigError) as info:
        losses_from_hydra(
            OmegaConf.merge(losses_schema(), {"losses": [{"type": "mse", "inputs": {"score": 1}}]}).losses
        )
    assert _messages(info.value) == [
        "losses[0].inputs.score: unknown input 'score' (declared: 'scores', 'targets') (did you mean 'scores'?)"
    ]


@pytest.mark.parametrize("fullgraph", [True, False])
def test_compiled_routed_terms_raise_the_eager_errors(fresh_dynamo: None, fullgraph: bool) -> None:
    collection = LossCollection.from_config(TWO_HEADS)
    compiled = torch.compile(collection, fullgraph=fullgraph, backend="eager")
    good = compiled({"targets": TARGETS, "answers": ANSWERS}, {"scores": SCORES, "aux_scores": AUX})
    assert torch.equal(
        good.total, collection({"targets": TARGETS, "answers": ANSWERS}, {"scores": SCORES, "aux_scores": AUX}).total
    )
    with pytest.raises(LossInputError) as info:
        compiled({"targets": TARGETS}, {"scores": SCORES, "aux_scores": AUX})
    assert str(info.value) == (
        "loss 'aux_ce' needs sample_list['answers'] (routed from input 'targets'), which is missing (available: 'targets')"
    )
    assert (info.value.term, info.value.key, info.value.source) == ("aux_ce", "answers", "sample_list")
    with pytest.raises(LossShapeError) as shape:
        compiled({"targets": TARGETS, "answers": ANSWERS}, {"scores": SCORES, "aux_scores": AUX.long()})
    assert (shape.value.key, shape.value.source) == ("aux_scores", "model_output")
