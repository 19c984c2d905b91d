"""The nesting bound (200 levels, ``MAX_DEPTH``) holds on every path, and nothing below it fails for depth.

Deep ``multi`` trees (each level nests an entry and its params list) right at the bound go through YAML,
plain data, OmegaConf nodes and Python ``Term`` values, then ``to_config``/``from_config``, checkpoints,
pickle, deepcopy, forward and ``typed-losses show``; one level more is a positioned LossConfigError on every
path. Each scenario runs in a fresh interpreter whose recursion limit is reset to Python's default (1000)
before it starts, from a caller already 100 frames deep, so that one path cannot lend another its headroom.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typed_losses.config.bounds import CALLER_FRAMES, FRAMES_PER_LEVEL, MAX_DEPTH

CALLER_DEPTH = 100


def multi(levels: int, leaf: object) -> list[Any]:
    """A ``losses`` list whose single entry nests ``levels`` ``multi`` entries around ``leaf``."""
    entry = leaf
    for _ in range(levels):
        entry = {"type": "multi", "params": [entry]}
    return [entry]


def deep_params(levels: int) -> list[Any]:
    value: object = 1.0
    for _ in range(levels):
        value = {"x": value}
    return [{"type": "mse", "params": value}]


def _scenarios() -> dict[str, str]:  # pragma: no cover - runs in the subprocess
    import torch
    from omegaconf import OmegaConf

    from typed_losses import LossCollection, LossConfigError, Term, check_losses, load_yaml_text
    from typed_losses.cli import main
    from typed_losses.losses import MSEParams, MultiParams
    from typed_losses.provenance import losses_provenance

    results: dict[str, str] = {}
    peaks: list[int] = []
    sys.setrecursionlimit(1000)
    LossCollection.from_config(
        load_yaml_text("losses: [{type: multi, params: [mse, {type: multi, params: [mse]}]}]").losses
    )
    results["recursion limit after a typical config"] = str(sys.getrecursionlimit())

    def run(name: str, step: Callable[[], object]) -> None:
        sys.setrecursionlimit(1000)

        def nested(depth: int) -> object:
            return step() if depth == 0 else nested(depth - 1)

        try:
            nested(CALLER_DEPTH)
            results[name] = "ok"
        except LossConfigError as exc:
            results[name] = str(exc)
        except RecursionError:
            results[name] = "RecursionError"
        peaks.append(sys.getrecursionlimit())

    def round_trips(name: str, collection: LossCollection) -> None:
        x = torch.randn(2, 3, requires_grad=True)
        original = collection.to_config()
        again = LossCollection.from_config(original)
        config = again.to_config()  # Python terms leave nested names unset; the checker sets them
        assert LossCollection.from_config(config).to_config() == config
        state = again.state_dict()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=True)
        assert LossCollection.from_state_dict(loaded).to_config() == config
        again.load_state_dict(loaded)
        for clone in (pickle.loads(pickle.dumps(collection)), copy.deepcopy(collection)):
            assert clone.to_config() == original
        total = collection({"targets": x.detach()}, {"scores": x}).total
        total.backward()
        assert x.grad is not None
        repr(collection)

    # Doc depth: root 0, losses list 1, entry 2, then 2 a level: the leaf name of 99 levels is at depth 200.
    top = MAX_DEPTH // 2 - 1
    yaml_text = json.dumps({"losses": multi(top, "mse")})
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "deep.yaml"
        file.write_text(yaml_text)

        def from_yaml() -> None:
            node = load_yaml_text(yaml_text, file="deep.yaml").losses
            round_trips("yaml", LossCollection.from_config(node))
            (term,) = losses_provenance(node)
            assert len(list(term.walk())) == top + 1
            out = io.StringIO()
            assert main(["validate", str(file)], out=out) == 0, out.getvalue()
            for form in ("plain", "json", "table"):
                assert main(["show", str(file), "--format", form], out=io.StringIO()) == 0

        run("yaml at the bound", from_yaml)
        file.write_text(json.dumps({"losses": multi(top + 1, "mse")}))
        run(
            "yaml over the bound",
            lambda: main(["validate", str(file)], out=io.StringIO()) and load_yaml_text(file.read_text()),
        )

    # Relative to the losses value: list 0, entry 1, 2 a level; {"type": "mse"}'s name is at 1 + 2 * 99 + 1.
    plain = multi(top, {"type": "mse"})
    run("plain at the bound", lambda: round_trips("plain", LossCollection.from_config(plain)))
    run("plain over the bound", lambda: LossCollection.from_config(multi(top + 1, {"type": "mse"})))
    run("check plain over the bound", lambda: check_losses(multi(top + 1, "mse")))
    run("plain far over the bound", lambda: check_losses(multi(5000, "mse")))

    sys.setrecursionlimit(100_000)  # only to build the node; from_config must not need it
    node = OmegaConf.create(plain)
    too_deep_node = OmegaConf.create(multi(top + 1, {"type": "mse"}))
    run("omegaconf node at the bound", lambda: round_trips("node", LossCollection.from_config(node)))
    run("omegaconf node over the bound", lambda: LossCollection.from_config(too_deep_node))

    def terms(levels: int) -> list[Term[Any]]:
        term: Term[Any] = Term(MSEParams())
        for _ in range(levels):
            term = Term(MultiParams(losses=(term,)))
        return [term]

    run("python terms at the bound", lambda: round_trips("terms", LossCollection(terms(top))))
    run("python terms over the bound", lambda: LossCollection(terms(top + 1)))
    run("python terms far over the bound", lambda: LossCollection(terms(5000)))
    deep_state = {"_extra_state": {"format": 1, "losses": multi(top + 1, "mse")}}
    run("state over the bound", lambda: LossCollection.from_state_dict(deep_state))
    very_deep = {"_extra_state": {"format": 1, "losses": multi(5000, "mse")}}
    run("state far over the bound", lambda: LossCollection.from_state_dict(very_deep))
    run("state far over the bound, loaded", lambda: LossCollection.from_config(["mse"]).load_state_dict(very_deep))

    run("params at the bound", lambda: LossCollection.from_config(deep_params(MAX_DEPTH - 2)))
    run("params over the bound", lambda: LossCollection.from_config(deep_params(MAX_DEPTH)))
    results["recursion limit at most"] = str(max(peaks))
    return results


def test_every_path_holds_the_bound_and_nothing_below_it_fails() -> None:
    result = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    too_deep = "nests deeper than 200 levels (the limit for configs)"
    assert json.loads(result.stdout) == {
        "recursion limit after a typical config": "1000",  # untouched
        "recursion limit at most": str(CALLER_FRAMES + FRAMES_PER_LEVEL * MAX_DEPTH),
        "yaml at the bound": "ok",
        "yaml over the bound": "1:2893: <document>: document nests deeper than 200 levels",
        "plain at the bound": "ok",
        "plain over the bound": f"losses[0]: {too_deep}",
        "check plain over the bound": f"losses[0]: {too_deep}",
        "plain far over the bound": f"losses[0]: {too_deep}",
        "omegaconf node at the bound": "ok",
        "omegaconf node over the bound": f"losses[0]: {too_deep}",
        "python terms at the bound": "ok",
        "python terms over the bound": f"items[0]: {too_deep}",
        "python terms far over the bound": f"items[0]: {too_deep}",
        "state over the bound": f"_extra_state.losses[0]: {too_deep}",
        "state far over the bound": f"_extra_state.losses[0]: {too_deep}",
        "state far over the bound, loaded": f"_extra_state.losses[0]: {too_deep}",
        "params at the bound": "losses[0].params.x: unknown param 'x' for MSEParams (MSEParams takes no params)",
        "params over the bound": f"losses[0]: {too_deep}",
    }


def test_the_docs_state_the_bound_that_the_code_holds() -> None:
    root = Path(__file__).parents[2]
    assert f"nesting beyond {MAX_DEPTH} levels" in (root / "README.md").read_text()
    assert f"The nesting bound ({MAX_DEPTH} levels) holds" in (root / "docs" / "configuration.md").read_text()


def test_to_config_writes_multi_params_as_the_list_itself() -> None:
    # As configs write them: one level less per `multi` than {"losses": [...]}, so that
    # from_config(to_config()) nests no deeper than the config the collection came from.
    from typed_losses import LossCollection
    from typed_losses.config.bounds import nesting

    config = [{"type": "multi", "params": [{"type": "multi", "params": ["mse"]}]}]
    written = LossCollection.from_config(config).to_config()
    assert written == [
        {
            "type": "multi",
            "params": [{"type": "multi", "params": [{"type": "mse", "params": {}}]}],
        }
    ]
    assert nesting(written) == (6, (0, "params", 0, "params", 0, "type"))
    assert nesting(config) == (5, (0, "params", 0, "params", 0))


def test_nesting_counts_shared_values_once_and_does_not_follow_a_container_into_itself() -> None:
    from typed_losses.config.bounds import nesting

    shared = {"a": [1, [2]]}
    assert nesting([shared, {"b": shared}]) == (5, (1, "b", "a", 1, 0))
    looped: list[object] = [1]
    looped.append(looped)
    assert nesting(looped)[0] == 1


if __name__ == "__main__":
    print(json.dumps(_scenarios()))
