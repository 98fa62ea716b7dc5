"""Self-checks for the exercise notebooks in notebooks/exercises/.

Each ``check_*`` takes the student's function(s), prints one line ``PASS name: ...`` or
``FAIL name: <what is wrong>`` and returns a ``Result`` (true when it passed). A check never
raises for a wrong answer, so a notebook runs top to bottom with its stubs unfilled.
"""

from ._report import Result
from .conv import check_col2im, check_im2col
from .conv_layer import check_conv_backward, check_conv_forward
from .dense import check_linear_backward, check_relu_backward, check_softmax_ce_backward
from .dropout_sgd import check_dropout, check_sgd_step
from .gradcheck import check_numerical_gradient, check_rel_error
from .pool_lrn import check_lrn_backward, check_maxpool_backward
from .saliency import check_saliency
from .training import check_initial_loss, check_overfit, check_train_steps
from .winograd import check_winograd_1d, check_winograd_conv2d, check_winograd_tile

__all__ = [
    "Result",
    "check_relu_backward",
    "check_numerical_gradient",
    "check_rel_error",
    "check_linear_backward",
    "check_softmax_ce_backward",
    "check_dropout",
    "check_sgd_step",
    "check_im2col",
    "check_col2im",
    "check_conv_forward",
    "check_conv_backward",
    "check_maxpool_backward",
    "check_lrn_backward",
    "check_winograd_1d",
    "check_winograd_tile",
    "check_winograd_conv2d",
    "check_initial_loss",
    "check_train_steps",
    "check_overfit",
    "check_saliency",
]
