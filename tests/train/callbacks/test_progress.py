"""What a person watching training sees: the progress bar."""

import io
import os
import sys
from types import SimpleNamespace

from tinynet.train import ProgressBar
from tinynet.train.callbacks.progress import FALLBACK_COLUMNS, bar_size


class FakeTerminal(io.StringIO):
    """A terminal as ``script`` without a size makes it: a tty reporting 0 x 0."""

    def isatty(self):
        return True

    def fileno(self):
        return 2


def on_terminal(monkeypatch, columns, rows) -> FakeTerminal:
    """sys.stderr a terminal of that size (set in the test: pytest sets sys.stderr after the
    fixtures)."""
    screen, size = FakeTerminal(), os.terminal_size((columns, rows))
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=None: size)  # tqdm asks os too
    monkeypatch.setattr(sys, "stderr", screen)
    return screen


def test_a_terminal_of_zero_columns_gets_a_bar_80_wide(monkeypatch):
    # issue 25 #34: tqdm took the 0 x 0 for -1 x -1 and drew nothing at all
    terminal = on_terminal(monkeypatch, 0, 0)
    assert bar_size() == dict(ncols=FALLBACK_COLUMNS, nrows=24)
    bar = ProgressBar()
    trainer = SimpleNamespace(epoch=0, epoch_step=1)
    meter = SimpleNamespace(images=8, loss=1.25, acc1=0.5, data_seconds=0.0)
    bar.on_pass_begin(trainer, "train", 3)
    bar.on_batch_end(trainer, "train", meter)
    bar.bar.refresh()
    shown = terminal.getvalue().split("\r")[-1]
    assert shown.startswith("epoch 1 train:  33%") and "loss=1.2500" in shown
    assert len(shown) <= FALLBACK_COLUMNS
    bar.on_fit_end(trainer)


def test_a_terminal_with_a_size_keeps_following_it(monkeypatch):
    on_terminal(monkeypatch, 120, 40)
    assert bar_size() == dict(dynamic_ncols=True)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # no file descriptor: tqdm decides
    assert bar_size() == dict(dynamic_ncols=True)
