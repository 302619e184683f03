"""Atomic writes leave no temporary file behind; the sweep removes only dead runs' ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from postpipe.tempfiles import pid_alive, sweep_stale, temp_path, write_atomic


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_write_atomic(tmp_path: Path) -> None:
    dest = tmp_path / "a.txt"
    write_atomic(dest, b"one")
    write_atomic(dest, b"two", fsync=True)
    assert dest.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_failed_write_removes_its_temporary_file(tmp_path: Path) -> None:
    dest = tmp_path / "folder"
    dest.mkdir()  # os.replace cannot put a file over a folder: fails after the write
    with pytest.raises(OSError):
        write_atomic(dest, b"data")
    assert not temp_path(dest).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert pid_alive(os.getppid())
    assert not pid_alive(dead_pid())
    assert not pid_alive(0)


def test_sweep_removes_only_files_of_dead_runs(tmp_path: Path) -> None:
    dead = dead_pid()
    stale = tmp_path / f".a.eml.tmp-{dead}"
    mine = tmp_path / f".b.eml.tmp-{os.getpid()}"
    other = tmp_path / "c.eml"
    odd = tmp_path / ".d.eml.tmp-x"
    folder = tmp_path / f".e.tmp-{dead}"
    for path in (stale, mine, other, odd):
        path.write_bytes(b"x")
    folder.mkdir()
    link = tmp_path / f".f.tmp-{dead}"
    link.symlink_to(other)
    assert sweep_stale(tmp_path) == [stale]
    assert not stale.exists()
    assert mine.exists() and other.exists() and odd.exists() and folder.is_dir()
    assert link.is_symlink()
    assert sweep_stale(tmp_path / "missing") == []
