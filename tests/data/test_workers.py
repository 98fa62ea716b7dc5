"""DataLoader worker processes: identical batches, clean-up on every way out of a pass,
Ctrl-C (once and twice, through the command line) and a prompt close."""

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

from tinynet.data import DataLoader, EvalTransform, ImageFolder, TrainTransform

from ..helpers.loader import (
    assert_equal_batches,
    epoch_batches,
    no_leftover_children,  # noqa: F401  (autouse: no test leaves a worker behind)
    write_loader_folder,
)
from ..helpers.processes import is_dead


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return ImageFolder(write_loader_folder(tmp_path_factory.mktemp("workers") / "train"))


def test_workers_bit_identical_to_in_process(ds):
    tf = TrainTransform(24)
    ref = DataLoader(ds, tf, batch_size=6, shuffle=True, seed=3, workers=0)
    par = DataLoader(ds, tf, batch_size=6, shuffle=True, seed=3, workers=2, prefetch=1)
    for epoch in (0, 1):
        assert_equal_batches(epoch_batches(ref, epoch), epoch_batches(par, epoch))


def test_ten_crop_batches_with_workers(ds):
    tf = EvalTransform(24, ten_crop=True)
    a = epoch_batches(DataLoader(ds, tf, batch_size=16, workers=0))
    b = epoch_batches(DataLoader(ds, tf, batch_size=16, workers=2))
    assert a[0][0].shape == (16, 10, 3, 24, 24)
    assert_equal_batches(a, b)


@pytest.mark.slow
def test_spawn_start_method_matches(ds):
    tf = TrainTransform(24)
    a = epoch_batches(DataLoader(ds, tf, batch_size=19, shuffle=True, workers=0))
    b = epoch_batches(
        DataLoader(ds, tf, batch_size=19, shuffle=True, workers=1, start_method="spawn")
    )
    assert_equal_batches(a, b)


def test_early_break_stops_workers(ds):
    dl = DataLoader(ds, TrainTransform(24), batch_size=4, workers=2)
    for _ in dl:
        pids = list(dl.worker_pids)
        assert len(mp.active_children()) == 2
        break
    assert mp.active_children() == []
    assert all(is_dead(p) for p in pids)


def test_close_and_context_manager_stop_held_iterator(ds):
    with DataLoader(ds, TrainTransform(24), batch_size=4, workers=2) as dl:
        it = iter(dl)
        next(it)
        assert len(mp.active_children()) == 2
    assert mp.active_children() == []
    dl2 = DataLoader(ds, TrainTransform(24), batch_size=4, workers=2)
    it = iter(dl2)
    next(it)
    iter(dl2)  # starting a new pass stops the old one's workers
    assert mp.active_children() == []
    dl2.close()


def test_keyboard_interrupt_in_loop_body_stops_workers(ds):
    dl = DataLoader(ds, TrainTransform(24), batch_size=4, workers=2)
    with pytest.raises(KeyboardInterrupt):
        for _ in dl:
            raise KeyboardInterrupt
    assert mp.active_children() == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_workers_ignore_sigint_and_sigterm(ds, signum):
    """Ctrl-C, or a scheduler's SIGTERM, hits the whole process group: workers must not die
    from it (the main process stops gracefully, then stops them)."""
    ref = epoch_batches(DataLoader(ds, TrainTransform(24), batch_size=4, workers=0))
    dl = DataLoader(ds, TrainTransform(24), batch_size=4, workers=2, prefetch=1)
    got = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k, batch in enumerate(dl):
            if k == 0:
                for pid in dl.worker_pids:
                    os.kill(pid, signum)
                time.sleep(0.05)
            got.append(batch)
    assert_equal_batches(ref, got)


class _Boom:
    """Transform that fails (a bug, not bad data) on one sample."""

    def __call__(self, img, rng):
        if img.size[0] == self.width:
            raise ZeroDivisionError("boom in transform")
        return np.zeros((3, 4, 4), np.float32)

    def __init__(self, width):
        self.width = width


@pytest.mark.parametrize("workers", [0, 2])
def test_transform_error_propagates_and_cleans_up(ds, workers):
    width = ds.load(20)[0].size[0]
    dl = DataLoader(ds, _Boom(width), batch_size=4, workers=workers)
    expected = RuntimeError if workers else ZeroDivisionError
    with pytest.raises(expected, match="boom in transform"):
        epoch_batches(dl)
    assert mp.active_children() == []


def test_dead_worker_is_reported(ds):
    dl = DataLoader(ds, TrainTransform(24), batch_size=2, workers=2, prefetch=1)
    with pytest.raises(RuntimeError, match="killed by signal 9"):
        for k, _ in enumerate(dl):
            if k == 0:
                os.kill(dl.worker_pids[0], signal.SIGKILL)
    assert mp.active_children() == []


class _Slow:
    """Picklable transform that takes a while per sample (38 samples on 2 workers: about 2 s,
    so the SIGINT at 0.3 s lands mid-pass even on a loaded machine)."""

    def __call__(self, img, rng):
        time.sleep(0.1)
        return np.zeros((3, 4, 4), np.float32)


@pytest.mark.slow
def test_ctrl_c_while_waiting_for_workers(ds):
    """SIGINT arriving while the main process waits on busy workers."""
    dl = DataLoader(ds, _Slow(), batch_size=4, workers=2)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    seen = 0
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own Ctrl-C
    try:
        with pytest.raises(KeyboardInterrupt):
            timer.start()
            for _ in dl:
                seen += 1
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert seen < len(dl)
    assert mp.active_children() == []
    assert all(is_dead(p) for p in dl.worker_pids)


@pytest.fixture
def trainer_sigterm_handler():
    """A Python SIGTERM handler that does not exit, as the trainer's StopOnSignal installs."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.slow
def test_close_mid_pass_is_prompt(ds, trainer_sigterm_handler):
    """Workers forked under a non-exiting SIGTERM handler still stop at once on close()."""
    dl = DataLoader(ds, _Slow(), batch_size=2, workers=2, prefetch=2)
    it = iter(dl)
    next(it)
    began = time.perf_counter()
    dl.close()
    took = time.perf_counter() - began
    assert took < 0.5, f"close() took {took:.2f} s"
    assert all(is_dead(p) for p in dl.worker_pids)


@pytest.mark.slow
def test_pass_left_open_at_exit_does_not_hang(tmp_path):
    """Workers ignore SIGTERM, so multiprocessing's exit handler alone (SIGTERM, then wait)
    would wait for ever: the pools still open are closed first."""
    write_loader_folder(tmp_path / "train")
    script = (
        "from tinynet.data import DataLoader, EvalTransform, ImageFolder\n"
        f"dl = DataLoader(ImageFolder({str(tmp_path / 'train')!r}), EvalTransform(24), 4, "
        "workers=2, on_skip=lambda *a: None)\n"
        "it = iter(dl)\nnext(it)\nprint(*dl.worker_pids)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    assert all(is_dead(int(pid)) for pid in done.stdout.split())
