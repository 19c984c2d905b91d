"""``multi``: MMF's config form, recursive checking with full paths, and the weighted sum of children."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers.checks import assert_value
from omegaconf import DictConfig
from torch import Tensor

from typed_losses import LossCollection, LossConfigError, Term, load_yaml_text
from typed_losses.losses.classification import CrossEntropyParams
from typed_losses.losses.multi import MultiLoss, MultiParams
from typed_losses.losses.retrieval import InBatchHingeParams, RefinerContrastiveParams

# The literal inputs of the MMF reference runs (scores B=3 x C=4; soft targets with an all-zero row).
S = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [-0.5, 0.25, 2.0, -3.0]])
T = torch.tensor([[0.0, 0.3, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.9, 0.0, 0.6, 0.0]])
LOGIT_BCE = 3.5410454273223877
SOFTMAX_KLDIV = 0.6253514289855957
BCE_KL_KL = 0.31267571449279785  # weight_softmax 0.5


def multi(children: list[Any]) -> MultiLoss:
    loss = LossCollection.from_config([{"type": "multi", "params": children}]).losses[0]
    assert isinstance(loss, MultiLoss)
    return loss


def run(
    loss: MultiLoss, sample_list: dict[str, Any] | None = None, model_output: dict[str, Any] | None = None
) -> Tensor:
    """``loss`` on the given inputs, by default on the literal inputs ``S`` and ``T``."""
    sample_list = {"targets": T} if sample_list is None else sample_list
    result = loss(sample_list, {"scores": S} if model_output is None else model_output)
    assert isinstance(result, Tensor)
    return result


def issues(config: object) -> dict[str, str]:
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(config)
    return {issue.path: issue.message + (f" ({issue.hint})" if issue.hint else "") for issue in info.value.issues}


def test_weighted_sum_of_children() -> None:
    # MMF's value on these inputs (1.5000596046447754) is in the multi case (tests/helpers/cases.py).
    loss = multi([{"type": "logit_bce", "weight": 0.3, "params": {}}, {"type": "softmax_kldiv", "weight": 0.7}])
    assert_value(run(loss), 0.3 * LOGIT_BCE + 0.7 * SOFTMAX_KLDIV)


def test_missing_weight_defaults_to_one() -> None:
    # MMF: a child without `weight` fails at the first forward ({} * tensor).
    loss = multi([{"type": "logit_bce"}])
    assert loss.weights == (1.0,)
    assert_value(run(loss), LOGIT_BCE)


def test_every_term_of_a_multi_term_child_counts() -> None:
    loss = multi([{"type": "bce_kl", "weight": 2.0, "params": {"weight_softmax": 0.5}}])
    # MMF used only the first term (kl): 2 x 0.3126757 = 0.6253514289855957.
    assert_value(run(loss), 2.0 * (BCE_KL_KL + LOGIT_BCE))


def test_sum_of_weighted_children_on_random_inputs() -> None:
    g = torch.Generator().manual_seed(3)
    images, texts = torch.randn(5, 4, generator=g), torch.randn(10, 4, generator=g)
    targets = torch.randn(5, 4, generator=g)
    children = [
        {"type": "in_batch_hinge", "weight": 0.25, "params": {"margin": 0.2, "hard": True}},
        {"type": "refiner_contrastive_loss", "weight": 3.0, "params": {"sim_thresh": 1.0}},
        {"type": "multi", "weight": 0.5, "params": [{"type": "refiner_ms", "params": {"margin": 1.0}}]},
    ]
    loss = multi(children)
    sample_list = {"targets": targets}
    model_output = {"scores": images, "targets": texts}
    hinge, contrastive, nested = (child(sample_list, model_output) for child in loss.losses)
    assert all(isinstance(v, Tensor) and v.item() > 0 for v in (hinge, contrastive, nested))
    # `scores` is read by every child: in_batch_hinge reads it as images, the refiner losses as decoded rows.
    expected = 0.25 * hinge + 3.0 * contrastive + 0.5 * nested  # type: ignore[operator]
    result = run(loss, sample_list, model_output)
    assert result.shape == ()
    torch.testing.assert_close(result, expected, rtol=1e-6, atol=0.0)


def test_children_are_submodules() -> None:
    loss = multi(
        [{"type": "cross_entropy", "params": {"weight": [1.0, 2.0, 3.0, 4.0]}}, {"type": "mse", "weight": 0.0}]
    )
    assert [type(m).__name__ for m in loss.losses] == ["CrossEntropyLoss", "MSELoss"]
    assert len(list(loss.children())) == 1 and len(list(loss.modules())) == 4
    assert loss.losses[0].term_name == "cross_entropy"


# -- config --------------------------------------------------------------------------------------------------


MMF_DOCSTRING_EXAMPLE = """\
losses:
- type: multi
  params:
  - type: logit_bce
    weight: 0.3
    params: {}
  - type: attention_supervision
    weight: 0.7
    params: {}
