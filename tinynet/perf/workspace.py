"""Scratch buffers shared by all layers and reused across steps.

Layers run one at a time, so a single grow-only buffer per (slot, dtype) is enough: the column
matrix of conv2 and conv3 never exist at once. A layer must not keep a workspace view past the
call that obtained it.
"""

from __future__ import annotations

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
        buf = _buffers[key] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)
