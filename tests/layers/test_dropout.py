"""Tests of ``tinynet.layers.dropout``."""

import numpy as np
import pytest

from tinynet.gradcheck import check_layer
from tinynet.layers import Dropout

from ..helpers.gradients import assert_small


def test_dropout_train_mode_with_fixed_seed(rng):
    layer = Dropout(0.4)
    errors = check_layer(
        layer,
        rng.standard_normal((6, 5)),
        before_forward=lambda: setattr(layer, "rng", np.random.default_rng(7)),
    )
    assert_small(errors)


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


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_p_outside_range(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\)"):
        Dropout(p)
