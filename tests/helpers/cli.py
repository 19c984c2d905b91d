"""Running ``typed-losses`` as users do (a console script in a fresh process), and a plugin module to load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typed_losses

__all__ = ["LOAD_HINT", "PLUGIN_LOSS", "PLUGIN_SOURCE", "Result", "console_script", "fresh_env"]

#: The hint of an unknown loss name that is not close to a registered one (``Registry.suggest``).
LOAD_HINT = (
    "no loss of that name is registered; if a module of yours registers it, load that module first: "
    "`--plugin MODULE` on the command line, an entry point in the group 'typed_losses.losses' or "
    "`import MODULE` before building"
)

#: The name the plugin of :data:`PLUGIN_SOURCE` registers.
PLUGIN_LOSS = "mc_focal"

#: A user's loss module, as MMF's "adding a custom loss" tutorial would have it (written to a file by tests).
PLUGIN_SOURCE = f"""\
import attrs
import torch

from typed_losses import Loss, register_loss


@attrs.frozen
class FocalParams:
    gamma: float = 2.0


@register_loss({PLUGIN_LOSS!r})
class FocalLoss(Loss[FocalParams]):
    def forward(self, sample_list, model_output):
        return torch.tensor(self.params.gamma)
"""

#: The folder holding the ``typed_losses`` package (the checkout, or site-packages).
PACKAGE_ROOT = Path(typed_losses.__file__).resolve().parents[1]


def fresh_env() -> dict[str, str]:
    """The environment of a fresh process that finds this ``typed_losses`` and nothing from the current
    directory (``PYTHONPATH`` is the package's folder only)."""
    return {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT), "COLUMNS": "200"}


class Result:
    """What a command did: exit code and output lines."""

    def __init__(self, completed: subprocess.CompletedProcess[str]) -> None:
        self.code = completed.returncode
        self.out = completed.stdout.splitlines()
        self.err = completed.stderr.splitlines()

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out}, err={self.err})"


def console_script(tmp_path: Path, *argv: str, cwd: Path | None = None) -> Result:
    """``typed-losses ARGV...`` run as the installed console script runs: a script in another folder (so
    ``sys.path[0]`` is that folder, not the current directory), in ``cwd`` (default ``tmp_path``)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "typed-losses"
    script.write_text("import sys\nfrom typed_losses.cli import main\nsys.exit(main())\n")
    completed = subprocess.run(
        [sys.executable, str(script), *argv],
        cwd=cwd or tmp_path,
        env=fresh_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(completed)
