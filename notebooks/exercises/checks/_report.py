"""What every check shares: the result it returns, the line it prints, and the safe calling of
the student's code, so that a wrong answer is reported and never raises.

A check is a function decorated with ``@check("name")`` that takes the student's function(s),
returns a short PASS message, and raises ``Wrong(diagnosis)`` when an answer is wrong. The
decorator turns that into one printed line ``PASS name: ...`` or ``FAIL name: ...`` and a
``Result``, true when the check passed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinynet.gradcheck import numerical_gradient, rel_error

TOL = 1e-9  # float64 answers must match tinynet's to this relative error
GRAD_TOL = 1e-6  # and centred differences to this one (tinynet.gradcheck's threshold)


@dataclass(frozen=True)
class Result:
    """The outcome of one check: truthy when it passed; ``str()`` is the printed line."""

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.message}"


class Wrong(Exception):
    """A wrong answer; its message is the diagnosis printed after ``FAIL name:``."""


class _NotImplemented(Exception):
    """The student's function still raises NotImplementedError."""


def check(name: str):
    """Decorate a check: run it, print one PASS/FAIL line, return a ``Result``."""

    def decorate(body: Callable[..., str]) -> Callable[..., Result]:
        @functools.wraps(body)
        def run(*functions, **options) -> Result:
            try:
                result = Result(name, True, body(*functions, **options))
            except _NotImplemented:
                result = Result(name, False, "not implemented yet")
            except Wrong as wrong:
                result = Result(name, False, str(wrong))
            except Exception as error:  # an answer malformed in a way no test foresaw
                message = f"the check could not use the answer ({type(error).__name__}: {error})"
                result = Result(name, False, message)
            print(result)
            return result

        return run

    return decorate


def call(fn: Callable, *args, names: tuple[str, ...] = (), inplace: tuple[str, ...] = ()):
    """``fn(*args)`` on copies of the arrays; raises ``Wrong`` if it raises or changes an input.

    ``names`` name the arguments in messages; arguments named in ``inplace`` are passed as they
    are (the function is meant to change them).
    """
    names = tuple(names) + tuple(f"argument {i + 1}" for i in range(len(names), len(args)))
    copies = [
        a if n in inplace or not isinstance(a, np.ndarray) else a.copy()
        for a, n in zip(args, names)
    ]
    try:
        out = fn(*copies)
    except NotImplementedError as error:
        raise _NotImplemented from error
    except Exception as error:  # the student's code failed: report it, do not raise
        raise Wrong(f"{fn.__name__} raised {type(error).__name__}: {error}") from error
    for original, copy, n in zip(args, copies, names):
        if isinstance(original, np.ndarray) and n not in inplace:
            if not np.array_equal(original, copy, equal_nan=True):
                raise Wrong(f"{fn.__name__} changed its input {n} in place: work on a copy")
    return out


def as_array(label: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or ``Wrong`` saying what it is instead."""
    if value is None:
        raise Wrong(f"{label} is None: did you forget to return it?")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        what = (
            f"an array of {value.dtype}"
            if isinstance(value, np.ndarray)
            else "a " + type(value).__name__
        )
        raise Wrong(f"{label} is {what}, not an array of numbers") from None
    if array.shape != tuple(shape):
        hint = " (transposed?)" if array.shape == tuple(shape)[::-1] and array.ndim > 1 else ""
        raise Wrong(f"{label} has shape {array.shape}, expected {tuple(shape)}{hint}")
    if not np.all(np.isfinite(array)):
        raise Wrong(f"{label} contains NaN or inf")
    return array


def close(a, b, tol: float = TOL) -> bool:
    """True when ``a`` and ``b`` have the same shape and a relative error below ``tol``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and rel_error(a, b) < tol


def diagnose(got, mistakes: dict[str, np.ndarray]) -> str | None:
    """The diagnosis of the first known mistake whose answer ``got`` reproduces, else None."""
    for message, answer in mistakes.items():
        if close(got, answer):
            return message
    return None


def differs(label: str, got: np.ndarray, expected: np.ndarray) -> str:
    """'wrong at k of n entries, e.g. label[i, j] = a, expected b' for two same-shaped arrays."""
    bad = ~np.isclose(got, expected, rtol=1e-7, atol=1e-12)
    where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else ()
    return (
        f"{label} is wrong at {int(bad.sum())} of {bad.size} entries, e.g. {label}{list(where)} = "
        f"{got[where]:.6g}, expected {expected[where]:.6g}"
    )


def gradient_error(objective: Callable[[], float], x: np.ndarray, analytic) -> float:
    """Relative error between ``analytic`` and centred differences of ``objective`` in ``x``.

    ``objective`` reads ``x``, which ``tinynet.gradcheck.numerical_gradient`` perturbs in place.
    """
    return rel_error(analytic, numerical_gradient(objective, x))


def gradcheck(label: str, objective, x: np.ndarray, analytic) -> float:
    """``gradient_error``, or ``Wrong`` when it exceeds ``GRAD_TOL``."""
    error = gradient_error(objective, x, as_array(label, analytic, x.shape))
    if error > GRAD_TOL:
        raise Wrong(f"{label} disagrees with centred differences (relative error {error:.1e})")
    return error
