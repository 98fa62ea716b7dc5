"""The Python API refuses wrong arguments by name (issue 25 #28), never silently doing less."""

from __future__ import annotations

import pytest

from tinynet.data import ArrayBatches
from tinynet.train import KeepBest, RunConfig, Trainer

from ..helpers.training import small_model


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(frozen="conv1.weight"), r"unknown setting 'frozen' \(did you mean freeze=\?\)"),
        (dict(frozen=["nope"]), r"unknown setting 'frozen' \(did you mean freeze=\?\)"),
        (dict(freeze="conv1.weight"), "RunConfig: freeze must be an integer, got 'conv1.weight'"),
        (dict(freeze=["nope"]), r"RunConfig: freeze must be an integer, got \['nope'\]"),
        (dict(freeze=2.0), "RunConfig: freeze must be an integer, got 2.0"),
        (dict(learning_rate=0.1), "unknown setting 'learning_rate'"),
    ],
)
def test_for_model_refuses_a_wrong_setting_by_name(settings, match):
    with pytest.raises(ValueError, match=match):
        Trainer.for_model(small_model(), **settings)


@pytest.mark.parametrize("freeze", [8, 9, 100])
def test_freezing_every_layer_is_refused_saying_so(freeze):
    with pytest.raises(ValueError) as err:
        Trainer.for_model(small_model(), freeze=freeze)
    assert str(err.value) == (
        f"Trainer.for_model: freeze={freeze} leaves no parameter to train (AlexNet has 8 layers "
        "with parameters: conv1, conv2, conv3, conv4, conv5, fc6, fc7, fc8)"
    )
    assert len(Trainer.for_model(small_model(), freeze=7).optimizer.param_names) == 2  # fc8


@pytest.mark.parametrize("model", ["model", None, 5, [("conv1", None)]])
def test_for_model_refuses_what_is_not_a_model(model):
    with pytest.raises(ValueError, match="Trainer.for_model: model must be a tinynet Sequential"):
        Trainer.for_model(model)


def test_for_model_refuses_a_config_that_is_not_a_run_config():
    with pytest.raises(ValueError, match="config must be a RunConfig .*got dict"):
        Trainer.for_model(small_model(), {"lr": 0.1})
    assert Trainer.for_model(small_model(), RunConfig(lr=0.1)).optimizer.lr == 0.1


@pytest.fixture(scope="module")
def trainer_and_batches(data):
    images, labels = data
    return Trainer.for_model(small_model(), schedule=None), ArrayBatches(images, labels, 16)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(epochs=2.7), "Trainer.fit: epochs must be an integer, got 2.7"),
        (dict(epochs="2"), "Trainer.fit: epochs must be an integer, got '2'"),
        (dict(epochs=-1), "Trainer.fit: epochs must be >= 0, got -1"),
        (dict(checkpoint=5), "Trainer.fit: checkpoint must be a path"),
        (dict(callbacks=KeepBest("x.npz")), "callbacks must be a list of Callbacks, got KeepBest"),
        (dict(callbacks=["x"]), "callbacks must be tinynet Callbacks, got str"),
        (dict(val_batches=5), "Trainer.fit: val_batches must be an iterable of"),
    ],
)
def test_fit_refuses_a_wrong_argument_by_name(trainer_and_batches, kwargs, match):
    trainer, batches = trainer_and_batches
    with pytest.raises(ValueError, match=match):
        trainer.fit(batches, **kwargs)
    assert trainer.epoch == 0 and trainer.step == 0  # nothing ran


def test_fit_refuses_training_batches_that_are_not_iterable(trainer_and_batches):
    trainer, _ = trainer_and_batches
    with pytest.raises(ValueError, match="train_batches must be an iterable of .* got int"):
        trainer.fit(5)


def test_start_at_refuses_a_fractional_epoch():
    with pytest.raises(ValueError, match="Trainer.start_at: epoch must be an integer, got 1.5"):
        Trainer.for_model(small_model()).start_at(1.5)
