"""The one checker (issue 13): missing values, interpolated containers, names, indentation slips, one line
per problem in file order, and ``LossCollection([...])`` judged by the same rules as a config."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import pytest
from omegaconf import OmegaConf

from typed_losses import LossCollection, LossConfigError, Term, check_losses, load_yaml_text
from typed_losses.cli import main
from typed_losses.losses import BinaryCrossEntropyKlParams, CrossEntropyParams, MSEParams


def lines(cfg: object) -> list[str]:
    with pytest.raises(LossConfigError) as info:
        check_losses(cfg)
    return [issue.format() for issue in info.value.issues]


def doc(text: str) -> Any:
    return load_yaml_text(text, file="c.yaml")


# -- ??? is "value is missing", wherever it is ----------------------------------------------------------------


def test_a_missing_value_anywhere_in_an_entry_is_an_error_at_its_position() -> None:
    root = doc(
        "losses:\n"
        "  - type: ???\n"
        "  - type: mse\n"
        "    weight: ???\n"
        "  - type: mse\n"
        "    name: ???\n"
        "  - type: bce_kl\n"
        "    name: b1\n"
        "    params: ???\n"
        "  - type: bce_kl\n"
        "    params:\n"
        "      weight_softmax: ???\n"
        "  - type: multi\n"
        "    params: [mse, '???']\n"
        "  - ???\n"
    )
    assert lines(root._get_node("losses")) == [
        "c.yaml:2:11: losses[0].type: value is missing",
        "c.yaml:4:13: losses[1].weight: value is missing",
        "c.yaml:6:11: losses[2].name: value is missing",
        "c.yaml:9:13: losses[3].params: value is missing",
        "c.yaml:12:23: losses[4].params.weight_softmax: value is missing",
        "c.yaml:14:19: losses[5].params[1]: value is missing",
        "c.yaml:15:5: losses[6]: value is missing",
    ]
    assert lines(doc("losses: ???\n")._get_node("losses")) == ["c.yaml:1:9: losses: value is missing"]


def test_a_missing_value_in_plain_data_is_an_error_too() -> None:
    assert lines([{"type": "cross_entropy", "params": {"label_smoothing": "???"}}]) == [
        "losses[0].params.label_smoothing: value is missing"
    ]


# -- interpolated containers ----------------------------------------------------------------------------------

SHARED = (
    "defaults:\n"
    "  weight_softmax: 0.5\n"
    "  gama: 2\n"
    "shared:\n"
    "  ce:\n"
    "    type: cross_entropy\n"
    "    params:\n"
    "      label_smoothing: 0.1\n"
)


def test_interpolated_params_and_entries_resolve() -> None:
    root = doc(
        SHARED.replace("  gama: 2\n", "") + "losses:\n  - type: bce_kl\n    params: ${defaults}\n  - ${shared.ce}\n"
    )
    collection = LossCollection.from_config(root.losses)
    assert collection.names == ("bce_kl", "cross_entropy")
    assert collection["bce_kl"].params == BinaryCrossEntropyKlParams(weight_softmax=0.5)
    assert collection["cross_entropy"].params == CrossEntropyParams(label_smoothing=0.1)


def test_problems_behind_an_interpolation_carry_the_target_position() -> None:
    root = doc(
        SHARED.replace("label_smoothing", "label_smothing")
        + "losses:\n  - type: bce_kl\n    params: ${defaults}\n  - ${shared.ce}\n  - ${nothing}\n"
    )
    assert lines(root.losses) == [
        "c.yaml:3:3: losses[0].params.gama: unknown param 'gama' for BinaryCrossEntropyKlParams "
        "(allowed: weight_softmax)",
        "c.yaml:8:7: losses[1].params.label_smothing: unknown param 'label_smothing' for CrossEntropyParams "
        "(did you mean 'label_smoothing'?)",
        "c.yaml:13:5: losses[2]: cannot resolve '${nothing}': Interpolation key 'nothing' not found",
    ]


def test_an_interpolated_losses_value_resolves() -> None:
    root = doc("x:\n  - type: mse\n    wieght: 2\nlosses: ${x}\n")
    assert lines(root._get_node("losses")) == [
        "c.yaml:3:5: losses[0].wieght: unknown key 'wieght' in a loss entry (did you mean 'weight'?)"
    ]
    assert LossCollection.from_config(doc("x: [mse]\nlosses: ${x}\n")._get_node("losses")).names == ("mse",)


def test_the_cli_key_follows_interpolations(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("base:\n  losses: [mse]\nmodel: ${base}\nother:\n  losses: ${base.losses}\n")
    assert main(["validate", "--key", "model.losses", str(path)]) == 0
    assert main(["validate", "--key", "other.losses", str(path)]) == 0
    path.write_text("x:\n  - type: msee\nlosses: ${x}\n")
    assert main(["validate", "--key", "losses", str(path)]) == 1
    assert f"{path}:2:11: error: losses[0].type: unknown loss 'msee'" in capsys.readouterr().out


# -- one problem, one line ------------------------------------------------------------------------------------


def test_unrepresentable_values_are_placed_and_have_one_line() -> None:
    assert lines([{"type": "mse", "weight": "${oops"}]) == [
        "losses[0].weight: malformed interpolation '${oops': no viable alternative at input '${oops'"
    ]
    assert lines([{"type": "mse", "params": {1: 2, "1": 3}}]) == [
        "losses[0].params.1: keys 1 and '1' are the same key in a config"
    ]
    with pytest.raises(LossConfigError) as info:
        load_yaml_text("losses:\n  - type: mse\n    params:\n      1: 2\n      '1': 3\n", file="d.yaml")
    assert str(info.value) == "d.yaml:5:7: losses[0].params.1: duplicate key '1' (first written on line 4)"
    with pytest.raises(LossConfigError) as info:
        load_yaml_text("losses:\n  - type: mse\n    weight: ${oops\n", file="d.yaml")
    assert str(info.value) == (
        "d.yaml:3:13: losses[0].weight: malformed interpolation '${oops': no viable alternative at input '${oops'"
    )


def test_no_omegaconf_internals_in_messages() -> None:
    for text in lines(["mse", {"type": "mse", "name": "${nope}"}, {"type": "mse", "weight": "${nope}"}]):
        assert "full_key" not in text and "object_type" not in text and "\n" not in text


def test_other_mapping_types_are_mappings() -> None:
    (term,) = check_losses([OrderedDict(type="mse", weight=2.0)])
    assert (term.name, term.weight) == ("mse", 2.0)
    (term,) = check_losses(OrderedDict(m=OrderedDict(type="mse")))
    assert term.name == "m"


# -- names ----------------------------------------------------------------------------------------------------


def test_output_keys_are_unique_and_total_is_reserved() -> None:
    bce_kl = {"type": "bce_kl", "name": "x", "params": {"weight_softmax": 1}}
    assert lines([bce_kl, {"type": "mse", "name": "x/kl"}]) == [
        "losses[1]: term name 'x/kl' is also the key of output 'kl' of term 'x' (at losses[0]) "
        "(give one of them a distinct `name:`)"
    ]
    assert lines([{"type": "mse", "name": "x/bce"}, bce_kl]) == [
        "losses[1]: output 'bce' of term 'x' has the key 'x/bce', the name of the term at losses[0] "
        "(give one of them a distinct `name:`)"
    ]
    reserved = "term name 'total' is reserved: logs and output files use it for the sum of the terms"
    assert lines([{"type": "mse", "name": "total"}]) == [f"losses[0].name: {reserved} (choose another `name:`)"]
    assert lines({"total": "mse"}) == [f"losses.total: {reserved} (choose another `name:`)"]


def test_an_output_key_is_checked_against_the_output_keys_of_earlier_terms() -> None:
    """register_loss refuses an output name with '/', so only TermNames' own callers can reach this; it still
    holds by itself: every key of ``LossOutput.terms`` is unique."""
    from typed_losses.rules import TermNames

    names = TermNames()
    assert names.add("a", ("b/c",), "losses[0]") is None
    assert names.add("a/b", ("c",), "losses[1]") == (
        "output 'c' of term 'a/b' has the key 'a/b/c', also the key of output 'b/c' of term 'a' (at losses[0])",
        "give one of them a distinct `name:`",
    )
    assert names.add("a/b", ("d",), "losses[1]") is None


def test_a_term_name_is_a_plain_str_and_a_huge_weight_is_shown_short() -> None:
    class Name(str):
        pass

    with pytest.raises(ValueError, match=r"^Term name: expected a non-empty string, found 'x' \(Name\)$"):
        Term(MSEParams(), name=Name("x"))
    shown = "1" + "0" * 56 + "..."
    with pytest.raises(ValueError, match=rf"^weight must be a finite number >= 0, found {re.escape(shown)}$"):
        Term(MSEParams(), weight=10**400)
    assert lines([{"type": "mse", "weight": 10**400}]) == [
        f"losses[0].weight: weight must be a finite number >= 0, found {shown}"
    ]


def test_an_unresolvable_name_is_not_also_a_duplicate() -> None:
    root = doc("losses:\n  - mse\n  - type: mse\n    name: ${nope}\n  - msee\n  - msee\n")
    assert lines(root.losses) == [
        "c.yaml:4:11: losses[1].name: cannot resolve `name`: Interpolation key 'nope' not found",
        "c.yaml:5:5: losses[2]: unknown loss 'msee' (did you mean 'mse'?)",
        "c.yaml:6:5: losses[3]: unknown loss 'msee' (did you mean 'mse'?)",
    ]


# -- indentation slips ----------------------------------------------------------------------------------------


def test_entry_keys_beside_losses_are_reported() -> None:
    root = doc("model:\n  losses:\n  - type: bce_kl\n  params:\n    weight_softmax: 0.5\n  weight: 2\n")
    assert lines(root.model.losses) == [
        "c.yaml:3:5: model.losses[0].params: missing required param 'weight_softmax' (float) of "
        "BinaryCrossEntropyKlParams",
        "c.yaml:4:3: model.params: `params` is beside `losses`, not inside a loss entry "
        "(indent it under the entry of `losses` it belongs to)",
        "c.yaml:6:3: model.weight: `weight` is beside `losses`, not inside a loss entry "
        "(indent it under the entry of `losses` it belongs to)",
    ]
    root = doc("model:\n  losses:\n  - mse\n  params:\n    x: 1\n")
    assert lines(root.model.losses) == [
        "c.yaml:4:3: model.params: `params` is beside `losses`, not inside a loss entry "
        "(indent it under the entry of `losses` it belongs to)"
    ]


def test_a_param_at_entry_level_says_indent_it_under_params() -> None:
    root = doc("losses:\n  - type: bce_kl\n    weight_softmax: 0.5\n")
    assert lines(root.losses) == [
        "c.yaml:3:5: losses[0].weight_softmax: unknown key 'weight_softmax' in a loss entry "
        "('weight_softmax' is a param of BinaryCrossEntropyKlParams: indent it under `params:`)"
    ]


def test_a_whole_document_for_a_losses_value_says_where_the_losses_are() -> None:
    root = doc("model_config:\n  m:\n    losses: [mse]\n  n:\n    losses: [mse]\n")
    expected = (
        "expected a list of loss entries or a mapping of term names to entries, found a whole config; its "
        "`losses` values are at model_config.m.losses, model_config.n.losses (pass the value of the `losses` key)"
    )
    assert lines(root) == [f"c.yaml:1:1: losses: {expected}"]
    assert lines(OmegaConf.to_container(root)) == [f"losses: {expected}"]
    # the mapping form with a `multi` entry is not a document
    assert check_losses({"both": {"type": "multi", "params": {"losses": ["mse"]}}})[0].name == "both"


# -- Python values: the same checker ----------------------------------------------------------------------------


def test_term_lists_follow_the_config_rules() -> None:
    def issues(items: list[Any]) -> list[str]:
        with pytest.raises(LossConfigError) as info:
            LossCollection(items)
        return [issue.format() for issue in info.value.issues]

    reserved = "term name 'total' is reserved: logs and output files use it for the sum of the terms"
    assert lines([{"type": "mse", "name": "total"}]) == [f"losses[0].name: {reserved} (choose another `name:`)"]
    with pytest.raises(ValueError, match=f"^Term name: {reserved}"):  # the same rule, at construction
        Term(MSEParams(), name="total")
    assert issues([Term(BinaryCrossEntropyKlParams(weight_softmax=1.0), name="x"), Term(MSEParams(), name="x/kl")]) == [
        "items[1]: term name 'x/kl' is also the key of output 'kl' of term 'x' (at items[0]) "
        "(give one of them a distinct `name:`)"
    ]
    assert issues([MSEParams(), MSEParams()]) == [
        "items[1]: duplicate term name 'mse' (also at items[0]) (give one of them a distinct `name:`)"
    ]
    assert issues([]) == ["items: no losses configured: the list is empty"]
