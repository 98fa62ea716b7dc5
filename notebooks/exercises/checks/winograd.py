"""Checks for notebook 3: Winograd minimal filtering F(m, 3) in 1-D, one 2-D tile, a whole image.

Conventions (those of ``tinynet/reference/winograd.py``): the transforms are given as
B^T (alpha, alpha), G (alpha, 3) and A^T (m, alpha), alpha = m + 2, and a tile computes the
cross-correlation (the kernel is not flipped):

    1-D:  y = A^T [(G g) * (B^T d)],            y[i] = sum_j g[j] d[i + j]
    2-D:  Y = A^T [(G g G^T) * (B^T d B)] A,    Y[i, j] = sum_{u, v} g[u, v] d[i + u, j + v]

Every answer is checked twice: with true transforms (F(2, 3), F(4, 3) and F(5, 3)) against direct
correlation, and with random matrices (of F(3, 3)'s shapes) against the formula itself, so that
direct correlation, which would give the right numbers without the transforms, is caught too, and
so that neither m nor alpha can be hard-coded.
"""

from __future__ import annotations

import numpy as np

from ._report import Wrong, _NotImplemented, as_array, call, check, close, diagnose, differs
from .winograd_maths import NAMES_1D, NAMES_CONV, correlate, random_transforms, tile, transforms


def _with_hint(fn, args, names, hint):
    """``call``, with ``hint`` added when the student's function raises."""
    try:
        return call(fn, *args, names=names)
    except (Wrong, _NotImplemented) as error:
        if isinstance(error, Wrong) and " raised " in str(error):
            raise Wrong(f"{str(error).rstrip()} ({hint})") from None
        raise


def _hard_coded(message: str, passed: list[int], m: int, what: str = "{m}, 3") -> str:
    """``message`` with a hint when an earlier F(m', 3) passed and this F(m, 3) did not."""
    other = [p for p in passed if p != m]
    if not other or m in passed:
        return message
    label = what.format(m=other[-1])
    return (
        f"{message}; right with F({label}) but not F({what.format(m=m)}): are m or alpha "
        f"hard-coded? read both from AT.shape"
    )


def _direct(got, expected, what) -> None:
    """Wrong when ``got`` is the correlation but not the formula with random matrices."""
    if close(got, expected):
        raise Wrong(
            f"with random matrices in place of the transforms the answer is still the plain "
            f"correlation: {what} computes it directly instead of through BT, G and AT"
        )


M_TRUE = (2, 4, 5)  # the engine's F(m, 3): even and odd m, alpha = 4, 6, 7
M_RANDOM = 3  # random matrices of F(3, 3)'s shapes: a size that no true case has
# (m, H, W, pad): square then not, m dividing OH and OW or not, pad 0 to 2, m odd
CONV_CASES = (
    (2, 13, 13, 1),
    (4, 13, 13, 1),
    (4, 9, 11, 0),
    (2, 8, 8, 1),
    (4, 6, 7, 2),
    (5, 12, 9, 1),
)


# -- 1. one-dimensional F(m, 3) ------------------------------------------------------------------


def _mistakes_1d(d, g, bt, gm, at) -> dict[str, np.ndarray]:
    return {
        "the kernel is flipped: Winograd's F(m, 3) computes the correlation y[i] = sum_j g[j] "
        "d[i + j] (like every framework's 'convolution'), not the convolution with g reversed": (
            at @ ((gm @ g[::-1]) * (bt @ d))
        ),
        "the input transform is transposed: V = BT @ d (BT is B^T, given already transposed)": (
            at @ ((gm @ g) * (bt.T @ d))
        ),
        "A^T is applied to each factor before multiplying: the elementwise product comes first, "
        "then one A^T maps its alpha values to the m outputs": (at @ (gm @ g)) * (at @ (bt @ d)),
        "the product is taken with the untransformed filter or input: both go to the alpha "
        "points first, U = G @ g and V = BT @ d": at @ ((gm @ g) * d),
    }


