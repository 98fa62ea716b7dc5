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
    """``state`` must have exactly the keys of ``expected`` with the same shapes, number dtypes,
    and values that stay finite when cast to the dtype of ``expected``'s floating arrays.

    ``expected`` maps names to arrays; the mismatches are listed as ``check_shapes`` does.
    """
    if not hasattr(state, "keys"):
        raise ValueError(f"{who}: a state dict must be a dict, got {type(state).__name__}")
    shapes = {k: np.shape(v) for k, v in expected.items()}
    check_shapes(f"{who}: state does not match", shapes, {k: np.shape(state[k]) for k in state})
    for key, target in expected.items():
        value = np.asarray(state[key])
        if value.dtype.kind not in "biuf":
            raise ValueError(f"{who}: {key} has dtype {value.dtype}, not a number type")
        target = np.asarray(target).dtype
        if target.kind == "f":  # finite as stored AND after the cast (float64 1e300 -> inf)
            with np.errstate(over="ignore", invalid="ignore"):
                finite = np.isfinite(value.astype(target, copy=False))
            if not np.all(finite):
                raise ValueError(
                    f"{who}: {key} holds values that are NaN or infinite as {target}"
                    + (f" (stored as {value.dtype})" if value.dtype != target else "")
                )


def _listing(items, limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... and {len(items) - limit} more" if len(items) > limit else "")


def has_attribute(who: str, what: str, value, attribute: str):
    """``value`` if it has ``attribute`` (e.g. an optimizer's settable ``lr``)."""
    if not hasattr(value, attribute):
        raise ValueError(
            f"{who}: {what} must have a {attribute!r} attribute, got {type(value).__name__}"
        )
    return value


def parameter_triples(who: str, named_parameters) -> dict:
    """{name: (param, grad)} from (name, param, grad) triples: floating point arrays of one shape,
    writeable params, no name or array twice, at least one."""
    checked, owners = {}, {}  # owners: id(param) -> name
    for name, param, grad in named_parameters:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{who}: a parameter name must be a non-empty string, got {name!r}")
        if name in checked:
            raise ValueError(f"{who}: duplicate parameter name {name!r}")
        if not all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in (param, grad)):
            raise ValueError(f"{who}: param and grad of {name!r} must be floating point arrays")
        if grad.shape != param.shape:
            raise ValueError(
                f"{who}: {name!r}: grad shape {grad.shape} != param shape {param.shape}"
            )
        if not param.flags.writeable:
            raise ValueError(f"{who}: parameter {name!r} is read-only; {who} updates it in place")
        if id(param) in owners:
            raise ValueError(f"{who}: {owners[id(param)]!r} and {name!r} are the same array")
        checked[name], owners[id(param)] = (param, grad), name
    if not checked:
        raise ValueError(f"{who} got an empty parameter list")
    return checked


# -- model builders' arguments -----------------------------------------------------------------


def boolean(who: str, value) -> bool:
    """``value`` if it is True or False (a NumPy bool too); 0, 1, "no" or None are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{who} must be True or False, got {value!r}")
    return bool(value)


def float_dtype(who: str, dtype) -> np.dtype:
    """``dtype`` (``np.float32``, ``"float64"``) as a NumPy dtype: float32 or float64, the two
    the layers compute in (float16 has no BLAS, no random draws, no kernels here)."""
    try:
        found = np.dtype(dtype)
    except TypeError:
        found = None
    if found not in (np.float32, np.float64):
        raise ValueError(f"{who} must be float32 or float64, got {dtype!r}")
    return found


def multiplier(who: str, value, size) -> float:
    """A finite float > 0 whose product with ``size`` is finite too (a width scaling a layer)."""
    if not math.isfinite(positive(who, value) * size):
        raise ValueError(f"{who} {value!r} is too large")
    return float(value)


def input_side(who: str, value, minimum: int) -> int:
    """An int >= ``minimum``: the side of a network's input, at least the smallest one that
    keeps every stage at least 1x1."""
    if integer(who, value, 1) < minimum:
        raise ValueError(
            f"{who} {value} is too small; the minimum is {minimum} "
            "(every stage must stay at least 1x1)"
        )
    return int(value)


# -- layer arguments ---------------------------------------------------------------------------


def check_groups(who: str, in_channels: int, out_channels: int, groups: int) -> None:
    """Both channel counts divisible by ``groups`` (a grouped convolution)."""
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{who}: in_channels ({in_channels}) and out_channels ({out_channels}) "
            f"must both be divisible by groups ({groups})"
        )


def lrn_settings(who: str, size, alpha, beta, k) -> tuple[int, float, float, float]:
    """Local response normalisation's (size, alpha, beta, k): size a positive integer (5.0 is
    accepted), k > 0, alpha >= 0, beta >= 0."""
    if int(size) != size or size < 1:
        raise ValueError(f"{who}: size must be a positive integer, got {size!r}")
    if k <= 0 or alpha < 0 or beta < 0:
        raise ValueError(
            f"{who}: need k > 0, alpha >= 0, beta >= 0; got k={k}, alpha={alpha}, beta={beta}"
        )
    return int(size), float(alpha), float(beta), float(k)


def check_labels(who: str, logits: np.ndarray, labels) -> np.ndarray:
    """``labels`` as an int array (N,) with values in [0, K) for ``logits`` (N, K)."""
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"{who}: expected logits of shape (N, K), got {logits.shape}")
    n, k = logits.shape
    if labels.shape != (n,):
        raise ValueError(
            f"{who}: expected labels of shape ({n},) for logits {logits.shape}, got {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{who}: labels must be integers, got {labels.dtype}")
    if n == 0:
        raise ValueError(f"{who}: got an empty batch")
    if labels.min() < 0 or labels.max() >= k:
        bad = labels[(labels < 0) | (labels >= k)][:5].tolist()
        raise ValueError(f"{who}: labels must be in [0, {k}) for logits {logits.shape}; got {bad}")
    return labels


def named_pair(who: str, what: str, item, taken) -> tuple:
    """``item`` as a (name, value) pair, the name a non-empty string without dots not in ``taken``
    (e.g. a ``Sequential``'s ("conv1", layer))."""
    try:
        name, value = item
    except (TypeError, ValueError):
        raise ValueError(f"{who}: expected (name, {what}) pairs, got {item!r}") from None
    if not isinstance(name, str) or not name or "." in name:
        raise ValueError(
            f"{who}: {what} names must be non-empty strings without dots, got {name!r}"
        )
    if name in taken:
        raise ValueError(f"{who}: duplicate {what} name {name!r}")
    return name, value


def positive_pair(who: str, name: str, value) -> tuple[int, int]:
    """``pair(who, name, value)`` with both sides at least 1 (an output size)."""
    result = pair(who, name, value)
    if min(result) < 1:
        raise ValueError(f"{who}: {name} must be positive, got {result}")
    return result


def non_empty_images(who: str, x):
    """``x`` (N, C, H, W) if C, H and W are at least 1."""
    if min(x.shape[1:]) < 1:
        raise ValueError(f"{who}: expected a non-empty image, got shape {x.shape}")
    return x


def batched(who: str, x):
    """``x`` if it has at least a batch axis."""
    if x.ndim < 1:
        raise ValueError(f"{who}: expected at least a batch axis, got shape {x.shape}")
    return x


def pool_padding(who: str, padding, kernel_size) -> None:
    """A pooling window's padding may be at most half the kernel on each side (no window may
    see padding only)."""
    if any(p > k // 2 for p, k in zip(padding, kernel_size)):
        raise ValueError(f"{who}: padding {padding} must be at most half the kernel")
