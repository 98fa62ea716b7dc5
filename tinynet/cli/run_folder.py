"""The ``--output`` folder of a run: one owner at a time, and nothing of an old run removed
before the new run has written a file of its own.

- ``FolderLock``: an advisory lock (``fcntl.flock``) on ``<folder>/.tinynet.lock``, which holds
  the owner's pid, host, command and start time. The kernel releases the lock when its process
  ends, however it ends (SIGKILL, a crash): a lock left by a dead process is free, and its file
  is reused. A second training, resume or export into a locked folder is refused with one line
  naming the owner.
- ``check_run_folder``: what a training run may do with the files already in ``--output``
  (``RUN_FILES``): continue them (``--resume`` of the folder's own checkpoint), replace them
  (``--overwrite``, or a resume of the folder's ``best.npz`` that would replace a later
  ``checkpoint.npz``: refused without it), or nothing (refused, with the command to use).
- ``ReplaceOldRun``: the callback that removes the old run's files when the new run writes its
  first file (its first epoch's end, or the checkpoint of a stop), not before: a run that fails
  on the way (a wrong path, a bad setting, a NaN) leaves the old run as it was.
"""

from __future__ import annotations

import datetime
import errno
import os
import shlex
import socket
import sys
from pathlib import Path

from ..train import Callback
from .args import UsageError

#: The files of a run in its --output folder.
RUN_FILES = ("checkpoint.npz", "best.npz", "metrics.csv", "curves.png")
LOCK_NAME = ".tinynet.lock"

try:
    import fcntl
except ImportError:  # not on Windows: runs there go unlocked
    fcntl = None


class FolderLock:
    """Hold ``folder`` for this process (``with FolderLock(folder, "training"):``).

    Entering creates ``folder`` if it is missing (and leaving removes it again if it is still
    empty), takes the lock or raises ``UsageError`` naming its owner, and checks that the folder
    is writable. Leaving releases the lock and removes the lock file.
    """

    def __init__(self, folder, purpose: str, flag: str = "--output"):
        self.folder, self.purpose, self.flag = Path(folder), purpose, flag
        self.path = self.folder / LOCK_NAME
        self.fd: int | None = None
        self.created = False

    def __enter__(self) -> FolderLock:
        if self.folder.exists() and not self.folder.is_dir():
            raise UsageError(f"{self.flag} {self.folder} is a file, not a folder")
        try:
            self.created = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock()
        except OSError as err:
            self._remove_folder()
            raise UsageError(
                f"cannot write into {self.flag} {self.folder}: {_reason(err)}"
            ) from None
        except BaseException:
            self._remove_folder()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            try:
                os.unlink(self.path)  # while still held: a waiting process finds no stale file
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None
        self._remove_folder()

    def _lock(self) -> None:
        while True:
            fd = self._open()
            if fcntl is None:
                break
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise UsageError(self._in_use()) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # its owner removed it between our open and our lock: take the new one
        self.fd = fd
        started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        command = shlex.join(["python", *sys.argv]) if sys.argv and sys.argv[0] else "python"
        owner = (
            f"pid {os.getpid()} on {socket.gethostname()} ({self.purpose}, started {started}: "
            f"{command})"
        )
        os.ftruncate(fd, 0)
        os.write(fd, owner.encode("utf-8", "backslashreplace"))

    def _open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)

    def check_free(self) -> None:
        """UsageError naming the owner if another process holds the folder; takes nothing."""
        if fcntl is None or not self.path.is_file():
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(self._in_use()) from None
        finally:
            os.close(fd)  # closing releases what it took

    def _in_use(self) -> str:
        return (
            f"{self.flag} {self.folder} is in use by {self._owner()}: wait for it to end, or "
            "choose another folder"
        )

    def _owner(self) -> str:
        try:
            text = self.path.read_text("utf-8", errors="replace").strip()
        except OSError:
            text = ""
        return text or "another process"

    def _remove_folder(self) -> None:
        """The folder this lock made, if nothing else was put in it."""
        if self.created:
            try:
                self.folder.rmdir()
            except OSError:
                pass


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def check_run_folder(
    out: Path, *, resume=None, weights=(), overwrite=False, data=None
) -> list[str]:
    """The old run's files that a training run into ``out`` will replace (usually none), or a
    UsageError when it may not touch them. Writes nothing.

    ``resume``: the checkpoint this run continues; ``weights``: the files it starts from
    (which it may not replace); ``overwrite``: ``--overwrite`` was given;
    ``data``: the command that gives the dataset, for the commands this suggests.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {out} is a file, not a folder")
    taken = [name for name in RUN_FILES if (out / name).is_file()]
    if not taken:
        return []
    source = Path(resume).resolve() if resume else None
    here = source is not None and source.parent == out.resolve()
    if here:
        later = _later_checkpoint(out, source)
        if later is None:
            return []  # continuing the folder's own run: its files are updated as it goes
        if not overwrite:
            raise UsageError(
                f"--resume {resume} into its own folder would replace {later}: continue from "
                f"that instead (--resume {_quote(out / 'checkpoint.npz')}), resume into another "
                "--output, or add --overwrite to replace it"
            )
        return [name for name in taken if (out / name).resolve() != source]
    if overwrite:
        read = [w for w in weights if Path(w).resolve() in {(out / n).resolve() for n in taken}]
        if read:
            raise UsageError(
                f"--weights {read[0]} is a file of the run in --output {out}, which --overwrite "
                "would replace: copy it elsewhere first, or choose another --output"
            )
        return taken
    command = f"python examples/alexnet.py {data} " if data else ""
    raise UsageError(
        f"{out} already holds a run ({', '.join(taken)}): {_continue_hint(out, command)}, "
        f"start over there with --overwrite, or choose another --output"
    )


def _later_checkpoint(out: Path, source: Path) -> str | None:
    """``out``'s checkpoint.npz, described, when resuming ``source`` (another file of ``out``,
    e.g. its best.npz) would replace it; None when there is none to replace."""
    checkpoint = out / "checkpoint.npz"
    if not checkpoint.is_file() or checkpoint.resolve() == source:
        return None
    return f"{checkpoint}, a later point of the same run than {source.name}"


def _continue_hint(out: Path, command: str) -> str:
    """How to continue the run in ``out``: its checkpoint, else its best model (a run killed
    while writing its first checkpoint has only best.npz), else nothing to continue."""
    for name in ("checkpoint.npz", "best.npz"):
        if (out / name).is_file():
            return f"continue it with {command}--resume {_quote(out / name)}"
    return "it has no checkpoint to continue"


def _quote(path) -> str:
    return shlex.quote(str(path))


class ReplaceOldRun(Callback):
    """Remove the ``names`` of ``folder`` (an old run's files) when the new run writes its
    first file: at the end of its first epoch, before the other callbacks write theirs, or
    when a stop ends ``fit`` after the trainer saved its checkpoint. A file the new run has
    written already (a new inode at the name) is kept. Put it first in the callbacks."""

    def __init__(self, folder, names):
        self.folder = Path(folder)
        self.old = {name: _identity(self.folder / name) for name in names}

    def on_epoch_end(self, trainer, record) -> None:
        self._remove()

    def on_fit_end(self, trainer) -> None:
        if trainer.stopped:  # the trainer saved the stop's checkpoint: the new run has begun
            self._remove()

    def _remove(self) -> None:
        for name, identity in self.old.items():
            path = self.folder / name
            if identity is not None and _identity(path) == identity:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
        self.old = {}


def _identity(path: Path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns
