"""The registry under threads, in fresh interpreters: first use from many threads at once, registration.

A fake installed distribution adds a second entry point to the ``typed_losses.losses`` group: a slow
plugin that, while it is being imported, registers a loss and looks names up (the re-entrant case).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import attrs
import torch
from helpers.cli import fresh_env
from torch import Tensor

from typed_losses import Batch, Loss
from typed_losses.registry import Registry

THREADS = 8
ROUNDS = 10

SLOW_PLUGIN = """\
import time

import attrs
import torch

from typed_losses import REGISTRY, Loss, register_loss

time.sleep(0.02)  # the other threads arrive while the entry points load
SEEN_WHILE_LOADING = REGISTRY.names()  # a lookup from inside an entry point's import: no deadlock


@attrs.frozen
class SlowParams:
    pass


@register_loss("slow_plugin_loss")
class SlowLoss(Loss[SlowParams]):
    def forward(self, sample_list, model_output):
        return torch.zeros(())
"""

ROUNDS_SCRIPT = """\
import json, sys, threading
from typed_losses import REGISTRY, LossCollection

THREADS, ROUNDS = int(sys.argv[1]), int(sys.argv[2])
results = []
for round_ in range(ROUNDS):
    if round_:  # as fresh as a process can make itself: forget the catalog and the plugin
        for name in [m for m in sys.modules if m.startswith("typed_losses.losses") or m == "slow_plugin"]:
            del sys.modules[name]
        REGISTRY._by_name.clear()
        REGISTRY._entry_points_loaded = False
    barrier = threading.Barrier(THREADS)
    outcome = [None] * THREADS

    def build(i):
        barrier.wait()
        try:
            collection = LossCollection.from_config(["cross_entropy", "slow_plugin_loss", {"type": "bce_kl",
                                                     "params": {"weight_softmax": 0.5}}])
            outcome[i] = ",".join(collection.names)
        except Exception as exc:
            outcome[i] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=build, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "deadlock"
    results.append(outcome)
print(json.dumps(results))
"""


def test_threads_building_their_first_collection_at_once_all_succeed(tmp_path: Path) -> None:
    dist = tmp_path / "slow_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[typed_losses.losses]\nslow = slow_plugin\n")
    (tmp_path / "slow_plugin.py").write_text(SLOW_PLUGIN)
    env = fresh_env()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    result = subprocess.run(
        [sys.executable, "-c", ROUNDS_SCRIPT, str(THREADS), str(ROUNDS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rounds = json.loads(result.stdout)
    assert rounds == [["cross_entropy,slow_plugin_loss,bce_kl"] * THREADS] * ROUNDS


@attrs.frozen
class NoParams:
    pass


class ZeroLoss(Loss[NoParams]):
    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return torch.zeros(())


def _loss_class(index: int) -> type[ZeroLoss]:
    """A class of its own per thread (module ``threads_INDEX``), so that registering it under a taken name fails."""
    return type(f"Loss{index}", (ZeroLoss,), {"__module__": f"threads_{index}"})


def test_concurrent_registration_keeps_every_name_and_one_owner_per_name() -> None:
    registry = Registry(entry_point_group=None)
    per_thread = 200
    barrier = threading.Barrier(THREADS)
    errors: list[str] = []
    taken: list[str] = []

    def register(thread: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            registry.register(f"loss_{thread}_{i}", _loss_class(thread))
            registry.names()  # reads while others write
            list(registry)
            try:  # every thread claims the same name with its own class: one wins
                registry.register(f"shared_{i}", _loss_class(thread))
            except ValueError as exc:
                taken.append(str(exc))
            except Exception as exc:  # pragma: no cover - what the test is there to catch
                errors.append(repr(exc))

    threads = [threading.Thread(target=register, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    names = registry.names()
    assert len(names) == THREADS * per_thread + per_thread
    assert len(taken) == (THREADS - 1) * per_thread
    assert all("already taken by threads_" in message for message in taken)
