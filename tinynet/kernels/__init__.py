"""The fast backend's Numba-compiled hot loops; ``tinynet/reference/`` holds their readable twins,
with the same names and results, and the tests hold each kernel to its twin.

Every kernel is ``@njit(cache=True)``. The parallel ones split their work so that no two
iterations ever write the same element (by channel, by row of the column matrix, or by image).
BLAS is never called from inside a Numba loop.
"""

from . import winograd  # Winograd F(m x m, r x r), r = 3 or 5: the transforms
from ._jit import cache_is_warm
from .im2col import col2im, im2col
from .lrn import lrn_backward, lrn_forward
from .pool import maxpool_backward, maxpool_forward
from .transpose import nchw_to_rows, rows_to_nchw

__all__ = [
    "cache_is_warm",
    "im2col",
    "col2im",
    "maxpool_forward",
    "maxpool_backward",
    "lrn_forward",
    "lrn_backward",
    "rows_to_nchw",
    "nchw_to_rows",
    "winograd",
]
