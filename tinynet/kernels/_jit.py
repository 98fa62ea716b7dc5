"""The one place that decides how kernels are compiled; the threads they run on are decided in
``tinynet/perf/threads.py`` (Numba's threading layer is set there at ``import tinynet``)."""

import os

import numpy as np
from numba import njit, prange  # noqa: F401  (re-exported for the kernel modules)

#: Options shared by every kernel: cached on disk, fast maths, NumPy's error model
#: (division by zero gives inf instead of raising), so loops vectorise.
JIT = dict(cache=True, fastmath=True, error_model="numpy", nogil=True)


#: The array a kernel gets in place of an absent ReLU mask (Numba compiles for one argument type).
NO_MASK = np.zeros((1, 1, 1), dtype=np.bool_)

#: Every kernel compiled through this module (for ``cache_is_warm``).
KERNELS = []
#: Modules whose kernels only some geometries use (Winograd: 3x3 maps of 4x4 and more), so a run
#: may never compile them; ``cache_is_warm`` does not wait for them.
ON_DEMAND = ("tinynet.kernels.winograd", "tinynet.kernels.winograd_passes")


def kernel(fn):
    """A serial kernel."""
    KERNELS.append(njit(**JIT)(fn))
    return KERNELS[-1]


def parallel_kernel(fn):
    """A kernel whose outer ``prange`` loop runs on Numba's thread pool."""
    KERNELS.append(njit(parallel=True, **JIT)(fn))
    return KERNELS[-1]


def cache_is_warm() -> bool:
    """True when every kernel that every run uses has compiled code in Numba's disk cache (no
    compiling ahead); also True when that cannot be told (Numba's cache layout is not public)."""
    always = [k for k in KERNELS if k.py_func.__module__ not in ON_DEMAND]
    try:
        return all(os.path.exists(k._cache._cache_file._index_path) for k in always)
    except AttributeError:
        return True
