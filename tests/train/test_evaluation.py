"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

import numpy as np
import pytest

from tinynet.train import evaluate

from ..helpers.training import small_model


def test_ten_crop_evaluation_averages_softmax(data):
    images, labels = data
    model = small_model()
    crops = np.stack([images[:4]] * 10, axis=1)  # (4, 10, 3, 67, 67)
    single = evaluate(model, [(images[:4], labels[:4])])
    ten = evaluate(model, [(crops, labels[:4])])
    assert ten.acc1 == single.acc1 and ten.loss == pytest.approx(single.loss, rel=1e-4)


def test_predict_proba_is_deterministic_and_restores_mode(data):
    from tinynet.train import predict_proba

    images, _ = data
    model = small_model()  # dropout 0.5, training mode
    a, b = predict_proba(model, images[:4]), predict_proba(model, images[:4])
    np.testing.assert_array_equal(a, b)  # dropout was off
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-5)
    assert model.training
