"""Tests of ``tinynet.train.trainer``."""

import math
import time

import numpy as np
import pytest

from tinynet.data import ArrayBatches
from tinynet.dist import LocalComm
from tinynet.models import alexnet
from tinynet.train import Callback, CheckpointError, Trainer, load_checkpoint, trainer

from ..helpers.checkpoints import edited
from ..helpers.training import small_model


# ----------------------------------------------------------------------------- the model config
@pytest.fixture
def no_building(monkeypatch):
    """Make building a model fail the test: a config must be refused before that."""

    def build(config):
        raise AssertionError(f"the model was built from {config}")

    monkeypatch.setattr(trainer, "from_config", build)


@pytest.mark.parametrize("width", [6, 1000, 0.5])
def test_a_config_that_does_not_fit_the_arrays_is_refused_unbuilt(
    saved, tmp_path, no_building, width
):
    path = edited(saved, tmp_path, lambda ck: ck.meta["model_config"].update(width=width))
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        Trainer.load(path)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert message.startswith(f"{path}: cannot rebuild its model: its model_config does not fit")
    assert "shape mismatches (15): conv1.weight: expected (" in message  # all but fc8.bias
    assert "vs found (24, 3, 11, 11)" in message and "\n" not in message


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(init="xavier"), "init must be one of .*got 'xavier'"),
        (dict(depth=50), "cannot take .*unexpected keyword argument 'depth'"),
        (dict(builder="resnet"), "unknown builder 'resnet'"),
        (dict(lrn="no"), "lrn must be True or False"),
        (dict(num_classes=-1), "num_classes must be >= 1"),
        (dict(dtype="int8"), "dtype must be float32 or float64"),
    ],
)
def test_a_bad_config_is_refused_naming_the_file_and_the_key(
    saved, tmp_path, no_building, change, match
):
    path = edited(saved, tmp_path, lambda ck: ck.meta["model_config"].update(change))
    with pytest.raises(CheckpointError, match=rf"^{path}: cannot rebuild its model: .*{match}"):
        Trainer.load(path)


def test_a_good_checkpoint_still_loads(saved):
    trainer = Trainer.load(saved)
    assert trainer.model.config["width"] == 0.25 and trainer.optimizer.lr == 0.01


def test_small_alexnet_learns(data):
    images, labels = data
    trainer = Trainer.for_model(small_model(dropout=0), lr=0.01, schedule=None)
    batches = ArrayBatches(images, labels, 8, seed=0)
    history = trainer.fit(batches, epochs=6)
    losses = [record["train_loss"] for record in history]
    print("loss per epoch:", [round(v, 3) for v in losses])
    assert losses[-1] < 0.5 * math.log(4), losses
    val = trainer.evaluate(ArrayBatches(images, labels, 32, shuffle=False))
    assert val.acc1 > 0.8 and val.top1_error == pytest.approx(1 - val.acc1)


def test_exact_resume_matches_straight_run(data, tmp_path):
    images, labels = data
    images, labels = images[::2], labels[::2]

    def fresh():
        return Trainer.for_model(small_model(seed=1), lr=0.01, schedule="plateau")

    straight = fresh()
    batches = ArrayBatches(images, labels, 8, seed=5)
    val = ArrayBatches(images, labels, 16, shuffle=False)
    straight.fit(batches, val, epochs=2)

    first = fresh()
    first.fit(batches, val, epochs=1, checkpoint=tmp_path / "ck.npz")
    resumed = Trainer.load(tmp_path / "ck.npz")
    assert resumed.epoch == 1 and resumed.step == first.step
    resumed.fit(batches, val, epochs=2)

    for (name, p, _), (_, q, _) in zip(
        straight.model.named_parameters(), resumed.model.named_parameters()
    ):
        np.testing.assert_array_equal(p, q, err_msg=name)  # to the last bit
    assert resumed.optimizer.lr == straight.optimizer.lr
    untimed = [
        {k: v for k, v in r.items() if k not in ("seconds", "data_seconds", "images_per_sec")}
        for r in (*straight.history, *resumed.history)
    ]
    assert untimed[:2] == untimed[2:]
    assert resumed.schedule.state_dict() == straight.schedule.state_dict()


