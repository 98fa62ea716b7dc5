"""The callback interface of ``Trainer.fit``: hooks called at fixed points of the loop."""

from __future__ import annotations


class Callback:
    """Override the hooks you need; each receives the trainer first.

    Order in one epoch: ``on_epoch_begin``; ``on_pass_begin("train", total)`` (``total``: the
    pass's number of batches, or None); per step ``on_backward(loss)`` (gradients ready, weights
    not yet updated; ``loss`` is the global batch's) and ``on_batch_end("train", meter)``;
    ``on_pass_end("train", stats)``; the same three with ``"val"`` for validation; then
    ``on_epoch_end(record)``, just before the epoch's checkpoint is saved. ``on_fit_begin`` and
    ``on_fit_end`` wrap it all (``on_fit_end`` also runs when a stop or an error ends ``fit``).

    In a multi-process run a callback runs on rank 0 only, unless ``every_rank`` is True (for
    callbacks that must act the same on every rank, like the divergence check). A callback with
    state to resume defines ``state_dict()``/``load_state_dict()``; it is saved in checkpoints
    under its class name.
    """

    every_rank = False

    def on_fit_begin(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer) -> None: ...

    def on_pass_begin(self, trainer, phase: str, total: int | None) -> None: ...

    def on_backward(self, trainer, loss: float) -> None: ...

    def on_batch_end(self, trainer, phase: str, meter) -> None: ...

    def on_pass_end(self, trainer, phase: str, stats) -> None: ...

    def on_epoch_end(self, trainer, record: dict) -> None: ...

    def on_fit_end(self, trainer) -> None: ...
