"""Tests for tinynet.files: writes that leave the old file or the new one, never a part."""

import errno
import os
import stat
import tempfile
import traceback
from pathlib import Path

import pytest

from tinynet.files import atomic_copy, atomic_write


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring the old one afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_the_content_and_creates_parent_dirs(tmp_path):
    path = tmp_path / "a" / "b" / "out.bin"
    result = atomic_write(str(path), lambda f: f.write(b"hello\x00world"))
    assert result == path and isinstance(result, Path)
    assert path.read_bytes() == b"hello\x00world"
    atomic_write(path, lambda f: f.write(b"again"))
    assert path.read_bytes() == b"again"
    assert os.listdir(path.parent) == ["out.bin"]


def test_the_temporary_file_sits_beside_the_target(tmp_path):
    seen = []
    atomic_write(tmp_path / "out.bin", lambda f: seen.extend(os.listdir(tmp_path)))
    (name,) = seen
    assert name.startswith(".out.bin.") and name.endswith(".tmp")


@pytest.mark.skipif(os.name != "posix", reason="Unix permissions")
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_permissions_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_write(tmp_path / "out.bin", lambda f: f.write(b"x"))
    atomic_copy(tmp_path / "out.bin", tmp_path / "copy.bin")
    assert mode(tmp_path / "out.bin") == expected
    assert mode(tmp_path / "copy.bin") == expected


def _fail(exc):
    def write(f):
        f.write(b"partial garbage")
        raise exc

    return write


@pytest.mark.parametrize("exc", [RuntimeError("killed mid-write"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path, exc):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(type(exc)):
        atomic_write(path, _fail(exc))
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_failed_rename_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def fail_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(path, lambda f: f.write(b"new"))
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_failed_first_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "out.bin", _fail(RuntimeError("boom")))
    assert os.listdir(tmp_path) == []


def test_copy(tmp_path):
    src = tmp_path / "src.bin"
    data = os.urandom(3 * 1024 * 1024 + 7)  # more than one copy buffer
    src.write_bytes(data)
    dst = tmp_path / "out" / "best.bin"
    dst.parent.mkdir()
    dst.write_bytes(b"previous best")
    assert atomic_copy(str(src), dst) == dst
    assert dst.read_bytes() == data
    assert src.read_bytes() == data
    assert os.listdir(dst.parent) == ["best.bin"]


def test_copy_of_a_missing_file_changes_nothing(tmp_path):
    dst = tmp_path / "best.bin"
    dst.write_bytes(b"previous best")
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "nope.bin", dst)
    assert dst.read_bytes() == b"previous best"
    assert os.listdir(tmp_path) == ["best.bin"]


# ----------------------------------------------------------------------------- disk full, no access
def _disk_full(f):
    f.write(b"the first part fits")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_is_one_line_naming_the_target_and_the_cause(tmp_path):
    path = tmp_path / "runs" / "x" / "checkpoint.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"old")
    with pytest.raises(OSError) as info:
        atomic_write(path, _disk_full)
    err = info.value
    assert str(err) == f"cannot write {path}: No space left on device"
    assert err.errno == errno.ENOSPC
    assert err.__suppress_context__ and err.__cause__ is None  # one traceback, not a chain
    shown = "".join(traceback.format_exception(err))
    assert shown.count("Traceback") == 1 and "During handling" not in shown
    assert path.read_bytes() == b"old"
    assert os.listdir(path.parent) == ["checkpoint.npz"]  # no temporary file left


def test_an_unwritable_directory_names_the_target(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):  # chmod does not stop root: simulate the read-only directory
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".out.bin.x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "out.bin", lambda f: f.write(b"new"))
    assert str(info.value) == f"cannot write {tmp_path / 'out.bin'}: Permission denied"  # not .tmp
    assert os.listdir(tmp_path) == []


def test_a_parent_that_is_a_file_is_named(tmp_path):
    """Issue 25 #24: a path under a file said "[Errno 17] File exists"."""
    (tmp_path / "model").write_bytes(b"a file")
    target = tmp_path / "model" / "sub" / "alexnet.onnx"
    with pytest.raises(OSError) as info:
        atomic_write(target, lambda f: f.write(b"new"))
    assert str(info.value) == f"cannot write {target}: {tmp_path / 'model'} is a file, not a folder"


# ----------------------------------------------------------------------------- stale temporaries
def test_stale_temporaries_of_the_target_are_removed_and_nothing_else(tmp_path):
    stale = [".checkpoint.npz.k3j_h5g6.tmp", ".checkpoint.npz.abcdefgh.tmp"]
    kept = [
        "checkpoint.npz.bak",
        ".other.npz.abcdefgh.tmp",  # another target's
        ".checkpoint.npz.x.abcdefgh.tmp",  # the temporary file of checkpoint.npz.x
        ".checkpoint.npz.abcdefgh.tmp.keep",
        "notes.txt",
    ]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"x" * 10)
    atomic_write(tmp_path / "checkpoint.npz", lambda f: f.write(b"new"))
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["checkpoint.npz"])
    assert (tmp_path / "checkpoint.npz").read_bytes() == b"new"
