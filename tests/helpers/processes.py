"""Run a function in several ``spawn``-started processes, as ranks of a gloo group on 127.0.0.1."""

from __future__ import annotations

import multiprocessing
import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a gloo rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_ranks(target: Callable[[int, int, str], None], world: int, out_dir: str, *, timeout: float) -> None:
    """Start ``target(rank, port, out_dir)`` for every rank and wait; fail when one is stuck or exits non-zero.

    ``target`` must be importable (a module-level function): ``spawn`` pickles it by reference.
    """
    spawn = multiprocessing.get_context("spawn")
    port = free_port()
    workers = [spawn.Process(target=target, args=(rank, port, out_dir)) for rank in range(world)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(timeout=max(deadline - time.monotonic(), 0.0))
    stuck = [w for w in workers if w.is_alive()]
    for worker in stuck:
        worker.kill()
        worker.join()
    assert not stuck, f"the ranks did not finish within {timeout:g} s"
    assert [w.exitcode for w in workers] == [0] * world, f"exit codes: {[w.exitcode for w in workers]}"
