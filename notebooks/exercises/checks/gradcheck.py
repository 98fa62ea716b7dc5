"""Checks for notebook 1: the numerical gradient checker (centred differences, relative error).

``numerical_gradient(f, x, dout, h)`` is checked twice: by watching every array it passes to
``f`` (their dtype, which elements differ from ``x`` and by how much), which names a one-sided
difference, a hard-coded step, several elements perturbed at once or an ``x`` not restored; and
by its numbers, against centred differences of <dout, f(x)> with the same ``h``. The functions
have large curvature, the shapes are 2-D non-square, 1-D and 3-D, and ``h`` changes from case
to case, so that no constant or geometry can be assumed.
"""

from __future__ import annotations

import numpy as np

from tinynet.gradcheck import rel_error as reference_rel_error

from ._report import Wrong, as_array, call, check, close, diagnose, differs

NG_TOL = 1e-7  # the student's centred differences against ours (same h): only roundoff differs


def _centred(f, x, dout, h, *, step=2.0, one_sided=False, weights=None) -> np.ndarray:
    """Centred differences of <weights, f(x)> (``weights`` = dout by default), or a mistake."""
    weights = dout if weights is None else weights
    grad, x = np.zeros_like(x), x.copy()
    base = float(np.sum(weights * f(x)))
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = float(np.sum(weights * f(x)))
        x[i] = old - h
        minus = base if one_sided else float(np.sum(weights * f(x)))
        x[i] = old
        grad[i] = (plus - minus) / (step * h if not one_sided else h)
    return grad


def _elementwise(f, x, dout, h) -> np.ndarray:
    """dout[i] * (f(x+h e_i)[i] - f(x-h e_i)[i]) / 2h: treats f as elementwise."""
    grad, x = np.zeros_like(x), x.copy()
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)[i]
        x[i] = old - h
        minus = f(x)[i]
        x[i] = old
        grad[i] = dout[i] * (plus - minus) / (2 * h)
    return grad


class _Recorder:
    """``f`` that records the dtype, shape and perturbation of every array it is called with."""

    def __init__(self, f, x0: np.ndarray):
        self.f, self.x0, self.calls = f, x0.copy(), []

    def __call__(self, x):
        x = np.asarray(x)
        delta = None
        if x.shape == self.x0.shape:
            delta = (x.astype(np.float64) - self.x0).reshape(-1)
        self.calls.append((x.dtype, x.shape, delta))
        return self.f(x)


