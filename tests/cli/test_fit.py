"""Tests of ``tinynet.cli.fit``."""

import csv
import os
import re
import sys

import pytest

from tinynet.train import StallWarning, Trainer

from ..helpers.cli import SMALL, TINY, run


def test_training_writes_every_output(trained):
    for name in ("checkpoint.npz", "best.npz", "metrics.csv"):
        assert (trained / name).is_file(), name
    rows = list(csv.DictReader(open(trained / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert set(rows[0]) == {
        "epoch",
        "lr",
        "train_loss",
        "train_top1",
        "val_loss",
        "val_top1",
        "val_top5",
        "seconds",
        "images_per_sec",
        "data_wait_share",
    }
    try:
        import matplotlib  # noqa: F401

        assert (trained / "curves.png").stat().st_size > 1000
    except ImportError:
        pass
    assert not list(trained.glob(".*.tmp"))  # nothing half-written
    umask = os.umask(0)
    os.umask(umask)
    mode = (trained / "metrics.csv").stat().st_mode & 0o777  # an ordinary file, not 0600
    assert mode == 0o666 & ~umask


def test_resume_continues_from_the_checkpoint(trained, colours, tmp_path, capsys):
    out = tmp_path / "resumed"
    out.mkdir()
    (out / "seed.npz").write_bytes((trained / "checkpoint.npz").read_bytes())
    assert (
        run("--data", colours, "--output", out, "--epochs", 3, "--resume", out / "seed.npz", *TINY)
        == 0
    )
    text = capsys.readouterr().out
    assert "resuming" in text and "at epoch 3" in text and "epoch 3/3" in text
    assert "epoch 1/3" not in text
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]  # history carried over
    assert Trainer.load(out / "checkpoint.npz").epoch == 3


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
    [
        ("caffe", 2, "epochs 1-2 (12 steps, to step 12): the training loss stayed at ln(3)"),
        ("paper", 2, "epochs 1-2 (12 steps, to step 12): training and validation accuracy stayed"),
    ],
)
def test_a_stalled_run_says_what_to_do(colours, tmp_path, capsys, monkeypatch, init, epochs, sign):
    # a patience of 12 steps (2 epochs here) instead of 300: a short run can stall
    monkeypatch.setattr("tinynet.train.trainer.StallWarning", lambda patience: StallWarning(12))
    flags = f"--image-size 67 --width 0.125 -j 0 -b 6 --epochs {epochs} --init {init}".split()
    assert run(colours, "--output", tmp_path, *flags, "--no-progress") == 0
    err = capsys.readouterr().err
    assert f"alexnet.py: warning: {sign}" in err, err
    assert "--init he" in err and len([line for line in err.splitlines() if "warning" in line]) == 1


def test_curves_skipped_without_matplotlib_is_said(colours, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert run(colours, "--output", tmp_path, "--epochs", 1, *SMALL) == 0
    text = capsys.readouterr().out
    assert "curves.png will not be drawn: matplotlib is not installed" in text
    assert "curves in" not in text.splitlines()[-1] and not (tmp_path / "curves.png").exists()


def test_dummy_data_trains_and_resumes_without_a_dataset(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--dummy", 48, "--dummy-classes", 4, *TINY, "--output", out, "--epochs", 2, "-p", 2]
    assert run(*argv) == 0
    text = capsys.readouterr()
    assert "data synthetic (--dummy): 48 train / 1 val images, batch 6" in text.out
    assert "epoch 2/2" in text.out and "not learning" not in text.err  # random labels: no notice
    history = Trainer.load(out / "checkpoint.npz").history
    assert [r["epoch"] for r in history] == [1, 2] and history[0]["skipped"] == 0
    assert run(*argv, "--resume", out / "checkpoint.npz", "--epochs", 3) == 0
    assert "epoch 3/3" in capsys.readouterr().out
