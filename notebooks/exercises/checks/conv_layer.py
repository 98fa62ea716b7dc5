"""Checks for notebook 2, part 3: the convolution layer's forward and backward from im2col, with
groups.

The answer is tinynet's own ``Conv2D`` on the reference backend in float64 (weight (F, C/G, kh,
kw), groups of contiguous channels), and the backward is also held to centred differences
(``tinynet.gradcheck``). The cases run from one square image without stride, padding or groups
to every feature at once, adding one feature at a time, so that a wrong answer is reported with
the first feature it gets wrong: a constant hard-coded (stride, padding, kernel size, groups) or a
geometry assumed (one image, a square image or kernel) shows up as right before, wrong after.
"""

from __future__ import annotations

import numpy as np

import tinynet
from tinynet.layers import Conv2D
from tinynet.reference import im2col as reference

from ._report import Wrong, as_array, call, check, close, diagnose, differs, gradcheck

# (what this case adds, N, C, F, H, W, kh, kw, stride, pad, groups), each adding one feature
CASES = (
    ("one square image, 3x3 kernel, stride 1, no padding, groups=1", 1, 2, 3, 5, 5, 3, 3, 1, 0, 1),
    ("a batch of N=3 images", 3, 2, 3, 5, 5, 3, 3, 1, 0, 1),
    ("a non-square image (H=5, W=7)", 2, 3, 2, 5, 7, 3, 3, 1, 0, 1),
    ("a non-square kernel (kh=3, kw=2)", 2, 3, 4, 6, 5, 3, 2, 1, 0, 1),
    ("stride 2", 2, 2, 3, 7, 8, 3, 2, 2, 0, 1),
    ("padding 1", 2, 2, 3, 6, 7, 2, 3, 1, 1, 1),
    ("stride 3 and padding 2", 2, 3, 2, 8, 7, 3, 4, 3, 2, 1),
    ("groups=2", 2, 4, 6, 6, 7, 3, 2, 1, 1, 2),
    ("groups=3 with one channel per group", 1, 3, 6, 7, 6, 2, 3, 2, 2, 3),
    ("groups=3, stride 2, padding 1, everything at once", 3, 6, 9, 7, 9, 3, 2, 2, 1, 3),
)

# what to suspect when a case fails after every case before it passed
SUSPECT = {
    "a batch": "is only image 0 used, something divided by N, or dout / the output reshaped "
    "between (N, F, OH, OW) and the product's (filters, N*OH*OW) without moving the axes?",
    "a non-square image": "is H used where W belongs (OW comes from W)?",
    "a non-square kernel": "is kh used where kw belongs, or the kernel size hard-coded?",
    "stride 2": "is the stride hard-coded, or not passed on to im2col / col2im?",
    "padding 1": "is the padding hard-coded, or not passed on to im2col / col2im?",
    "stride 3": "are the stride or the padding hard-coded?",
    "groups=2": "are the groups ignored, or sliced wrongly? Filter group g (F/G filters) sees "
    "only input channels [g*C/G, (g+1)*C/G), a contiguous block, and so a contiguous block of "
    "cols' rows",
    "groups=3": "is the number of groups hard-coded, or are the groups sliced wrongly?",
}


def _suspect(label: str) -> str:
    return next((hint for start, hint in SUSPECT.items() if label.startswith(start)), "")


def _where(case) -> str:
    _, n, c, f, h, w, kh, kw, s, p, g = case
    return (
        f"x ({n}, {c}, {h}, {w}), weight ({f}, {c // g}, {kh}, {kw}), stride {s}, pad {p}, "
        f"groups {g}"
    )


def _im2col(x, kh, kw, s, p):
    return reference.im2col(x, (kh, kw), (s, s), (p, p))


def _col2im(cols, shape, kh, kw, s, p, overwrite=False):
    if not overwrite:
        return reference.col2im(cols, shape, (kh, kw), (s, s), (p, p))
    n, c, h, w = shape
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    six = cols.reshape(c, kh, kw, n, oh, ow)
    xp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i : i + s * oh : s, j : j + s * ow : s] = six[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, p : p + h, p : p + w]


