"""The command line as a new user meets it: resume with the run's settings, overrides said or
refused, an occupied --output, text progress in logs, the stall notice, clean one-line notices
and errors, pytorch/examples' conventions."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinynet.cli import main
from tinynet.train import load_checkpoint

from .toy_data import write_colour_folders

ROOT = Path(__file__).resolve().parents[1]
SMALL = "--image-size 67 --width 0.125 -j 0 --no-progress".split()


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    return write_colour_folders(tmp_path_factory.mktemp("colours"))


def run(*argv):
    return main([str(a) for a in argv])


def weights(path):
    return load_checkpoint(path).model_state


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_printed_resume_command_finishes_the_same_run(colours, tmp_path):
    flags = "--epochs 3 -b 4 --image-size 67 --width 0.125 -j 0 --seed 3".split()
    assert run(colours, "--output", tmp_path / "straight", *flags, "--no-progress") == 0
    out = tmp_path / "stopped"
    script = str(ROOT / "examples" / "alexnet.py")
    cmd = [sys.executable, script, str(colours), "--output", str(out), *flags, "-p", "1"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:  # interrupt in the middle of epoch 2
        if line.startswith("epoch [2][3/9]"):
            proc.send_signal(signal.SIGINT)
            break
    stdout = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, stdout
    command = re.search(r"Resume with: (.*)", stdout).group(1).split()
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


def test_resume_flags_are_applied_and_said_or_refused(colours, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(colours, "--output", out, "--epochs", 1, "-b", 6, *SMALL) == 0
    ckpt = out / "checkpoint.npz"
    capsys.readouterr()
    assert (
        run(colours, "--output", out, "--resume", ckpt, "--epochs", 2, "--lr", 0.001, "-j", 0) == 0
    )
    text = capsys.readouterr().out
    assert "changed: --lr 0.001 (the checkpoint's run had 0.01)" in text
    assert "changed: --epochs 2 (the checkpoint's run had 1)" in text and "epoch 2/2" in text
    assert load_checkpoint(ckpt).meta["run"]["lr"] == 0.001
    for flag, value, why in (
        ("--width", 0.25, "another model"),
        ("--seed", 5, "data order"),
        ("-a", "alexnet-plain", "another model"),
        ("--schedule", "step", "schedule"),
    ):
        assert run(colours, "--output", out, "--resume", ckpt, flag, value, "--epochs", 3) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith(f"alexnet.py: error: {flag} {value}: the checkpoint's run has")
            and why in err
        )


def test_batch_size_cannot_change_in_the_middle_of_an_epoch(colours, tmp_path, capsys):
    from tinynet.train import Trainer

    out = tmp_path / "run"
    assert run(colours, "--output", out, "--epochs", 1, "-b", 6, *SMALL) == 0
    trainer = Trainer.load(out / "checkpoint.npz")
    trainer.epoch_step = 2  # as if stopped two steps into epoch 2
    trainer.save(out / "checkpoint.npz")
    assert run(colours, "--output", out, "--resume", out / "checkpoint.npz", "-b", 4) == 2
    assert "2 steps into epoch 2" in capsys.readouterr().err


def test_an_occupied_output_is_refused_unless_overwritten(colours, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(colours, "--output", out, "--epochs", 1, *SMALL) == 0
    before = (out / "checkpoint.npz").stat().st_mtime_ns
    assert run(colours, "--output", out, "--epochs", 1, *SMALL) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert (out / "checkpoint.npz").stat().st_mtime_ns == before
    assert run(colours, "--output", out, "--epochs", 1, "--overwrite", *SMALL) == 0


def test_print_freq_lines_in_a_log(colours, tmp_path, capsys):
    flags = "--image-size 67 --width 0.125 -j 0 -b 6 -p 2 --epochs 1".split()
    assert run(colours, "--output", tmp_path, *flags) == 0  # capsys: not a terminal
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch [1]")]
    assert [line.split()[1] for line in lines] == ["[1][2/6]", "[1][4/6]", "[1][6/6]"]
    assert all(
        re.search(r"loss \d\.\d{4}  Acc@1 [\d.]+  Acc@5 [\d.]+  [\d.]+ img/s", line)
        for line in lines
    )


@pytest.mark.parametrize(
    "init, epochs, sign",
    [("caffe", 2, "epoch 1: the training loss"), ("paper", 3, "accuracy stayed at chance level")],
)
def test_a_stalled_run_says_what_to_do(colours, tmp_path, capsys, init, epochs, sign):
    flags = f"--image-size 67 --width 0.125 -j 0 -b 6 --epochs {epochs} --init {init}".split()
    assert run(colours, "--output", tmp_path, *flags, "--no-progress") == 0
    err = capsys.readouterr().err
    assert f"alexnet.py: warning: {sign}" in err or sign in err, err
    assert "--init he" in err and len([line for line in err.splitlines() if "warning" in line]) == 1


def test_pytorch_conventions(colours, tmp_path, capsys):
    assert run(colours, "--output", tmp_path, "-a", "alexnet-plain", "--epochs", 1, *SMALL) == 0
    text = capsys.readouterr().out
    assert "AlexNet (alexnet-plain)" in text and "groups 1, lrn False" in text
    assert "done: 1 epoch," in text and re.search(r"Acc@1 [\d.]+ Acc@5", text)
    for flag, pointer in (
        ("--gpu", "CPU"),
        ("--world-size", "mpirun"),
        ("--pretrained", "--resume"),
    ):
        assert run(colours, flag, "1") == 2
        err = capsys.readouterr().err
        assert err.startswith(f"alexnet.py: error: {flag} does not apply here") and pointer in err


def test_start_epoch_counts_from_there(colours, tmp_path, capsys):
    flags = "--schedule step --step-size 2 --start-epoch 2 --epochs 3 --lr 0.1".split()
    assert run(colours, "--output", tmp_path, *flags, *SMALL) == 0
    text = capsys.readouterr().out
    assert "epoch 3/3  lr 0.01 " in text and "epoch 1/" not in text


def test_unreadable_images_are_one_line_notices(colours, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(colours, data)
    (data / "train" / "red" / "broken.png").write_bytes(b"")
    assert run(data, "--output", tmp_path / "out", "--epochs", 2, *SMALL) == 0
    captured = capsys.readouterr()
    notices = [line for line in captured.err.splitlines() if "broken.png" in line]
    assert len(notices) == 1 and notices[0].startswith("alexnet.py: skipping unreadable image")
    assert "Warning" not in captured.err
    assert captured.out.count("(1 unreadable files skipped)") == 2


def test_curves_skipped_without_matplotlib_is_said(colours, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert run(colours, "--output", tmp_path, "--epochs", 1, *SMALL) == 0
    text = capsys.readouterr().out
    assert "curves.png will not be drawn: matplotlib is not installed" in text
    assert "curves in" not in text.splitlines()[-1] and not (tmp_path / "curves.png").exists()


@pytest.mark.parametrize(
    "setup, argv, message, code",
    [
        (lambda out: out.write_text("x"), (), "is a file, not a folder", 2),
        (lambda out: out.mkdir(), ("--resume", "{out}"), "is a folder, not a checkpoint", 2),
        (None, ("--lr", "1e6", "--epochs", "1", "-b", "2"), "No checkpoint was written", 1),
    ],
)
def test_output_and_resume_mistakes(colours, tmp_path, capsys, setup, argv, message, code):
    out = tmp_path / "out"
    if setup:
        setup(out)
    argv = [a.format(out=out) for a in argv]
    assert run(colours, "--output", out, *SMALL, *argv) == code
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unwritable_output_is_found_before_training(colours, tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.TemporaryFile", refuse)
    assert run(colours, "--output", tmp_path / "ro", "--epochs", 1, *SMALL) == 2
    assert "cannot write into --output" in capsys.readouterr().err


def test_no_readable_training_image_is_an_error(colours, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(colours, data)
    for path in (data / "train").rglob("*.png"):
        path.write_bytes(b"")
    assert run(data, "--output", tmp_path / "out", "--epochs", 1, *SMALL) == 1
    err = capsys.readouterr().err
    assert "not one training image could be read" in err.splitlines()[-1]
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def test_the_first_run_says_it_compiles(colours, tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    script = str(ROOT / "examples" / "alexnet.py")
    argv = [sys.executable, script, str(colours), *SMALL, "--epochs", "1", "--output"]
    first = subprocess.run([*argv, str(tmp_path / "a")], env=env, capture_output=True, text=True)
    second = subprocess.run([*argv, str(tmp_path / "b")], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "compiling the kernels (first run only" in first.stdout
    assert "compiling" not in second.stdout


def test_the_gradcheck_demo_has_help_and_an_exit_status():
    script = str(ROOT / "examples" / "gradcheck_demo.py")
    help_text = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "--eps" in help_text.stdout
    checked = subprocess.run([sys.executable, script], capture_output=True, text=True)
    assert checked.returncode == 0 and "FAILED" not in checked.stdout and "ok" in checked.stdout


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--lr", "inf", "must be finite and >= 0, got inf"),
        ("--seed", "-1", "must be >= 0, got -1"),
        ("--patience", "-5", "must be >= 0, got -5"),
        ("--momentum", "1", "must be in [0, 1)"),
        ("--width", "0", "must be finite and > 0"),
    ],
)
def test_bad_numbers_are_one_line(colours, flag, value, message, capsys):
    assert run(colours, flag, value) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"alexnet.py: error: argument {flag}") and message in err
    assert len(err.strip().splitlines()) == 1


def test_a_full_disk_is_one_line(colours, tmp_path, capsys, monkeypatch):
    import errno

    from tinynet.train import atomic

    real = atomic.atomic_write

    def full(path, write):  # every write runs out of space, through the real atomic_write
        def no_space(f):
            raise OSError(errno.ENOSPC, "No space left on device")

        return real(path, no_space)

    monkeypatch.setattr(atomic, "atomic_write", full)
    monkeypatch.setattr("tinynet.train.checkpoint.atomic_write", full)
    monkeypatch.setattr("tinynet.train.callbacks.outputs.atomic_write", full)
    assert run(colours, "--output", tmp_path / "out", "--epochs", 1, *SMALL) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("alexnet.py: error: cannot write") and "No space left" in err[-1]
    assert not list((tmp_path / "out").glob("*.npz"))


def test_the_demo_dataset_is_made_once(tmp_path, monkeypatch, capsys):
    from argparse import Namespace

    from tinynet.cli import session

    monkeypatch.setenv("TINYNET_CACHE", str(tmp_path / "cache"))
    small = dict(num_classes=2, train_per_class=3, val_per_class=1, image_size=32, seed=0)
    monkeypatch.setattr(session, "DEMO_DATA", small)
    for output in ("a", "b"):
        root = session.dataset_dir(Namespace(demo=True, output=str(tmp_path / output)))
    assert root == tmp_path / "cache" / "demo-shapes"
    assert capsys.readouterr().out.count("writing the demo dataset") == 1
