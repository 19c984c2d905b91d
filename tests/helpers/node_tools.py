"""The Node.js programs the editor tests drive (yaml-language-server), installed from the npm registry.

``tests/editors/package.json`` pins them and ``package-lock.json`` fixes every transitive version and its
hash; ``npm ci`` installs exactly that into a cache directory keyed by the lock's hash
(``$TYPED_LOSSES_NODE_CACHE``, default ``~/.cache/typed-losses/node``), once. ``.ci/run`` installs them before
the tests (``python tests/helpers/node_tools.py``); a test run without them installs them on first use.
Only a machine without ``node`` skips the tests that need them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tests" / "editors"
FILES = ("package.json", "package-lock.json")
SERVER_SCRIPT = Path("node_modules", "yaml-language-server", "bin", "yaml-language-server")


class NodeToolsError(RuntimeError):
    """npm could not install the pinned packages."""


def node() -> str | None:
    """The ``node`` executable on PATH, or ``None``."""
    return shutil.which("node")


def install_dir() -> Path:
    """Where the pinned packages are (or will be) installed: one directory per lock file content."""
    base = os.environ.get("TYPED_LOSSES_NODE_CACHE") or Path.home() / ".cache" / "typed-losses" / "node"
    digest = hashlib.sha256(b"".join((PACKAGE / name).read_bytes() for name in FILES)).hexdigest()[:16]
    return Path(base) / digest


def install() -> Path:
    """Install the pinned packages with ``npm ci`` unless already there; return the install directory."""
    target = install_dir()
    done = target / ".installed"
    if done.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise NodeToolsError("npm is not on PATH: it installs the editor test tools (tests/editors/package.json)")
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(PACKAGE / name, target / name)
    result = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise NodeToolsError(f"npm ci in {target} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    done.write_text("ok\n")
    return target


def yaml_language_server() -> list[str]:
    """The command that starts yaml-language-server on stdio (installing it first if needed)."""
    exe = node()
    if exe is None:
        raise NodeToolsError("node is not on PATH")
    return [exe, str(install() / SERVER_SCRIPT), "--stdio"]


if __name__ == "__main__":
    if node() is None:
        sys.exit("node is not on PATH: the yaml-language-server tests will be skipped")
    print(f"editor test tools installed in {install()}")
