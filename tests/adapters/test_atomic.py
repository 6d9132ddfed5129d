"""Atomic writing (glassdyn._atomic): permissions, failure leaves the target untouched, rename."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from glassdyn._atomic import (atomic_path, default_mode, savefig_atomic, write_bytes_atomic,
                              write_text_atomic)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="permission bits and umask are POSIX")


@pytest.fixture
def umask():
    """Set a umask for the test and restore the old one afterwards."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask):
        os.umask(mask)
    yield set_mask
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _reference_mode(folder) -> int:
    """Mode of a file created the ordinary way (open 'w') under the current umask."""
    ref = folder / "reference_open_w"
    with open(ref, "w"):
        pass
    mode = _mode(ref)
    ref.unlink()
    return mode


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_permissions_follow_umask(tmp_path, umask, mask):
    umask(mask)
    expected = _reference_mode(tmp_path)
    assert expected == 0o666 & ~mask
    assert default_mode() == expected
    write_text_atomic(tmp_path / "a.txt", "x")
    write_bytes_atomic(tmp_path / "b.bin", b"x", fsync=True)
    with atomic_path(tmp_path / "c.dat") as tmp:
        tmp.write_bytes(b"y")
        assert _mode(tmp) == 0o600  # mkstemp's mode until the rename
    for name in ("a.txt", "b.bin", "c.dat"):
        assert _mode(tmp_path / name) == expected, name


def test_replacing_a_private_file_gets_the_umask_mode_unless_keep_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "out.txt"
    target.write_text("old")
    os.chmod(target, 0o600)
    write_text_atomic(target, "new")
    assert _mode(target) == 0o644 and target.read_text() == "new"
    os.chmod(target, 0o640)
    with atomic_path(target, keep_mode=True) as tmp:
        tmp.write_text("kept")
    assert _mode(target) == 0o640 and target.read_text() == "kept"
    fresh = tmp_path / "fresh.txt"
    with atomic_path(fresh, keep_mode=True) as tmp:  # no old file: a new file's mode
        tmp.write_text("z")
    assert _mode(fresh) == 0o644


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_exception_leaves_target_untouched_and_no_temp_file(tmp_path, exc):
    target = tmp_path / "result.csv"
    target.write_text("old,content\n")
    before = os.stat(target)
    seen = []
    with pytest.raises(type(exc)):
        with atomic_path(target, suffix=".csv") as tmp:
            seen.append(tmp)
            tmp.write_text("half-writ")
            raise exc
    assert target.read_text() == "old,content\n"
    assert os.stat(target).st_ino == before.st_ino
    assert not seen[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]


def test_exception_without_old_target_creates_nothing(tmp_path):
    with pytest.raises(ValueError, match="bad value"):
        with atomic_path(tmp_path / "new.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, a=np.arange(3))
            raise ValueError("bad value")
    assert list(tmp_path.iterdir()) == []


def test_failing_rename_removes_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "t.txt"
    target.write_text("old")

    def broken_replace(src, dst):  # failure injection: the rename itself fails
        raise OSError("disk gone")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        write_text_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_success_replaces_atomically(tmp_path):
    target = tmp_path / "data.txt"
    target.write_text("old\n")
    old_inode = os.stat(target).st_ino
    with open(target) as reader:  # a reader holding the old file keeps reading the old content
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path  # same folder: rename, never a copy across file systems
            assert tmp.name.startswith(".data.txt.") and tmp.name.endswith(".tmp")
            tmp.write_text("new\n")
            assert target.read_text() == "old\n"  # nothing visible before the block ends
        new_stat = os.stat(target)
        assert new_stat.st_ino != old_inode
        assert reader.read() == "old\n"
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_suffix_keeps_writers_from_renaming(tmp_path):
    # np.savez appends .npz to a name without it: with suffix=".npz" it writes the temporary file itself
    target = tmp_path / "arrays.npz"
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, a=np.arange(4))
    with np.load(target) as z:
        np.testing.assert_array_equal(z["a"], np.arange(4))
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]


def test_text_bytes_and_parents(tmp_path):
    deep = tmp_path / "a" / "b" / "c.txt"
    with pytest.raises(FileNotFoundError):
        write_text_atomic(deep, "x")
    assert not (tmp_path / "a").exists()
    write_text_atomic(deep, "line 1\nline 2\n", newline="\r\n", parents=True)
    assert deep.read_bytes() == b"line 1\r\nline 2\r\n"
    write_text_atomic(deep, "é\n")
    assert deep.read_bytes() == "é\n".encode("utf-8")
    blob = bytes(range(256)) * 3
    assert write_bytes_atomic(tmp_path / "x" / "blob.bin", blob, parents=True) == tmp_path / "x" / "blob.bin"
    assert (tmp_path / "x" / "blob.bin").read_bytes() == blob


def test_savefig_picks_format_from_suffix(tmp_path, umask):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    umask(0o022)
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    png = savefig_atomic(fig, tmp_path / "f.png")
    svg = savefig_atomic(fig, tmp_path / "f.svg")
    forced = savefig_atomic(fig, tmp_path / "g.svg", format="png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:400]
    assert forced.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(_mode(p) == 0o644 for p in (png, svg, forced))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "f.svg", "g.svg"]