def test_checkpoint_holds_what_resume_needs(data, tmp_path):
    images, labels = data
    trainer = Trainer.for_model(small_model(), lr=0.02, schedule="step", step_size=1)
    trainer.fit(
        ArrayBatches(images[:8], labels[:8], 8),
        ArrayBatches(images[:8], labels[:8], 8),
        epochs=1,
        checkpoint=tmp_path / "c.npz",
    )
    with np.load(tmp_path / "c.npz", allow_pickle=False) as f:
        keys = set(f.files)
    assert "model/conv1.weight" in keys and "optim/velocity.fc8.weight" in keys
    loaded = Trainer.load(tmp_path / "c.npz")
    assert loaded.optimizer.lr == pytest.approx(0.002)  # the step schedule fired
    assert isinstance(loaded.schedule, type(trainer.schedule)) and loaded.epoch == 1
    assert loaded.model.config == trainer.model.config
    assert "model/drop6.rng" in keys  # each random layer's state is its own
    state = trainer.model["drop6"].rng.bit_generator.state
    assert loaded.model["drop6"].rng.bit_generator.state == state


def test_loading_a_mismatched_checkpoint_fails_clearly(data, tmp_path):
    trainer = Trainer.for_model(small_model(), schedule=None)
    trainer.save(tmp_path / "a.npz")
    other = Trainer.for_model(alexnet(num_classes=5, input_size=67, width=0.25), schedule=None)
    with pytest.raises(CheckpointError, match=r"fc8.weight"):
        other.restore(load_checkpoint(tmp_path / "a.npz"))
    (tmp_path / "junk.npz").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.npz"):
        Trainer.load(tmp_path / "junk.npz")


class StopAfter(Callback):
    """Ask the trainer to stop after ``steps`` steps, as Ctrl-C does."""

    def __init__(self, steps):
        self.steps = steps

    def on_batch_end(self, trainer, phase, meter):
        if phase == "train" and trainer.step == self.steps:
            trainer.stop_requested = "SIGINT"


@pytest.mark.parametrize("stop_at", [3, 4])  # mid-epoch, and after an epoch's last step
def test_mid_epoch_stop_resumes_exactly(data, tmp_path, stop_at):
    images, labels = data
    images, labels = images[:32], labels[:32]

    def fresh():
        return Trainer.for_model(small_model(seed=2), lr=0.01, schedule="plateau")

    def batches():
        return ArrayBatches(images, labels, 8, seed=3), ArrayBatches(images, labels, 16, False)

    straight = fresh()
    straight.fit(*batches(), epochs=2)
    first = fresh()
    first.fit(*batches(), epochs=2, checkpoint=tmp_path / "ck.npz", callbacks=[StopAfter(stop_at)])
    assert first.stopped == "SIGINT" and first.step == stop_at and first.epoch == 0
    resumed = Trainer.load(tmp_path / "ck.npz")
    assert resumed.epoch_step == stop_at and resumed.step == stop_at
    resumed.fit(*batches(), epochs=2)
    for (name, p, _), (_, q, _) in zip(
        straight.model.named_parameters(), resumed.model.named_parameters()
    ):
        np.testing.assert_array_equal(p, q, err_msg=name)
    untimed = [
        {k: v for k, v in r.items() if k not in ("seconds", "data_seconds", "images_per_sec")}
        for r in (*straight.history, *resumed.history)
    ]
    assert untimed[:2] == untimed[2:]  # the interrupted epoch's figures are whole-epoch figures


def test_an_epoch_without_one_readable_image_is_an_error(data):
    from tinynet.train import NoTrainingData

    images, labels = data
    trainer = Trainer.for_model(small_model(), schedule=None)
    empty = [(images[:0], labels[:0])] * 3  # what a loader with keep_empty gives
    with pytest.raises(NoTrainingData, match="epoch 1: not one training image"):
        trainer.fit(empty)


# ------------------------------------------------------------------ gradients of several ranks
class Mirror(LocalComm):
    """Two ranks that hold the same data: every sum is the identity, as in one process."""

    size = 2


def test_gradient_averaging_is_wired_only_with_several_ranks(data):
    images, labels = data
    alone = Trainer.for_model(small_model(dropout=0), lr=0.01, schedule=None)
    assert alone.sync is None and alone.model._hooks == {}  # one process: nothing added
    two = Trainer.for_model(small_model(dropout=0), lr=0.01, schedule=None, comm=Mirror())
    assert two.sync.overlap and len(two.model._hooks) == 1
    two.sync_gradients(1)  # a bucket per parameter: the hook replaced, not added
    assert two.sync.overlap and len(two.model._hooks) == 1
    for each in (alone, two):
        each.fit(ArrayBatches(images, labels, 8), epochs=1)
    for name, param in alone.model.params.items():
        np.testing.assert_allclose(two.model.params[name], param, rtol=1e-6, atol=1e-7)
    two.sync_gradients(0)  # one allreduce after backward: no hook
    assert not two.sync.overlap and two.model._hooks == {}
    with pytest.raises(ValueError, match="bucket_bytes must be >= 0"):
        two.sync_gradients(-1)
