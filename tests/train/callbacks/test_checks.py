"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

import warnings

import numpy as np
import pytest

from tinynet.data import ArrayBatches
from tinynet.train import LossPlateauWarning, Trainer, TrainingDiverged

from ...helpers.training import small_model


def test_nan_loss_stops_with_step_and_lr(data):
    images, labels = data
    trainer = Trainer.for_model(small_model(), lr=0.05, schedule=None)
    bad = images[:8].copy()
    bad[0, 0, 0, 0] = np.nan
    before = {name: p.copy() for name, p, _ in trainer.model.named_parameters()}
    with pytest.raises(TrainingDiverged, match=r"step 1 with learning rate 0.05"):
        trainer.fit([(bad, labels[:8])])
    for name, value in before.items():  # nothing was stepped
        np.testing.assert_array_equal(trainer.model.params[name], value)


def test_warns_when_loss_sits_at_chance(data):
    images, labels = data
    model = small_model(init="paper")
    model["fc8"].params["weight"][...] = 0  # uniform predictions: loss is ln(4)
    trainer = Trainer(model, Trainer.for_model(model, lr=0.0).optimizer, None, stall_patience=3)
    with pytest.warns(LossPlateauWarning, match=r"ln\(4\)"):
        trainer.fit(ArrayBatches(images[:32], labels[:32], 8))


def test_no_plateau_warning_while_learning(data):
    images, labels = data
    trainer = Trainer.for_model(small_model(), lr=0.01, schedule=None, stall_patience=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossPlateauWarning)
        trainer.fit(ArrayBatches(images[:8], labels[:8], 8))
