"""Deliberately wrong answers to notebooks/exercises/3_winograd.ipynb, each with a piece of the
diagnosis its check must print (appended to ``WRONG`` in tests/helpers/exercise_mistakes.py)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

EXERCISE_DIR = Path(__file__).resolve().parents[2] / "notebooks" / "exercises"
sys.path.insert(0, str(EXERCISE_DIR))
W = importlib.import_module("solutions.winograd")


def correlate_1d(d, g, BT, G, AT):
    return np.array([d[i : i + 3] @ g for i in range(len(d) - 2)])


def tile_by(u=None, v=None, product=None, output=None):
    """A winograd_tile with one step replaced: U, V, their product, the output transform."""

    def winograd_tile(d, g, BT, G, AT):
        uu = G @ g @ G.T if u is None else u(g, G)
        vv = BT @ d @ BT.T if v is None else v(d, BT)
        mm = uu * vv if product is None else product(uu, vv)
        return AT @ mm @ AT.T if output is None else output(mm, AT)

    return winograd_tile


def correlate_tile(d, g, BT, G, AT):
    m = AT.shape[0]
    return np.array([[np.sum(d[i : i + 3, j : j + 3] * g) for j in range(m)] for i in range(m)])


def conv_by(step=False, crop=True, flip=False, centred=True, zero_extend=True, tile=None):
    """A winograd_conv2d with one mistake (``step``: tiles start every alpha pixels)."""

    def winograd_conv2d(x, w, pad, BT, G, AT):
        m, alpha = AT.shape
        s = alpha if step else m
        oh, ow = x.shape[0] + 2 * pad - 2, x.shape[1] + 2 * pad - 2
        th, tw = -(-oh // m), -(-ow // m)
        if zero_extend:
            xp = np.zeros(((th - 1) * s + alpha + 2 * pad, (tw - 1) * s + alpha + 2 * pad))
        else:
            xp = np.zeros((x.shape[0] + 2 * pad, x.shape[1] + 2 * pad))
        top = pad if centred else 0
        xp[top : top + x.shape[0], top : top + x.shape[1]] = x
        ww = w[::-1, ::-1] if flip else w
        y = np.zeros((th * m, tw * m))
        for ty in range(th):
            for tx in range(tw):
                d = xp[ty * s : ty * s + alpha, tx * s : tx * s + alpha]
                y[ty * m : ty * m + m, tx * m : tx * m + m] = (tile or W.winograd_tile)(
                    d, ww, BT, G, AT
                )
        return y[:oh, :ow] if crop else y

    return winograd_conv2d


def conv_last_tile_row_skipped(x, w, pad, BT, G, AT):
    y = W.winograd_conv2d(x, w, pad, BT, G, AT)
    y[-1] = 0
    return y


def conv_columns_step_alpha(x, w, pad, BT, G, AT):
    """Input tiles step by m down the rows but by alpha along them."""
    m, alpha = AT.shape
    oh, ow = x.shape[0] + 2 * pad - 2, x.shape[1] + 2 * pad - 2
    th, tw = -(-oh // m), -(-ow // m)
    xp = np.zeros((th * m + 2, tw * alpha + 2))
    xp[pad : pad + x.shape[0], pad : pad + x.shape[1]] = x
    y = np.zeros((th * m, tw * m))
    for ty in range(th):
        for tx in range(tw):
            d = xp[ty * m : ty * m + alpha, tx * alpha : tx * alpha + alpha]
            y[ty * m : ty * m + m, tx * m : tx * m + m] = W.winograd_tile(d, w, BT, G, AT)
    return y[:oh, :ow]


def conv_direct(x, w, pad, BT, G, AT):
    xp = np.pad(x, pad)
    oh, ow = xp.shape[0] - 2, xp.shape[1] - 2
    return np.array([[np.sum(xp[i : i + 3, j : j + 3] * w) for j in range(ow)] for i in range(oh)])


def conv_general(x, w, pad, BT, G, AT, m=None, alpha=None, square=False, floor=False, swap=False):
    """A winograd_conv2d with m or alpha hard-coded, a square image assumed, the tile count
    rounded down (tiles assumed to fit exactly), or OH and OW swapped."""
    m, alpha = m or AT.shape[0], alpha or AT.shape[1]
    h, wd = x.shape[0], x.shape[0] if square else x.shape[1]
    oh, ow = h + 2 * pad - 2, wd + 2 * pad - 2
    oh, ow = (ow, oh) if swap else (oh, ow)
    th, tw = (oh // m, ow // m) if floor else (-(-oh // m), -(-ow // m))
    xp = np.zeros((max(th * m + 2, h + 2 * pad), max(tw * m + 2, wd + 2 * pad)))
    xp[pad : pad + x.shape[0], pad : pad + x.shape[1]] = x
    y = np.zeros((max(th * m, oh), max(tw * m, ow)))
    u = G @ w @ G.T
    for ty in range(th):
        for tx in range(tw):
            d = xp[ty * m : ty * m + alpha, tx * m : tx * m + alpha]
            y[ty * m : ty * m + m, tx * m : tx * m + m] = AT @ (u * (BT @ d @ BT.T)) @ AT.T
    return y[:oh, :ow]


def f23_only_1d(d, g, BT, G, AT):
    """F(2, 3) written out: m = 2 and alpha = 4 hard-coded."""
    return AT[:2, :4] @ ((G[:4] @ g) * (BT[:4, :4] @ d[:4]))


def f23_only_tile(d, g, BT, G, AT):
    at, bt, gm = AT[:2, :4], BT[:4, :4], G[:4]
    return at @ ((gm @ g @ gm.T) * (bt @ d[:4, :4] @ bt.T)) @ at.T


WRONG = [
    ("winograd_1d", lambda d, g, BT, G, AT: AT @ ((G @ g[::-1]) * (BT @ d)), "kernel is flipped"),
    ("winograd_1d", lambda d, g, BT, G, AT: AT @ ((G @ g) * (BT.T @ d)), "input transform is"),
    (
        "winograd_1d",
        lambda d, g, BT, G, AT: (AT @ (G @ g)) * (AT @ (BT @ d)),
        "product comes first",
    ),
    ("winograd_1d", lambda d, g, BT, G, AT: (G @ g) * (BT @ d), "AT ("),
    ("winograd_1d", lambda d, g, BT, G, AT: AT @ ((G @ g) * d), "untransformed filter or input"),
    ("winograd_1d", lambda d, g, BT, G, AT: AT @ ((G.T @ g) * (BT @ d)), "alpha = m + 2 entries"),
    ("winograd_1d", correlate_1d, "computes it directly"),
    ("winograd_1d", lambda d, g, BT, G, AT: None, "forget to return"),
    ("winograd_tile", tile_by(u=lambda g, G: G @ g), "G @ g alone is"),
    ("winograd_tile", tile_by(v=lambda d, BT: BT.T @ d @ BT), "input transform is transposed"),
    ("winograd_tile", tile_by(u=lambda g, G: G @ g.T @ G.T), "the filter is transposed"),
    ("winograd_tile", tile_by(u=lambda g, G: G @ g[::-1, ::-1] @ G.T), "kernel is flipped"),
    ("winograd_tile", tile_by(output=lambda mm, AT: (AT @ mm @ AT.T).T), "result is transposed"),
    ("winograd_tile", tile_by(product=lambda u, v: u @ v), "a matrix product (@)"),
    ("winograd_tile", tile_by(output=lambda mm, AT: mm), "output transform is missing"),
    ("winograd_tile", correlate_tile, "computes it directly"),
    ("winograd_conv2d", conv_by(step=True), "step by alpha"),
    ("winograd_conv2d", conv_by(crop=False), "crop the output"),
    ("winograd_conv2d", conv_by(flip=True), "kernel is flipped"),
    ("winograd_conv2d", conv_by(centred=False), "not centred in its padding"),
    ("winograd_conv2d", conv_by(zero_extend=False), "extend it with zeros"),
    ("winograd_conv2d", conv_by(tile=tile_by(v=lambda d, BT: BT.T @ d @ BT)), "input transform"),
    ("winograd_conv2d", conv_last_tile_row_skipped, "the last partial tiles are not"),
    ("winograd_conv2d", conv_columns_step_alpha, "the first tile is right but tile"),
    ("winograd_conv2d", lambda x, w, pad, *m: conv_direct(x, w, 0, *m), "padding is ignored"),
    ("winograd_conv2d", conv_direct, "computes it directly"),
    ("winograd_1d", f23_only_1d, "are m or alpha hard-coded?"),
    ("winograd_tile", f23_only_tile, "are m or alpha hard-coded?"),
    ("winograd_conv2d", lambda *a: conv_general(*a, m=2), "are m or alpha hard-coded?"),
    ("winograd_conv2d", lambda *a: conv_general(*a, alpha=4), "are m or alpha hard-coded?"),
    ("winograd_conv2d", lambda *a: conv_general(*a, square=True), "are H and W"),
    ("winograd_conv2d", lambda *a: conv_general(*a, swap=True), "are H and W"),
    ("winograd_conv2d", lambda *a: conv_general(*a, floor=True), "the last partial tiles"),
]
