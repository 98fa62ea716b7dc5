"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

import pytest

from tinynet.data import ArrayBatches
from tinynet.train import Trainer

from ...helpers.training import small_model


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
