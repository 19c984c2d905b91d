"""``typed_losses.hydra`` with the real hydra-core: compose configs from ``hydra_conf/`` and check them.

hydra-core 1.3 requires omegaconf < 2.4, so these run in CI's omegaconf 2.3 environment (``.venv-23``) and
are skipped where hydra-core is not installed.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers.checks import RTOL
from helpers.mmf_inputs import S, T
from omegaconf import OmegaConf

from typed_losses import ConfigIssue, LinearSchedule, LossCollection, LossConfigError, load_yaml_text
from typed_losses.hydra import ENTRY_TYPE_NAME, LossEntry, losses_from_hydra, register_configs

hydra = pytest.importorskip("hydra", reason="hydra-core is not installed (CI runs these with omegaconf 2.3)")
hydra_errors = pytest.importorskip("hydra.errors")

CONF = Path(__file__).resolve().parent / "hydra_conf"
LOGIT_BCE = 3.5410454273223877
BCE_KL_KL = 0.31267571449279785
SOFTMAX_KLDIV = 0.6253514289855957

register_configs()


def compose(overrides: Sequence[str] = (), name: str = "config") -> Any:
    with hydra.initialize_config_dir(config_dir=str(CONF), version_base=None):
        return hydra.compose(name, overrides=list(overrides))


def issues(overrides: Sequence[str]) -> list[str]:
    with pytest.raises(LossConfigError) as info:
        losses_from_hydra(compose(overrides), "model.losses")
    return [issue.format() for issue in info.value.issues]


def test_composed_config_builds_the_collection_with_interpolated_weight() -> None:
    cfg = compose()
    losses = losses_from_hydra(cfg, "model.losses")
    assert losses.names == ("logit_bce", "bce_kl", "answer_kl")
    assert losses.weights == (1.0, 1.0, 0.5)
    out = losses({"targets": T}, {"scores": S})
    expected = {"logit_bce": LOGIT_BCE, "bce_kl/kl": BCE_KL_KL, "bce_kl/bce": LOGIT_BCE, "answer_kl": SOFTMAX_KLDIV}
    assert {k: float(v) for k, v in out.terms.items()} == pytest.approx(expected, rel=RTOL)
    assert float(out.total) == pytest.approx(2 * LOGIT_BCE + BCE_KL_KL + 0.5 * SOFTMAX_KLDIV, rel=RTOL)
    # The composed config is left as it was (the check works on a copy).
    assert OmegaConf.is_missing(cfg.model.losses[0], "name") is False and cfg.model.losses[0].name is None


def test_a_valid_override_is_used() -> None:
    losses = losses_from_hydra(compose(["model.losses.1.params.weight_softmax=2", "model.kl_weight=0"]), "model.losses")
    assert losses.weights == (1.0, 1.0, 0.0)
    out = losses({"targets": T}, {"scores": S})
    assert float(out.terms["bce_kl/kl"]) == pytest.approx(4 * BCE_KL_KL, rel=RTOL)  # 2 / 0.5 times


def test_param_typo_gives_the_yaml_paths_error_with_did_you_mean() -> None:
    found = issues(["+model.losses.1.params.weight_sofmax=2"])
    assert found == [
        "model.losses[1].params.weight_sofmax: unknown param 'weight_sofmax' for BinaryCrossEntropyKlParams"
        " (did you mean 'weight_softmax'?)"
    ]
    # The same config as a YAML file gives the same issue (plus its file position).
    typo = "weight_softmax: 0.5\n        weight_sofmax: 2"
    text = (CONF / "config.yaml").read_text().replace("weight_softmax: 0.5", typo)
    root = load_yaml_text(text, file="config.yaml")
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config(root.model.losses)
    (from_yaml,) = info.value.issues
    assert from_yaml == ConfigIssue(
        "model.losses[1].params.weight_sofmax",
        "unknown param 'weight_sofmax' for BinaryCrossEntropyKlParams",
        line=15,
        column=9,
        hint="did you mean 'weight_softmax'?",
        file="config.yaml",
    )
    assert from_yaml.format().endswith(found[0])


def test_hydra_needs_plus_to_add_a_key_as_without_the_schema() -> None:
    with pytest.raises(hydra_errors.ConfigCompositionException, match=r"use \+model.losses.1.params.weight_sofmax=2"):
        compose(["model.losses.1.params.weight_sofmax=2"])
    with pytest.raises(hydra_errors.ConfigCompositionException, match=r"use \+model.hiden=3"):
        compose(["model.hiden=3"])


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["model.losses.0.type=logit_bc"],
            ["model.losses[0].type: unknown loss 'logit_bc' (did you mean 'logit_bce'?)"],
        ),
        (["model.kl_weight=-1"], ["model.losses[2].weight: weight must be a finite number >= 0, found -1"]),
        (
            ["+model.losses.0.wieght=2"],
            ["model.losses[0].wieght: unknown key 'wieght' in a loss entry (did you mean 'weight'?)"],
        ),
        (
            ["model.losses.2.name=bce_kl"],
            [
                "model.losses[2]: duplicate term name 'bce_kl' (also at model.losses[1])"
                " (give one of them a distinct `name:`)"
            ],
        ),
        (
            ["model.losses.1.params.weight_softmax=abc"],
            ["model.losses[1].params.weight_softmax: expected float, found 'abc' (str)"],
        ),
    ],
)
def test_override_mistakes_are_loss_config_errors(overrides: list[str], expected: list[str]) -> None:
    assert issues(overrides) == expected


def test_entry_level_typos_are_caught_by_hydra_while_composing() -> None:
    with pytest.raises(hydra_errors.ConfigCompositionException) as info:
        compose(name="entry_typo")
    assert f"Key 'parms' not in '{ENTRY_TYPE_NAME}'" in str(info.value)
    # a weight is a number or a weight kind's mapping: typed_losses checks it, with the YAML path's message
    assert issues(["model.losses.0.weight=abc"]) == [
        "model.losses[0].weight: expected a number >= 0 or a weight kind ({type: ...}), found 'abc' (str)"
    ]
    with pytest.raises(hydra_errors.ConfigCompositionException) as info:
        compose(["model.losses=[logit_bce]"])  # the schema types entries: bare names need `{type: ...}`
    # OmegaConf names the element type: its name says what to write
    assert str(info.value.__cause__).splitlines()[0] == (
        "Invalid type assigned: str is not a subclass of LossEntry (a mapping: write {type: NAME}, not NAME). "
        "value: logit_bce"
    )


def test_a_weight_kind_composes_and_overrides_like_any_mapping() -> None:
    cfg = compose(["model.losses.0.weight={type: linear, start: 0.0, end: 1.0, steps: 10}"])
    losses = losses_from_hydra(cfg, "model.losses")
    assert losses.weights[0] == LinearSchedule(start=0.0, end=1.0, steps=10)
    assert issues(["model.losses.0.weight={type: linaer, steps: 10}"]) == [
        "model.losses[0].weight.type: unknown weight kind 'linaer' (did you mean 'linear'?)"
    ]


def test_interpolations_resolve_with_or_without_to_container() -> None:
    cfg = compose(["model.kl_weight=0.25"])
    from_node = losses_from_hydra(cfg.model.losses)
    resolved = losses_from_hydra(OmegaConf.to_container(cfg.model.losses, resolve=True))
    assert from_node.weights == resolved.weights == (1.0, 1.0, 0.25)
    assert from_node.to_config() == resolved.to_config()
    # Unresolved plain data has lost the document the interpolation points into.
    with pytest.raises(LossConfigError, match=r"losses\[2\].weight: cannot resolve '\$\{model.kl_weight\}'"):
        losses_from_hydra(OmegaConf.to_container(cfg.model.losses, resolve=False))


def test_without_the_schema_every_form_works() -> None:
    losses = losses_from_hydra(compose(name="no_schema"), "model.losses")
    assert losses.names == ("vqa2_mlp", "answer_kl")
    assert losses.weights == (1.0, 0.5)


def test_key_problems() -> None:
    with pytest.raises(LossConfigError, match="model.lossez: no such key"):
        losses_from_hydra(compose(), "model.lossez")


def test_the_entry_class_keeps_its_qualified_name() -> None:
    """Only `__name__` carries the hint (OmegaConf's messages read it): repr and pickle use `__qualname__`."""
    assert LossEntry.__qualname__ == "LossEntry"
    assert repr(LossEntry(type="mse")) == "LossEntry(type='mse', weight=1.0, name=None, params=None, inputs=None)"
    assert pickle.loads(pickle.dumps(LossEntry(type="mse"))) == LossEntry(type="mse")
