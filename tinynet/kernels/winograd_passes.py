"""The two passes of a Winograd transform over one row of tiles (serial helpers of winograd.py).

A transform L X R^T of every alpha x alpha (or m x m) tile X is done in two passes, a row pass
(L on the left) and a column pass (R on the right), each over a whole row of tiles at once:

* ``_left_on_rows`` / ``_right_into_slabs`` go from channels-last image rows to the GEMM layout
  (the input and dY transforms): the row pass runs once over the image rows, shared by the
  overlapping tiles, and the column pass writes each (a, b) slab's block of the tile row as one
  contiguous run.
* ``_left_from_slabs`` / ``_right_into_rows`` go back (the output transform and the adjoint input
  transform): the row pass reads each slab's block once, as one contiguous run, and the column
  pass adds the tiles into channels-last rows.

Slabs are the (E, G, T, C/G) arrays of winograd.py; a tile row is the tiles t0 .. t0 + nt - 1.
Zero matrix entries are skipped. Copies and sums go through views, whose indices the compiler
knows are not negative, so that the loops over channels vectorise.
"""

from __future__ import annotations

from ._jit import kernel


@kernel
def _left_on_rows(left, rows, tmp):
    """tmp[a, col, :] = sum_i left[a, i] rows[i, col, :]; rows (R, cols, C), tmp (A, cols, C)."""
    for a in range(left.shape[0]):
        tmp[a] = 0
        for i in range(left.shape[1]):
            f = left[a, i]
            if f != 0:
                for col in range(rows.shape[1]):
                    src, dst = rows[i, col], tmp[a, col]
                    for c in range(src.shape[0]):
                        dst[c] += f * src[c]


@kernel
def _right_into_slabs(tmp, right, m, c0, slabs, g, t0, nt):
    """slabs[a * alpha + b, g, t0 + t, :] = sum_j right[b, j] tmp[a, t * m + j, c0 + c]: the
    column pass of the tiles t0 .. t0 + nt - 1 (tile t's columns start at t * m); alpha =
    right.shape[0], c over the C/G channels of group g."""
    alpha, cg = right.shape[0], slabs.shape[3]
    for a in range(tmp.shape[0]):
        for b in range(alpha):
            block = slabs[a * alpha + b, g, t0 : t0 + nt]
            for t in range(nt):
                dst = block[t]
                dst[:] = 0
                for j in range(right.shape[1]):
                    f = right[b, j]
                    if f != 0:
                        src = tmp[a, t * m + j, c0 : c0 + cg]
                        for c in range(cg):
                            dst[c] += f * src[c]


@kernel
def _left_from_slabs(left, slabs, g, t0, tmp):
    """tmp[i, b, t, :] = sum_a left[i, a] slabs[a * alpha + b, g, t0 + t, :] for the tmp.shape[2]
    tiles from t0; tmp (L, alpha, nt, C/G). Each slab block is read once."""
    alpha, nt = tmp.shape[1], tmp.shape[2]
    tmp[...] = 0
    for a in range(alpha):
        for b in range(alpha):
            block = slabs[a * alpha + b, g, t0 : t0 + nt]
            for i in range(left.shape[0]):
                f = left[i, a]
                if f != 0:
                    for t in range(nt):
                        src, dst = block[t], tmp[i, b, t]
                        for c in range(src.shape[0]):
                            dst[c] += f * src[c]


@kernel
def _right_into_rows(tmp, right, m, c0, rows):
    """rows[i, t * m + j, c0 + c] += sum_b tmp[i, b, t, c] right[j, b]: the column pass, added
    into channels-last rows (overlapping tiles accumulate); tmp (L, alpha, nt, C/G)."""
    cg = tmp.shape[3]
    for i in range(tmp.shape[0]):
        for t in range(tmp.shape[2]):
            for j in range(right.shape[0]):
                dst = rows[i, t * m + j, c0 : c0 + cg]
                for b in range(tmp.shape[1]):
                    f = right[j, b]
                    if f != 0:
                        src = tmp[i, b, t]
                        for c in range(cg):
                            dst[c] += f * src[c]
