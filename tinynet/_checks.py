"""Argument normalisation and input validation shared by the layers."""
from __future__ import annotations

import numpy as np


def pair(value, what: str, layer: str) -> tuple[int, int]:
    """Turn an int or an (h, w) pair into a tuple of two ints."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    try:
        h, w = value
        return int(h), int(w)
    except (TypeError, ValueError):
        raise ValueError(f"{layer}: {what} must be an int or an (h, w) pair, got {value!r}") from None


def check_input(x, layer: str, ndim: int, channels: int | None = None) -> np.ndarray:
    """Check that x is an array with ``ndim`` dimensions (and ``channels`` in axis 1)."""
    x = np.asarray(x)
    if x.ndim != ndim:
        names = {4: "(N, C, H, W)", 2: "(N, features)"}.get(ndim, f"{ndim}-d")
        raise ValueError(f"{layer}: expected a {ndim}-d input {names}, got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{layer}: expected {channels} channels/features in axis 1, got input of shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{layer}: got an empty batch, input shape {x.shape}")
    return x


def float_input(x: np.ndarray, dtype) -> np.ndarray:
    """Return x as a C-contiguous array of ``dtype`` (no copy when it already is one)."""
    return np.ascontiguousarray(x, dtype=dtype)


def own_dtype(x: np.ndarray) -> np.dtype:
    """The float dtype a parameter-free layer computes in: float32 unless x is float64."""
    return np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)


def out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def check_window(layer: str, shape, kernel, stride, padding) -> tuple[int, int]:
    """Output (OH, OW) of a sliding window, or a ValueError when the kernel does not fit."""
    _, _, h, w = shape
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(
            f"{layer}: kernel {kh}x{kw} is larger than the padded input "
            f"{h + 2 * ph}x{w + 2 * pw} (input shape {tuple(shape)}, padding {ph}x{pw})"
        )
    return out_size(h, kh, sh, ph), out_size(w, kw, sw, pw)


def check_geometry(layer: str, kernel, stride, padding) -> None:
    if min(kernel) <= 0:
        raise ValueError(f"{layer}: kernel_size must be positive, got {kernel}")
    if min(stride) <= 0:
        raise ValueError(f"{layer}: stride must be positive, got {stride}")
    if min(padding) < 0:
        raise ValueError(f"{layer}: padding must be non-negative, got {padding}")
