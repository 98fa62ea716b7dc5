"""Tests of ``tinynet.integration.command_line``."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinynet.train import Trainer, load_checkpoint

from ..helpers.cli import SMALL, run
from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no test leaves a worker behind)
from ..helpers.processes import is_dead
from ..helpers.toy_data import write_colour_folders

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_saves_a_loadable_checkpoint(colours, tmp_path):
    out = tmp_path / "interrupted"
    flags = "--epochs 50 --image-size 67 --width 0.125 -b 2 -j 1 --no-progress --lr 0.001".split()
    script = str(ROOT / "examples" / "alexnet.py")
    cmd = [sys.executable, script, "--data", str(colours), "--output", str(out), *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (out / "metrics.csv").exists() and time.time() < deadline:
            time.sleep(0.2)  # wait for the first epoch, so we interrupt mid-training
        assert (out / "metrics.csv").exists(), proc.stderr.read() if proc.poll() else "timeout"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "Resume with:" in stdout and "--resume" in stdout
    trainer = Trainer.load(out / "checkpoint.npz")
    assert trainer.step > 0
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    # the workers are gone
    time.sleep(0.5)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    assert children.stdout.strip() == ""


def weights(path):
    return load_checkpoint(path).model_state


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_printed_resume_command_finishes_the_same_run(colours, tmp_path):
    flags = "--epochs 3 -b 4 --image-size 67 --width 0.125 -j 0 --seed 3".split()
    assert run(colours, "--output", tmp_path / "straight", *flags, "--no-progress") == 0
    out = tmp_path / "stopped run"  # a space: the printed command quotes it (issue 25 #14)
    script = str(ROOT / "examples" / "alexnet.py")
    cmd = [sys.executable, script, str(colours), "--output", str(out), *flags, "-p", "1"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:  # interrupt in the middle of epoch 2
        if line.startswith("epoch [2][3/9]"):
            proc.send_signal(signal.SIGINT)
            break
    stdout = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, stdout
    command = shlex.split(re.search(r"Resume with: (.*)", stdout).group(1))
    assert command[:2] == ["python", "examples/alexnet.py"] and "-b" not in command
    resumed = subprocess.run(
        [sys.executable, script, *command[2:]], cwd=tmp_path, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 3/3" in resumed.stdout and "batch 4" in resumed.stdout
    straight, finished = (
        weights(tmp_path / "straight/checkpoint.npz"),
        weights(out / "checkpoint.npz"),
    )
    for name, value in straight.items():
        np.testing.assert_array_equal(finished[name], value, err_msg=name)


@pytest.mark.slow
def test_the_first_run_says_it_compiles(colours, tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    script = str(ROOT / "examples" / "alexnet.py")
    argv = [sys.executable, script, str(colours), *SMALL, "--epochs", "1", "--output"]
    first = subprocess.run([*argv, str(tmp_path / "a")], env=env, capture_output=True, text=True)
    second = subprocess.run([*argv, str(tmp_path / "b")], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "compiling the kernels (first run only" in first.stdout
    assert "compiling" not in second.stdout


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alexnet.py"


# ------------------------------------------- under the trainer's SIGINT/SIGTERM handlers
def _children(pid: int) -> set[int]:
    """PIDs of the processes whose parent is ``pid`` (read from /proc/*/stat)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _wait_watching_children(proc, seconds: float, found: set[int]) -> None:
    """Wait up to ``seconds`` for ``proc`` to end, adding its children's PIDs to ``found``."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        found |= _children(proc.pid)
        time.sleep(0.02)


def _start_training(tmp_path):
    """alexnet.py training with one worker, in a session of its own, once its first epoch is
    done -> (process, log file, set of the PIDs of its children seen so far)."""
    # a long training pass and a short validation: the signals land in training steps
    data = write_colour_folders(tmp_path / "data", counts=(("train", 40), ("val", 2)))
    run, log = tmp_path / "run", tmp_path / "log"
    flags = "--epochs 50 --image-size 67 --width 0.125 -b 2 --lr 0.001 -j 1 --no-progress"
    cmd = [sys.executable, str(EXAMPLE), "--data", str(data), "--output", str(run)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd + flags.split(), stdout=out, stderr=out, start_new_session=True)
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while not (run / "metrics.csv").exists() and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        _wait_watching_children(proc, 0.1, workers)
    _wait_watching_children(proc, 0.5, workers)  # into the next epoch's steps
    return proc, log, workers


def _signal_group(proc, signum) -> None:
    """``signum`` to ``proc``'s process group, as a terminal or a scheduler sends it."""
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:  # all gone already
        pass


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize(
    "signals", [("SIGINT", "SIGINT"), ("SIGTERM",)], ids=["ctrl-c-twice", "sigterm"]
)
def test_signals_end_training_within_seconds_leaving_no_worker(tmp_path, signals):
    """Ctrl-C, then Ctrl-C again 0.2 s later (the second one used to land in the wait for
    workers that ignored SIGTERM: a hang), or one SIGTERM, to the whole process group while
    alexnet.py trains with a worker: it ends within seconds, status 130 / 143, no worker left."""
    proc, log, workers = _start_training(tmp_path)
    try:
        assert workers and proc.poll() is None, log.read_text()
        for k, name in enumerate(signals):
            _wait_watching_children(proc, 0.2 * k, workers)
            _signal_group(proc, signal.Signals[name])
        _wait_watching_children(proc, 5.0, workers)
        # death by the second SIGINT is fine too: it can land in the interpreter's last
        # teardown, after the handlers are reset (a shell shows it as status 130)
        ok = {"SIGINT": (130, -signal.SIGINT), "SIGTERM": (143,)}[signals[0]]
        assert proc.poll() in ok, f"5 s later: {proc.poll()}, {log.read_text()}"
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    time.sleep(0.2)
    assert [pid for pid in workers if not is_dead(pid)] == []
