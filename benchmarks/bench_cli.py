"""``typed-losses validate`` wall time against a bare ``python -c "import torch"``, and import overhead.

Each variant is a fresh subprocess (interleaved, median over repeats), with ``OMP_NUM_THREADS=2``:

- ``import torch``: the floor any PyTorch tool pays;
- ``import torch, typed_losses``: the core (what a training script importing the library adds);
- ``import torch, typed_losses.losses``: core + the whole catalog;
- ``typed-losses validate examples/visual_bert_vqa2.yaml``: the CLI end to end (entry point, yaml, checks).

Target: ``validate`` <= 1.5x the bare torch import. Run: ``python benchmarks/bench_cli.py [--quick]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from _timing import Section, compare, fmt_ms, fmt_ratio, machine_line, markdown_table, parse_quick, setup_threads

TARGET = 1.5
ROOT = Path(__file__).resolve().parent.parent
CONFIG = "examples/visual_bert_vqa2.yaml"


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("typed-losses")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from typed_losses.cli import main; sys.exit(main())"]


def run(quick: bool) -> Section:
    setup_threads()
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    commands = {
        "import torch": [sys.executable, "-c", "import torch"],
        "import torch, typed_losses": [sys.executable, "-c", "import torch, typed_losses"],
        "import torch, typed_losses.losses": [sys.executable, "-c", "import torch, typed_losses.losses"],
        f"typed-losses validate {CONFIG}": [*_cli(), "validate", CONFIG],
    }

    def runner(argv: list[str]) -> object:
        return lambda: subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

    times = compare(
        {k: runner(v) for k, v in commands.items()}, repeats=1 if quick else 7, number=1, warmup=0 if quick else 1
    )
    floor = times["import torch"]
    rows = []
    for name, seconds in times.items():
        target = TARGET if name.startswith("typed-losses") else None
        extra = seconds - floor
        rows.append(
            [
                f"`{name}`",
                fmt_ms(seconds),
                "-" if name == "import torch" else ("+" if extra >= 0 else "") + fmt_ms(extra),
                fmt_ratio(seconds / floor, target),
            ]
        )
        print(f"{name:60s} {fmt_ms(seconds):>10s}  {seconds / floor:.3f}x")
    table = markdown_table(["command", "wall time", "beyond `import torch`", "ratio"], rows)
    intro = (
        "Fresh processes, wall time (`benchmarks/bench_cli.py`). The import overhead of typed_losses is the "
        f'difference to a bare `python -c "import torch"`. Target: `validate` <= {TARGET}x the bare torch import.'
    )
    # In-process: the import of typed_losses (and of the catalog) timed right after `import torch` in the same
    # fresh process, so that the two processes' start-up noise does not enter the difference.
    probe = (
        "import time; t0 = time.perf_counter(); import torch; t1 = time.perf_counter(); import typed_losses; "
        "t2 = time.perf_counter(); import typed_losses.losses; t3 = time.perf_counter(); "
        "print(t1 - t0, t2 - t1, t3 - t2)"
    )
    samples = [
        [
            float(x)
            for x in subprocess.run(
                [sys.executable, "-c", probe], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            ).stdout.split()
        ]
        for _ in range(2 if quick else 9)
    ]
    torch_s, package_s, catalog_s = (statistics.median(column) for column in zip(*samples, strict=True))
    print(
        f"in-process imports: torch {fmt_ms(torch_s)}, typed_losses +{fmt_ms(package_s)}, catalog +{fmt_ms(catalog_s)}"
    )
    table += (
        "\n\nImports timed inside one fresh process, right after `import torch` (median of "
        f"{len(samples)} processes): `import torch` {fmt_ms(torch_s)}, then `import typed_losses` "
        f"+{fmt_ms(package_s)}, then the catalog (`typed_losses.losses`, loaded on first use) +{fmt_ms(catalog_s)}."
    )
    validate = next(name for name in times if name.startswith("typed-losses"))
    summary = [
        [
            '`typed-losses validate` vs a bare `python -c "import torch"`',
            fmt_ratio(times[validate] / floor),
            f"<= {TARGET:g}x",
        ],
        [
            "import time `typed_losses` adds beyond torch (in-process, catalog included)",
            f"{fmt_ms(package_s)} + {fmt_ms(catalog_s)}",
            "-",
        ],
    ]
    return Section("Command line and import time", intro, table, summary)


if __name__ == "__main__":
    section = run(parse_quick(__doc__ or ""))
    print(machine_line())
    print(section.markdown())
