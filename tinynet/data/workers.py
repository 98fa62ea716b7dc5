"""Worker processes that build whole batches into shared-memory slots.

One ``WorkerPool`` serves one pass over a list of batches. The main process
sends each worker small tasks ``(batch_no, slot)`` over its own pipe; the worker
writes the batch into shared buffer ``slot`` and answers
``("ok", batch_no, slot, n, skipped)`` (or ``("error", ...)`` with a traceback).
Batches are handed out in order, each to the least busy worker, with at most
``nslots`` in flight; the pool yields them in order, copied out of the slot.

Signals: a worker ignores SIGINT and SIGTERM, whatever handlers the main process had when
it forked them: Ctrl-C, or a scheduler's SIGTERM (Slurm, ``timeout``), reaches the whole
process group, and the main process must be free to stop gracefully (a trainer finishes its
step and saves a checkpoint) without its workers dying under it; an inherited Python handler
(the trainer's "stop after this step") would instead run in the worker. The signals are
blocked around the start of a worker, so none arrives before its handlers are set. Workers
are daemonic and exit on their own within ``_POLL_S`` if the main process disappears.

Stopping (``close``) never blocks for long, even when interrupted: ask (``None`` on the task
pipe), wait (briefly unless the pass is complete), then SIGKILL whoever is left, in a
``finally``, so that a second Ctrl-C landing in the wait cannot leave a worker alive. A pool
still open when the interpreter exits is closed first (multiprocessing's own exit handler
would SIGTERM the workers and wait for them for ever).
"""

from __future__ import annotations

import atexit
import mmap
import os
import signal
import time
import traceback
import weakref
from multiprocessing import connection as mpc

import numpy as np

__all__ = ["WorkerPool"]

_POLL_S = 1.0  # how often an idle worker checks that its parent is alive
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_CAN_MASK = hasattr(signal, "pthread_sigmask")  # POSIX


_LIVE_POOLS: weakref.WeakSet = weakref.WeakSet()


@atexit.register  # registered after multiprocessing's exit handler, so it runs before it
def _close_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        pool.close()


