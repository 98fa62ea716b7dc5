"""Keep OpenBLAS's and Numba's thread pools from fighting over the cores.

A training step alternates BLAS GEMMs (OpenBLAS's threads) with Numba's parallel kernels. By
default OpenBLAS's threads, and GNU OpenMP's if Numba runs on it, busy-wait after their work, so
each pool steals the cores from the other: a small AlexNet step measured 5x slower on 2 cores.
A short OpenBLAS spin and passive OpenMP waiting fix that (``tinynet.kernels._jit`` also picks
Numba's own work-queue threads). These are only defaults: a value already in the environment
wins.
OpenBLAS reads its variable when NumPy is first imported, so it takes effect only when tinynet
is imported before NumPy (as ``examples/alexnet.py`` does); the OpenMP one takes effect as long as
no OpenMP runtime was started before tinynet's first parallel kernel.
"""

import os

DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}


def set_thread_defaults() -> None:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
