"""Tests of ``tinynet.cli.args``."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinynet.cli import main
from tinynet.cli.args import build_parser, flag, parse_args
from tinynet.dist import BUCKET_BYTES
from tinynet.train import DEMO, RunConfig

from ..helpers.cli import SMALL, run
from ..helpers.run_config import OTHER
from ..helpers.toy_data import write_colour_folders

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv,message",
    [
        (("--data", "/no/such/dir"), "/no/such/dir"),
        (("--data", ".", "--init", "xavier"), "invalid choice: 'xavier'"),
        (("--data", ".", "-e"), "--evaluate needs a model: add --resume"),
        (("--predict", "x.jpg"), "--predict needs a model"),
        ((), "give a dataset: alexnet.py DIR"),
        (("--data", ".", "--image-size", "50"), "minimum is 67"),
        (("--data", ".", "--epochs", "0"), "--epochs"),
        (("--data", ".", "--backend", "numba"), "argument --backend: invalid choice: 'numba'"),
        (("--demo", "--dummy"), "choose one of --demo and --dummy: each is a dataset"),
        (("--data", ".", "--dummy", "10"), "choose one of DIR and --dummy"),
        (("--dummy", "0"), "argument --dummy: must be >= 1, got 0"),
        (("--dummy", "-e", "--resume", "x.npz"), "--dummy is for training"),
        (("--dummy", "--dummy-classes", "1"), "argument --dummy-classes: must be >= 2, got 1"),
        (("--demo", "--val-labels", "val.txt"), "--val-labels is for a dataset folder (DIR)"),
    ],
)
def test_user_mistakes_give_one_line(argv, message, capsys):
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("alexnet.py: error:")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow
def test_help_documents_every_flag():
    text = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "alexnet.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flags = (
        "--data --epochs --batch-size --lr --momentum --weight-decay --workers --seed "
        "--image-size --width --groups --no-lrn --init --schedule --output --resume --evaluate "
        "--ten-crop --predict --demo --arch --print-freq --start-epoch --overwrite --backend "
        "--bucket-mb"
    )
    for flag in flags.split():  # noqa: F402
        assert flag in text, flag


def test_pytorch_conventions(colours, tmp_path, capsys):
    assert run(colours, "--output", tmp_path, "-a", "alexnet-plain", "--epochs", 1, *SMALL) == 0
    text = capsys.readouterr().out
    assert "AlexNet (alexnet-plain)" in text and "groups 1, lrn False" in text
    assert "done: 1 epoch," in text and re.search(r"Acc@1 [\d.]+ Acc@5", text)
    for flag, pointer in (  # noqa: F402
        ("--gpu", "CPU"),
        ("--world-size", "mpirun"),
        ("--pretrained", "--weights"),  # the README's pretrained section uses --weights
    ):
        assert run(colours, flag, "1") == 2
        err = capsys.readouterr().err
        assert err.startswith(f"alexnet.py: error: {flag} does not apply here") and pointer in err


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--lr", "inf", "must be finite and >= 0, got inf"),
        ("--seed", "-1", "must be >= 0, got -1"),
        ("--patience", "-5", "must be >= 0, got -5"),
        ("--momentum", "1", "must be in [0, 1)"),
        ("--width", "0", "must be finite and > 0"),
        ("--bucket-mb", "-1", "must be finite and >= 0, got -1"),
    ],
)
def test_bad_numbers_are_one_line(colours, flag, value, message, capsys):
    assert run(colours, flag, value) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"alexnet.py: error: argument {flag}") and message in err
    assert len(err.strip().splitlines()) == 1


SETTINGS = [f for f in dataclasses.fields(RunConfig) if f.metadata]


def test_every_setting_has_an_option_that_parses_to_it():
    assert {f.name for f in SETTINGS} == set(OTHER)
    for f in SETTINGS:
        typed = [] if f.name == "no_lrn" else [str(OTHER[f.name])]
        args = parse_args(["--demo", flag(f.name), *typed])
        assert getattr(args, f.name) == OTHER[f.name], f.name
        assert args.explicit == {f.name}


def test_bucket_mb_is_an_engine_option_not_a_setting():
    assert parse_args(["--demo"]).bucket_mb == BUCKET_BYTES / 2**20
    args = parse_args(["--demo", "--bucket-mb", "0.5"])
    assert args.bucket_mb == 0.5 and args.explicit == set()
    assert "--bucket-mb MB" in build_parser().format_help()


def test_the_help_gives_each_default_and_the_demo_ones():
    text = " ".join(build_parser().format_help().split())
    for f in SETTINGS:
        if f.default is not None:
            assert f"(default {f.default}" in text, f.name
    for name, value in DEMO.items():
        assert f"{flag(name)} {value}" in text


def test_a_bad_combination_is_one_line(tmp_path, capsys):
    data = write_colour_folders(tmp_path / "colours")
    argv = [str(data), "--schedule", "cosine", "--warmup", "5", "--epochs", "5", "-j", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("alexnet.py: error: warmup (5) must be shorter") and err.count("\n") == 1
