"""Ctrl-C and SIGTERM ask training to stop at the next safe point (after an optimizer step)."""
from __future__ import annotations

import signal


class Interrupted(Exception):
    """Raised inside the training loop when a stop was requested."""


class StopRequests:
    """Context manager: the first SIGINT/SIGTERM sets ``signal_name``; a second SIGINT aborts."""

    def __init__(self):
        self.signal_name = None
        self._previous = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop right now
        self.signal_name = signal.Signals(signum).name

    def check(self) -> None:
        if self.requested:
            raise Interrupted(self.signal_name)

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False