def _check_1d(fn, d, g, mats, expected) -> np.ndarray:
    bt, gm, at = mats
    m, alpha = at.shape
    got = _with_hint(
        fn, (d, g, bt, gm, at), NAMES_1D, "G @ g and BT @ d both have alpha = m + 2 entries"
    )
    if got is not None and np.shape(got) == (alpha,):
        raise Wrong(
            f"y has shape ({alpha},), expected ({m},): that is the elementwise product at the "
            f"alpha = {alpha} points; AT ({m} x {alpha}) maps it to the m outputs"
        )
    got = as_array("y", got, (m,))
    if not close(got, expected):
        found = diagnose(got, _mistakes_1d(d, g, bt, gm, at))
        raise Wrong((found or differs("y", got, expected)) + f" (F({m}, 3))")
    return got


@check("winograd_1d")
def check_winograd_1d(winograd_1d) -> str:
    """``winograd_1d(d (m+2,), g (3,), BT, G, AT) -> y (m,)``, all float64."""
    rng = np.random.default_rng(21)
    passed = []
    for m in M_TRUE:
        d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
        try:
            _check_1d(winograd_1d, d, g, transforms(m), correlate(d, g))
        except Wrong as wrong:
            raise Wrong(_hard_coded(str(wrong), passed, m)) from None
        passed.append(m)
    m = M_RANDOM
    d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
    bt, gm, at = mats = random_transforms(m, rng)
    try:
        got = call(winograd_1d, d, g, *mats, names=NAMES_1D)
        _direct(as_array("y", got, (m,)), correlate(d, g), "winograd_1d")
        _check_1d(winograd_1d, d, g, mats, at @ ((gm @ g) * (bt @ d)))
    except Wrong as wrong:
        raise Wrong(_hard_coded(f"{wrong} (random matrices)", passed, m)) from None
    return (
        "y = A^T [(G g) * (B^T d)] equals the direct correlation for F(2, 3), F(4, 3), F(5, 3) "
        "and the formula for random matrices of F(3, 3)'s shapes"
    )


# -- 2. one two-dimensional tile F(m x m, 3 x 3) --------------------------------------------------


def _mistakes_tile(d, g, bt, gm, at) -> dict[str, np.ndarray]:
    u, v = gm @ g @ gm.T, bt @ d @ bt.T
    return {
        "the kernel is flipped: the tile computes the correlation Y[i, j] = sum g[u, v] "
        "d[i + u, j + v], not the convolution with g rotated by 180 degrees": (
            tile(d, g[::-1, ::-1], bt, gm, at)
        ),
        "the input transform is transposed: V = B^T d B = BT @ d @ BT.T (BT is B^T already)": (
            at @ (u * (bt.T @ d @ bt)) @ at.T
        ),
        "the filter is transposed (G g^T G^T): rows of g run down the image, Y[i, j] = "
        "sum g[u, v] d[i + u, j + v]": tile(d, g.T, bt, gm, at),
        "the result is transposed: Y[i, j] is output row i, column j": tile(d, g, bt, gm, at).T,
        "a matrix product (@) where the elementwise product belongs: M = U * V, one "
        "multiplication per point, alpha^2 in all": at @ (u @ v) @ at.T,
        "A^T ... A is applied to each factor before multiplying: the elementwise product comes "
        "first, then Y = A^T M A": (at @ u @ at.T) * (at @ v @ at.T),
    }


def _check_tile(fn, d, g, mats, expected) -> np.ndarray:
    bt, gm, at = mats
    m, alpha = at.shape
    got = _with_hint(
        fn,
        (d, g, bt, gm, at),
        NAMES_1D,
        f"U = G g G^T and V = B^T d B are both {alpha} x {alpha}: G multiplies the 3 x 3 filter "
        f"on both sides, G @ g @ G.T, and G @ g alone is {alpha} x 3",
    )
    if got is not None and np.shape(got) == (alpha, alpha):
        raise Wrong(
            f"Y has shape ({alpha}, {alpha}), expected ({m}, {m}): the output transform is "
            f"missing or reversed, Y = A^T M A = AT @ M @ AT.T"
        )
    got = as_array("Y", got, (m, m))
    if not close(got, expected):
        found = diagnose(got, _mistakes_tile(d, g, bt, gm, at))
        raise Wrong((found or differs("Y", got, expected)) + f" (F({m}x{m}, 3x3))")
    return got


