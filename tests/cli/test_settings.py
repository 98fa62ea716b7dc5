"""Tests of ``tinynet.cli.settings``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinynet.cli import main
from tinynet.cli.args import parse_args
from tinynet.cli.settings import new_run
from tinynet.train import DEMO, RunConfig, Trainer, load_checkpoint

from ..helpers.cli import SMALL, run
from ..helpers.toy_data import write_colour_folders


@pytest.mark.slow
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

    out = tmp_path / "run"
    assert run(colours, "--output", out, "--epochs", 1, "-b", 6, *SMALL) == 0
    trainer = Trainer.load(out / "checkpoint.npz")
    trainer.epoch_step = 2  # as if stopped two steps into epoch 2
    trainer.save(out / "checkpoint.npz")
    assert run(colours, "--output", out, "--resume", out / "checkpoint.npz", "-b", 4) == 2
    assert "2 steps into epoch 2" in capsys.readouterr().err


def test_start_epoch_counts_from_there(colours, tmp_path, capsys):
    flags = "--schedule step --step-size 2 --start-epoch 2 --epochs 3 --lr 0.1".split()
    assert run(colours, "--output", tmp_path, *flags, *SMALL) == 0
    text = capsys.readouterr().out
    assert "epoch 3/3  lr 0.01 " in text and "epoch 1/" not in text


def test_the_command_line_defaults_are_python_s():
    assert new_run(parse_args(["./data"])) == RunConfig()
    assert new_run(parse_args(["--demo"])) == RunConfig.demo() == RunConfig(**DEMO)
    typed = new_run(parse_args(["./data", "--lr", "0.05", "--schedule", "step"]))
    assert typed == dataclasses.replace(RunConfig(), lr=0.05, schedule="step")


def test_warmup_and_cosine_from_the_command_line_and_on_resume(tmp_path, capsys):
    data = write_colour_folders(tmp_path / "colours")
    out = tmp_path / "run"
    small = ["--image-size", "67", "--width", "0.125", "-j", "0", "--no-progress", "-b", "6"]
    argv = [str(data), "--output", str(out), *small, "--lr", "0.01"]
    assert main([*argv, "--schedule", "cosine", "--warmup", "1", "--epochs", "2"]) == 0
    history = load_checkpoint(out / "checkpoint.npz").meta["history"]
    assert [r["lr"] for r in history] == pytest.approx([0.005, 0.01])  # warm-up, then cosine's top
    resume = ["--resume", str(out / "checkpoint.npz"), "--epochs", "3", "--lr", "0.02"]
    assert main([str(data), "--output", str(out), "-j", "0", "--no-progress", *resume]) == 0
    assert "changed: --lr 0.02 (the checkpoint's run had 0.01)" in capsys.readouterr().out
    meta = load_checkpoint(out / "checkpoint.npz").meta
    # epoch 3 of 3 on the new base rate: t = 1 of T = 2 after warm-up
    assert meta["history"][-1]["lr"] == pytest.approx(0.02 * (1 + np.cos(np.pi / 2)) / 2)
    assert meta["run"]["lr"] == 0.02 and meta["run"]["epochs"] == 3
