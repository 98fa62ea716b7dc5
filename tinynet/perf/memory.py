"""Reusing freed memory instead of handing it back to the operating system (glibc only).

Each training step allocates and frees the same large arrays (activations, gradients). glibc
serves blocks over 32 MB with fresh ``mmap`` pages and returns them on free, so every step pays
the kernel to fault in and zero gigabytes again (about a tenth of a full AlexNet step here).
``retain_freed_memory()`` makes glibc keep such blocks in the heap for the next step: faster
steps, at the price of a resident size that stays at its high-water mark plus some
fragmentation. ``examples/alexnet.py`` and the benchmark call it; call it yourself in your own
training scripts if you want the same.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def retain_freed_memory() -> bool:
    """Serve large allocations from the heap and never trim it; False where not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**30))
