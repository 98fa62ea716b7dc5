"""UpdateRatio: ||update|| / ||w|| per weight, every step or every few."""

from __future__ import annotations

import numpy as np
import pytest

from tinynet.data import ArrayBatches
from tinynet.train import Trainer, UpdateRatio

from ..helpers.training import small_model


def _fit(data, lr=0.01, steps=1, **kwargs):
    images, labels = data
    model = small_model(dropout=0.0)
    before = {name: p.copy() for name, p, _ in model.named_parameters()}
    ratios = UpdateRatio(**kwargs)
    trainer = Trainer.for_model(model, lr=lr, schedule=None)
    trainer.fit(ArrayBatches(images[: 8 * steps], labels[: 8 * steps], 8, shuffle=False),
                epochs=1, callbacks=[ratios])  # fmt: skip
    return model, before, ratios


def test_the_ratio_is_the_step_over_the_weights_before_it(data):
    model, before, ratios = _fit(data)
    assert ratios.steps == [1]
    assert list(ratios.ratios) == [n for n in model.params if n.endswith(".weight")]
    for name, (value,) in ratios.ratios.items():
        step = model.params[name] - before[name]
        expected = np.linalg.norm(step) / np.linalg.norm(before[name])
        assert value == pytest.approx(expected, rel=1e-3), name


def test_the_first_ratio_is_proportional_to_the_learning_rate(data):
    _, _, slow = _fit(data, lr=0.01)
    _, _, fast = _fit(data, lr=0.03)
    for name in slow.ratios:
        assert fast.ratios[name][0] == pytest.approx(3 * slow.ratios[name][0], rel=1e-3), name


def test_every_and_names(data):
    _, _, ratios = _fit(data, steps=4, every=2, names=["fc8.bias", "conv1.weight"])
    steps, arrays = ratios.as_arrays()
    np.testing.assert_array_equal(steps, [2, 4])
    assert list(arrays) == ["fc8.bias", "conv1.weight"]
    assert all(a.shape == (2,) and a.dtype == np.float64 for a in arrays.values())


def test_wrong_arguments_are_refused_by_name(data):
    with pytest.raises(ValueError, match="UpdateRatio: every must be >= 1"):
        UpdateRatio(every=0)
    with pytest.raises(ValueError, match=r"UpdateRatio: \['conv9.weight'\] are not parameters"):
        _fit(data, names=["conv9.weight"])
