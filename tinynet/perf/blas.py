"""The one door to BLAS: every GEMM in the layers goes through ``matmul``.

Keeping the call in one place lets ``tinynet.perf.profile`` measure the share of a training step
spent in BLAS without touching NumPy. Never call this from inside a Numba kernel.
"""

from __future__ import annotations

import time

import numpy as np

#: When not None, a list ``matmul`` appends (seconds, flops) to; set by ``tinynet.perf.profile``.
record: list | None = None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)``, timed when profiling is on."""
    if record is None:
        return np.matmul(a, b, out=out)
    start = time.perf_counter()
    result = np.matmul(a, b, out=out)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = int(np.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))) if a.ndim > 2 else 1
    record.append((time.perf_counter() - start, 2.0 * batch * m * n * k))
    return result
