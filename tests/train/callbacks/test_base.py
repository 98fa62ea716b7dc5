"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

from tinynet.data import ArrayBatches
from tinynet.train import Callback, Trainer

from ...helpers.training import small_model


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
