"""Config files: only regular files are read, and never more than the size limit.

A FIFO would block the reader until a writer comes, ``/dev/zero`` never ends and ``/proc`` files report a
size of 0: each is refused (or cut off) with one clear line and the CLI's exit code for unreadable files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from typed_losses import LossConfigError, load_yaml
from typed_losses.config import yaml as tl_yaml
from typed_losses.config.yaml import MAX_BYTES


def message_of(path: str | Path) -> str:
    with pytest.raises(LossConfigError) as info:
        load_yaml(path)
    (issue,) = info.value.issues
    return str(issue)


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    # A subprocess with a timeout: a reader that blocks on the FIFO fails the test instead of hanging it.
    return subprocess.run(
        [sys.executable, "-m", "typed_losses.cli", *argv], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "losses.yaml"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_without_waiting_for_a_writer(fifo: Path) -> None:
    assert message_of(fifo) == f"{fifo}: <document>: cannot read file: not a regular file (a FIFO)"


@pytest.mark.parametrize("command", ["validate", "show"])
def test_the_cli_refuses_a_fifo_with_the_exit_code_of_unreadable_files(fifo: Path, command: str) -> None:
    result = cli(command, str(fifo))
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        f"{fifo}: error: <document>: cannot read file: not a regular file (a FIFO)\n",
        "",
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_is_refused_before_reading() -> None:
    result = cli("validate", "/dev/zero")
    assert (result.returncode, result.stdout) == (
        1,
        "/dev/zero: error: <document>: cannot read file: not a regular file (a character device)\n",
    )


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert message_of(tmp_path) == f"{tmp_path}: <document>: cannot read file: not a regular file (a directory)"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_file_whose_size_stat_understates_is_read_only_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert os.stat("/proc/self/status").st_size == 0  # stat says empty; the text is longer than 100 bytes
    monkeypatch.setattr(tl_yaml, "MAX_BYTES", 100)
    read: list[int] = []
    real_fdopen = os.fdopen

    def counting_fdopen(fd: int, mode: str) -> object:
        file = real_fdopen(fd, mode)
        real_read = file.read

        def read_some(size: int = -1) -> bytes:
            data: bytes = real_read(size)
            read.append(len(data))
            return data

        file.read = read_some  # type: ignore[method-assign]
        return file

    monkeypatch.setattr(os, "fdopen", counting_fdopen)
    assert (
        message_of("/proc/self/status")
        == "/proc/self/status: <document>: file has more than 100 bytes; the limit is 100"
    )
    assert read == [101]


def test_a_file_at_the_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tl_yaml, "MAX_BYTES", 20)
    path = tmp_path / "c.yaml"
    path.write_text("losses: [mse]  # 20\n")
    assert path.stat().st_size == 20
    assert list(load_yaml(path).losses) == ["mse"]
    path.write_text("losses: [mse]  # 21 \n")
    assert message_of(path) == f"{path}: <document>: file is 21 bytes; the limit is 20"
    assert MAX_BYTES == 8 * 1024 * 1024


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"losses: [\xff]\n")
    assert message_of(path) == (
        f"{path}: <document>: cannot read file: 'utf-8' codec can't decode byte 0xff in position 9: invalid start byte"
    )


def test_a_path_with_a_nul_byte_is_one_line() -> None:
    assert message_of("a\0b.yaml") == "a\0b.yaml: <document>: cannot read file: embedded null byte"