def _moved(delta: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Flat indices of the elements that differ from x0 by more than roundoff."""
    return np.flatnonzero(np.abs(delta) > 1e-12 * (1.0 + np.abs(x0.reshape(-1))))


def _inspect_calls(calls, x0: np.ndarray, h: float) -> None:
    """Wrong with a diagnosis when the evaluations of f were not those of centred differences."""
    if not calls:
        raise Wrong("f is never called: evaluate f at x moved by +h and by -h, element by element")
    for dtype, shape, _ in calls:
        if dtype != np.float64:
            raise Wrong(
                f"f was called with a {dtype} array: compute in float64 (in float32 a step of "
                f"{h:g} is lost in the rounding of x, and f(x+h) - f(x-h) is mostly noise)"
            )
        if shape != x0.shape:
            raise Wrong(
                f"f was called with an array of shape {shape}, not x's {x0.shape}: pass f the "
                f"whole of x with one element changed"
            )
    size = x0.size
    moved = [(_moved(delta, x0), delta) for _, _, delta in calls]
    first = next((idx for idx, _ in moved if idx.size), None)
    if first is None:
        raise Wrong("f is only ever called with x unchanged: perturb one element at a time")
    if first.size > 1:
        if first.size == size:
            raise Wrong(
                f"every element of x is perturbed at once: that gives one directional "
                f"derivative, not the gradient; move one element at a time ({size} elements, "
                f"2 evaluations each)"
            )
        raise Wrong(
            f"{first.size} elements of x (shape {x0.shape}) are perturbed at once: one "
            f"evaluation must change exactly one element; visit every element of an N-d array "
            f"(not only rows or columns)"
        )
    if any(idx.size > 1 for idx, _ in moved):
        raise Wrong(
            "x is not restored after perturbing an element: each evaluation must differ from x "
            "in one element only, so put the old value back before moving on"
        )
    steps = {}
    for idx, delta in moved:
        if idx.size:
            steps.setdefault(int(idx[0]), []).append(float(delta[idx[0]]))
    sizes = np.abs([s for values in steps.values() for s in values])
    if not np.allclose(sizes, h, rtol=1e-6, atol=0):
        other = sizes[~np.isclose(sizes, h, rtol=1e-6, atol=0)][0]
        raise Wrong(
            f"x is moved by {other:.3g} where the h given is {h:g}: use the argument h, do not "
            f"hard-code the step"
        )
    missing = size - len(steps)
    if missing:
        raise Wrong(
            f"{missing} of the {size} elements of x (shape {x0.shape}) are never perturbed: "
            f"visit every element of an N-d array"
        )
    if any(not (min(v) < 0 < max(v)) for v in steps.values()):
        raise Wrong(
            "one-sided differences (f(x+h) - f(x)) / h: their error is proportional to h; "
            "evaluate f at x+h and at x-h (centred differences, error proportional to h^2)"
        )


# (shape of x, h, seed): 2-D non-square first, then 3-D, then 1-D; h changes every time
CASES = (((3, 4), 1e-5, 31), ((2, 3, 4), 1e-2, 33), ((5,), 1e-3, 32))


def _function(shape, rng):
    """A smooth f with curvature that mixes elements; its output shape differs from x's in 3-D."""
    if len(shape) == 3:
        w = rng.standard_normal((shape[-1], 5))

        def f(x):
            y = x.reshape(-1, shape[-1]) @ w
            return np.exp(0.5 * y) + y**3

        return f, (int(np.prod(shape[:-1])), 5)

    def f(x):
        return np.exp(2.0 * x) * np.sum(x**2) + np.sin(3.0 * x)

    return f, shape


@check("numerical_gradient")
def check_numerical_gradient(numerical_gradient) -> str:
    """``numerical_gradient(f, x, dout, h) -> grad``: centred differences of <dout, f(x)> with
    respect to x (float64, any shape), one element at a time."""
    passed = []
    for shape, h, seed in CASES:
        rng = np.random.default_rng(seed)
        x0 = rng.uniform(-1.0, 1.0, shape)
        f, out_shape = _function(shape, rng)
        dout = rng.standard_normal(out_shape)
        x, recorder = x0.copy(), _Recorder(f, x0)
        where = f" (x of shape {shape}, h = {h:g})"
        if passed:
            where += f"; it was right for x of shape {passed[-1]}"
        try:
            got = call(
                numerical_gradient,
                recorder,
                x,
                dout,
                h,
                names=("f", "x", "dout", "h"),
                inplace=("x",),
            )
            _inspect_calls(recorder.calls, x0, h)
            if not np.array_equal(x, x0):
                raise Wrong(
                    "x is not restored: after the call it differs from the x given; put each "
                    "element back to its old value"
                )
            if isinstance(got, np.ndarray) and got.dtype != np.float64:
                raise Wrong(f"grad is a {got.dtype} array: keep it float64")
            got = as_array("grad", got, shape)
            expected = _centred(f, x0, dout, h)
            if not close(got, expected, NG_TOL):
                mistakes = {
                    "divided by h instead of 2h: f(x+h) and f(x-h) are 2h apart": 2 * expected,
                    "dout is ignored: the gradient is that of <dout, f(x)> = sum(dout * f(x)), "
                    "not of sum(f(x))": _centred(f, x0, dout, h, weights=np.ones(out_shape)),
                    "the sign is flipped: (f(x+h) - f(x-h)), not (f(x-h) - f(x+h))": -expected,
                    "one-sided differences: evaluate f at x+h and at x-h": _centred(
                        f, x0, dout, h, one_sided=True
                    ),
                }
                if out_shape == shape:
                    message = (
                        "f is treated as elementwise: moving one element of x changes every "
                        "output, so sum dout * (f(x+h) - f(x-h)) over all of them"
                    )
                    mistakes[message] = _elementwise(f, x0, dout, h)
                raise Wrong(diagnose(got, mistakes) or differs("grad", got, expected))
        except Wrong as wrong:
            raise Wrong(f"{wrong}{where}") from None
        passed.append(shape)
    return (
        "centred differences of <dout, f(x)>, one element at a time, x restored, float64, "
        "for x of shapes (3, 4), (2, 3, 4), (5,) and h from 1e-5 to 1e-2"
    )


# -- the relative error ---------------------------------------------------------------------------


def _rel_cases(rng):
    """(label, a, b): ordinary values, a large scale, zeros, tiny values, a 3-D pair."""
    a = rng.standard_normal((3, 4))
    c = rng.standard_normal((2, 3, 4))
    return (
        ("a and b of shape (3, 4)", a, a + 1e-3 * rng.standard_normal((3, 4))),
        ("a and b of size 1e3", 1e3 * a, 1e3 * a + rng.standard_normal((3, 4))),
        ("two gradients that are both zero", np.zeros((3, 4)), np.zeros((3, 4))),
        ("two gradients of size 1e-10", 1e-10 * a, 1e-10 * a[::-1]),
        ("a and b of shape (2, 3, 4)", c, c[::-1, ::-1] + 0.1),
        ("one tiny entry", np.array([1.0, 1e-9, 2.0]), np.array([1.0, 2e-9, 2.0])),
    )


def _rel_mistakes(a, b) -> dict[str, float]:
    diff, total = np.abs(a - b), np.abs(a) + np.abs(b)
    with np.errstate(all="ignore"):
        return {
            "the absolute error max|a - b|: divide by the size of the gradients, so that the "
            "threshold means the same for large and small gradients": float(diff.max()),
            "the elementwise ratio max(|a - b| / (|a| + |b|)) lets the tiniest entries "
            "dominate; tinynet divides the largest difference by the largest |a| + |b|": float(
                np.max(diff / np.maximum(1e-8, total))
            ),
            "divided by max(|a|) + max(|b|): the denominator is the largest "
            "|a| + |b| of one element": float(
                diff.max() / max(1e-8, np.abs(a).max() + np.abs(b).max())
            ),
            "relative to the first argument only: the error is symmetric, divide by |a| + |b|": (
                float(diff.max() / max(1e-8, np.abs(a).max()))
            ),
            "a sum or a mean where the largest entries belong (max)": float(
                diff.sum() / max(1e-8, total.sum())
            ),
        }


@check("rel_error")
def check_rel_error(rel_error) -> str:
    """``rel_error(a, b) -> float``: the relative error of two arrays of one shape."""
    rng = np.random.default_rng(34)
    for label, a, b in _rel_cases(rng):
        with np.errstate(all="ignore"):
            got = call(rel_error, a, b, names=("a", "b"))
        expected = reference_rel_error(a, b)
        if isinstance(got, np.ndarray) and got.size != 1:
            raise Wrong(f"returned an array of shape {got.shape}, expected one number ({label})")
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"returned {type(got).__name__}, expected one number ({label})") from None
        if not np.isfinite(value):
            raise Wrong(
                f"returned {value} for {label}: the denominator has no floor; keep it at least "
                f"1e-8 so that two zero gradients have error 0"
            )
        if close(value, expected, 1e-9):
            continue
        if label == "two gradients of size 1e-10" and close(
            value, float(np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b))), 1e-9
        ):
            raise Wrong(
                f"{value:.3g} for {label}: the denominator needs its floor of 1e-8, or the "
                f"relative error of two gradients that are both about 0 is of order 1"
            )
        mistakes = {k: v for k, v in _rel_mistakes(a, b).items() if np.isfinite(v)}
        found = diagnose(np.array(value), {k: np.array(v) for k, v in mistakes.items()})
        raise Wrong(f"{found or f'{value:.6g}, expected {expected:.6g}'} ({label})")
    return "largest difference over the largest |a| + |b|, floored at 1e-8, for six pairs of arrays"
