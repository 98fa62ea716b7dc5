"""Checks for notebook 2, part 1: im2col indexing and col2im accumulation.

tinynet's layout (``tinynet.reference.im2col``): for x (N, C, H, W), a kh x kw kernel, stride s and
zero padding p, ``cols[(c*kh + i)*kw + j, (n*OH + y)*OW + x] = xpad[n, c, y*s + i, x*s + j]``.
"""

from __future__ import annotations

import numpy as np

from tinynet.reference import im2col as reference

from ._report import Wrong, as_array, call, check, diagnose, differs, gradcheck

# (N, C, H, W, kh, kw, stride, pad): non-square, padded, strided, overlapping; then plain; then
# stride 3 and padding 2 on one image of one channel. A failure after the first geometry says
# what the geometries before it did not vary, so that a hard-coded constant shows.
GEOMETRIES = ((2, 3, 7, 8, 3, 2, 2, 1), (2, 2, 4, 5, 2, 3, 1, 0), (1, 1, 6, 9, 2, 4, 3, 2))
OVERLAPPING = ((2, 2, 5, 6, 3, 2, 1, 1), (1, 3, 7, 7, 3, 3, 2, 0), (2, 1, 8, 7, 2, 4, 3, 2))
SUSPECT = (
    "",
    "; right with the geometry before, wrong with this one: are the stride, the padding or the "
    "kernel's shape hard-coded?",
    "; right with the geometries before, wrong with stride 3 and padding 2: are the stride or "
    "the padding hard-coded (a pad of 1 whenever pad > 0?), or is one image of one channel "
    "mishandled?",
)


def out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a window: (size + 2 pad - kernel) // stride + 1."""
    return (size + 2 * pad - kernel) // stride + 1


def _im2col(x, kh, kw, s, p):
    return reference.im2col(x, (kh, kw), (s, s), (p, p))


def _col2im(cols, shape, kh, kw, s, p):
    return reference.col2im(cols, shape, (kh, kw), (s, s), (p, p))


def _unpadded_read(x, kh, kw, s, p):
    """Columns read at y*s + i instead of y*s + i - p (the padding offset forgotten)."""
    n, c, h, w = x.shape
    oh, ow = out_size(h, kh, s, p), out_size(w, kw, s, p)
    wide = np.zeros((n, c, kh + s * oh, kw + s * ow))  # room for every read; 0 outside x
    wide[:, :, :h, :w] = x
    taps = np.empty((c, kh, kw, n, oh, ow))
    for i in range(kh):
        for j in range(kw):
            taps[:, i, j] = wide[:, :, i : i + s * oh : s, j : j + s * ow : s].transpose(1, 0, 2, 3)
    return taps.reshape(c * kh * kw, n * oh * ow)


def _im2col_mistakes(x, kh, kw, s, p) -> dict[str, np.ndarray]:
    n, c, h, w = x.shape
    oh, ow = out_size(h, kh, s, p), out_size(w, kw, s, p)
    six = _im2col(x, kh, kw, s, p).reshape(c, kh, kw, n, oh, ow)
    shape = (c * kh * kw, n * oh * ow)
    return {
        "rows are ordered (kh, kw, C); tinynet orders them (C, kh, kw): row = (c*kh + i)*kw + j, "
        "so each channel's taps are contiguous": six.transpose(1, 2, 0, 3, 4, 5).reshape(shape),
        "kernel offsets i and j are swapped in the row index: row = (c*kh + i)*kw + j": (
            six.transpose(0, 2, 1, 3, 4, 5).reshape(shape)
        ),
        "columns are ordered (OH, OW, N); tinynet orders them (N, OH, OW): column = "
        "(n*OH + y)*OW + x": six.transpose(0, 1, 2, 4, 5, 3).reshape(shape),
        "y and x are swapped in the column index: column = (n*OH + y)*OW + x": six.transpose(
            0, 1, 2, 3, 5, 4
        ).reshape(shape),
        "the kernel is flipped: tap (i, j) reads xpad[y*s + i, x*s + j] (a cross-correlation, "
        "like every framework), not the mirrored tap": six[:, ::-1, ::-1].reshape(shape),
        "the padding offset is missing: tap (i, j) of output (y, x) reads x[y*s + i - pad, "
        "x*s + j - pad]": _unpadded_read(x, kh, kw, s, p),
    }


def _describe(value: float, shape) -> str:
    if value == 0:
        return "0 (padding)"
    return f"x[{', '.join(str(int(i)) for i in np.unravel_index(int(value) - 1, shape))}]"


def _im2col_shape_error(got_shape, x_shape, kh, kw, s, p) -> str:
    n, c, h, w = x_shape
    rows, columns = c * kh * kw, n * out_size(h, kh, s, p) * out_size(w, kw, s, p)
    hints = {
        (columns, rows): "transposed: rows index (c, i, j), columns index (n, y, x)",
        (rows, n * out_size(h, kh, s, 0) * out_size(w, kw, s, 0)): "too few columns: the "
        "padding is ignored, OH = (H + 2*pad - kh) // stride + 1",
        (rows, n * out_size(h, kh, 1, p) * out_size(w, kw, 1, p)): "too many columns: the "
        "stride is ignored, OH = (H + 2*pad - kh) // stride + 1",
    }
    if h != w:
        hints.setdefault((rows, n * out_size(h, kh, s, p) ** 2), "OW computed from H?")
    if kh != kw:
        for k in (kh, kw):
            hints.setdefault(
                (c * k * k, n * out_size(h, k, s, p) * out_size(w, k, s, p)),
                "a square kernel assumed (kh used where kw belongs, or the other way)?",
            )
    return f"cols has shape {got_shape}, expected {(rows, columns)}: " + hints.get(
        got_shape, "C*kh*kw rows and N*OH*OW columns, OH = (H + 2*pad - kh) // stride + 1"
    )