def _variant(x, w, b, dout, s, p, g, **mistake):
    """(y, dx, dW, db) of the layer computed with one deliberate ``mistake`` (none: the right
    answer, as ``tinynet/reference/conv.py`` computes it)."""
    if mistake.get("interleave_in") or mistake.get("interleave_out"):
        c, f = x.shape[1], w.shape[0]
        plain = {k: v for k, v in mistake.items() if not k.startswith("interleave")}
        pin = np.arange(c).reshape(c // g, g).T.ravel() if mistake.get("interleave_in") else ...
        pout = np.arange(f).reshape(f // g, g).T.ravel() if mistake.get("interleave_out") else ...
        y, dxp, dw, db = _variant(x[:, pin], w[pout], b[pout], dout[:, pout], s, p, g, **plain)
        out = (np.empty_like(y), np.empty_like(dxp), np.empty_like(dw), np.empty_like(db))
        out[0][:, pout], out[1][:, pin], out[2][pout], out[3][pout] = y, dxp, dw, db
        return out
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    if mistake.get("flip"):
        w = w[:, :, ::-1, ::-1]
    oh, ow = dout.shape[2:]
    cols = _im2col(x, kh, kw, s, p).reshape(g, -1, n * oh * ow)  # (G, C/G*kh*kw, N*OH*OW)
    if mistake.get("weight_reshaped"):  # reshaped straight to (C/G*kh*kw, F/G) per group
        wt = w.reshape(g, -1, f // g)
        wg = wt.transpose(0, 2, 1)
    else:
        wg = w.reshape(g, f // g, -1)  # (G, F/G, C/G*kh*kw)
        wt = wg.transpose(0, 2, 1)
    out = wg @ cols
    if mistake.get("nf"):  # (N, F, OH, OW) <-> (F, N*OH*OW) by a reshape alone
        y = out.reshape(n, f, oh, ow)
        rows = dout.reshape(g, f // g, -1)
    else:
        y = out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3)
        rows = dout.transpose(1, 0, 2, 3).reshape(g, f // g, -1)
    if not mistake.get("no_bias"):
        y = y + b[None, :, None, None]
    dw = rows @ cols.transpose(0, 2, 1)  # (G, F/G, C/G*kh*kw)
    if mistake.get("dw_transposed"):
        dw = dw.transpose(0, 2, 1)
    dw = dw.reshape(w.shape)
    if mistake.get("dw_hwc"):
        dw = dw.reshape(f, kh, kw, -1).transpose(0, 3, 1, 2)
    dcols = (wt @ rows).reshape(-1, n * oh * ow)
    dx = _col2im(dcols, x.shape, kh, kw, s, p, overwrite=mistake.get("overwrite", False))
    return y, dx, dw, dout.sum(axis=(0, 2, 3))


INTERLEAVED = (
    "the groups take interleaved channels (channel c in group c % G): tinynet's groups are "
    "contiguous blocks, group g holds input channels [g*C/G, (g+1)*C/G) and filters "
    "[g*F/G, (g+1)*F/G), so cols' rows of a group are contiguous too"
)
NF = (
    "{what} reshaped straight between (N, F, OH, OW) and the product's (F, N*OH*OW): a reshape "
    "keeps memory order, so move the filter axis in front of N first (right only when N = 1)"
)
LAYER_MISTAKES = {  # diagnosis -> mistake; used for y, dx and dW alike (when they differ)
    INTERLEAVED: {"interleave_in": True},
    INTERLEAVED + " ": {"interleave_in": True, "interleave_out": True},
    "the weight is reshaped straight to a (C/G*kh*kw, F/G) matrix per group: a reshape is not a "
    "transpose; flatten each filter (C/G, kh, kw) into one row, in cols' (c, i, j) order": {
        "weight_reshaped": True
    },
    "the kernel is flipped: a convolution layer computes a cross-correlation, like im2col": {
        "flip": True
    },
    "dW is transposed before the reshape: its rows are filters, its columns follow cols' rows "
    "(c, i, j), one per weight of a filter": {"dw_transposed": True},
    "dW's columns are read in (kh, kw, C) order; they follow cols' rows, (c, i, j)": {
        "dw_hwc": True
    },
    "dx overwrites where windows overlap: col2im must accumulate (+=), a pixel read by several "
    "windows gets the sum of their gradients": {"overwrite": True},
    "the bias is not added": {"no_bias": True},
}


def _diagnose_array(label, got, right, variants, sizes) -> str:
    """The diagnosis of ``got`` (one of y, dx, dW, db), which differs from ``right``."""
    n, oh, ow = sizes
    what = "the output" if label == "y" else "dout"
    mistakes = {m.format(what=what): v for m, v in variants.items()}
    mistakes.update(
        {
            f"{label} has the wrong sign": -right,
            f"{label} is divided by N: the loss is already a sum (or mean) over the batch, and "
            "dout carries that; a layer's backward adds up, it does not average": right / n,
            f"{label} is divided by OH*OW: a parameter used at every output pixel gets the sum "
            "of their gradients": right / (oh * ow),
            f"{label} is divided by N*OH*OW (a mean): sum over N, OH and OW": right / (n * oh * ow),
        }
    )
    found = diagnose(got, mistakes)
    return found.strip() if found else differs(label, got, right)


def _layer(case, rng):
    """(x, weight, bias, dout, layer) for ``case``: random x and dout, and tinynet's Conv2D
    (float64, reference backend when run) holding the weight and bias."""
    _, n, c, f, h, w, kh, kw, s, p, g = case
    layer = Conv2D(c, f, (kh, kw), s, p, g, dtype=np.float64, rng=rng)
    x = rng.standard_normal((n, c, h, w))
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    return (
        x,
        layer.params["weight"],
        layer.params["bias"],
        rng.standard_normal((n, f, oh, ow)),
        layer,
    )


def _run_cases(test) -> None:
    """Run ``test(case, rng)`` on every case; a failure names the first feature it gets wrong."""
    rng = np.random.default_rng(10)
    for number, case in enumerate(CASES):
        try:
            with tinynet.backend("reference"):
                test(case, rng)
        except Wrong as wrong:
            after = f"; right up to here, wrong with {case[0]}: {_suspect(case[0])}"
            raise Wrong(f"{wrong} ({_where(case)}){after if number else ''}") from None


@check("conv_forward")
def check_conv_forward(conv_forward) -> str:
    """``conv_forward(x (N, C, H, W), weight (F, C/G, kh, kw), bias (F,), stride, pad, groups)
    -> y (N, F, OH, OW)``, float64: tinynet's Conv2D forward."""

    def test(case, rng):
        x, w, b, dout, layer = _layer(case, rng)
        _, _, _, _, _, _, _, _, s, p, g = case
        expected = layer.forward(x)
        names = ("x", "weight", "bias", "stride", "pad", "groups")
        got = as_array("y", call(conv_forward, x, w, b, s, p, g, names=names), expected.shape)
        if not close(got, expected):
            variants = {
                m: _variant(x, w, b, dout, s, p, g, **v)[0]
                for m, v in LAYER_MISTAKES.items()
                if not set(v) & {"dw_transposed", "dw_hwc", "overwrite"}
            }
            variants[NF] = _variant(x, w, b, dout, s, p, g, nf=True)[0]
            raise Wrong(_diagnose_array("y", got, expected, variants, (1, 1, 1)))

    _run_cases(test)
    return (
        "matches tinynet's Conv2D with batches, non-square images and kernels, stride, padding "
        "and groups"
    )


@check("conv_backward")
def check_conv_backward(conv_backward) -> str:
    """``conv_backward(x, weight, dout (N, F, OH, OW), stride, pad, groups) -> (dx, dW, db)``,
    float64: tinynet's Conv2D backward, and centred differences."""
    errors = []

    def test(case, rng):
        x, w, b, dout, layer = _layer(case, rng)
        _, n, _, f, _, _, _, _, s, p, g = case
        oh, ow = dout.shape[2:]
        layer.forward(x)
        expected = (layer.backward(dout), layer.grads["weight"], layer.grads["bias"])
        names = ("x", "weight", "dout", "stride", "pad", "groups")
        got = call(conv_backward, x, w, dout, s, p, g, names=names)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Wrong(f"expected a tuple (dx, dW, db), got {type(got).__name__}")
        if np.shape(got[2]) in ((n, f, oh, ow), (f, oh, ow), (n, f)):
            raise Wrong(
                f"db has shape {np.shape(got[2])}: the bias is added at every pixel of every "
                f"image, so db sums dout over N, OH and OW, shape ({f},)"
            )
        variants = [_variant(x, w, b, dout, s, p, g, **v) for v in LAYER_MISTAKES.values()]
        wrong_nf = _variant(x, w, b, dout, s, p, g, nf=True)
        for k, label in enumerate(("dx", "dW", "db")):
            array = as_array(label, got[k], expected[k].shape)
            if not close(array, expected[k]):
                mistakes = {m: v[k + 1] for m, v in zip(LAYER_MISTAKES, variants)}
                mistakes[NF] = wrong_nf[k + 1]
                mistakes = {m: a for m, a in mistakes.items() if not close(a, expected[k])}
                raise Wrong(_diagnose_array(label, array, expected[k], mistakes, (n, oh, ow)))
        if case is CASES[-1]:  # the answer against centred differences, every feature at once

            def loss():
                return float(np.sum(_variant(x, w, b, dout, s, p, g)[0] * dout))

            errors.extend(
                gradcheck(label, loss, a, got[k])
                for k, (label, a) in enumerate((("dx", x), ("dW", w), ("db", b)))
            )

    _run_cases(test)
    return (
        "matches tinynet's Conv2D backward with batches, non-square images and kernels, stride, "
        f"padding and groups, and centred differences (rel. error {max(errors):.0e})"
    )
