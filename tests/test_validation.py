"""Invalid configurations and inputs give a ValueError that names the layer and the shapes."""

import numpy as np
import pytest

from tinynet import Sequential
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU
from tinynet.layers.loss import SoftmaxCrossEntropy


def test_conv_wrong_ndim():
    with pytest.raises(ValueError, match=r"Conv2D.*4-d.*\(3, 8, 8\)"):
        Conv2D(3, 4, 3).forward(np.zeros((3, 8, 8), np.float32))


def test_conv_wrong_channel_count():
    with pytest.raises(ValueError, match=r"Conv2D\(3, 4.*3 channels.*\(2, 5, 8, 8\)"):
        Conv2D(3, 4, 3).forward(np.zeros((2, 5, 8, 8), np.float32))


@pytest.mark.parametrize("cin,cout,groups", [(6, 4, 4), (4, 6, 4), (5, 4, 2)])
def test_conv_channels_not_divisible_by_groups(cin, cout, groups):
    with pytest.raises(ValueError, match=rf"Conv2D.*divisible by groups \({groups}\)"):
        Conv2D(cin, cout, 3, groups=groups)


def test_conv_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"Conv2D.*kernel 5x5 is larger than the padded input 4x6"):
        Conv2D(1, 1, 5, padding=(1, 0)).forward(np.zeros((1, 1, 2, 6), np.float32))


@pytest.mark.parametrize("stride", [0, -1, (1, 0)])
def test_non_positive_stride(stride):
    with pytest.raises(ValueError, match="Conv2D.*stride must be positive"):
        Conv2D(1, 1, 3, stride=stride)
    with pytest.raises(ValueError, match="MaxPool2D.*stride must be positive"):
        MaxPool2D(3, stride=stride)


def test_bad_kernel_and_padding():
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        Conv2D(1, 1, 0)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        Conv2D(1, 1, 3, padding=-1)
    with pytest.raises(ValueError, match="kernel_size must be an int or an"):
        Conv2D(1, 1, "3")
    with pytest.raises(ValueError, match="MaxPool2D.*at most half the kernel"):
        MaxPool2D(3, padding=2)


def test_pool_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"MaxPool2D.*kernel 3x3 is larger.*\(1, 2, 2, 5\)"):
        MaxPool2D(3, 2).forward(np.zeros((1, 2, 2, 5), np.float32))


def test_pool_and_lrn_wrong_ndim():
    with pytest.raises(ValueError, match="MaxPool2D.*4-d"):
        MaxPool2D(2).forward(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="LocalResponseNorm.*4-d"):
        LocalResponseNorm().forward(np.zeros((2, 4)))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_p_outside_range(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\)"):
        Dropout(p)


def test_lrn_bad_config():
    with pytest.raises(ValueError, match="LocalResponseNorm: size"):
        LocalResponseNorm(size=0)
    with pytest.raises(ValueError, match="LocalResponseNorm: need k > 0"):
        LocalResponseNorm(k=0)


def test_linear_wrong_features():
    with pytest.raises(ValueError, match=r"Linear\(8, 2\).*8 channels/features.*\(3, 7\)"):
        Linear(8, 2).forward(np.zeros((3, 7), np.float32))
    with pytest.raises(ValueError, match=r"Linear.*2-d.*\(3, 2, 4\)"):
        Linear(8, 2).forward(np.zeros((3, 2, 4), np.float32))


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


def test_backward_shape_mismatch_and_order():
    conv = Conv2D(1, 2, 3)
    with pytest.raises(RuntimeError, match="before forward"):
        conv.backward(np.zeros((1, 2, 1, 1), np.float32))
    conv.forward(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"Conv2D.*gradient of shape \(1, 2, 2, 2\)"):
        conv.backward(np.zeros((1, 2, 3, 3), np.float32))
    relu = ReLU()
    relu.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="ReLU"):
        relu.backward(np.zeros((3, 2)))


def test_sequential_bad_construction():
    with pytest.raises(ValueError, match="duplicate layer name 'a'"):
        Sequential([("a", ReLU()), ("a", ReLU())])
    with pytest.raises(ValueError, match="pairs"):
        Sequential([ReLU()])
    with pytest.raises(ValueError, match="without dots"):
        Sequential([("a.b", ReLU())])


def test_load_state_dict_errors_leave_parameters_untouched():
    model = Sequential([("fc", Linear(3, 2)), ("flat", Flatten())])
    before = model.state_dict()
    bad = {"fc.weight": np.zeros((3, 2), np.float32), "fc.extra": np.zeros(1)}
    with pytest.raises(ValueError) as info:
        model.load_state_dict(bad)
    msg = str(info.value)
    assert "missing keys (1): fc.bias" in msg and "unexpected keys (1): fc.extra" in msg
    assert "fc.weight: expected (2, 3) vs found (3, 2)" in msg
    for k, v in before.items():
        np.testing.assert_array_equal(model.state_dict()[k], v)
