"""The catalog as a manifest, probed in a fresh interpreter (nothing the test session imported can hide a gap).

:func:`probe` answers two questions about packages given by name:

- **catalog**: every module under a catalog package that defines a :class:`~typed_losses.Loss` subclass is
  imported by ``import <package>`` (what the entry point runs), and every such class is registered;
- **core**: no module of a core package (outside the catalog and the modules allowed to) imports the catalog.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ROOT", "probe"]

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import importlib, json, os, pkgutil, sys

from typed_losses.loss import Loss
from typed_losses.registry import REGISTRY


def walk(path, prefix):
    for info in sorted(pkgutil.iter_modules([path]), key=lambda info: info.name):
        yield prefix + info.name
        if info.ispkg:
            yield from walk(os.path.join(path, info.name), prefix + info.name + ".")


def under(name, packages):
    return any(name == p or name.startswith(p + ".") for p in packages)


def core_problems(core, catalog, allowed):
    spec = importlib.util.find_spec(core)
    for name in walk(spec.submodule_search_locations[0], core + "."):
        if under(name, catalog) or under(name, allowed):
            continue
        importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if under(m, catalog))
        if loaded:
            return [f"{name} imports the catalog ({', '.join(loaded)})"]
    return []


def catalog_problems(package):
    module = importlib.import_module(package)
    imported = {name for name in sys.modules if name.startswith(package + ".")}
    problems = []
    for name in walk(module.__path__[0], package + "."):
        found = [
            cls
            for cls in vars(importlib.import_module(name)).values()
            if isinstance(cls, type) and issubclass(cls, Loss) and cls.__module__ == name
        ]
        for cls in found:
            if name not in imported:
                problems.append(f"{name} defines {cls.__name__}, but `import {package}` does not import {name}")
                continue
            spec = REGISTRY.get(cls.loss_name) if cls.loss_name else None
            if spec is None or spec.loss_class is not cls:
                problems.append(f"{name}.{cls.__name__} is not registered (decorate it with @register_loss)")
    return problems


request = json.loads(sys.argv[1])
report = {"core": {}, "catalog": {}}
for core, catalog, allowed in request["core"]:  # before any catalog is imported
    report["core"][core] = core_problems(core, catalog, allowed)
for package in request["catalog"]:
    report["catalog"][package] = catalog_problems(package)
print(json.dumps(report))
"""


def probe(
    *,
    catalogs: Sequence[str],
    cores: Sequence[tuple[str, Sequence[str], Sequence[str]]] = (),
    path: Sequence[Path] = (),
) -> dict[str, dict[str, list[str]]]:
    """``{"core": {core: problems}, "catalog": {package: problems}}`` from one fresh interpreter.

    ``cores`` holds ``(core package, catalog packages, modules allowed to import the catalog)``; ``path``
    goes in front of ``sys.path`` (besides the repository root).
    """
    request = {
        "core": [[core, list(catalog), list(allowed)] for core, catalog, allowed in cores],
        "catalog": list(catalogs),
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, path), str(ROOT), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(request)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, dict[str, list[str]]] = json.loads(result.stdout)
    return report
