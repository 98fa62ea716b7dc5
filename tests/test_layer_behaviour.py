"""Contracts every layer keeps: dtypes, in-place gradients, untouched inputs, modes, stability."""

import numpy as np
import pytest

from tinynet import Layer, Sequential
from tinynet.layers import (
    AdaptiveAvgPool2D,
    Conv2D,
    Dropout,
    Flatten,
    Linear,
    LocalResponseNorm,
    MaxPool2D,
    ReLU,
)
from tinynet.layers.loss import SoftmaxCrossEntropy


def make_layers(dtype, rng):
    return [
        (Conv2D(4, 6, 3, padding=1, groups=2, dtype=dtype, rng=rng), (2, 4, 6, 5)),
        (Conv2D(3, 4, 3, dtype=dtype, rng=rng, relu=True), (2, 3, 5, 5)),
        (MaxPool2D(3, 2), (2, 3, 7, 7)),
        (ReLU(), (2, 3, 4, 4)),
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


def test_dropout_train_and_eval(rng):
    drop = Dropout(0.25, rng=np.random.default_rng(0))
    x = np.ones((200, 500), np.float32)
    y = drop.forward(x)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)  # inverted: scaled in training
    assert abs(y.mean() - 1) < 0.01  # expectation preserved
    np.testing.assert_array_equal(drop.backward(np.ones_like(y)), y)
    drop.eval()
    assert not drop.training
    np.testing.assert_array_equal(drop.forward(x), x)
    np.testing.assert_array_equal(drop.backward(x), x)


def test_dropout_same_seed_same_mask():
    x = np.ones((10, 10))
    a = Dropout(0.5, rng=np.random.default_rng(3)).forward(x)
    b = Dropout(0.5, rng=np.random.default_rng(3)).forward(x)
    c = Dropout(0.5, rng=np.random.default_rng(4)).forward(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


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


def test_lrn_and_layers_produce_no_nan_on_large_finite_input(rng):
    x = (rng.standard_normal((2, 8, 5, 5)) * 1e3).astype(np.float32)
    layer = LocalResponseNorm()
    y = layer.forward(x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(layer.backward(np.ones_like(y))))


def test_sequential_modes_parameters_and_state(rng):
    model = Sequential(
        [
            ("conv", Conv2D(1, 2, 3, rng=rng)),
            ("relu", ReLU()),
            ("flat", Flatten()),
            ("drop", Dropout(0.5)),
            ("fc", Linear(8, 3, rng=rng)),
        ]
    )
    names = [n for n, _, _ in model.named_parameters()]
    assert names == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    assert model.num_parameters() == 2 * 9 + 2 + 3 * 8 + 3
    model.eval()
    assert all(not layer.training for _, layer in model)
    model.train()
    assert model["drop"].training
    state = model.state_dict()
    other = Sequential(
        [
            ("conv", Conv2D(1, 2, 3)),
            ("relu", ReLU()),
            ("flat", Flatten()),
            ("drop", Dropout(0.5)),
            ("fc", Linear(8, 3)),
        ]
    )
    weight_ref = other["fc"].params["weight"]
    other.load_state_dict(state)
    assert other["fc"].params["weight"] is weight_ref  # loaded in place
    x = rng.standard_normal((2, 1, 4, 4)).astype(np.float32)
    model.eval(), other.eval()
    np.testing.assert_array_equal(model.forward(x), other.forward(x))
    state["fc.weight"][...] = 0  # a copy: the model is untouched
    assert np.any(model["fc"].params["weight"] != 0)


def test_sequential_summary(rng):
    model = Sequential(
        [
            ("conv", Conv2D(3, 4, 3, rng=rng)),
            ("pool", MaxPool2D(2)),
            ("flat", Flatten()),
            ("fc", Linear(4 * 3 * 3, 2, rng=rng)),
        ]
    )
    text = model.summary((1, 3, 8, 8))
    assert "(1, 4, 3, 3)" in text and "(1, 2)" in text
    assert f"{model.num_parameters():,}" in text


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


def test_load_state_dict_checks_shapes_without_copying_the_parameters(rng, monkeypatch):
    model = Sequential([("fc", Linear(3, 2, rng=rng)), ("drop", Dropout(0.5, rng=rng))])
    state = model.state_dict()
    monkeypatch.setattr(Layer, "state_dict", lambda self: pytest.fail("state_dict() copied"))
    model.load_state_dict(state)
    with pytest.raises(ValueError, match=r"fc.weight: expected \(2, 3\) vs found \(3, 2\)"):
        model.load_state_dict({**state, "fc.weight": np.zeros((3, 2), np.float32)})
    with pytest.raises(ValueError, match=r"rng: expected \(6,\) vs found \(2,\)"):
        model["drop"].load_state_dict({"rng": np.zeros(2, np.uint64)})
    # the shapes of the state, as a checkpoint is checked against them, copy nothing either
    expected = {key: value.shape for key, value in state.items()}
    assert (
        model.state_shapes() == expected == {"fc.weight": (2, 3), "fc.bias": (2,), "drop.rng": (6,)}
    )
