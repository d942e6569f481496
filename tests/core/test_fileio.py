"""Atomic writes: the final name holds the old bytes or the new ones, never a half."""

from pathlib import Path

import pytest

from xscreen.fileio import atomic_writer


def test_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_text("old")
    with atomic_writer(target, "w") as handle:
        handle.write("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_a_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]
