"""Several processes: the same-config check over gloo, a collection beside DDP, and spawn workers.

The two gloo ranks run every distributed scenario in one process group (spawning costs seconds each).
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
import torch
import torch.distributed as dist
from helpers.processes import run_ranks
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from typed_losses import LossCollection, LossConfigError, load_plugin
from typed_losses.distributed import check_same_config, config_digest
from typed_losses.losses import CrossEntropyParams

WORLD = 2
SAME = [{"type": "cross_entropy", "params": {"label_smoothing": 0.1}}, {"type": "mse", "weight": 0.5}]


def _batch() -> tuple[torch.Tensor, torch.Tensor, nn.Linear]:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(WORLD * 4, 5, generator=g)
    y = torch.randint(0, 3, (WORLD * 4,), generator=g)
    torch.manual_seed(0)
    return x, y, nn.Linear(5, 3)


def _worker(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=30),
    )
    results: dict[str, Any] = {}
    try:
        results["agree"] = check_same_config(LossCollection.from_config(SAME))
        differ = LossCollection.from_config(
            [{"type": "cross_entropy", "params": {"label_smoothing": 0.1 if rank == 0 else 0.2}}, {"type": "mse"}]
        )
        try:
            check_same_config(differ)
            results["differ"] = []
        except LossConfigError as exc:
            results["differ"] = [str(issue) for issue in exc.issues]
        x, y, linear = _batch()
        model = DistributedDataParallel(linear)
        criterion = LossCollection([CrossEntropyParams()])  # no parameters: not wrapped
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        rows = slice(4 * rank, 4 * rank + 4)
        out = criterion({"targets": y[rows]}, {"scores": model(x[rows])})
        out.total.backward()
        optimizer.step()
        results["weight"] = linear.weight.detach().tolist()
    finally:
        dist.destroy_process_group()
        with open(os.path.join(out_dir, f"{rank}.pkl"), "wb") as f:
            pickle.dump(results, f)
    # Leave without running interpreter teardown: gloo's C++ threads occasionally abort the process there
    # ("terminate called without an active exception", exit -6) after every result is written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("gloo")
    run_ranks(_worker, WORLD, str(out_dir), timeout=90)
    return [pickle.loads((out_dir / f"{rank}.pkl").read_bytes()) for rank in range(WORLD)]


def test_config_digest_is_canonical() -> None:
    a = LossCollection.from_config(SAME)
    b = LossCollection.from_config(
        {
            "cross_entropy": {"type": "cross_entropy", "params": {"label_smoothing": 0.1}},
            "mse": {"type": "mse", "weight": 0.5},
        }
    )
    assert config_digest(a) == config_digest(b) == check_same_config(a)  # no process group: just the digest
    assert len(config_digest(a)) == 64
    c = LossCollection.from_config([SAME[0], {"type": "mse", "weight": 0.25}])
    assert config_digest(c) != config_digest(a)


def test_ranks_that_agree_pass(rank_results: list[dict[str, Any]]) -> None:
    digest = config_digest(LossCollection.from_config(SAME))
    assert [r["agree"] for r in rank_results] == [digest, digest]


def test_a_rank_that_differs_is_named_on_every_rank(rank_results: list[dict[str, Any]]) -> None:
    expected = [
        "losses: rank 1 built a different loss config than rank 0 (digest {} != {}) "
        "(every rank must build its losses from the same config)",
        "losses[0].params.label_smoothing: rank 0 has 0.1, rank 1 has 0.2",
    ]
    digests = [
        config_digest(
            LossCollection.from_config([{"type": "cross_entropy", "params": {"label_smoothing": s}}, {"type": "mse"}])
        )
        for s in (0.1, 0.2)
    ]
    expected[0] = expected[0].format(digests[1][:12], digests[0][:12])
    assert [r["differ"] for r in rank_results] == [expected, expected]


def test_a_parameter_free_collection_trains_beside_ddp(rank_results: list[dict[str, Any]]) -> None:
    # Same step on one process over the whole batch: DDP averages the ranks' gradients of per-rank means.
    x, y, linear = _batch()
    loss = torch.nn.functional.cross_entropy(linear(x), y)
    loss.backward()
    with torch.no_grad():
        expected = linear.weight - 0.5 * linear.weight.grad  # type: ignore[operator]
    for result in rank_results:
        torch.testing.assert_close(torch.tensor(result["weight"]), expected)


# -- spawn: losses registered in importable modules -------------------------------------------------------------


def _spawned(pickled: bytes, config: list[dict[str, Any]]) -> dict[str, Any]:
    """In a fresh spawn child: name lookup fails until the module is imported; unpickling imports it."""
    result: dict[str, Any] = {}
    try:
        LossCollection.from_config(config)
        result["before"] = "built"
    except LossConfigError as exc:
        result["before"] = str(exc)
    batch = ({"target": torch.ones(2, 3)}, {"pred": torch.zeros(2, 3)})
    collection = pickle.loads(pickled)
    result["unpickled"] = float(collection(*batch).total)
    load_plugin("plugin_losses")  # what a worker does when it gets only the config
    result["after"] = float(LossCollection.from_config(config)(*batch).total)
    return result


def test_spawned_workers_find_losses_of_importable_modules() -> None:
    import plugin_losses

    config = [{"type": plugin_losses.NAME, "params": {"scale": [1.0, 2.0, 3.0]}}]
    collection = LossCollection.from_config(config)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = pool.submit(_spawned, pickle.dumps(collection), config).result(timeout=90)
    assert result == {
        "before": f"losses[0].type: unknown loss {plugin_losses.NAME!r} (no loss of that name is registered; if a "
        "module of yours registers it, load that module first: `--plugin MODULE` on the command line, an entry "
        "point in the group 'typed_losses.losses' or `import MODULE` before building)",
        "unpickled": 2.0,
        "after": 2.0,
    }
