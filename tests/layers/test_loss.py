"""Tests of ``tinynet.layers.loss``."""

import warnings

import numpy as np
import pytest

from tinynet.gradcheck import check_loss
from tinynet.layers.loss import SoftmaxCrossEntropy, log_softmax, softmax

from ..helpers.gradients import TOL


def test_loss_by_hand():
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), np.array([0, 1]))
    assert np.isclose(loss, (np.log(2) + np.log(4)) / 2)
    np.testing.assert_allclose(loss_fn.backward(), [[-0.25, 0.25], [0.375, -0.375]])


@pytest.mark.parametrize("fill, dtype", [(None, "object"), (1 + 2j, "complex128"), (True, "bool")])
def test_loss_refuses_non_numeric_logits(fill, dtype):
    with pytest.raises(ValueError, match=rf"^SoftmaxCrossEntropy: expected .*dtype {dtype}"):
        SoftmaxCrossEntropy().forward(np.full((2, 4), fill), np.array([0, 1]))


# ----------------------------------------------------------------------------- extreme logits
def _loss_and_grad(logits, labels):
    loss_fn = SoftmaxCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning: overflow here is expected and handled
        loss = loss_fn.forward(logits, np.array(labels))
        return loss, loss_fn.backward()


def test_a_loss_too_large_for_float64_is_inf_and_its_gradient_finite():
    loss, grad = _loss_and_grad(np.array([[1e308, -1e308]]), [1])  # true loss 2e308 > max
    assert loss == np.inf
    np.testing.assert_array_equal(grad, [[1.0, -1.0]])
    loss, grad = _loss_and_grad(np.array([[1e308, -1e308], [0.0, 0.0]]), [0, 1])
    assert loss == pytest.approx(np.log(2) / 2, rel=1e-15)
    np.testing.assert_array_equal(grad, [[0.0, 0.0], [0.25, -0.25]])


def test_huge_rows_whose_mean_is_representable_give_it():
    loss, grad = _loss_and_grad(np.array([[1e308, -0.7e308]] * 2), [1, 1])
    assert loss == pytest.approx(1.7e308, rel=1e-15)  # the sum 3.4e308 overflows, the mean not
    np.testing.assert_array_equal(grad, [[0.5, -0.5]] * 2)
    logits = np.zeros((4, 3))
    logits[0, :2] = [1e308, -1e308]  # one row of 2e308 in a batch of 4: the mean is 5e307
    loss, grad = _loss_and_grad(logits, [1, 0, 0, 0])
    assert loss == pytest.approx(5e307, rel=1e-15)
    assert np.all(np.isfinite(grad))


def test_float32_logits_beyond_float32_range_give_the_float64_loss():
    logits = np.array([[3e38, -3e38, 0]], np.float32)
    loss, grad = _loss_and_grad(logits, [1])
    assert loss == pytest.approx(float(logits[0, 0]) - float(logits[0, 1]), rel=1e-15)
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [[1.0, -1.0, 0.0]])


def test_softmax_functions_at_the_edge_of_float64():
    logits = np.array([[1e308, -1e308, 1e308]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(softmax(logits), [[0.5, 0.0, 0.5]])
        logp = log_softmax(logits)
    assert logp[0, 1] == -np.inf and logp[0, 0] == pytest.approx(-np.log(2))


def test_loss(rng):
    labels = np.array([0, 3, 3, 1, 2])
    assert check_loss(SoftmaxCrossEntropy(), rng.standard_normal((5, 4)) * 3, labels) < TOL


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_is_finite_for_extreme_logits(dtype):
    big = np.finfo(dtype).max / 4
    logits = np.array([[big, -big, 0], [0, 0, 0], [-big, -big, -big]], dtype=dtype)
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(logits, np.array([0, 2, 1]))
    grad = loss_fn.backward()
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert grad.dtype == dtype
    assert np.isclose(loss, np.log(3) * 2 / 3, rtol=1e-5)


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_labels_out_of_range(labels):
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*\(2, 3\)"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array(labels))


def test_loss_shape_and_dtype_errors():
    with pytest.raises(ValueError, match="labels of shape"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="labels must be integers"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"logits of shape \(N, K\)"):
        SoftmaxCrossEntropy().forward(np.zeros(3), np.array([0]))