"""


def test_mmf_config_form_unchanged() -> None:
    document = load_yaml_text(MMF_DOCSTRING_EXAMPLE)
    assert isinstance(document, DictConfig)
    collection = LossCollection.from_config(document["losses"])
    (loss,) = collection.losses
    assert isinstance(loss, MultiLoss)
    assert [t.weight for t in loss.params.losses] == [0.3, 0.7]
    assert [type(m).loss_name for m in loss.losses] == ["logit_bce", "attention_supervision"]


def test_config_round_trip() -> None:
    collection = LossCollection.from_config(
        [
            {
                "type": "multi",
                "weight": 0.5,
                "params": [
                    {"type": "in_batch_hinge", "weight": 0.2, "params": {"margin": 0.2}},
                    {"type": "multi", "params": [{"type": "refiner_contrastive_loss", "name": "rc"}]},
                ],
            }
        ]
    )
    config = collection.to_config()
    again = LossCollection.from_config(config)
    assert again.terms == collection.terms
    assert again.to_config() == config
    params = again["multi"].params
    assert isinstance(params, MultiParams)
    first, second = params.losses
    assert first == Term(InBatchHingeParams(margin=0.2), weight=0.2, name="in_batch_hinge")
    assert isinstance(second.params, MultiParams)
    assert second.params.losses[0].params == RefinerContrastiveParams()
    assert second.params.losses[0].name == "rc"


def test_python_construction() -> None:
    params = MultiParams(losses=[Term(InBatchHingeParams(hard=True), weight=0.5)])
    assert isinstance(params.losses, tuple)
    loss = MultiLoss(params)
    images = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    texts = torch.tensor([[0.8, 0.6], [1.0, 0.0], [0.0, 1.0]])
    assert_value(run(loss, {}, {"scores": images, "targets": texts}), 0.5 * 1.1200000047683716)
    with pytest.raises(ValueError, match=r"^MultiParams\.losses: expected at least 1 item, found 0$"):
        MultiParams(losses=())


def test_python_construction_misuse_is_one_clear_error() -> None:
    with pytest.raises(TypeError) as error:
        MultiParams(losses=[CrossEntropyParams()])  # type: ignore[list-item]
    assert str(error.value) == (
        "MultiParams.losses[0] must be a Term, found CrossEntropyParams(...): write Term(CrossEntropyParams(...))"
    )
    with pytest.raises(TypeError) as error:
        MultiParams(losses=[Term(CrossEntropyParams()), "mse"])  # type: ignore[list-item]
    assert str(error.value) == "MultiParams.losses[1] must be a Term, found 'mse' (str)"
    with pytest.raises(TypeError) as error:
        MultiParams(losses=5)  # type: ignore[arg-type]
    assert str(error.value) == "MultiParams.losses must be a list of Term, found 5 (int)"


def test_recursive_errors_have_full_paths() -> None:
    found = issues(
        [
            {
                "type": "multi",
                "params": [
                    {"type": "logit_bce", "weight": -1},
                    {"type": "in_batch_hinj"},
                    {"type": "multi", "params": [{"type": "ms_loss", "params": {"beta": -1, "gama": 1}}]},
                    {"type": "refiner_ms", "wieght": 0.5},
                ],
            }
        ]
    )
    assert set(found) == {
        "losses[0].params[0].weight",
        "losses[0].params[1].type",
        "losses[0].params[2].params[0].params.beta",
        "losses[0].params[2].params[0].params.gama",
        "losses[0].params[3].wieght",
    }
    assert "did you mean 'in_batch_hinge'?" in found["losses[0].params[1].type"]
    assert "did you mean 'weight'?" in found["losses[0].params[3].wieght"]


def test_empty_and_missing_children() -> None:
    assert list(issues([{"type": "multi", "params": []}])) == ["losses[0].params"]
    assert list(issues([{"type": "multi"}])) == ["losses[0].params"]
    assert list(issues(["multi"])) == ["losses[0]"]
    found = issues([{"type": "multi", "params": {"losses": "logit_bce"}}])
    assert list(found) == ["losses[0].params.losses"]


def test_dict_form_of_params_is_accepted() -> None:
    # `to_config` writes `params: {losses: [...]}`; MMF's list form and this form build the same loss.
    as_list = LossCollection.from_config([{"type": "multi", "params": [{"type": "logit_bce", "weight": 0.3}]}])
    children = [{"type": "logit_bce", "weight": 0.3}]
    as_dict = LossCollection.from_config([{"type": "multi", "params": {"losses": children}}])
    assert as_list.terms == as_dict.terms


def test_children_of_one_type_need_no_distinct_names() -> None:
    # As in MMF: children are summed into one term, so their names never meet in the output.
    loss = multi([{"type": "logit_bce", "weight": 0.3}, {"type": "logit_bce", "weight": 0.7}])
    assert_value(run(loss), LOGIT_BCE, rtol=1e-6)
