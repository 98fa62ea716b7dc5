"""Every argument and input check of tinynet, in one place.

Layers, models, optimizers and schedules call these; each raises ``ValueError`` with a message
that starts with ``who`` (a layer, ``"SGD"``, ``"--lr"``...) and says what was expected.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

# -- numbers -----------------------------------------------------------------------------------


def real(who: str, value) -> float:
    """``value`` as a float; a bool, a string, a non-number or NaN is refused."""
    try:
        if isinstance(value, (bool, str, bytes)):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{who} must be a real number, got {value!r}") from None
    if math.isnan(number):
        raise ValueError(f"{who} must be a real number, got NaN")
    return number


def non_negative(who: str, value) -> float:
    """A finite float >= 0."""
    number = real(who, value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{who} must be finite and >= 0, got {value!r}")
    return number


def positive(who: str, value) -> float:
    """A finite float > 0."""
    number = real(who, value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{who} must be finite and > 0, got {value!r}")
    return number


def fraction(who: str, value, *, low_open: bool = False) -> float:
    """A float in [0, 1) (or (0, 1) with ``low_open``)."""
    number = real(who, value)
    if not (0 < number < 1 if low_open else 0 <= number < 1):
        raise ValueError(f"{who} must be in {'(0' if low_open else '[0'}, 1), got {value!r}")
    return number


def integer(who: str, value, minimum: int) -> int:
    """An int >= ``minimum`` (a NumPy integer or 0-d array is accepted, a bool or float not)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if not _is_int(value):
        raise ValueError(f"{who} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{who} must be >= {minimum}, got {value!r}")
    return int(value)


def choice(who: str, value, options):
    """``value`` if it is one of ``options``."""
    if value not in options:
        raise ValueError(f"{who} must be one of {tuple(options)}, got {value!r}")
    return value


# -- sliding-window geometry -------------------------------------------------------------------


def pair(who: str, what: str, value) -> tuple[int, int]:
    """An int or an (h, w) pair of ints -> a tuple of two ints; a float or a bool is refused."""
    h_w = (value, value) if _is_int(value) else value
    try:
        h, w = h_w
    except (TypeError, ValueError):
        h = w = None
    if not (_is_int(h) and _is_int(w)):
        raise ValueError(f"{who}: {what} must be an int or an (h, w) pair of ints, got {value!r}")
    return int(h), int(w)


def _is_int(value) -> bool:
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_geometry(who: str, kernel, stride, padding) -> None:
    """Positive kernel and stride, non-negative padding (each an (h, w) pair)."""
    if min(kernel) <= 0:
        raise ValueError(f"{who}: kernel_size must be positive, got {kernel}")
    if min(stride) <= 0:
        raise ValueError(f"{who}: stride must be positive, got {stride}")
    if min(padding) < 0:
        raise ValueError(f"{who}: padding must be non-negative, got {padding}")


def out_size(size: int, kernel: int, stride: int = 1, pad: int = 0) -> int:
    """Output length of a window sliding over ``size`` (+ pad each side): floor, like PyTorch."""
    return (size + 2 * pad - kernel) // stride + 1


def out_hw(shape, kernel, stride, padding) -> tuple[int, int]:
    """(OH, OW) of a window over an input of shape (N, C, H, W); no checks."""
    return tuple(out_size(shape[2 + i], kernel[i], stride[i], padding[i]) for i in (0, 1))


def window_output(who: str, shape, kernel, stride, padding) -> tuple[int, int]:
    """(OH, OW) of a window over (N, C, H, W), or a ValueError when the kernel does not fit."""
    (h, w), (kh, kw), (ph, pw) = shape[2:], kernel, padding
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(
            f"{who}: kernel {kh}x{kw} is larger than the padded input "
            f"{h + 2 * ph}x{w + 2 * pw} (input shape {tuple(shape)}, padding {ph}x{pw})"
        )
    return out_hw(shape, kernel, stride, padding)


# -- arrays ------------------------------------------------------------------------------------


def numeric(who: str, x) -> np.ndarray:
    """``x`` as an array of integers or floats (any shape, no copy when it already is one).

    Bool, complex, object, string, bytes, date and structured arrays are refused: an object array
    of None would become NaN, a complex one lose its imaginary part. Bool is refused in every
    layer, as PyTorch's convolution and linear layers refuse it: convert a mask explicitly.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        hint = "; convert it first, e.g. x.astype(np.float32)" if x.dtype.kind == "b" else ""
        raise ValueError(
            f"{who}: expected a numeric array (integers or floats), got dtype {x.dtype}{hint}"
        )
    return x


def check_input(who: str, x, ndim: int, channels: int | None = None) -> np.ndarray:
    """``x`` as a numeric array of ``ndim`` dims, a non-empty batch (``channels`` in axis 1)."""
    x = numeric(who, x)
    if x.ndim != ndim:
        names = {4: "(N, C, H, W)", 2: "(N, features)"}.get(ndim, f"{ndim}-d")
        raise ValueError(f"{who}: expected a {ndim}-d input {names}, got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{who}: expected {channels} channels/features in axis 1, got input of shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{who}: got an empty batch, input shape {x.shape}")
    return x


def float_input(who: str, x, dtype=None) -> np.ndarray:
    """A numeric ``x`` (see ``numeric``) as a C-contiguous float array (no copy if it is one).

    ``dtype`` None: float64 stays float64, anything else becomes float32 (the dtype a
    parameter-free layer computes in).
    """
    x = numeric(who, x)
    if dtype is None:
        dtype = np.float64 if x.dtype == np.float64 else np.float32
    return np.ascontiguousarray(x, dtype=dtype)


def check_keys(who: str, state, expected) -> None:
    """``state`` must be a dict with exactly the keys ``expected``."""
    if not isinstance(state, dict):
        raise ValueError(f"{who} state must be a dict, got {type(state).__name__}")
    missing, unknown = [k for k in expected if k not in state], sorted(set(state) - set(expected))
    if missing or unknown:
        raise ValueError(f"{who} state does not fit: missing {missing}, unknown keys {unknown}")


def check_shapes(who: str, expected: dict, found: dict) -> None:
    """``found`` must map exactly the keys of ``expected`` to the same shapes (tuples of ints).

    The ValueError lists every missing, unexpected and misshaped entry, so one failed load says
    everything that is wrong.
    """
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    misshaped = [
        f"{k}: expected {tuple(expected[k])} vs found {tuple(found[k])}"
        for k in expected
        if k in found and tuple(found[k]) != tuple(expected[k])
    ]
    problems = [
        f"{what} ({len(items)}): {_listing(items)}"
        for what, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", misshaped),
        )
        if items
    ]
    if problems:
        raise ValueError(f"{who}: " + "; ".join(problems))


def check_state(who: str, expected: dict, state) -> None:
    """``state`` must have exactly the keys of ``expected`` with the same shapes, finite values.

    ``expected`` maps names to arrays; the mismatches are listed as ``check_shapes`` does.
    """
    if not hasattr(state, "keys"):
        raise ValueError(f"{who}: a state dict must be a dict, got {type(state).__name__}")
    shapes = {k: np.shape(v) for k, v in expected.items()}
    check_shapes(f"{who}: state does not match", shapes, {k: np.shape(state[k]) for k in state})
    for key in expected:
        value = np.asarray(state[key])
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ValueError(f"{who}: {key} holds NaN or infinite values")


def _listing(items, limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... and {len(items) - limit} more" if len(items) > limit else "")
