"""examples/alexnet.py end to end: outputs, resume, predict, user mistakes, Ctrl-C."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinynet.cli import main
from tinynet.train import Trainer

from .toy_data import COLOURS, colour_image, write_colour_folders

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    """train/ and val/ with three colour classes: learnable in a few steps."""
    return write_colour_folders(tmp_path_factory.mktemp("colours"))


def run(*argv):
    return main([str(a) for a in argv])


TINY = "--image-size 67 --width 0.125 -b 6 -j 0 --no-progress --init he --lr 0.01".split()


@pytest.fixture(scope="module")
def trained(colours, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert run("--data", colours, "--output", out, "--epochs", 2, *TINY) == 0
    return out


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


def test_evaluate_and_predict(trained, colours, capsys, tmp_path):
    # train a little longer so the toy model is right, then ask it about fresh images
    out = tmp_path / "longer"
    assert run("--data", colours, "--output", out, "--epochs", 8, *TINY) == 0
    capsys.readouterr()
    assert run("--data", colours, "-e", "--resume", out / "best.npz", "-j", 0, "--no-progress") == 0
    assert "Acc@1" in capsys.readouterr().out
    rng = np.random.default_rng(99)
    paths = []
    for name, rgb in COLOURS.items():
        paths.append(tmp_path / f"{name}.jpg")
        colour_image(rgb, rng).save(paths[-1], quality=95)
    assert run("--predict", *paths, "--resume", out / "checkpoint.npz") == 0
    text = capsys.readouterr().out.splitlines()
    for name, path in zip(COLOURS, paths):
        i = text.index(str(path))
        assert text[i + 1].split()[-1] == name, text[i : i + 4]  # top-1 is the right class
        assert len(text[i + 1 : i + 4]) == 3


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
    ],
)
def test_user_mistakes_give_one_line(argv, message, capsys):
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("alexnet.py: error:")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_val_split_says_how_to_fix(colours, tmp_path, capsys):
    (tmp_path / "train").symlink_to(colours / "train")
    assert main(["--data", str(tmp_path)]) == 2
    assert "val" in capsys.readouterr().err


def test_checkpoint_for_other_classes_is_refused(trained, tmp_path, capsys):
    rng = np.random.default_rng(1)
    for split in ("train", "val"):
        for name in ("a", "b", "c", "d"):
            (tmp_path / split / name).mkdir(parents=True)
            colour_image((9, 9, 9), rng).save(tmp_path / split / name / "0.png")
    code = main(["--data", str(tmp_path), "-e", "--resume", str(trained / "best.npz"), "-j", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "trained on 3 classes but the dataset has 4" in err


def test_not_a_checkpoint_is_refused(colours, tmp_path, capsys):
    bogus = tmp_path / "bogus.npz"
    bogus.write_text("hello")
    assert main(["--data", str(colours), "--resume", str(bogus), "-j", "0"]) == 2
    assert "bogus.npz" in capsys.readouterr().err


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
        "--ten-crop --predict --demo --arch --print-freq --start-epoch --overwrite --backend"
    )
    for flag in flags.split():
        assert flag in text, flag


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
