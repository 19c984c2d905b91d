"""Run every benchmark; write ``docs/performance.md`` (tables, machine, date, how to reproduce) and the
headline table of the README's performance section.

    python benchmarks/run_all.py            # full run (several minutes on 2 cores)
    python benchmarks/run_all.py --quick    # smoke run: few repeats, numbers are not meaningful

``--quick`` prints the page and the README table instead of writing them (unless ``--write`` is given too).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _timing
import bench_catalog
import bench_cli
import bench_collection
import bench_validation
import bench_weights

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "performance.md"
README = ROOT / "README.md"
README_START = "<!-- performance:start (written by `python benchmarks/run_all.py`) -->"
README_END = "<!-- performance:end -->"

HEADER = """# Performance

A loss framework runs every training step: its cost must disappear next to the math. These tables compare
typed_losses against the same math written by hand, measured by the scripts in `benchmarks/`
(not part of the test suite).

**Machine:** {machine}. **Date:** {date}.

**Method:** every comparison runs its variants in one process, interleaved (each repeat times every variant,
in a fresh random order), after warm-up calls, with garbage collection off while timing (on for config
validation, whose garbage is part of its cost); a time is the
median over repeats of the per-call wall time, and a ratio is the median over repeats of typed_losses' time
over the hand-written one's in the same repeat (below 1: typed_losses was faster; variations
of a few percent are noise on a shared 2-core machine). torch uses {threads} intra-op threads
(`torch.set_num_threads({threads})`) in every benchmark.

**Reproduce:** `python benchmarks/run_all.py` rewrites this page; each `benchmarks/bench_*.py` also runs alone,
with `--quick` for a smoke run of a few seconds.
"""


def readme_block(sections: list[_timing.Section], machine: str, date: str) -> str:
    """The README's headline table: one row per benchmark that has a target."""
    rows = [row for section in sections for row in section.summary]
    table = _timing.markdown_table(["benchmark", "result", "target"], rows)
    return (
        f"{README_START}\n{table}\n\nMeasured on {machine}, {date}; forward + backward; a ratio is the median of "
        'per-repeat ratios, the variants interleaved in random order, and "noise" is the hand-written code '
        "timed against itself in the same run. Every table, the method and how to reproduce: [docs/performance.md](docs/performance.md). "
        "Collections compile to one graph (`torch.compile(losses, fullgraph=True)`) and never force a "
        f"host-device sync (both are tested).\n{README_END}"
    )


def write_readme(block: str) -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    README.write_text(text[:start] + block + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    parser.add_argument("--write", action="store_true", help="write docs/performance.md even with --quick")
    args = parser.parse_args()
    _timing.setup_threads()
    machine = _timing.machine_line()
    modules = (bench_collection, bench_weights, bench_catalog, bench_validation, bench_cli)
    sections = [module.run(args.quick) for module in modules]
    page = HEADER.format(machine=machine, date=_timing.today(), threads=_timing.THREADS)
    page += "\n" + "\n".join(section.markdown() for section in sections)
    block = readme_block(sections, machine, _timing.today())
    if args.quick and not args.write:
        print(page)
        print(block)
    else:
        PAGE.write_text(page, encoding="utf-8")
        write_readme(block)
        print(f"wrote {PAGE} and the performance table of {README}")


if __name__ == "__main__":
    main()
