"""Bad input to the engine: a ValueError naming who and what, never a silently wrong result."""

import warnings

import numpy as np
import pytest

from tinynet.gradcheck import check_layer, check_loss, check_model_with_loss, numerical_gradient
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU
from tinynet.layers.loss import SoftmaxCrossEntropy, log_softmax, softmax

F64 = np.float64


# ----------------------------------------------------------------------------- gradcheck arguments
@pytest.mark.parametrize("max_checks", [0, -3, 2.5, True])
def test_gradcheck_refuses_max_checks_below_one(max_checks, rng):
    layer = Linear(3, 2, dtype=F64, rng=rng)
    with pytest.raises(ValueError, match="check_layer: max_checks must be"):
        check_layer(layer, rng.standard_normal((2, 3)), max_checks=max_checks)
    loss = SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="check_model_with_loss: max_checks must be"):
        check_model_with_loss(layer, loss, np.ones((2, 3)), np.array([0, 1]), max_checks=max_checks)


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, float("nan"), float("inf"), "1e-6"])
def test_gradcheck_refuses_an_eps_that_is_not_a_positive_number(eps, rng):
    layer = Linear(3, 2, dtype=F64, rng=rng)
    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match="check_layer: eps must be"):
        check_layer(layer, x, eps=eps)
    with pytest.raises(ValueError, match="check_loss: eps must be"):
        check_loss(SoftmaxCrossEntropy(), x, np.array([0, 1]), eps=eps)
    with pytest.raises(ValueError, match="numerical_gradient: eps must be"):
        numerical_gradient(lambda: 0.0, x, eps=eps)


def test_gradcheck_still_checks_a_sample(rng):
    errors = check_layer(
        Linear(3, 2, dtype=F64, rng=rng), rng.standard_normal((2, 3)), max_checks=1
    )
    assert set(errors) == {"input", "weight", "bias"} and max(errors.values()) < 1e-6


# ----------------------------------------------------------------------------- window geometry
@pytest.mark.parametrize(
    "kwargs, what",
    [
        (dict(kernel_size=(2.7, 3.9)), "kernel_size"),
        (dict(kernel_size=2.0), "kernel_size"),
        (dict(kernel_size=(3, True)), "kernel_size"),
        (dict(kernel_size=True), "kernel_size"),
        (dict(kernel_size=3, stride=(1, 1.5)), "stride"),
        (dict(kernel_size=3, padding=(0.5, 0)), "padding"),
        (dict(kernel_size=(3, 3, 3)), "kernel_size"),
    ],
)
def test_window_sizes_must_be_integers_in_either_form(kwargs, what):
    with pytest.raises(ValueError, match=rf"^Conv2D\(1, 2, groups=1\): {what} must be an int"):
        Conv2D(1, 2, **kwargs)
    with pytest.raises(ValueError, match=rf"^MaxPool2D\(kernel_size=.*\): {what} must be an int"):
        MaxPool2D(**kwargs)


def test_numpy_integers_are_window_sizes():
    conv = Conv2D(1, 2, (np.int64(3), np.int32(2)), stride=np.uint8(2), padding=(0, np.int16(1)))
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 2), (2, 2), (0, 1))
    assert all(type(v) is int for v in (*conv.kernel_size, *conv.stride, *conv.padding))


# ----------------------------------------------------------------------------- non-numeric input
def _layers():
    """(layer, input shape) for every layer that takes an array."""
    return [
        (Conv2D(1, 2, 1), (2, 1, 3, 3)),
        (MaxPool2D(1), (2, 1, 3, 3)),
        (LocalResponseNorm(), (2, 1, 3, 3)),
        (Linear(4, 2), (2, 4)),
        (ReLU(), (2, 4)),
        (Dropout(0.5), (2, 4)),
        (Flatten(), (2, 4)),
    ]


@pytest.mark.parametrize("fill, dtype", [(None, "object"), ("a", "<U1"), (True, "bool")])
@pytest.mark.parametrize("index", range(7))
def test_layers_refuse_non_numeric_arrays(index, fill, dtype):
    layer, shape = _layers()[index]
    name = type(layer).__name__
    with pytest.raises(ValueError, match=rf"^{name}\(.*\): expected .*numeric.*dtype {dtype}"):
        layer.forward(np.full(shape, fill))


@pytest.mark.parametrize("fill, dtype", [(None, "object"), (1 + 2j, "complex128"), (True, "bool")])
def test_loss_refuses_non_numeric_logits(fill, dtype):
    with pytest.raises(ValueError, match=rf"^SoftmaxCrossEntropy: expected .*dtype {dtype}"):
        SoftmaxCrossEntropy().forward(np.full((2, 4), fill), np.array([0, 1]))


def test_the_none_array_of_the_audit_is_refused_not_nan():
    x = np.array([[None] * 4] * 2)
    with pytest.raises(ValueError, match=r"ReLU\(\): expected a numeric array.*dtype object"):
        ReLU().forward(x)


def test_bool_is_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"dtype bool.*astype\(np.float32\)"):
        Linear(4, 2).forward(np.ones((2, 4), bool))


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.float16])
def test_integer_and_half_inputs_are_still_converted(dtype):
    assert ReLU().forward(np.ones((2, 4), dtype)).dtype == np.float32
    assert Linear(4, 2).forward(np.ones((2, 4), dtype)).dtype == np.float32


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