def _reset_signals() -> None:
    """A worker's first act: ignore SIGINT and SIGTERM, then accept signals again."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _CAN_MASK:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _worker_main(job, batches, shared, tasks, results, parent_pid):
    """Build the batches asked for on ``tasks`` into the ``shared`` slots
    ``(img_buf, lab_buf, nslots, sample_shape, dtype)``; answer on ``results``."""
    _reset_signals()
    img_buf, lab_buf, nslots, sample_shape, dtype = shared
    bsz = max(len(b) for b in batches)
    images = np.frombuffer(img_buf, dtype=dtype).reshape((nslots, bsz) + tuple(sample_shape))
    labels = np.frombuffer(lab_buf, dtype=np.int64).reshape(nslots, bsz)
    while True:
        if not tasks.poll(_POLL_S):
            if os.getppid() != parent_pid:
                return
            continue
        try:
            task = tasks.recv()
        except EOFError:
            return
        if task is None:
            return
        b, slot = task
        idx = batches[b]
        try:
            out = images[slot, : len(idx)], labels[slot, : len(idx)]
            _, _, n, skipped = job.build(idx, *out)
            results.send(("ok", b, slot, n, skipped))
        except Exception:
            results.send(("error", b, slot, traceback.format_exc()))


def _shared_buffer(ctx, nbytes: int):
    """Zero-filled buffer visible to child processes (anonymous shared mmap under
    'fork', a multiprocessing RawArray otherwise)."""
    nbytes = max(int(nbytes), 1)
    if ctx.get_start_method() == "fork":
        return mmap.mmap(-1, nbytes)
    return ctx.RawArray("b", nbytes)


class WorkerPool:
    """Run ``workers`` processes building ``job``'s ``batches`` (list of index arrays) of
    ``sample_shape`` / ``dtype`` samples; iterate to get ``(images, labels, n, skipped)``
    per batch, in order."""

    def __init__(self, ctx, workers, prefetch, job, batches, sample_shape, dtype):
        self.batches = batches
        self.closed = False
        self.procs = []
        self._task_conns = []
        self._result_conns = []
        bsz = max(len(b) for b in batches)
        self.nslots = max(1, min(prefetch * workers, len(batches)))
        itemsize = int(np.prod(sample_shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        self._img_buf = _shared_buffer(ctx, self.nslots * bsz * itemsize)
        self._lab_buf = _shared_buffer(ctx, self.nslots * bsz * 8)
        self._images = np.frombuffer(self._img_buf, dtype=dtype).reshape(
            (self.nslots, bsz) + tuple(sample_shape)
        )
        self._labels = np.frombuffer(self._lab_buf, dtype=np.int64).reshape(self.nslots, bsz)
        shared = (self._img_buf, self._lab_buf, self.nslots, tuple(sample_shape))
        args = (job, batches, (*shared, np.dtype(dtype).str))
        _LIVE_POOLS.add(self)
        try:
            for _ in range(workers):
                self._start_worker(ctx, args)
        except BaseException:
            self.close(graceful=False)
            raise

    def _start_worker(self, ctx, args: tuple) -> None:
        """Start one worker on ``_worker_main(*args, tasks, results, parent_pid)``."""
        task_r, task_w = ctx.Pipe(duplex=False)
        res_r, res_w = ctx.Pipe(duplex=False)
        p = ctx.Process(
            target=_worker_main,
            daemon=True,
            name="tinynet-data-worker",
            args=(*args, task_r, res_w, os.getpid()),
        )
        # the child inherits the mask: no SIGINT/SIGTERM reaches it before _reset_signals
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if _CAN_MASK else None
        try:
            p.start()
        finally:
            if old is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
        task_r.close()
        res_w.close()
        self.procs.append(p)
        self._task_conns.append(task_w)
        self._result_conns.append(res_r)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _receive(self, pending: dict, outstanding: list) -> None:
        """Block until at least one result (or a worker death) arrives."""
        conns = self._result_conns
        sentinels = {p.sentinel: w for w, p in enumerate(self.procs)}
        ready = mpc.wait(conns + list(sentinels))
        got = False
        for obj in ready:
            if obj in sentinels:
                continue
            w = conns.index(obj)
            try:
                msg = obj.recv()
            except EOFError:  # all its messages were read: the worker is gone
                self.procs[w].join(1.0)
                raise RuntimeError(self._death_message(w)) from None
            got = True
            outstanding[w] -= 1
            if msg[0] == "error":
                raise RuntimeError(
                    f"DataLoader worker {w} (pid {self.procs[w].pid}) failed on batch "
                    f"{msg[1]}:\n{msg[3]}"
                )
            pending[msg[1]] = msg
        if got:
            return
        for w, p in enumerate(self.procs):
            if not p.is_alive() and not conns[w].poll():
                raise RuntimeError(self._death_message(w))

    def _death_message(self, w: int) -> str:
        p = self.procs[w]
        code = p.exitcode
        if code is not None and code < 0:
            why = f"was killed by signal {-code}"
            if -code == signal.SIGKILL:
                why += " (often the out-of-memory killer)"
        else:
            why = f"exited with code {code} (its traceback, if any, is on stderr)"
        return (
            f"DataLoader worker {w} (pid {p.pid}) {why} in the middle of an epoch. "
            "Try fewer workers, or workers=0 to run the pipeline in-process."
        )

    def __iter__(self):
        nb = len(self.batches)
        free = list(range(self.nslots))[::-1]
        outstanding = [0] * len(self.procs)
        pending: dict = {}
        next_submit = 0
        try:
            for b in range(nb):
                while next_submit < nb and free:
                    w = int(np.argmin(outstanding))
                    try:
                        self._task_conns[w].send((next_submit, free.pop()))
                    except OSError:  # BrokenPipeError: the worker is gone
                        self.procs[w].join(1.0)
                        raise RuntimeError(self._death_message(w)) from None
                    outstanding[w] += 1
                    next_submit += 1
                while b not in pending:
                    self._receive(pending, outstanding)
                _, _, slot, n, skipped = pending.pop(b)
                images = self._images[slot, :n].copy()
                labels = self._labels[slot, :n].copy()
                free.append(slot)
                yield images, labels, n, skipped
            self.close(graceful=True)
        finally:
            self.close(graceful=False)

    def close(self, graceful: bool = False, timeout: float = 5.0) -> None:
        """Stop the workers and reap them, in at most ``timeout`` (after a complete pass, when
        they are idle) or 0.1 s (otherwise) + 1 s, whatever they are doing."""
        if self.closed:
            return
        self.closed = True
        try:
            for c in self._task_conns:
                try:
                    c.send(None)
                except OSError:  # already gone
                    pass
            self._wait(timeout if graceful else 0.1)
        finally:  # also when a KeyboardInterrupt lands in the wait
            for p in self._alive():
                p.kill()  # SIGKILL: a worker ignores SIGTERM
            self._wait(1.0)
            for c in self._task_conns + self._result_conns:
                c.close()
            self._images = self._labels = None
            _LIVE_POOLS.discard(self)

    def _alive(self) -> list:
        return [p for p in self.procs if p.is_alive()]

    def _wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for every worker to end (reaping those that did)."""
        deadline = time.monotonic() + seconds
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
