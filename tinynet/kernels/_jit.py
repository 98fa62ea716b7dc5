"""The one place that decides how kernels are compiled."""
from numba import njit, prange  # noqa: F401  (re-exported for the kernel modules)

#: Options shared by every kernel: cached on disk, fast maths, NumPy's error model
#: (division by zero gives inf instead of raising), so loops vectorise.
JIT = dict(cache=True, fastmath=True, error_model="numpy", nogil=True)


def kernel(fn):
    """A serial kernel."""
    return njit(**JIT)(fn)


def parallel_kernel(fn):
    """A kernel whose outer ``prange`` loop runs on Numba's thread pool."""
    return njit(parallel=True, **JIT)(fn)
