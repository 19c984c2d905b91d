"""docs/guides/hydra.md runs as written: its files are written to a folder, each bash block runs there (the app in
fresh processes, as a user runs it) and prints exactly the Output block below it.

hydra-core 1.3 requires omegaconf < 2.4: this runs in CI's omegaconf 2.3 environment and is skipped elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers.markdown import ROOT, Block, code_blocks

pytest.importorskip("hydra", reason="hydra-core is not installed (CI runs this with omegaconf 2.3)")

PAGE = ROOT / "docs" / "guides" / "hydra.md"
#: (files written, bash blocks run): a block dropped from the page is noticed.
COUNTS = (3, 8)


def run_block(block: Block, folder: Path) -> str:
    """The block run by bash in `folder`, `python` being this interpreter; stdout and stderr as a terminal shows
    them (interleaved), without Hydra's full tracebacks switched on."""
    env = {key: value for key, value in os.environ.items() if key != "HYDRA_FULL_ERROR"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        ["bash", "-c", block.code],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    return result.stdout


def test_the_guide_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    blocks = code_blocks(PAGE)
    files = [b for b in blocks if b.title is not None and b.title != "Output"]
    assert len({b.title for b in files}) == len(files), "each file is written by one block"
    for block in files:
        path = tmp_path / str(block.title)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.code, encoding="utf-8")
    # each bash block and the Output block that follows it
    pairs: list[tuple[Block, Block]] = []
    for i, block in enumerate(blocks):
        if block.language == "bash":
            shown = blocks[i + 1]
            assert (shown.language, shown.title) == ("text", "Output"), f"hydra.md:{block.line}: no Output after it"
            pairs.append((block, shown))
        else:
            assert block.title is not None, f"hydra.md:{block.line}: a block that is neither a file nor run"
    assert (len(files), len(pairs)) == COUNTS
    with ThreadPoolExecutor(max_workers=4) as pool:
        printed = list(pool.map(lambda pair: run_block(pair[0], tmp_path), pairs))
    wrong = [
        f"hydra.md:{block.line}: {block.code.strip()} printed:\n{out}"
        for (block, shown), out in zip(pairs, printed, strict=True)
        if out != shown.code
    ]
    assert not wrong, "\n".join(wrong)
