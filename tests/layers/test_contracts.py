"""Tests of ``tinynet.layers.contracts``."""

import numpy as np
import pytest

from tinynet import Sequential
from tinynet.layers import (
    AdaptiveAvgPool2D,
    Conv2D,
    Dropout,
    Flatten,
    Linear,
    LocalResponseNorm,
    MaxPool2D,
    ReLU,
    Tanh,
)


# ----------------------------------------------------------------------------- non-numeric input
def _layers():
    """(layer, input shape) for every layer that takes an array."""
    return [
        (Conv2D(1, 2, 1), (2, 1, 3, 3)),
        (MaxPool2D(1), (2, 1, 3, 3)),
        (LocalResponseNorm(), (2, 1, 3, 3)),
        (Linear(4, 2), (2, 4)),
        (ReLU(), (2, 4)),
        (Tanh(), (2, 4)),
        (Dropout(0.5), (2, 4)),
        (Flatten(), (2, 4)),
    ]


@pytest.mark.parametrize("fill, dtype", [(None, "object"), ("a", "<U1"), (True, "bool")])
@pytest.mark.parametrize("index", range(len(_layers())))
def test_layers_refuse_non_numeric_arrays(index, fill, dtype):
    layer, shape = _layers()[index]
    name = type(layer).__name__
    with pytest.raises(ValueError, match=rf"^{name}\(.*\): expected .*numeric.*dtype {dtype}"):
        layer.forward(np.full(shape, fill))


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


def make_layers(dtype, rng):
    return [
        (Conv2D(4, 6, 3, padding=1, groups=2, dtype=dtype, rng=rng), (2, 4, 6, 5)),
        (Conv2D(3, 4, 3, dtype=dtype, rng=rng, relu=True), (2, 3, 5, 5)),
        (MaxPool2D(3, 2), (2, 3, 7, 7)),
        (ReLU(), (2, 3, 4, 4)),
        (Tanh(), (2, 3, 4, 4)),
        (LocalResponseNorm(), (2, 6, 3, 3)),
        (Dropout(0.5, rng=rng), (4, 10)),
        (Linear(5, 3, dtype=dtype, rng=rng), (4, 5)),
        (Flatten(), (2, 3, 2, 2)),
        (AdaptiveAvgPool2D((2, 3)), (2, 3, 5, 4)),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_keep_dtype_and_backward_leaves_dout_alone(dtype, rng):
    for layer, shape in make_layers(dtype, rng):
        x = rng.standard_normal(shape).astype(dtype)
        x_before = x.copy()
        y = layer.forward(x)
        assert y.dtype == dtype, layer
        dout = rng.standard_normal(y.shape).astype(dtype)
        dout_before = dout.copy()
        dx = layer.backward(dout)
        assert dx.dtype == dtype and dx.shape == x.shape, layer
        np.testing.assert_array_equal(dout, dout_before, err_msg=repr(layer))
        np.testing.assert_array_equal(x, x_before, err_msg=repr(layer))


def test_gradients_are_written_in_place_not_accumulated(rng):
    conv = Conv2D(2, 3, 3, rng=rng)
    lin = Linear(4, 2, rng=rng)
    refs = {id(g) for layer in (conv, lin) for g in layer.grads.values()}
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    conv.forward(x)
    conv.backward(np.ones((2, 3, 3, 3), np.float32))
    first = conv.grads["weight"].copy()
    conv.forward(x)
    conv.backward(np.ones((2, 3, 3, 3), np.float32))
    np.testing.assert_allclose(conv.grads["weight"], first, rtol=1e-6)  # overwritten, not summed
    lin.forward(rng.standard_normal((3, 4)).astype(np.float32))
    lin.backward(np.ones((3, 2), np.float32))
    assert refs == {id(g) for layer in (conv, lin) for g in layer.grads.values()}


def test_parameter_shapes_follow_pytorch():
    conv = Conv2D(6, 8, (5, 3), groups=2)
    assert conv.params["weight"].shape == (8, 3, 5, 3) and conv.params["bias"].shape == (8,)
    assert conv.params["weight"].dtype == np.float32
    lin = Linear(7, 2, dtype=np.float64)
    assert lin.params["weight"].shape == (2, 7) and lin.params["weight"].dtype == np.float64


def test_float64_input_to_float32_layer_is_converted():
    conv = Conv2D(1, 1, 1)
    assert conv.forward(np.ones((1, 1, 2, 2))).dtype == np.float32


def test_input_grad_can_be_skipped(rng):
    conv = Conv2D(2, 2, 3, input_grad=False, rng=rng)
    model = Sequential([("conv", conv), ("flat", Flatten())])
    model.forward(rng.standard_normal((1, 2, 4, 4)).astype(np.float32))
    assert model.backward(np.ones((1, 8), np.float32)) is None
    assert np.any(conv.grads["weight"] != 0)


def saved(layer):
    """What the layer declares it keeps for backward (``Layer._saved``), by attribute."""
    assert layer._saved, f"{layer!r} declares nothing in _saved"
    return {name: getattr(layer, name) for name in layer._saved}


def test_every_layer_keeps_what_backward_needs_only_outside_no_grad(rng):
    """The Layer contract: under no_grad forward keeps nothing (and backward says why), else
    forward keeps its ``_saved`` attributes and backward releases them."""
    for layer, shape in make_layers(np.float32, rng):
        x = rng.standard_normal(shape).astype(np.float32)
        with layer.no_grad():
            y = layer.forward(x)
        assert all(v is None for v in saved(layer).values()), layer
        with pytest.raises(RuntimeError, match="backward after a forward under no_grad"):
            layer.backward(np.ones_like(y))
        layer.forward(x)
        assert any(v is not None for v in saved(layer).values()), layer
        layer.backward(np.ones_like(y))
        assert all(v is None for v in saved(layer).values()), layer


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


# ----------------------------------------------------------------------------- window geometry
WINDOWED = {  # a layer with a window, made from keyword arguments, and how its errors begin
    "Conv2D": (lambda **kwargs: Conv2D(1, 2, **kwargs), r"Conv2D\(1, 2, groups=1\)"),
    "MaxPool2D": (lambda **kwargs: MaxPool2D(**kwargs), r"MaxPool2D\(kernel_size=.*\)"),
}


@pytest.mark.parametrize("layer", WINDOWED)
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
def test_window_sizes_must_be_integers_in_either_form(layer, kwargs, what):
    make, who = WINDOWED[layer]
    with pytest.raises(ValueError, match=rf"^{who}: {what} must be an int"):
        make(**kwargs)
