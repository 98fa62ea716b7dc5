"""Scratch arrays shared by all convolution algorithms and reused across steps.

Layers run one at a time, so one grow-only buffer per (position, dtype) serves them all: the
column matrix of conv2 and that of conv3 never exist at once. An algorithm asks for all the
arrays a call needs in one ``arrays(dtype, *shapes)``, the i-th from buffer i, and must not keep
them past the call.

Each buffer is its own anonymous memory mapping, outside the heap. In the heap, a buffer that
lives across steps sits between the activations that come and go around it and splits the free
space (``retain_freed_memory`` keeps it all), which raised a training step's peak memory
(docs/performance.md, "The measurements behind the code").
"""

from __future__ import annotations

import mmap

import numpy as np

_buffers: dict[tuple[int, np.dtype], np.ndarray] = {}


def arrays(dtype, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    """One uninitialised C-contiguous array of ``dtype`` per shape, the i-th backed by buffer i:
    distinct from each other, the same memory as the i-th array of the previous call."""
    dtype = np.dtype(dtype)
    return [_buffer(i, int(np.prod(shape)), dtype).reshape(shape) for i, shape in enumerate(shapes)]


def _buffer(position: int, size: int, dtype: np.dtype) -> np.ndarray:
    key = (position, dtype)
    buf = _buffers.get(key)
    if buf is None or buf.size < size:
        _buffers.pop(key, None)  # free the old one before allocating the larger one
        buf = _buffers[key] = _mapped(size, dtype)
    return buf[:size]


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
