"""Tests for tinynet.validate.check_state: one message that lists everything wrong with a state."""

import numpy as np
import pytest

from tinynet.validate import check_state


def test_check_state_accepts_a_match():
    expected = {"conv1.weight": np.zeros((4, 3)), "conv1.bias": np.zeros(4)}
    state = {"conv1.weight": np.ones((4, 3)), "conv1.bias": np.ones(4)}
    assert check_state("model", expected, state) is None


def test_check_state_lists_every_problem():
    expected = {
        "conv1.weight": np.zeros((96, 3, 11, 11), np.float32),
        "conv1.bias": np.zeros(96, np.float32),
        "fc8.weight": np.zeros((1000, 4096), np.float32),
        "fc8.bias": np.zeros(1000, np.float32),
    }
    state = {
        "conv1.weight": np.zeros((64, 3, 11, 11), np.float32),  # torchvision-like width
        "conv1.bias": np.zeros(96, np.float32),
        "fc8.weight": np.zeros((10, 4096), np.float32),
        "classifier.bias": np.zeros(10, np.float32),
    }
    with pytest.raises(ValueError) as info:
        check_state("Sequential", expected, state)
    msg = str(info.value)
    assert msg.startswith("Sequential: state does not match")
    assert "missing keys (1): fc8.bias" in msg
    assert "unexpected keys (1): classifier.bias" in msg
    assert "conv1.weight: expected (96, 3, 11, 11) vs found (64, 3, 11, 11)" in msg
    assert "fc8.weight: expected (1000, 4096) vs found (10, 4096)" in msg
    assert "conv1.bias" not in msg


def test_check_state_names_who_and_shortens_long_lists():
    expected = {f"w{i}": np.zeros(1) for i in range(25)}
    with pytest.raises(
        ValueError, match=r"^SGD: state does not match: missing keys \(25\): w0, w1"
    ):
        check_state("SGD", expected, {})
    with pytest.raises(ValueError, match=r"w19, \.\.\. and 5 more$"):
        check_state("SGD", expected, {})


def test_check_state_refuses_non_finite_floats_and_non_dicts():
    expected = {"w": np.zeros(2), "steps": np.zeros((), np.int64)}
    with pytest.raises(ValueError, match="fc: w holds values that are NaN or infinite as float64"):
        check_state("fc", expected, {"w": np.array([0.0, np.inf]), "steps": np.array(3)})


def test_check_state_refuses_values_that_become_infinite_on_the_cast_and_strings():
    """Issue 25 #6: float64 1e300 loaded into float32 becomes inf; a string "nan" becomes NaN."""
    expected = {"w": np.zeros(2, np.float32), "steps": np.zeros((), np.int64)}
    big = {"w": np.array([0.0, 1e300]), "steps": np.array(3)}
    with pytest.raises(ValueError, match=r"w holds .* infinite as float32 \(stored as float64\)"):
        check_state("fc", expected, big)
    with pytest.raises(ValueError, match="fc: w has dtype <U3, not a number type"):
        check_state("fc", expected, {"w": np.array(["nan", "1"]), "steps": np.array(3)})
    check_state("fc", expected, {"w": np.array([0.0, 1e30]), "steps": np.array(3)})  # fits
    with pytest.raises(ValueError, match="fc: a state dict must be a dict, got list"):
        check_state("fc", expected, [1, 2])


def test_float_dtype_is_float32_or_float64():
    """alexnet(dtype=np.float16) passed the check and failed in standard_normal (issue 25)."""
    from tinynet.models import alexnet
    from tinynet.validate import float_dtype

    assert float_dtype("x", "float32") == np.float32 and float_dtype("x", np.float64) == np.float64
    for bad in (np.float16, "int32", "nope", np.complex64):
        with pytest.raises(ValueError, match="x must be float32 or float64"):
            float_dtype("x", bad)
    with pytest.raises(ValueError, match="alexnet: dtype must be float32 or float64"):
        alexnet(num_classes=3, input_size=67, width=0.125, dtype=np.float16)
