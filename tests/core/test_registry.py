"""Registration rules: generic params inference, clear failures at import time, lookups."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
import torch
from helpers.cli import LOAD_HINT, PLUGIN_LOSS, PLUGIN_SOURCE, fresh_env
from torch import Tensor

from typed_losses import REGISTRY, Batch, Loss, LossCollection, load_plugin, register_loss
from typed_losses.loss import ParamsInstance
from typed_losses.losses import CrossEntropyLoss, CrossEntropyParams
from typed_losses.registry import Registry

pytestmark = pytest.mark.usefixtures("clean_registry")


@attrs.frozen
class FocalParams:
    gamma: float = 2.0


class FocalLoss(Loss[FocalParams]):
    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return torch.tensor(self.params.gamma)


def test_params_class_is_the_generic_argument() -> None:
    register_loss("focal_test")(FocalLoss)
    spec = REGISTRY["focal_test"]
    assert spec.params_class is FocalParams
    assert spec.loss_class is FocalLoss
    assert FocalLoss.loss_name == "focal_test"


def test_params_class_found_through_a_generic_family_base() -> None:
    P = TypeVar("P", bound=ParamsInstance)

    class Family(Loss[P]):
        pass

    @register_loss("family_member_test")
    class Member(Family[FocalParams]):
        pass

    assert REGISTRY["family_member_test"].params_class is FocalParams


def test_explicit_params_overrides() -> None:
    @attrs.frozen
    class Other:
        x: int = 1

    register_loss("focal_other_test", params=Other)(FocalLoss)
    assert REGISTRY["focal_other_test"].params_class is Other


def test_duplicate_name_fails_with_both_classes_named() -> None:
    with pytest.raises(
        ValueError, match=r"'cross_entropy'.*already taken by typed_losses\.losses\.classification\.CrossEntropyLoss"
    ):
        register_loss("cross_entropy")(FocalLoss)


def test_reregistering_the_same_class_is_allowed() -> None:
    register_loss("cross_entropy")(CrossEntropyLoss)
    assert REGISTRY["cross_entropy"].loss_class is CrossEntropyLoss


def test_non_attrs_params_class_fails() -> None:
    @dataclasses.dataclass(frozen=True)
    class DataParams:
        x: int = 1

    class DataLoss(Loss[Any]):
        pass

    with pytest.raises(TypeError, match="is not an attrs class; decorate it with @attrs.frozen"):
        register_loss("data_test", params=DataParams)(DataLoss)


def test_mutable_params_class_fails() -> None:
    @attrs.define
    class Mutable:
        x: int = 1

    class MutableLoss(Loss[Mutable]):
        pass

    with pytest.raises(TypeError, match="must be frozen"):
        register_loss("mutable_test")(MutableLoss)


def test_missing_params_type_fails() -> None:
    class Bare(Loss[Any]):
        pass

    with pytest.raises(TypeError, match=r"does not declare its params class; write `class Bare\(Loss\[MyParams\]\)`"):
        register_loss("bare_test")(Bare)


def test_not_a_loss_fails() -> None:
    with pytest.raises(TypeError, match="is not a subclass of typed_losses.Loss"):
        register_loss("module_test")(torch.nn.Module)  # type: ignore[type-var]


@pytest.mark.parametrize("name", ["", "a/b", "with space", "1abc", "a.b"])
def test_bad_names_fail(name: str) -> None:
    with pytest.raises(ValueError, match="a loss name is letters"):
        register_loss(name)(FocalLoss)


def test_unknown_name_lookup_suggests() -> None:
    with pytest.raises(KeyError, match="did you mean 'cross_entropy'"):
        REGISTRY["cross_entropi"]
    assert REGISTRY.get("nope") is None
    assert "cross_entropy" in REGISTRY
    assert REGISTRY.for_params(CrossEntropyParams)[0].name == "cross_entropy"


def test_the_catalog_is_found_through_the_entry_point_without_importing_it() -> None:
    code = (
        "import sys, typed_losses\n"
        "assert 'typed_losses.losses' not in sys.modules\n"
        "print(typed_losses.REGISTRY['bce_kl'].loss_class.__module__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "typed_losses.losses.soft_labels"


def test_a_registry_without_entry_points_knows_only_what_is_registered_into_it() -> None:
    own = Registry(entry_point_group=None)
    own.register("focal_own", FocalLoss)
    assert own.names() == ["focal_own"]
    assert "cross_entropy" not in own


def test_loss_rejects_params_of_another_class() -> None:
    with pytest.raises(TypeError, match="CrossEntropyLoss takes CrossEntropyParams, got FocalParams"):
        CrossEntropyLoss(FocalParams())  # type: ignore[arg-type]


def test_frozen_check_probes_every_field() -> None:
    @attrs.define
    class PartlyFrozen:
        x: int = attrs.field(default=1, on_setattr=attrs.setters.frozen)
        y: int = 2

    class PartlyFrozenLoss(Loss[PartlyFrozen]):
        pass

    with pytest.raises(TypeError, match=r"params class PartlyFrozen of .* must be frozen; use @attrs.frozen$"):
        register_loss("partly_frozen_test")(PartlyFrozenLoss)

    @attrs.frozen
    class NoFields:
        pass

    class NoFieldsLoss(Loss[NoFields]):
        def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
            raise NotImplementedError

    registry = Registry()
    registry.register("no_fields_test", NoFieldsLoss)
    assert registry["no_fields_test"].params_class is NoFields


def test_frozen_check_survives_a_validator_that_refuses_the_probe() -> None:
    @attrs.define
    class Validated:
        x: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))

    class ValidatedLoss(Loss[Validated]):
        pass

    with pytest.raises(TypeError) as info:
        register_loss("validated_test")(ValidatedLoss)
    assert str(info.value) == (
        f"register_loss('validated_test'): params class Validated of {__name__}."
        "test_frozen_check_survives_a_validator_that_refuses_the_probe.<locals>.ValidatedLoss must be frozen; "
        "use @attrs.frozen"
    )


@pytest.mark.parametrize(
    ("terms", "kind", "problem"),
    [
        (("kl", "kl"), ValueError, "repeated output names 'kl'"),
        (("kl", ""), ValueError, "output name '' must be a non-empty string without '/'"),
        (("a/b",), ValueError, "output name 'a/b' must be a non-empty string without '/'"),
        ("kl", TypeError, "expected a tuple of output names (str), found 'kl' (str)"),
        (("kl", 1), TypeError, "expected a tuple of output names (str), found ('kl', 1) (tuple)"),
    ],
)
def test_output_terms_are_distinct_plain_names(terms: Any, kind: type[Exception], problem: str) -> None:
    class TermsLoss(Loss[FocalParams]):
        output_terms = terms

    with pytest.raises(kind) as info:
        register_loss("terms_test")(TermsLoss)
    assert str(info.value) == (
        f"register_loss('terms_test'): output_terms of {__name__}."
        f"test_output_terms_are_distinct_plain_names.<locals>.TermsLoss: {problem}"
    )
    assert "terms_test" not in REGISTRY


@pytest.mark.parametrize(
    ("name", "close"),
    [("cross_entropi", "cross_entropy"), ("logit_bcee", "logit_bce"), ("msee", "mse"), ("softmax_kl", "softmax_kldiv")],
)
def test_a_typo_of_a_registered_name_gets_did_you_mean(name: str, close: str) -> None:
    assert REGISTRY.suggest(name) == f"did you mean {close!r}?"


@pytest.mark.parametrize("name", ["mc_focal", "focal", "caption_ce", "nll", "hinge"])
def test_a_name_far_from_every_registered_one_says_how_to_load_its_module(name: str) -> None:
    assert REGISTRY.suggest(name) == LOAD_HINT
    with pytest.raises(KeyError) as info:
        REGISTRY[name]
    assert info.value.args == (f"no loss named {name!r}; {LOAD_HINT}",)


def test_a_registry_without_entry_points_does_not_mention_them() -> None:
    assert Registry(entry_point_group=None).suggest("mc_focal") == (
        "no loss of that name is registered; if a module of yours registers it, load that module first: "
        "`--plugin MODULE` on the command line or `import MODULE` before building"
    )


RESTORE = """\
import sys, torch
from typed_losses import LossCollection, LossConfigError, load_plugin
state = torch.load(sys.argv[1], weights_only=True)
try:
    LossCollection.from_state_dict(state)
except LossConfigError as exc:
    print(exc)
load_plugin(sys.argv[2])
print(LossCollection.from_state_dict(state).names)
"""


def test_restoring_a_checkpoint_in_a_fresh_process_says_how_to_load_the_loss(tmp_path: Path) -> None:
    plugin = tmp_path / "user_losses.py"
    plugin.write_text(PLUGIN_SOURCE)
    load_plugin(str(plugin))
    try:
        torch.save(LossCollection.from_config([PLUGIN_LOSS]).state_dict(), tmp_path / "losses.pt")
    finally:
        del sys.modules["user_losses"]
    result = subprocess.run(
        [sys.executable, "-c", RESTORE, str(tmp_path / "losses.pt"), str(plugin)],
        env=fresh_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        f"_extra_state.losses[0].type: unknown loss {PLUGIN_LOSS!r} ({LOAD_HINT})",
        f"({PLUGIN_LOSS!r},)",
    ]
