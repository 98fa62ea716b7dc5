"""Every meta field of a training checkpoint is checked on load (issue 25 #8, #9, #26): a field
of the wrong type or an impossible value is one CheckpointError naming the file and the field,
before anything is built, never a ValueError/TypeError/KeyError traceback from deep inside."""

from __future__ import annotations

import numpy as np
import pytest

from tinynet.data import ArrayBatches
from tinynet.train import CheckpointError, Trainer, trainer

from ..helpers.checkpoints import edited
from ..helpers.training import small_model


def meta(**fields):
    return lambda ck: ck.meta.update(fields)


def run(**fields):
    return lambda ck: ck.meta["run"].update(fields)


def config(**fields):
    return lambda ck: ck.meta["model_config"].update(fields)


def info(value):
    return lambda ck: ck.meta.update(model_info=value)


def _no_building(monkeypatch):
    def build(config):
        raise AssertionError(f"the model was built from {config}")

    monkeypatch.setattr(trainer, "from_config", build)


# fmt: off
META_CASES = [
    (meta(epoch="abc"), "meta field 'epoch' must be a non-negative integer, got 'abc'"),
    (meta(epoch=None), "meta field 'epoch' must be a non-negative integer, got None"),
    (meta(epoch=1.5), "meta field 'epoch' must be a non-negative integer, got 1.5"),
    (meta(step=-1), "meta field 'step' must be a non-negative integer, got -1"),
    (meta(epoch_step=-1), "meta field 'epoch_step' must be a non-negative integer, got -1"),
    (meta(epoch_step=99), r"meta field 'epoch_step' must be at most 'step' \(0\), got 99"),
    (meta(best_acc1="high"), "meta field 'best_acc1' must be a number from 0 to 1, got 'high'"),
    (meta(best_acc5=7), "meta field 'best_acc5' must be a number from 0 to 1, got 7"),
    (meta(history=5), "meta field 'history' must be a list of epoch records, got 5"),
    (meta(history=[5]), r"meta field 'history\[0\]' must be a JSON object"),
    (meta(history=[{"epoch": 1}]), r"meta field 'history\[0\].train_loss' must be a number"),
    (meta(extra="x"), "meta field 'extra' must be a JSON object, got 'x'"),
    (meta(extra={"classes": 5}), "meta field 'extra.classes' must be a list of strings, got 5"),
    (meta(frozen=5), "meta field 'frozen' must be a list of strings, got 5"),
    (meta(frozen=["nope"]), r"meta field 'frozen' names \['nope'\], not model parameters"),
    (meta(callbacks=[1]), "meta field 'callbacks' must map callback class names to JSON objects"),
    (meta(callbacks={"StallWarning": 5}), "meta field 'callbacks' must map callback class names"),
    (meta(callbacks={"StallWarning": {"count": "x"}}),
     "meta field 'callbacks.StallWarning' does not fit StallWarning"),
    (meta(schedule_kind=["plateau"]), "meta field 'schedule_kind' must be one of"),
    (meta(epoch_meter={"x": 1}), "meta field 'epoch_meter' must be a JSON object with keys from"),
    (meta(epoch_meter={"images": -4}), "meta field 'epoch_meter.images' must be a non-negative"),
    (meta(epoch_meter={"images": 2, "top1": 3, "top5": 3}),
     "meta field 'epoch_meter' must count top1 <= top5 <= images"),
    (meta(model_config=5), "meta field 'model_config' must be a JSON object, got 5"),
    (meta(run=5), "meta field 'run': expected a dict, got int"),
    (run(batch_size=0), "meta field 'run': batch_size must be >= 1, got 0"),
    (run(weights=5), "meta field 'run': weights must be a string, got 5"),
    (config(dtype="float16"),
     "cannot rebuild its model: alexnet: dtype must be float32 or float64, got 'float16'"),
]
INFO_CASES = [
    (info(5), "meta field 'model_info' must be a dict, got int 5"),
    (info({"foo": 1}), r"meta field 'model_info' has unknown keys \['foo'\]"),
    (info({"input_size": 1}),
     r"meta field 'model_info' input_size must be a side the model accepts, 67..98, got 1"),
    (info({"input_size": "big"}), "meta field 'model_info' input_size must be an integer"),
    (info({"preprocess": {"channels": "XYZ"}}),
     r"meta field 'model_info' preprocess channels must be one of \('RGB', 'BGR'\), got 'XYZ'"),
    (info({"preprocess": {"crop": 5000}}),
     "meta field 'model_info' preprocess crop must be a side the model accepts, 67..98, got 5000"),
    (info({"preprocess": {"resize": 10**6}}),
     r"meta field 'model_info' preprocess resize must be from the crop \(67\) up to twice it"),
    (info({"preprocess": {"mean": [0.5]}}), "meta field 'model_info' preprocess mean must be a"),
    (info({"preprocess": {"std": [1, 0, 1]}}),
     "meta field 'model_info' preprocess std must be finite and > 0, got 0"),
    (info({"preprocess": {"scale": "x"}}),
     "meta field 'model_info' preprocess scale must be a real number, got 'x'"),
    (info({"preprocess": {"gamma": 2}}),
     r"meta field 'model_info' preprocess has unknown keys \['gamma'\]"),
    (info({"class_names": ["a"]}),
     "meta field 'model_info' class_names has 1 names for the model's 4 classes"),
    (info({"class_names": "abcd"}), "meta field 'model_info' class_names must be a list of str"),
]
# fmt: on


