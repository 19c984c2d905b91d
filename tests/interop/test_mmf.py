"""``typed_losses.mmf``: MMF's loss keys and the ``MMFLosses`` drop-in, against numbers MMF's own ``Losses`` printed.

The reference values (``mmf-reference.md`` section 3.2) come from MMF's unmodified ``mmf/modules/losses.py``
run on ``S``/``T`` with ``dataset_type="train"``, ``dataset_name="vqa2"``.
"""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import pytest
import torch
from helpers.checks import PROPERTY, RTOL
from helpers.mmf_inputs import S, T, rand, randn
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf
from torch import Tensor

from typed_losses import Batch, Loss, LossCollection, LossConfigError, LossInputError, LossOutput, register_loss
from typed_losses.mmf import MISSING_TARGETS_WARNING, MMFLosses, mmf_log_keys

LOGIT_BCE = 3.5410454273223877
BCE_KL_KL = 0.31267571449279785
SOFTMAX_KLDIV = 0.6253514289855957
BCE_KL_COMBINED = 3.8537211418151855

MMF_LIST: list[Any] = ["logit_bce", {"type": "bce_kl", "params": {"weight_softmax": 0.5}}, {"type": "softmax_kldiv"}]


class SampleList(dict[str, Any]):
    """MMF's ``SampleList`` as the loss wrapper sees it: a dict whose keys are also attributes."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def sample(targets: Tensor = T, **extra: Any) -> SampleList:
    return SampleList(targets=targets, dataset_type="train", dataset_name="vqa2", **extra)


def assert_values(actual: dict[str, Tensor], expected: dict[str, float]) -> None:
    assert list(actual) == list(expected)
    for key, value in expected.items():
        assert actual[key].shape == (1,), key
        torch.testing.assert_close(actual[key].double(), torch.tensor([value], dtype=torch.float64), rtol=RTOL, atol=0)


def test_mmf_list_gives_mmfs_keys_shapes_and_numbers() -> None:
    losses = MMFLosses(MMF_LIST)(sample(), {"scores": S})
    assert_values(
        losses,
        {
            "train/vqa2/logit_bce": LOGIT_BCE,
            "train/vqa2/bce_kl/kl": BCE_KL_KL,
            "train/vqa2/bce_kl/bce": LOGIT_BCE,
            "train/vqa2/softmax_kldiv": SOFTMAX_KLDIV,
        },
    )


def test_omegaconf_list_with_bare_names() -> None:
    cfg = OmegaConf.create(
        {"losses": [{"type": "logit_bce"}, "wrong", {"type": "bce_kl_combined", "params": {"weight_softmax": 0.5}}]}
    )
    losses = MMFLosses(cfg.losses)(sample(), {"scores": S})
    assert_values(
        losses,
        {
            "train/vqa2/logit_bce": LOGIT_BCE,
            "train/vqa2/wrong": SOFTMAX_KLDIV,
            "train/vqa2/bce_kl_combined": BCE_KL_COMBINED,
        },
    )


def test_plain_mapping_batch_and_gradient() -> None:
    scores = S.clone().requires_grad_()
    batch = {"targets": T, "dataset_type": "val", "dataset_name": "okvqa"}
    losses = MMFLosses(["logit_bce"])(batch, {"scores": scores})
    assert list(losses) == ["val/okvqa/logit_bce"]
    losses["val/okvqa/logit_bce"].sum().backward()
    assert scores.grad is not None
    # d/ds of sum(BCEwl)/B is (sigmoid(s) - t)/B.
    torch.testing.assert_close(scores.grad, (torch.sigmoid(S) - T) / 3)


def test_weights_scale_the_values_so_mmfs_trainer_total_is_the_collection_total() -> None:
    config = [
        {"type": "logit_bce", "weight": 2.0},
        {"type": "bce_kl", "weight": 0.5, "params": {"weight_softmax": 0.5}},
    ]
    module = MMFLosses(config)
    losses = module(sample(), {"scores": S})
    assert_values(
        losses,
        {
            "train/vqa2/logit_bce": 2 * LOGIT_BCE,
            "train/vqa2/bce_kl/kl": 0.5 * BCE_KL_KL,
            "train/vqa2/bce_kl/bce": 0.5 * LOGIT_BCE,
        },
    )
    mmf_total = sum(v.mean() for v in losses.values())  # mmf/utils/general.py::extract_loss, divisor 1
    total = module.collection(sample(), {"scores": S}).total
    assert isinstance(mmf_total, Tensor)
    torch.testing.assert_close(mmf_total, total)
    assert float(total) == pytest.approx(2 * LOGIT_BCE + 0.5 * (BCE_KL_KL + LOGIT_BCE), rel=RTOL)


@PROPERTY
@given(
    seed=st.integers(0, 2**16),
    batch=st.integers(1, 6),
    classes=st.integers(2, 6),
    weights=st.lists(st.sampled_from([0.0, 0.25, 1.0, 3.0]), min_size=3, max_size=3),
)
def test_sum_of_mmf_values_is_the_total(seed: int, batch: int, classes: int, weights: list[float]) -> None:
    config = [
        {**entry, "weight": w} if isinstance(entry, dict) else {"type": entry, "weight": w}
        for entry, w in zip(MMF_LIST, weights, strict=True)
    ]
    module = MMFLosses(config)
    sl, mo = sample(rand(seed, batch, classes)), {"scores": randn(seed + 1, batch, classes)}
    losses = module(sl, mo)
    output = module.collection(sl, mo)
    total = sum(v.mean() for v in losses.values())
    assert isinstance(total, Tensor)
    torch.testing.assert_close(total, output.total, rtol=1e-5, atol=1e-6)
    if all(w == 1.0 for w in weights):
        for name, value in output.terms.items():
            assert torch.equal(losses[f"train/vqa2/{name}"], value.view(1))


def test_term_names_replace_the_type_in_keys() -> None:
    named = MMFLosses([{"type": "logit_bce", "name": "answers"}, "logit_bce"])(sample(), {"scores": S})
    assert list(named) == ["train/vqa2/answers", "train/vqa2/logit_bce"]
    mapping = MMFLosses({"vqa2_mlp": "logit_bce"})(sample(), {"scores": S})  # ViLT's mapping form
    assert list(mapping) == ["train/vqa2/vqa2_mlp"]


def test_config_mistakes_are_reported_when_built() -> None:
    with pytest.raises(LossConfigError) as info:
        MMFLosses(["logit_bc", "logit_bce", "logit_bce"], label="model_config.vqa.losses")
    assert [i.format() for i in info.value.issues] == [
        "model_config.vqa.losses[0]: unknown loss 'logit_bc' (did you mean 'logit_bce'?)",
        "model_config.vqa.losses[2]: duplicate term name 'logit_bce' (also at model_config.vqa.losses[1])"
        " (give one of them a distinct `name:`)",
    ]


def test_missing_targets_warn_like_mmf_and_give_no_losses() -> None:
    module = MMFLosses(MMF_LIST)
    no_targets = SampleList(dataset_type="test", dataset_name="vqa2")
    with pytest.warns(UserWarning) as record:
        assert module(no_targets, {"scores": S}) == {}
    assert [str(w.message) for w in record] == [MISSING_TARGETS_WARNING]
    predicting = MMFLosses(MMF_LIST, predict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert predicting(no_targets, {"scores": S}) == {}


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (
            {"targets": T, "dataset_type": "train"},
            "needs sample_list.dataset_name .*available: 'targets', 'dataset_type'",
        ),
        ({"targets": T, "dataset_name": "vqa2"}, "needs sample_list.dataset_type"),
        ({"targets": T, "dataset_type": "train", "dataset_name": 3}, "dataset_name to be a string, found int"),
    ],
)
def test_missing_dataset_fields_name_the_key(batch: dict[str, Any], message: str) -> None:
    with pytest.raises(LossInputError, match=message) as info:
        MMFLosses(["logit_bce"])(batch, {"scores": S})
    assert info.value.source == "sample_list"
    assert info.value.key in ("dataset_type", "dataset_name")


@attrs.frozen
class NoParams:
    pass


def test_non_scalar_values_keep_their_shape(clean_registry: None) -> None:
    @register_loss("per_sample_sq")
    class PerSample(Loss[NoParams]):
        def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
            scores: Tensor = model_output["scores"]
            return (scores**2).sum(dim=1)

    module = MMFLosses(["per_sample_sq", {"type": "logit_bce", "weight": 0.5}])
    losses = module(sample(), {"scores": S})
    assert losses["train/vqa2/per_sample_sq"].shape == (3,)
    torch.testing.assert_close(losses["train/vqa2/per_sample_sq"], torch.tensor([14.25, 7.25, 13.3125]))
    total = module.collection(sample(), {"scores": S}).total
    assert float(total) == pytest.approx((14.25 + 7.25 + 13.3125) / 3 + 0.5 * LOGIT_BCE, rel=RTOL)


def test_wraps_an_existing_collection() -> None:
    collection = LossCollection.from_config(["logit_bce"])
    module = MMFLosses(collection)
    assert module.collection is collection
    assert list(module.state_dict()) == [f"collection.{k}" for k in collection.state_dict()]


def test_log_keys() -> None:
    scores = S.clone().requires_grad_()
    collection = LossCollection.from_config(
        [{"type": "bce_kl", "params": {"weight_softmax": 0.5}}, {"type": "logit_bce", "weight": 2}]
    )
    output = collection(sample(), {"scores": scores})
    keys = mmf_log_keys(output, "val", "vqa2")
    assert list(keys) == ["val/vqa2/bce_kl/kl", "val/vqa2/bce_kl/bce", "val/vqa2/logit_bce", "val/total_loss"]
    assert not any(v.requires_grad for v in keys.values())
    expected = {
        "val/vqa2/bce_kl/kl": BCE_KL_KL,
        "val/vqa2/bce_kl/bce": LOGIT_BCE,
        "val/vqa2/logit_bce": LOGIT_BCE,  # unweighted
        "val/total_loss": BCE_KL_KL + 3 * LOGIT_BCE,  # weighted
    }
    assert {k: float(v) for k, v in keys.items()} == pytest.approx(expected, rel=RTOL)
    direct = mmf_log_keys(LossOutput({"a": torch.tensor(1.0)}, torch.tensor(1.0)), "train", "x")
    assert {k: float(v) for k, v in direct.items()} == {"train/x/a": 1.0, "train/total_loss": 1.0}