@check("im2col")
def check_im2col(im2col) -> str:
    """``im2col(x (N, C, H, W) float64, kh, kw, stride, pad) -> cols (C*kh*kw, N*OH*OW)``."""
    for number, (n, c, h, w, kh, kw, s, p) in enumerate(GEOMETRIES):
        try:
            _im2col_case(im2col, n, c, h, w, kh, kw, s, p)
        except Wrong as wrong:
            raise Wrong(f"{wrong}{SUSPECT[number]}") from None
    return "matches tinynet's layout, rows (C, kh, kw) x columns (N, OH, OW), with stride and pad"


def _im2col_case(im2col, n, c, h, w, kh, kw, s, p) -> None:
    x = 1.0 + np.arange(n * c * h * w, dtype=np.float64).reshape(n, c, h, w)  # value = id
    expected = _im2col(x, kh, kw, s, p)
    got = call(im2col, x, kh, kw, s, p, names=("x", "kh", "kw", "stride", "pad"))
    if got is not None and np.shape(got) != expected.shape:
        raise Wrong(_im2col_shape_error(np.shape(got), x.shape, kh, kw, s, p))
    got = as_array("cols", got, expected.shape)
    if not np.array_equal(got, expected):
        found = diagnose(got, _im2col_mistakes(x, kh, kw, s, p))
        if found is None:
            r, q = (int(i) for i in np.argwhere(got != expected)[0])
            oh, ow = out_size(h, kh, s, p), out_size(w, kw, s, p)
            row, column = np.unravel_index(r, (c, kh, kw)), np.unravel_index(q, (n, oh, ow))
            found = (
                f"cols[{r}, {q}] (row (c, i, j) = {tuple(map(int, row))}, column (n, y, x) = "
                f"{tuple(map(int, column))}) holds {_describe(got[r, q], x.shape)}, expected "
                f"{_describe(expected[r, q], x.shape)}"
            )
        raise Wrong(f"{found} (x {x.shape}, kernel {kh}x{kw}, stride {s}, pad {p})")


def _col2im_mistakes(cols, shape, kh, kw, s, p, expected, count) -> dict[str, np.ndarray]:
    n, c, h, w = shape
    rows = cols.shape[0]
    oh, ow = out_size(h, kh, s, p), out_size(w, kw, s, p)
    padded = _col2im(cols, (n, c, h + 2 * p, w + 2 * p), kh, kw, s, 0)
    return {
        "rows read in (kh, kw, C) order; tinynet's row index is (c*kh + i)*kw + j": _col2im(
            cols.reshape(kh, kw, c, -1).transpose(2, 0, 1, 3).reshape(rows, -1), shape, kh, kw, s, p
        ),
        "columns read in (OH, OW, N) order; tinynet's column index is (n*OH + y)*OW + x": _col2im(
            cols.reshape(rows, oh, ow, n).transpose(0, 3, 1, 2).reshape(rows, -1),
            shape,
            kh,
            kw,
            s,
            p,
        ),
        "divided by the number of windows covering each pixel: col2im sums, it does not average": (
            expected / np.maximum(count, 1)
        ),
        "the wrong border is cropped: drop pad pixels on every side, keep [pad:pad+H, pad:pad+W]": (
            padded[:, :, :h, :w]
        ),
        "sign flipped": -expected,
    }


@check("col2im")
def check_col2im(col2im) -> str:
    """``col2im(cols (C*kh*kw, N*OH*OW) float64, x_shape, kh, kw, stride, pad) -> (N, C, H, W)``."""
    rng = np.random.default_rng(7)
    errors = []
    for number, (n, c, h, w, kh, kw, s, p) in enumerate(OVERLAPPING):
        try:
            errors.append(_col2im_case(col2im, rng, n, c, h, w, kh, kw, s, p))
        except Wrong as wrong:
            raise Wrong(f"{wrong}{SUSPECT[number]}") from None
    return (
        "accumulates overlapping windows, drops the padding, and is the gradient of im2col "
        f"(rel. error {max(errors):.0e})"
    )


def _col2im_case(col2im, rng, n, c, h, w, kh, kw, s, p) -> float:
    shape = (n, c, h, w)
    cols = rng.standard_normal((c * kh * kw, n * out_size(h, kh, s, p) * out_size(w, kw, s, p)))
    expected = _col2im(cols, shape, kh, kw, s, p)
    names = ("cols", "x_shape", "kh", "kw", "stride", "pad")
    got = call(col2im, cols, shape, kh, kw, s, p, names=names)
    if got is not None and np.shape(got) == (n, c, h + 2 * p, w + 2 * p) and p:
        raise Wrong("returned the padded image: crop pad pixels from every side")
    got = as_array("dx", got, shape)
    where = f" (x {shape}, kernel {kh}x{kw}, stride {s}, pad {p})"
    wrong = ~np.isclose(got, expected, rtol=1e-9, atol=1e-12)
    if wrong.any():
        count = _col2im(np.ones_like(cols), shape, kh, kw, s, p)
        found = diagnose(got, _col2im_mistakes(cols, shape, kh, kw, s, p, expected, count))
        if found is None and (count[wrong] > 1).all():
            found = (
                "wrong only where several windows cover a pixel: overlapping windows must "
                "accumulate (+=), not overwrite (=)"
            )
        raise Wrong((found or differs("dx", got, expected)) + where)
    x = rng.standard_normal(shape)
    return gradcheck(
        "col2im (the gradient of im2col)",
        lambda: float(np.sum(_im2col(x, kh, kw, s, p) * cols)),
        x,
        got,
    )
