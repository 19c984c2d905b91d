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
#: A learned weight and a schedule, trained inside a DDP-wrapped module.
LEARNED = [
    {"type": "cross_entropy", "weight": {"type": "uncertainty", "init": 0.5}},
    {
        "type": "cross_entropy",
        "name": "smooth",
        "params": {"label_smoothing": 0.1},
        "weight": {"type": "linear", "start": 0.0, "end": 1.0, "steps": 2},
    },
]
DDP_STEPS = 3


class _Model(nn.Module):
    """A model holding its losses, as the guide recommends under DDP: the learned weights are its parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = _batch()[2]
        self.losses = LossCollection.from_config(LEARNED)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.losses({"targets": y}, {"scores": self.linear(x)}).total


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
        schedules = [
            LossCollection.from_config(
                [{"type": "mse", "weight": {"type": "linear", "start": 0, "end": 1, "steps": s}}]
            )
            for s in (10, 20 if rank == 1 else 10)
        ]
        try:
            check_same_config(schedules[1])
            results["schedule_differ"] = []
        except LossConfigError as exc:
            results["schedule_differ"] = [str(issue) for issue in exc.issues[1:]]
        ddp = DistributedDataParallel(_Model())
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.5)
        for _ in range(DDP_STEPS):
            optimizer.zero_grad()
            ddp(x[rows], y[rows]).backward()
            optimizer.step()
            ddp.module.losses.step()
        results["learned"] = {
            k: v.detach().tolist() for k, v in ddp.module.state_dict().items() if k != "losses._extra_state"
        }
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


def test_a_weight_form_that_differs_is_named(rank_results: list[dict[str, Any]]) -> None:
    expected = ["losses[0].weight.steps: rank 0 has 10, rank 1 has 20"]
    assert [r["schedule_differ"] for r in rank_results] == [expected, expected]


def test_learned_weights_train_identically_on_every_rank_under_ddp(rank_results: list[dict[str, Any]]) -> None:
    # The same steps on one process: DDP averages the ranks' gradients, i.e. of the mean of the ranks' totals.
    x, y, _ = _batch()
    model = _Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(DDP_STEPS):
        optimizer.zero_grad()
        total = sum(model(x[4 * r : 4 * r + 4], y[4 * r : 4 * r + 4]) for r in range(WORLD)) / WORLD
        assert isinstance(total, torch.Tensor)
        total.backward()
        optimizer.step()
        model.losses.step()
    first, second = (r["learned"] for r in rank_results)
    assert first == second  # identical across ranks, bit for bit
    assert list(first) == ["linear.weight", "linear.bias", "losses.step_count", "losses.weighting.0.log_variance"]
    assert first["losses.step_count"] == DDP_STEPS
    assert first["losses.weighting.0.log_variance"] != 0.5  # trained
    for key, value in model.state_dict().items():
        if key != "losses._extra_state":
            torch.testing.assert_close(torch.tensor(first[key]), value.detach(), check_dtype=False)


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
