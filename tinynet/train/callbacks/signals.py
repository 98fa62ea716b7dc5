"""Ctrl-C and SIGTERM end ``Trainer.fit`` at the next step, with a checkpoint saved."""

from __future__ import annotations

import signal

from .base import Callback


class StopOnSignal(Callback):
    """While ``fit`` runs, the first SIGINT/SIGTERM asks the trainer to stop after the current
    step (``trainer.stop_requested = "SIGINT"``); a second SIGINT raises KeyboardInterrupt at
    once. The previous handlers come back when ``fit`` ends. Every rank handles its own signals;
    the trainer agrees on a stop across ranks."""

    every_rank = True

    def __init__(self):
        self._trainer = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self._trainer.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop right now
        self._trainer.stop_requested = signal.Signals(signum).name

    def on_fit_begin(self, trainer):
        self._trainer = trainer
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def on_fit_end(self, trainer):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
