"""Scratch buffers shared by all layers and reused across steps.

Layers run one at a time, so a single grow-only buffer per (slot, dtype) is enough: the column
matrix of conv2 and conv3 never exist at once. A layer must not keep a workspace view past the
call that obtained it.

Each buffer is its own anonymous memory mapping, outside the heap. In the heap, a buffer that
lives across steps sits between the activations that come and go around it and splits the free
space (``retain_freed_memory`` keeps it all): a batch-128 training step of the single-tower
AlexNet peaked at 1701 MiB with heap buffers and 1605 MiB with mapped ones (the same 64 MiB
chunks, measured 2026-11-26).
"""

from __future__ import annotations

import mmap

import numpy as np

_buffers: dict[tuple[str, np.dtype], np.ndarray] = {}


def scratch(slot: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` backed by the buffer named ``slot``."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    key = (slot, dtype)
    buf = _buffers.get(key)
    if buf is None or buf.size < size:
        _buffers.pop(key, None)  # free the old one before allocating the larger one
        buf = _buffers[key] = _mapped(size, dtype)
    return buf[:size].reshape(shape)


def images_per_chunk(n: int, bytes_per_image: int, budget: int) -> int:
    """Images per chunk for n images of ``bytes_per_image`` each under ``budget`` bytes, spread
    evenly over the fewest chunks (128 images with room for 99: two chunks of 64, not 99 and 29),
    so that the workspace grows no larger than the chunks need."""
    most = max(1, min(n, budget // max(bytes_per_image, 1)))
    chunks = -(-n // most)
    return -(-n // chunks)


def _mapped(size: int, dtype: np.dtype) -> np.ndarray:
    """An uninitialised (in fact zero) array in its own private anonymous memory mapping (copied
    on write in a forked data-loader worker); the mapping is released when the last view of it
    goes. A plain array where mmap has no MAP_PRIVATE (Windows)."""
    if not hasattr(mmap, "MAP_PRIVATE"):
        return np.empty(size, dtype=dtype)
    region = mmap.mmap(-1, max(1, size * dtype.itemsize), flags=mmap.MAP_PRIVATE)
    return np.frombuffer(region, dtype=dtype, count=size)
