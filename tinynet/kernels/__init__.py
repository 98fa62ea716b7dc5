"""Numba-compiled hot loops, each beside a plain NumPy reference that the tests compare against.

Every kernel is ``@njit(cache=True)``. The parallel ones split their work so that no two
iterations ever write the same element (by channel, by row of the column matrix, or by image).
BLAS is never called from inside a Numba loop.
"""

from . import winograd  # Winograd F(m x m, r x r), r = 3 or 5: the transforms
from ._jit import cache_is_warm
from .im2col import col2im, col2im_reference, im2col, im2col_reference
from .lrn import lrn_backward, lrn_backward_reference, lrn_forward, lrn_forward_reference
from .pool import (
    maxpool_backward,
    maxpool_backward_reference,
    maxpool_forward,
    maxpool_forward_reference,
)
from .transpose import nchw_to_rows, nchw_to_rows_reference, rows_to_nchw, rows_to_nchw_reference

__all__ = [
    "cache_is_warm",
    "im2col",
    "im2col_reference",
    "col2im",
    "col2im_reference",
    "maxpool_forward",
    "maxpool_forward_reference",
    "maxpool_backward",
    "maxpool_backward_reference",
    "lrn_forward",
    "lrn_forward_reference",
    "lrn_backward",
    "lrn_backward_reference",
    "rows_to_nchw",
    "rows_to_nchw_reference",
    "nchw_to_rows",
    "nchw_to_rows_reference",
    "winograd",
]
