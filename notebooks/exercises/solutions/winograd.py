"""Solutions to 3_winograd.ipynb: Winograd's F(m, 3) in 1-D, one 2-D tile, a whole image."""

import numpy as np


def winograd_1d(d, g, BT, G, AT):
    """y (m,) = A^T [(G g) * (B^T d)]: the correlation of d (m+2,) with g (3,), float64."""
    u = G @ g  # the filter at the alpha points (once per filter)
    v = BT @ d  # the input at the alpha points
    return AT @ (u * v)  # alpha multiplications, then back to m outputs


def winograd_tile(d, g, BT, G, AT):
    """Y (m, m) = A^T [(G g G^T) * (B^T d B)] A for one (m+2, m+2) tile d and a 3x3 g."""
    u = G @ g @ G.T  # (alpha, alpha): the 1-D filter transform along both axes
    v = BT @ d @ BT.T  # (alpha, alpha): B^T d B
    return AT @ (u * v) @ AT.T  # alpha^2 multiplications, then A^T M A


def winograd_conv2d(x, w, pad, BT, G, AT):
    """y (H+2pad-2, W+2pad-2): the correlation of x (H, W) with w (3, 3), zero padding pad, by
    overlapping (m+2) x (m+2) input tiles that start every m pixels."""
    m, alpha = AT.shape
    oh, ow = x.shape[0] + 2 * pad - 2, x.shape[1] + 2 * pad - 2
    th, tw = -(-oh // m), -(-ow // m)  # tiles down and across, rounded up
    xp = np.zeros((th * m + 2, tw * m + 2))  # the padded image, zero-extended to whole tiles
    xp[pad : pad + x.shape[0], pad : pad + x.shape[1]] = x
    u = G @ w @ G.T  # the filter transform, once for the whole image
    y = np.empty((th * m, tw * m))
    for ty in range(th):
        for tx in range(tw):
            d = xp[ty * m : ty * m + alpha, tx * m : tx * m + alpha]
            y[ty * m : ty * m + m, tx * m : tx * m + m] = AT @ (u * (BT @ d @ BT.T)) @ AT.T
    return y[:oh, :ow]  # crop what the last tiles computed beyond the output