@check("winograd_tile")
def check_winograd_tile(winograd_tile) -> str:
    """``winograd_tile(d (m+2, m+2), g (3, 3), BT, G, AT) -> Y (m, m)``, all float64."""
    rng = np.random.default_rng(22)
    passed, label = [], "{m}x{m}, 3x3"
    for m in M_TRUE:
        d, g = rng.standard_normal((m + 2, m + 2)), rng.standard_normal((3, 3))
        try:
            _check_tile(winograd_tile, d, g, transforms(m), correlate(d, g))
        except Wrong as wrong:
            raise Wrong(_hard_coded(str(wrong), passed, m, label)) from None
        passed.append(m)
    m = M_RANDOM
    d, g = rng.standard_normal((m + 2, m + 2)), rng.standard_normal((3, 3))
    mats = random_transforms(m, rng)
    try:
        got = call(winograd_tile, d, g, *mats, names=NAMES_1D)
        _direct(as_array("Y", got, (m, m)), correlate(d, g), "winograd_tile")
        _check_tile(winograd_tile, d, g, mats, tile(d, g, *mats))
    except Wrong as wrong:
        raise Wrong(_hard_coded(f"{wrong} (random matrices)", passed, m, label)) from None
    return (
        "Y = A^T [(G g G^T) * (B^T d B)] A equals the direct correlation for F(2x2), F(4x4), "
        "F(5x5) and the formula for random matrices of F(3x3)'s shapes"
    )


# -- 3. a whole image by overlapping tiles --------------------------------------------------------


