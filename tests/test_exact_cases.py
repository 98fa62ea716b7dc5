"""Small cases whose answers are computed by hand."""

import numpy as np

from tinynet.layers import Conv2D, Linear, LocalResponseNorm, MaxPool2D, SoftmaxCrossEntropy
from tinynet.reference.conv import conv2d


def test_overlapping_maxpool_4x4_by_hand():
    x = np.array(
        [[1, 5, 2, 0], [3, 4, 9, 1], [8, 6, 7, 2], [0, 1, 3, 4]], dtype=np.float32
    ).reshape(1, 1, 4, 4)
    pool = MaxPool2D(3, stride=1)  # windows overlap: 2x2 outputs
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[9, 9], [9, 9]])
    dx = pool.backward(np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(1, 1, 2, 2))
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[1, 2] = 1 + 2 + 3 + 4  # the shared maximum collects every gradient
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_overlapping_maxpool_stride_2_by_hand():
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)[:, :, ::-1].copy()
    # rows reversed: row 0 is 20..24, row 4 is 0..4; windows 3x3 at rows/cols 0 and 2
    pool = MaxPool2D(3, 2)
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[22, 24], [12, 14]])
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    expected = np.zeros((5, 5))
    expected[0, 2] = expected[0, 4] = expected[2, 2] = expected[2, 4] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_maxpool_tie_goes_to_first_in_row_major_order():
    x = np.array([[2, 1], [2, 2]], dtype=np.float32).reshape(1, 1, 2, 2)
    pool = MaxPool2D(2)
    pool.forward(x)
    dx = pool.backward(np.ones((1, 1, 1, 1), dtype=np.float32))
    np.testing.assert_array_equal(dx[0, 0], [[1, 0], [0, 0]])


def test_one_channel_convolution_by_hand():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    conv = Conv2D(1, 1, 2, stride=2, dtype=np.float64)
    conv.params["weight"][...] = [[[[1, 0], [0, -1]]]]
    conv.params["bias"][...] = 0.5
    y = conv.forward(x)
    # each output is x[i, j] - x[i+1, j+1] + 0.5 = -5 + 0.5
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), -4.5))
    dx = conv.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, -1, 0, -1]] * 2)
    # dL/dw[i, j] = sum of the inputs under tap (i, j) = 0+2+8+10, 1+3+9+11, ...
    np.testing.assert_array_equal(conv.grads["weight"][0, 0], [[20, 24], [36, 40]])
    np.testing.assert_array_equal(conv.grads["bias"], [4])


def test_convolution_with_padding_by_hand():
    x = np.ones((1, 1, 2, 2))
    conv = Conv2D(1, 1, 3, padding=1, dtype=np.float64)
    conv.params["weight"][...] = 1
    conv.params["bias"][...] = 0
    np.testing.assert_array_equal(conv.forward(x)[0, 0], [[4, 4], [4, 4]])


def test_conv_matches_direct_loops_with_groups(rng):
    x = rng.standard_normal((2, 6, 7, 5))
    conv = Conv2D(6, 4, (3, 2), stride=(2, 1), padding=(1, 1), groups=2, dtype=np.float64, rng=rng)
    expected = conv2d(x, conv.params["weight"], conv.params["bias"], (2, 1), (1, 1), 2)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_linear_by_hand():
    lin = Linear(2, 1, dtype=np.float64)
    lin.params["weight"][...] = [[2, -1]]
    lin.params["bias"][...] = 3
    np.testing.assert_array_equal(lin.forward(np.array([[1.0, 4.0]])), [[1.0]])


def test_loss_by_hand():
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), np.array([0, 1]))
    assert np.isclose(loss, (np.log(2) + np.log(4)) / 2)
    np.testing.assert_allclose(loss_fn.backward(), [[-0.25, 0.25], [0.375, -0.375]])


def test_lrn_single_channel_by_hand():
    layer = LocalResponseNorm(size=1, alpha=1.0, beta=1.0, k=1.0)
    y = layer.forward(np.array([2.0]).reshape(1, 1, 1, 1))
    assert np.isclose(y.item(), 2 / (1 + 4))
