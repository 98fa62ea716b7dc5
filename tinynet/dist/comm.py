"""Who else is training: one process (``LocalComm``) or the ranks of an MPI job (``MPIComm``).

A run is data-parallel exactly when an MPI launcher started it with more than one process,
which the launcher announces in environment variables (``PMI_SIZE`` for MPICH, Intel MPI and
Slurm's PMI, ``OMPI_COMM_WORLD_SIZE`` for Open MPI, ...). Only then is ``mpi4py`` imported, so a
single-process run needs no MPI at all. Both communicators have the same small interface, so the
training code calls ``comm.allreduce_sum(...)`` without asking which one it has.

Non-blocking sums (``iallreduce_sum``) return a request with ``test()`` and ``wait()``. MPICH
moves a non-blocking collective forward only inside MPI calls, so someone must call them while
it is in flight: ``comm.test_all(requests)`` between pieces of work, or a ``ProgressThread``
doing so every millisecond (mpi4py asks for ``MPI_THREAD_MULTIPLE`` unless
``mpi4py.rc.thread_level`` says otherwise; ``comm.thread_multiple`` tells what MPI gave).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback

import numpy as np

#: Environment variables in which launchers give the number of processes of the job.
SIZE_VARIABLES = (
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMIX_SIZE",
    "MV2_COMM_WORLD_SIZE",
    "MPI_WORLD_SIZE",
)
#: Variables that show a launcher started us even where the size is not given.
RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK")
#: Variables holding how many processes of the job run on this machine.
LOCAL_SIZE_VARIABLES = (
    "MPI_LOCALNRANKS",
    "OMPI_COMM_WORLD_LOCAL_SIZE",
    "MV2_COMM_WORLD_LOCAL_SIZE",
    "SLURM_NTASKS_PER_NODE",
)


class DistError(RuntimeError):
    """Launched by an MPI launcher, but MPI cannot be used (mpi4py is missing or broken)."""


def _env_int(names, env) -> int | None:
    for name in names:
        try:
            return int(env[name])
        except (KeyError, ValueError):
            continue
    return None


def launched_size(env=None) -> int | None:
    """The job size an MPI launcher announced; None when no launcher variable is set.

    0 means "started by a launcher that does not say how many" (ask MPI itself).
    """
    env = os.environ if env is None else env
    size = _env_int(SIZE_VARIABLES, env)
    if size is not None:
        return size
    return 0 if any(name in env for name in RANK_VARIABLES) else None


def launched_rank(env=None) -> int:
    """This process's rank according to the launcher's variables (0 when not launched)."""
    rank = _env_int(RANK_VARIABLES, os.environ if env is None else env)
    return rank if rank is not None else 0


def local_size(env=None) -> int:
    """How many processes of the job share this machine (1 when not launched by MPI)."""
    env = os.environ if env is None else env
    if launched_size(env) is None:
        return 1
    n = _env_int(LOCAL_SIZE_VARIABLES, env)
    return max(1, n) if n is not None else 1


class DoneRequest:
    """The request of a collective that finished when it started (a single process's)."""

    def __init__(self, buf: np.ndarray):
        self.buf = buf

    def test(self) -> bool:
        """Whether the collective has finished (here: always)."""
        return True

    def wait(self) -> np.ndarray:
        """Wait until the collective has finished; returns its buffer."""
        return self.buf


class LocalComm:
    """The communicator of a single-process run: every collective is the identity."""

    rank = 0
    size = 1
    #: Whether several threads may call MPI at once (``MPI_THREAD_MULTIPLE``).
    thread_multiple = True

    def allreduce_sum(self, buf: np.ndarray) -> np.ndarray:
        """Sum ``buf`` over the ranks, in place; returns ``buf``."""
        return buf

    def iallreduce_sum(self, buf: np.ndarray) -> DoneRequest:
        """Start summing ``buf`` (contiguous) over the ranks, in place; returns its request.
        ``buf`` must not be touched until the request is complete."""
        return DoneRequest(buf)

    def test_all(self, requests) -> bool:
        """Whether every request has finished; moves them all forward (MPI's Testall)."""
        return all(request.test() for request in requests)

    def wait_all(self, requests) -> None:
        """Wait until every request has finished (MPI's Waitall)."""
        for request in requests:
            request.wait()

    def allreduce_max(self, buf: np.ndarray) -> np.ndarray:
        """Elementwise maximum of ``buf`` over the ranks, in place; returns ``buf``."""
        return buf

    def bcast(self, buf: np.ndarray, root: int = 0) -> np.ndarray:
        """Overwrite ``buf`` with rank ``root``'s ``buf``, in place; returns ``buf``."""
        return buf

    def barrier(self) -> None:
        pass

    def abort(self, code: int = 1):
        raise SystemExit(code)

    def sum(self, values) -> np.ndarray:
        """Float64 totals over the ranks of a few numbers (counts, sums); every rank gets them."""
        return self.allreduce_sum(np.array(values, dtype=np.float64))

    def agree_signal(self, name: str | None) -> str | None:
        """The stop signal any rank received ("SIGINT" before "SIGTERM"), or None; collective."""
        votes = self.sum([name == "SIGINT", name is not None and name != "SIGINT"])
        return "SIGINT" if votes[0] else "SIGTERM" if votes[1] else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class MPIRequest(DoneRequest):
    """An ``MPI.Request`` and the buffer it works on (kept alive until it completes)."""

    def __init__(self, request, buf: np.ndarray):
        self.request, self.buf = request, buf

    def test(self) -> bool:
        return bool(self.request.Test())

    def wait(self) -> np.ndarray:
        self.request.Wait()
        return self.buf


class MPIComm(LocalComm):
    """``MPI.COMM_WORLD`` through mpi4py's buffer (upper-case) methods: no pickling."""

    def __init__(self, mpi):
        self.MPI = mpi
        self.comm = mpi.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.thread_multiple = mpi.Query_thread() >= mpi.THREAD_MULTIPLE

    def allreduce_sum(self, buf):
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf

    def iallreduce_sum(self, buf):
        return MPIRequest(self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM), buf)

    def test_all(self, requests):
        return bool(self.MPI.Request.Testall([r.request for r in requests]))

    def wait_all(self, requests):
        self.MPI.Request.Waitall([r.request for r in requests])

    def allreduce_max(self, buf):
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.MAX)
        return buf

    def bcast(self, buf, root=0):
        self.comm.Bcast(buf, root=root)
        return buf

    def barrier(self):
        self.comm.Barrier()

    def abort(self, code=1):
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)