@pytest.mark.parametrize("edit, match", META_CASES + INFO_CASES)
def test_a_bad_meta_field_is_one_line_naming_the_file_and_the_field(
    saved, tmp_path, monkeypatch, edit, match
):
    path = edited(saved, tmp_path, edit)
    with pytest.raises(CheckpointError, match=rf"^{path}: {match}") as err:
        Trainer.load(path)
    assert "\n" not in str(err.value)


#: Judged on the built model: a parameter's name, a callback's state (by the callback).
AFTER_BUILDING = ("frozen' names", "callbacks.StallWarning")


@pytest.mark.parametrize(
    "edit, match",
    [case for case in META_CASES + INFO_CASES if not any(a in case[1] for a in AFTER_BUILDING)],
)
def test_the_meta_is_refused_before_the_model_is_built(saved, tmp_path, monkeypatch, edit, match):
    path = edited(saved, tmp_path, edit)
    _no_building(monkeypatch)
    with pytest.raises(CheckpointError, match=rf"^{path}: {match}"):
        Trainer.load(path)


def test_sound_model_info_loads_checked(saved, tmp_path):
    good = {
        "input_size": 67,
        "preprocess": {"channels": "BGR", "scale": 1.0, "mean": [104, 117, 123],
                       "std": [1, 1, 1], "resize": 76, "crop": 67},
        "class_names": ["a", "b", "c", "d"],
    }  # fmt: skip
    path = edited(saved, tmp_path, info(good))
    assert Trainer.load(path).model.info == good
    assert Trainer.load(edited(saved, tmp_path, info(None))).model.info == {}
    assert Trainer.load(edited(saved, tmp_path, info({"class_names": []}))).model.info == {
        "class_names": []
    }


def test_restore_checks_the_meta_too(saved, tmp_path):
    from tinynet.train import load_checkpoint

    path = edited(saved, tmp_path, meta(epoch="abc"))
    fresh = Trainer.for_model(small_model(), schedule="plateau")
    with pytest.raises(CheckpointError, match=rf"^{path}: meta field 'epoch'"):
        fresh.restore(load_checkpoint(path))
    assert fresh.epoch == 0


# ----------------------------------------------------------------------------- #26 epoch_step
def _stopped_after(tmp_path, data, steps):
    """A checkpoint of a run stopped (as by Ctrl-C) after ``steps`` steps of 2-step epochs."""
    from .test_trainer import StopAfter

    images, labels = data
    first = Trainer.for_model(small_model(), schedule=None)
    batches = ArrayBatches(images[:16], labels[:16], 8, seed=0)
    first.fit(batches, epochs=1, checkpoint=tmp_path / "ck.npz", callbacks=[StopAfter(steps)])
    return tmp_path / "ck.npz", batches


def test_an_epoch_step_past_the_end_of_the_epoch_is_named_at_fit(data, tmp_path):
    path, batches = _stopped_after(tmp_path, data, 1)
    path = edited(path, tmp_path, meta(epoch_step=99, step=99))
    resumed = Trainer.load(path)  # the steps of an epoch are not known until fit
    with pytest.raises(CheckpointError) as err:
        resumed.fit(batches, epochs=1)
    assert str(err.value) == (
        "Trainer.fit: cannot resume at step 99 of epoch 1: an epoch of these batches has 2 "
        f"steps (the checkpoint {path} says epoch_step 99)"
    )


def test_an_epoch_step_past_the_end_of_batches_without_a_length(data, tmp_path):
    path, batches = _stopped_after(tmp_path, data, 1)
    path = edited(path, tmp_path, meta(epoch_step=99, step=99, epoch_meter=None))

    class Unsized:  # a loader without len(): the end is only seen when it comes
        def __init__(self, inner):
            self.inner = inner

        def set_epoch(self, epoch, start=0):
            self.inner.set_epoch(epoch, start=start)

        def __iter__(self):
            return iter(self.inner)

    with pytest.raises(CheckpointError, match="the batches ended before it .*epoch_step 99"):
        Trainer.load(path).fit(Unsized(batches), epochs=1)


def test_a_resume_right_at_the_end_of_an_epoch_still_finishes_it(data, tmp_path):
    path, batches = _stopped_after(tmp_path, data, 2)  # after the epoch's last step
    resumed = Trainer.load(path)
    assert resumed.epoch_step == 2
    (record,) = resumed.fit(batches, epochs=1)
    assert record["epoch"] == 1 and resumed.epoch_step == 0 and np.isfinite(record["train_loss"])
