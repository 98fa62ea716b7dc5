"""Keep OpenBLAS's and Numba's thread pools from fighting over the cores, whatever the import order.

A training step alternates BLAS GEMMs (OpenBLAS's threads) with Numba's parallel kernels. By
default OpenBLAS's threads busy-wait for about 0.1 s after each GEMM (and GNU OpenMP's, if Numba
runs on it, do too), so each pool steals the cores from the other (docs/performance.md, "The
measurements behind the code").

OpenBLAS reads its spin setting (``OPENBLAS_THREAD_TIMEOUT``) only when its thread pool starts,
which is when NumPy is first imported. So ``quiet_blas_threads`` sets it at run time instead: it
finds the OpenBLAS that NumPy loaded, and when its threads would spin longer than tinynet wants,
re-reads the setting and restarts the pool (a few milliseconds, once per process). ``import
tinynet`` calls it, so a script that imports NumPy first, a notebook and pytest all get the same
speed. The thread *count* is left alone: ``OPENBLAS_NUM_THREADS``, ``NUMBA_NUM_THREADS`` and
threadpoolctl still decide how many threads run, except that ``share_cores`` divides the cores
among the processes of one machine (the command line's MPI runs). Numba runs on its own work
queue (fork-safe). ``report()`` says what is in force:

    python -c "import numpy, tinynet.layers, tinynet.perf.threads as t; print(t.report())"

This module imports nothing that loads NumPy (Numba only inside functions): ``import tinynet``
calls ``set_thread_defaults`` before NumPy loads.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys

#: OpenBLAS threads spin 2**SPIN CPU cycles after their work, then sleep (OpenBLAS's minimum).
SPIN = 4
#: Passive waiting for GNU OpenMP, in case Numba runs on it (``NUMBA_THREADING_LAYER=omp``).
OMP_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}
#: Numba's own work queue rather than GNU OpenMP: as fast here, and safe to fork() after (the
#: data loader forks its workers each epoch; GNU OpenMP terminates such children).
NUMBA_THREADING_LAYER = "workqueue"
#: Environment variables that set BLAS's thread count; an explicit one wins over ``share_cores``.
BLAS_COUNTS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def set_thread_defaults() -> None:
    """Environment defaults read by libraries not loaded yet (an explicit value wins); the
    OpenBLAS spin is also set here, so a NumPy imported after tinynet starts with it, and Numba's
    threading layer (in its configuration when Numba is already loaded)."""
    for name, value in OMP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(SPIN)
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba = sys.modules.get("numba")
        if numba is None:
            os.environ["NUMBA_THREADING_LAYER"] = NUMBA_THREADING_LAYER  # read when Numba loads
        else:  # loaded before tinynet, its environment already read
            numba.config.THREADING_LAYER = NUMBA_THREADING_LAYER


def cores_per_process(processes: int) -> int:
    """The cores this process may run on (its affinity: ``taskset`` or a launcher's binding
    narrows it) divided among ``processes`` processes, at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform: the machine's cores
        cores = os.cpu_count() or 1
    return max(1, cores // processes)


def share_cores(processes: int) -> int | None:
    """Give this process its share of Numba's threads when ``processes`` run on this machine.

    Oversubscribed cores make every process much slower (docs/performance.md, "The measurements
    behind the code"). An explicit NUMBA_NUM_THREADS wins. Returns the BLAS thread count the
    caller should set (through threadpoolctl, which the engine does not import), or None when
    OMP_NUM_THREADS or OPENBLAS_NUM_THREADS is set.
    """
    share = cores_per_process(processes)
    if "NUMBA_NUM_THREADS" not in os.environ:
        import numba

        numba.set_num_threads(max(1, min(share, numba.config.NUMBA_NUM_THREADS)))
    return None if any(name in os.environ for name in BLAS_COUNTS) else share


def _loaded_openblas() -> str | None:
    """Path of NumPy's OpenBLAS shared library mapped into this process (Linux), else None.

    Another copy may be mapped too (SciPy's, which Numba loads once a kernel has run): NumPy's
    is the one in NumPy's own folder (``numpy.libs`` for a wheel), else the first mapped."""
    found = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = re.search(r"(/\S*openblas\S*\.so[.\d]*)$", line.strip())
                if path and path.group(1) not in found:
                    found.append(path.group(1))
    except OSError:
        pass
    numpy_own = [path for path in found if "/numpy" in path]
    return (numpy_own or found or [None])[0]


def _openblas():
    path = _loaded_openblas()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)
        for name in ("openblas_thread_timeout", "openblas_read_env", "blas_thread_init"):
            getattr(lib, name).restype = ctypes.c_int
        lib.blas_thread_shutdown_.restype = ctypes.c_int
    except (OSError, AttributeError):  # not an OpenBLAS with these entry points
        return None
    return lib


def quiet_blas_threads() -> bool:
    """Make the loaded OpenBLAS's threads sleep right after their work instead of spinning.

    Returns True when OpenBLAS's threads are (now) set to spin 2**SPIN cycles, False when that
    cannot be done here (no OpenBLAS loaded, another BLAS, or not Linux). Safe to call again.
    Call it only while no other thread is inside BLAS (``import tinynet`` is such a time)."""
    lib = _openblas()
    if lib is None:
        return False
    if lib.openblas_thread_timeout() == SPIN:
        return True
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(SPIN)
    lib.openblas_read_env()
    lib.blas_thread_shutdown_()  # its threads exit; the next GEMM (or init below) restarts them
    lib.blas_thread_init()
    return lib.openblas_thread_timeout() == SPIN


def report() -> str:
    """One line per thread pool: what tinynet's kernels and NumPy's BLAS run on."""
    import numba

    lib = _openblas()
    blas = "BLAS: not OpenBLAS, or not found (spin setting not controlled)"
    if lib is not None:
        timeout = lib.openblas_thread_timeout()
        state = "sleep after work" if timeout == SPIN else "spin after work (not tinynet's setting)"
        blas = f"BLAS: {_loaded_openblas()}\n  OPENBLAS_THREAD_TIMEOUT {timeout}: {state}"
    layer = numba.config.THREADING_LAYER  # set_thread_defaults chose it
    return f"{blas}\nNumba: {numba.get_num_threads()} threads, threading layer {layer}"
