"""Self-checks for the exercise notebooks in notebooks/exercises/.

Each ``check_*`` takes the student's function(s), prints one line ``PASS name: ...`` or
``FAIL name: <what is wrong>`` and returns a ``Result`` (true when it passed). A check never
raises for a wrong answer, so a notebook runs top to bottom with its stubs unfilled.
"""

from ._report import Result
from .conv import check_col2im, check_im2col
from .dense import check_linear_backward, check_relu_backward, check_softmax_ce_backward
from .dropout_sgd import check_dropout, check_sgd_step
from .pool_lrn import check_lrn_backward, check_maxpool_backward
from .winograd import check_winograd_1d, check_winograd_conv2d, check_winograd_tile

__all__ = [
    "Result",
    "check_relu_backward",
    "check_linear_backward",
    "check_softmax_ce_backward",
    "check_dropout",
    "check_sgd_step",
    "check_im2col",
    "check_col2im",
    "check_maxpool_backward",
    "check_lrn_backward",
    "check_winograd_1d",
    "check_winograd_tile",
    "check_winograd_conv2d",
]
