"""Finite-difference gradient checks, float64, relative error below 1e-6, for every layer.

The convolution and the stacked network are checked on both backends (``BACKENDS``); pooling
and LRN on both in ``test_backends_pool_lrn_sgd.py``.
"""

import numpy as np
import pytest

import tinynet
from tinynet import Sequential
from tinynet.backends import BACKENDS
from tinynet.gradcheck import check_layer, check_loss, check_model_with_loss, rel_error
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU
from tinynet.layers.loss import SoftmaxCrossEntropy

from .conftest import distinct

TOL = 1e-6
F64 = np.float64
#: The algorithm a Conv2D runs these small inputs with, per backend.
CONV_ON = {"reference": "reference", "fast": "im2col"}


def assert_small(errors):
    assert errors, "nothing was checked"
    worst = max(errors.values())
    assert worst < TOL, errors


CONV_CASES = [
    dict(cin=3, cout=4, k=3, s=1, p=0, g=1, hw=(6, 5)),
    dict(cin=4, cout=6, k=(3, 2), s=(2, 1), p=(1, 0), g=2, hw=(7, 6)),
    dict(cin=6, cout=3, k=2, s=3, p=1, g=3, hw=(5, 8)),
    dict(cin=2, cout=2, k=1, s=1, p=0, g=1, hw=(3, 3)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cfg", CONV_CASES)
def test_conv2d(cfg, backend, rng):
    conv = Conv2D(
        cfg["cin"], cfg["cout"], cfg["k"], cfg["s"], cfg["p"], cfg["g"], dtype=F64, rng=rng
    )
    x = rng.standard_normal((2, cfg["cin"], *cfg["hw"]))
    with tinynet.backend(backend):
        assert conv.algorithm_for(x.shape).name == CONV_ON[backend]
        assert_small(check_layer(conv, x))


def test_conv2d_in_chunks_matches_whole_batch(rng):
    x = rng.standard_normal((5, 4, 6, 6))
    whole = Conv2D(4, 6, 3, padding=1, groups=2, dtype=F64, rng=np.random.default_rng(0))
    chunked = Conv2D(
        4, 6, 3, padding=1, groups=2, dtype=F64, rng=np.random.default_rng(0), chunk_bytes=1
    )  # one image per chunk
    dy = rng.standard_normal((5, 6, 6, 6))
    np.testing.assert_allclose(whole.forward(x), chunked.forward(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(whole.backward(dy), chunked.backward(dy), rtol=1e-12, atol=1e-12)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(whole.grads[name], chunked.grads[name], rtol=1e-12, atol=1e-12)
    assert_small(check_layer(chunked, x, max_checks=40))


def test_linear(rng):
    assert_small(check_layer(Linear(7, 4, dtype=F64, rng=rng), rng.standard_normal((3, 7))))


def test_relu(rng):
    x = rng.standard_normal((3, 4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # stay away from the kink, where differences are meaningless
    assert_small(check_layer(ReLU(), x))


@pytest.mark.parametrize(
    "size,alpha,beta,k",
    [(5, 1e-4, 0.75, 2.0), (5, 0.5, 0.75, 1.0), (4, 0.3, 0.6, 1.5), (3, 2.0, 1.2, 1.0)],
)
def test_lrn(size, alpha, beta, k, rng):
    layer = LocalResponseNorm(size, alpha, beta, k)
    assert_small(check_layer(layer, rng.standard_normal((2, 7, 3, 4)) * 2))


@pytest.mark.parametrize(
    "k,s,p,hw",
    [(3, 2, 0, (7, 9)), (2, 2, 0, (4, 6)), (3, 1, 1, (5, 4)), ((3, 2), (2, 1), (1, 0), (6, 5))],
)
def test_maxpool(k, s, p, hw, rng):
    x = distinct(rng, (2, 3, *hw))
    assert_small(check_layer(MaxPool2D(k, s, p), x))


def test_dropout_train_mode_with_fixed_seed(rng):
    layer = Dropout(0.4)
    errors = check_layer(
        layer,
        rng.standard_normal((6, 5)),
        before_forward=lambda: setattr(layer, "rng", np.random.default_rng(7)),
    )
    assert_small(errors)


def test_flatten(rng):
    assert_small(check_layer(Flatten(), rng.standard_normal((2, 3, 2, 2))))


def test_loss(rng):
    labels = np.array([0, 3, 3, 1, 2])
    assert check_loss(SoftmaxCrossEntropy(), rng.standard_normal((5, 4)) * 3, labels) < TOL


def small_network(rng):
    drop = Dropout(0.3)
    model = Sequential(
        [
            ("conv", Conv2D(4, 6, 3, padding=1, groups=2, dtype=F64, rng=rng)),
            ("relu", ReLU()),
            ("norm", LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0)),
            ("pool", MaxPool2D(3, 2)),
            ("flat", Flatten()),
            ("fc", Linear(6 * 3 * 2, 5, dtype=F64, rng=rng)),
            ("drop", drop),
        ]
    )
    return model, (lambda: setattr(drop, "rng", np.random.default_rng(11)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_stacked_network_with_loss(backend, rng):
    model, reseed = small_network(rng)
    x = rng.standard_normal((3, 4, 7, 5))
    labels = np.array([4, 0, 2])
    with tinynet.backend(backend):
        assert model["conv"].algorithm_for(x.shape).name == CONV_ON[backend]
        errors = check_model_with_loss(
            model, SoftmaxCrossEntropy(), x, labels, before_forward=reseed
        )
    assert set(errors) == {"input", "conv.weight", "conv.bias", "fc.weight", "fc.bias"}
    assert_small(errors)


def test_a_wrong_backward_is_caught(rng):
    class BrokenReLU(ReLU):
        def backward(self, dout):
            return dout  # forgets the mask

    x = rng.standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5
    assert check_layer(BrokenReLU(), x)["input"] > 1e-2


def test_a_slightly_wrong_backward_is_caught_too(rng):
    """A weight gradient 1% off: rel_error 0.01 / 1.99 = 5e-3, far above TOL (gradcheck.py)."""

    class SlightlyWrongLinear(Linear):
        def _backward(self, dout):
            dx = super()._backward(dout)
            self.grads["weight"] *= 0.99
            return dx

    errors = check_layer(SlightlyWrongLinear(7, 4, dtype=F64, rng=rng), rng.standard_normal((3, 7)))
    assert errors["weight"] == pytest.approx(0.01 / 1.99, rel=1e-3)
    assert errors["input"] < TOL and errors["bias"] < TOL


def test_rel_error_formula():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert rel_error([0.0], [0.0]) == 0
    assert rel_error([1e-9], [0.0]) == pytest.approx(1e-9 / 1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_with_fused_relu(stride, backend, rng):
    conv = Conv2D(4, 6, 3, stride, padding=1, groups=2, dtype=F64, rng=rng, relu=True)
    x = rng.standard_normal((2, 4, 5, 6))
    with tinynet.backend(backend):
        assert conv.algorithm_for(x.shape).name == CONV_ON[backend]
        y = conv.forward(x)
        assert y.min() == 0 and (y > 0).any()
        assert_small(check_layer(conv, x))


def test_fused_model_matches_unfused(rng):
    from tinynet.layers import fuse_conv_relu, unfuse

    model, reseed = small_network(rng)
    x = rng.standard_normal((3, 4, 7, 5))
    dy = rng.standard_normal((3, 5))
    reseed()
    y_plain, dx_plain = model.forward(x), model.backward(dy)
    grads_plain = {n: g.copy() for n, _, g in model.named_parameters()}
    assert fuse_conv_relu(model) == ["relu"]
    assert model["conv"].relu and model["relu"].fused_into == "conv"
    reseed()
    np.testing.assert_array_equal(model.forward(x), y_plain)
    np.testing.assert_array_equal(model.backward(dy), dx_plain)
    for n, _, g in model.named_parameters():
        np.testing.assert_array_equal(g, grads_plain[n])
    unfuse(model)
    assert not model["conv"].relu and model["relu"].fused_into is None
