"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

import math
import warnings

import numpy as np
import pytest

from tinynet.data import ArrayBatches
from tinynet.models import alexnet
from tinynet.train import (
    Callback,
    CheckpointError,
    LossPlateauWarning,
    Trainer,
    TrainingDiverged,
    evaluate,
    load_checkpoint,
    topk_correct,
)

from .toy_data import blobs


def small_model(seed=0, init="he", dropout=0.5):
    return alexnet(num_classes=4, input_size=67, width=0.25, init=init, seed=seed, dropout=dropout)


@pytest.fixture(scope="module")
def data():
    return blobs(16, seed=0)


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
        {k: v for k, v in r.items() if k not in ("seconds", "images_per_sec")}
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


def test_ten_crop_evaluation_averages_softmax(data):
    images, labels = data
    model = small_model()
    crops = np.stack([images[:4]] * 10, axis=1)  # (4, 10, 3, 67, 67)
    single = evaluate(model, [(images[:4], labels[:4])])
    ten = evaluate(model, [(crops, labels[:4])])
    assert ten.acc1 == single.acc1 and ten.loss == pytest.approx(single.loss, rel=1e-4)


def test_topk_correct():
    scores = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    assert topk_correct(scores, np.array([2, 0, 0]), ks=(1, 2, 5)) == {1: 1, 2: 2, 5: 3}


def test_predict_proba_is_deterministic_and_restores_mode(data):
    from tinynet.train import predict_proba

    images, _ = data
    model = small_model()  # dropout 0.5, training mode
    a, b = predict_proba(model, images[:4]), predict_proba(model, images[:4])
    np.testing.assert_array_equal(a, b)  # dropout was off
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-5)
    assert model.training


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
        {k: v for k, v in r.items() if k not in ("seconds", "images_per_sec")}
        for r in (*straight.history, *resumed.history)
    ]
    assert untimed[:2] == untimed[2:]  # the interrupted epoch's figures are whole-epoch figures


def test_callbacks_see_the_loop_in_order(data):
    images, labels = data
    seen = []

    class Record(Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                seen.append(name)
            return object.__getattribute__(self, name)

    trainer = Trainer.for_model(small_model(), schedule=None)
    trainer.fit(
        ArrayBatches(images[:16], labels[:16], 8),
        ArrayBatches(images[:8], labels[:8], 8),
        callbacks=[Record()],
    )
    assert seen == [
        "on_fit_begin", "on_epoch_begin", "on_pass_begin",
        "on_backward", "on_batch_end", "on_backward", "on_batch_end", "on_pass_end",
        "on_pass_begin", "on_batch_end", "on_pass_end", "on_epoch_end", "on_fit_end",
    ]  # fmt: skip


def test_a_crash_between_best_and_checkpoint_loses_no_best_model(data, tmp_path, monkeypatch):
    """Kill (here: an exception) after best.npz is written, before checkpoint.npz is: the
    resumed run redoes that epoch and best.npz stays loadable and right."""
    from tinynet.train import KeepBest

    images, labels = data
    batches = ArrayBatches(images[:16], labels[:16], 8, seed=1)
    val = ArrayBatches(images[:16], labels[:16], 16, shuffle=False)
    trainer = Trainer.for_model(small_model(), schedule=None)
    ckpt, best = tmp_path / "checkpoint.npz", tmp_path / "best.npz"
    trainer.fit(batches, val, epochs=1, checkpoint=ckpt, callbacks=[KeepBest(best)])
    real_save = Trainer.save

    def killed_at_the_checkpoint(self, path, **kwargs):
        if path == ckpt:
            raise SystemExit("killed")
        return real_save(self, path, **kwargs)

    monkeypatch.setattr(Trainer, "save", killed_at_the_checkpoint)
    with pytest.raises(SystemExit):
        trainer.fit(batches, val, epochs=2, checkpoint=ckpt, callbacks=[KeepBest(best)])
    monkeypatch.undo()
    assert Trainer.load(ckpt).epoch == 1  # the kill came before epoch 2's checkpoint
    resumed = Trainer.load(ckpt)
    resumed.fit(batches, val, epochs=2, checkpoint=ckpt, callbacks=[KeepBest(best)])
    kept = Trainer.load(best)  # loadable, and the model of the best epoch
    best_epoch = max(resumed.history, key=lambda r: (r["val_top1"], -r["epoch"]))["epoch"]
    assert kept.epoch == best_epoch and kept.best_acc1 == resumed.best_acc1


def test_an_epoch_without_one_readable_image_is_an_error(data):
    from tinynet.train import NoTrainingData

    images, labels = data
    trainer = Trainer.for_model(small_model(), schedule=None)
    empty = [(images[:0], labels[:0])] * 3  # what a loader with keep_empty gives
    with pytest.raises(NoTrainingData, match="epoch 1: not one training image"):
        trainer.fit(empty)