def tiled(x, w, pad, bt, gm, at, step=None, centred=True, crop=True):
    """The single-channel convolution by tiles (a right answer with the defaults).

    ``step``: where input tiles start (m when None); ``centred=False`` puts all the padding
    below and right; ``crop=False`` returns the whole tiles.
    """
    m, alpha = at.shape
    step = step or m
    oh, ow = x.shape[0] + 2 * pad - 2, x.shape[1] + 2 * pad - 2
    th, tw = -(-oh // m), -(-ow // m)
    xp = np.zeros(((th - 1) * step + alpha + 2 * pad, (tw - 1) * step + alpha + 2 * pad))
    top = pad if centred else 0
    xp[top : top + x.shape[0], top : top + x.shape[1]] = x
    y = np.zeros((th * m, tw * m))
    for ty in range(th):
        for tx in range(tw):
            d = xp[ty * step : ty * step + alpha, tx * step : tx * step + alpha]
            y[ty * m : ty * m + m, tx * m : tx * m + m] = tile(d, w, bt, gm, at)
    return y[:oh, :ow] if crop else y


def _mistakes_conv(x, w, pad, mats) -> dict[str, np.ndarray]:
    bt, gm, at = mats
    m, alpha = at.shape
    return {
        f"input tiles step by alpha = {alpha}: they must start every m = {m} pixels and overlap "
        f"by 2 (the kernel's reach), since each produces m outputs": (
            tiled(x, w, pad, *mats, step=alpha)
        ),
        "the kernel is flipped: the layer computes the correlation y[i, j] = sum w[u, v] "
        "xpad[i + u, j + v], not the convolution with w rotated by 180 degrees": (
            tiled(x, w[::-1, ::-1], pad, *mats)
        ),
        "the input transform is transposed: V = B^T d B = BT @ d @ BT.T (BT is B^T already)": (
            tiled(x, w, pad, bt.T, gm, at)
        ),
        "the image is not centred in its padding: pad zeros above and left as well as below "
        "and right": tiled(x, w, pad, *mats, centred=False),
        "the result is transposed": tiled(x, w, pad, *mats).T,
    }


def _check_conv(fn, x, w, pad, mats, expected) -> None:
    bt, gm, at = mats
    m, alpha = at.shape
    oh, ow = expected.shape
    th, tw = -(-oh // m), -(-ow // m)
    where = f" (x {x.shape}, pad {pad}, F({m}x{m}, 3x3): {th} x {tw} tiles)"
    got = _with_hint(
        fn,
        (x, w, pad, bt, gm, at),
        NAMES_CONV,
        f"if a tile came out smaller than {alpha} x {alpha}, the last tiles reach past the "
        f"padded image: extend it with zeros to tiles * m + 2 = {th * m + 2} x {tw * m + 2}",
    )
    shape = np.shape(got) if got is not None else None
    if shape == (th * m, tw * m) and shape != (oh, ow):
        raise Wrong(
            f"y has shape {shape}, expected {(oh, ow)}: the whole tiles are returned; crop "
            f"the output to OH x OW = (H + 2 pad - 2) x (W + 2 pad - 2)" + where
        )
    if shape == (oh - 2 * pad, ow - 2 * pad) and pad:
        raise Wrong(f"y has shape {shape}, expected {(oh, ow)}: the padding is ignored" + where)
    got = as_array("y", got, (oh, ow))
    if close(got, expected):
        return
    found = diagnose(got, _mistakes_conv(x, w, pad, mats))
    if found is None:
        bad = ~np.isclose(got, expected, rtol=1e-7, atol=1e-9)
        i, j = (int(k) for k in np.argwhere(bad)[0])
        fh, fw = oh // m * m, ow // m * m  # what whole tiles cover
        if (fh, fw) != (oh, ow) and not bad[:fh, :fw].any():
            found = (
                f"the outputs that whole tiles cover are right, the last partial tiles are "
                f"not: {th} x {tw} tiles (rounded up) are needed when m = {m} does not divide "
                f"OH = {oh} or OW = {ow}; extend the padded image with zeros, then crop"
            )
        elif not bad[:m, :m].any():
            found = (
                f"the first tile is right but tile ({i // m}, {j // m}) is wrong (output "
                f"[{i}, {j}]): output tile (ty, tx) comes from the input tile at rows ty*m to "
                f"ty*m + {alpha}, columns tx*m to tx*m + {alpha} of the padded image"
            )
        else:
            found = differs("y", got, expected)
    raise Wrong(found + where)


@check("winograd_conv2d")
def check_winograd_conv2d(winograd_conv2d) -> str:
    """``winograd_conv2d(x (H, W), w (3, 3), pad, BT, G, AT) -> y (H+2pad-2, W+2pad-2)``."""
    rng = np.random.default_rng(23)
    passed, label = [], "{m}x{m}, 3x3"
    for m, h, wd, pad in CONV_CASES:
        x, w = rng.standard_normal((h, wd)), rng.standard_normal((3, 3))
        expected = correlate(np.pad(x, pad), w)
        try:
            _check_conv(winograd_conv2d, x, w, pad, transforms(m), expected)
        except Wrong as wrong:
            message = _hard_coded(str(wrong), [p for p, _ in passed], m, label)
            squares = [s for _, s in passed if s[0] == s[1]]
            if h != wd and squares and len(squares) == len(passed):
                message += (
                    f"; right for the square x {squares[-1]} but not for x {(h, wd)}: are H "
                    f"and W (or OH and OW, or the tile counts) mixed up?"
                )
            raise Wrong(message) from None
        passed.append((m, (h, wd)))
    m = M_RANDOM
    x, w = rng.standard_normal((9, 10)), rng.standard_normal((3, 3))
    mats = random_transforms(m, rng)
    try:
        got = call(winograd_conv2d, x, w, 1, *mats, names=NAMES_CONV)
        _direct(as_array("y", got, (9, 10)), correlate(np.pad(x, 1), w), "winograd_conv2d")
        _check_conv(winograd_conv2d, x, w, 1, mats, tiled(x, w, 1, *mats))
    except Wrong as wrong:
        message = _hard_coded(f"{wrong} (random matrices)", [p for p, _ in passed], m, label)
        raise Wrong(message) from None
    return (
        "overlapping tiles every m pixels, zero-extended and cropped, equal the direct "
        "correlation (13x13, 9x11, 8x8, 6x7, 12x9; pad 0 to 2; F(2x2), F(4x4), F(5x5)) and the "
        "formula for random matrices of F(3x3)'s shapes"
    )
