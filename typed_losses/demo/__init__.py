"""`typed-losses demo`: validate a losses config, then train a small model on synthetic data with it.

The default config is `examples/demo.yaml`, packaged as `typed_losses/demo/demo.yaml` (a generated
copy) so that an installed wheel runs the demo too. Results go to `--out`: `losses.csv`,
`losses.json` and, when matplotlib is installed, `losses.png`.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import TextIO

from typed_losses.cli_support import count, losses_node, printable
from typed_losses.collection import LossCollection
from typed_losses.config.yaml import load_yaml
from typed_losses.demo.outputs import PLOT_MISSING, write_csv, write_json, write_png
from typed_losses.demo.progress import ProgressMode, ProgressReporter
from typed_losses.demo.task import describe_provided, missing_inputs, synthetic_task
from typed_losses.demo.train import History, train
from typed_losses.errors import LossConfigError, LossInputError
from typed_losses.rules import WEIGHT_LOG_PREFIX

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_OUT",
    "EXAMPLE_CONFIG",
    "SUMMARY_HEADER",
    "WEIGHT_SUMMARY_HEADER",
    "History",
    "run_demo",
    "synthetic_task",
    "train",
]

DEFAULT_CONFIG = "demo.yaml"
DEFAULT_OUT = "demo-output"
#: How the default config is named in the output (the README and docs/cli.md name it the same way).
EXAMPLE_CONFIG = "examples/demo.yaml"
#: The line above the summary table: its values are single steps, unlike the progress's moving averages.
SUMMARY_HEADER = "loss at the first and at the last step (single steps, not averaged):"
#: The line above the summary's weights (those that change during training), when there are some.
WEIGHT_SUMMARY_HEADER = "weight at the first and at the last step (weights that change during training):"


def _load(config: str | None) -> tuple[str, str, LossCollection]:
    """(the config's path, how the output names it, its collection)."""
    if config is None:
        with resources.as_file(resources.files(__name__) / DEFAULT_CONFIG) as path:
            shown = f"{EXAMPLE_CONFIG} (packaged as {path})"
            return str(path), shown, LossCollection.from_config(losses_node(load_yaml(path), str(path)))
    return config, config, LossCollection.from_config(losses_node(load_yaml(config), config))


def _summary(history: History, elapsed: float, out: TextIO) -> None:
    weights = {column.removeprefix(WEIGHT_LOG_PREFIX): column for column in history.varying}
    width = max(len(printable(c)) for c in (*history.loss_columns, *weights))

    def row(label: str, column: str) -> None:
        values = history.series(column)
        print(f"  {printable(label):<{width}}  {values[0]:>10.4f}  {values[-1]:>10.4f}", file=out)

    print(f"trained {len(history.rows)} steps in {elapsed:.1f}s", file=out)
    print(SUMMARY_HEADER, file=out)
    print(f"  {'term':<{width}}  {'first step':>10}  {'last step':>10}", file=out)
    for column in history.loss_columns:
        row(column, column)
    if weights:
        print(WEIGHT_SUMMARY_HEADER, file=out)
        for name, column in weights.items():
            row(name, column)


def run_demo(
    *,
    config: str | None,
    steps: int,
    seed: int,
    out: TextIO,
    out_dir: str | Path = DEFAULT_OUT,
    progress: ProgressMode = "auto",
) -> int:
    """Validate `config` (or the bundled demo config), train, write the result files; 0 on success.

    1 for an invalid config, a config whose losses need inputs the demo does not provide, or an output
    folder that cannot be written.
    """
    try:
        name, shown, collection = _load(config)
    except LossConfigError as exc:
        for issue in exc.issues:
            print(printable(issue.format(severity="error")), file=out)
        return 1
    print(printable(f"{shown}: ok: {count(len(collection), 'loss term')}: {', '.join(collection.names)}"), file=out)
    missing = missing_inputs(collection)
    if missing:
        for message in missing:
            print(printable(f"error: {message}"), file=out)
        print(f"note: {describe_provided()}", file=out)
        return 1
    target = Path(out_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create {target}: {exc.strerror or exc}", file=out)
        return 1

    start = time.perf_counter()
    try:
        with ProgressReporter(out, progress) as reporter:
            history = train(collection, steps=steps, seed=seed, on_step=reporter)
    except LossInputError as exc:
        print(printable(f"error: {exc}"), file=out)
        print(f"note: {describe_provided()}", file=out)
        return 1
    elapsed = time.perf_counter() - start
    _summary(history, elapsed, out)

    try:
        written = [
            write_csv(history, target / "losses.csv"),
            write_json(history, target / "losses.json", config=name, seed=seed),
        ]
        png = write_png(history, target / "losses.png", title=f"typed-losses demo: {Path(name).name}, seed {seed}")
    except OSError as exc:
        print(f"error: cannot write the results: {exc.strerror or exc}", file=out)
        return 1
    if png is None:
        print(PLOT_MISSING, file=out)
    else:
        written.append(png)
    print("wrote " + ", ".join(str(p) for p in written), file=out)
    return 0