class ProgressThread:
    """A daemon thread that calls ``comm.test_all`` on the requests in flight every
    ``interval`` seconds, so that MPI moves them forward while this thread computes.

    ``add(request)`` hands it a request; ``take()`` takes them all back (the thread no longer
    touches them: wait for them then). Idle (no request) it sleeps on a condition. Several
    threads calling MPI at once needs ``comm.thread_multiple``.
    """

    def __init__(self, comm, interval: float = 1e-3):
        if not comm.thread_multiple:
            raise ValueError(
                "ProgressThread: MPI was not given MPI_THREAD_MULTIPLE (mpi4py.rc.thread_level "
                "must be 'multiple' before mpi4py.MPI is imported); use progress='test'"
            )
        self.comm, self.interval = comm, interval
        self._requests: list = []
        self._closed = False
        self._work = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, request) -> None:
        with self._work:
            self._requests.append(request)
            self._work.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mpi-progress", daemon=True)
            self._thread.start()

    def take(self) -> list:
        """The requests handed over since the last ``take``, finished or not."""
        with self._work:
            taken, self._requests = self._requests, []
        return taken

    def close(self) -> None:
        """Stop the thread (the requests it holds stay as they are)."""
        with self._work:
            self._closed = True
            self._work.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._work:
                while not self._requests and not self._closed:
                    self._work.wait()
                if self._closed:
                    return
                if self.comm.test_all(self._requests):  # all done: nothing to test until more
                    self._requests = []
            time.sleep(self.interval)


LOCAL = LocalComm()
_world = None


def world():
    """The communicator of this process: ``MPIComm`` when an MPI launcher started more than
    one process (mpi4py imported here, lazily), else ``LOCAL``. Raises ``DistError`` when
    launched but mpi4py cannot be imported. Cached."""
    global _world
    if _world is None:
        size = launched_size()
        if size is None or size == 1:
            _world = LOCAL
        else:
            try:
                from mpi4py import MPI
            except ImportError as err:
                raise DistError(
                    f"started by an MPI launcher ({size or 'unknown'} processes) but mpi4py "
                    f"cannot be imported ({err}); install it with: python -m pip install "
                    "mpi4py mpich   (or run without mpirun for one process)"
                ) from None
            comm = MPIComm(MPI)
            _world = comm if comm.size > 1 else LOCAL
    return _world


def run_or_abort(comm, fn, *, brief=(), brief_code=2):
    """``fn()``, but an exception on any rank of a multi-process job ends the whole job.

    The failing rank prints ``rank R: <error>``, then the traceback (except for the exception
    types in ``brief``, whose message is enough) and calls ``comm.abort``, which stops every
    rank, so the others do not wait forever in their next collective. Exit status: ``brief_code``
    for ``brief`` errors, 130 for KeyboardInterrupt, else 1. In a single process the exception
    simply propagates.
    """
    try:
        return fn()
    except BaseException as err:
        if comm.size == 1 or (isinstance(err, SystemExit) and not err.code):
            raise
        if isinstance(err, brief):
            message, code = str(err), brief_code
        elif isinstance(err, KeyboardInterrupt):
            message, code = "interrupted", 130
        else:
            message, code = f"{type(err).__name__}: {err}", 1
        # the one line first: an abort can cut the launcher's forwarding of what follows
        print(f"rank {comm.rank}: {message}", file=sys.stderr, flush=True)
        if code == 1:
            traceback.print_exc()
            sys.stderr.flush()
        try:
            comm.abort(code)
        finally:  # another rank's abort may cut ours short: just go
            os._exit(code)
