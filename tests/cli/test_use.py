"""Tests of ``tinynet.cli.use``."""

import io
import os
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tinynet.cli.args import UsageError
from tinynet.cli.use import _check_imagenet, printable
from tinynet.data.names import imagenet_words
from tinynet.models import alexnet
from tinynet.train import Trainer

from ..helpers.cli import TINY, run
from ..helpers.toy_data import COLOURS, colour_image


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.torch
def test_predict_prints_five_imagenet_names(pth, tmp_path, capsys):
    image = tmp_path / "red.jpg"
    colour_image(COLOURS["red"], np.random.default_rng(0), size=300).save(image)
    assert run("--predict", image, "--weights", pth) == 0
    lines = capsys.readouterr().out.splitlines()
    words = set(imagenet_words().values())
    assert lines[0] == str(image) and len(lines) == 6
    assert all(line.split(maxsplit=1)[1] in words for line in lines[1:])  # "tabby, tabby cat"


@pytest.mark.slow
@pytest.mark.torch
def test_evaluating_imported_weights_on_other_classes_is_refused(pth, folder, capsys):
    assert run(folder, "-e", "--weights", pth, "-j", 0) == 2
    err = capsys.readouterr().err
    assert "has 1000 classes but the dataset has 3" in err and len(err.splitlines()) == 1


def _checkpoint(path, classes, names=None):
    """An untrained tinynet checkpoint as the command line writes it, for ``classes``."""
    trainer = Trainer.for_model(alexnet(num_classes=len(classes), input_size=67, width=0.125))
    trainer.extra = {"classes": list(classes), "class_names": list(names or classes)}
    return trainer.save(path)


def _renamed(folder, root, names):
    """A copy of the colour ``folder`` whose class folders are called ``names``."""
    for split in ("train", "val"):
        for old, new in zip(sorted(COLOURS), names, strict=True):
            shutil.copytree(folder / split / old, root / split / new)
    return root


def test_evaluating_weights_on_other_classes_of_the_same_count_is_refused(folder, tmp_path, capsys):
    # issue 25 #10: --resume refused it, -e --weights evaluated it
    weights = _checkpoint(tmp_path / "best.npz", sorted(COLOURS))
    other = _renamed(folder, tmp_path / "other", ["cyan", "magenta", "yellow"])
    for flag in ("--weights", "--resume"):
        assert run(other, "-e", flag, weights, "-j", 0, "--no-progress") == 2
        assert capsys.readouterr().err == (
            f"alexnet.py: error: checkpoint {weights} was trained on other classes than the "
            "dataset's (e.g. ['blue', 'green', 'red'] vs ['cyan', 'magenta', 'yellow'])\n"
        )
    assert run(folder, "-e", "--weights", weights, "-j", 0, "--no-progress") == 0
    assert f"{weights} on {folder / 'val'} (6 images, centre crop)" in capsys.readouterr().out


def test_an_imported_imagenet_model_is_compared_by_wordnet_ids():
    words = imagenet_words()
    model = SimpleNamespace(info={"class_names": list(words.values())})
    _check_imagenet(model, list(words), "alexnet.pth")  # ImageNet's own folders
    _check_imagenet(model, [f"class{i}" for i in range(1000)], "alexnet.pth")  # nothing known
    other = [f"n{i:08d}" for i in range(1000)]  # WordNet ids, not ImageNet-1k's
    with pytest.raises(UsageError, match=r"other ones \(e.g. \['n00000000', 'n00000001'"):
        _check_imagenet(model, other, "alexnet.pth")
    _check_imagenet(SimpleNamespace(info={"class_names": []}), other, "x.caffemodel")


def test_predict_reads_every_readable_image(tmp_path, capsys):
    # issue 25 #20: one unreadable image stopped the rest, exit 2
    weights = _checkpoint(tmp_path / "w.npz", sorted(COLOURS))
    good = [tmp_path / "a.png", tmp_path / "b.png"]
    for path, rgb in zip(good, COLOURS.values(), strict=False):
        colour_image(rgb, np.random.default_rng(0)).save(path)
    broken, missing = tmp_path / "broken.png", tmp_path / "missing.png"
    broken.write_bytes(b"not a png")
    assert run("--predict", good[0], missing, broken, good[1], "--weights", weights) == 1
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if not line.startswith(" ")] == [str(p) for p in good]
    assert len(out.splitlines()) == 8
    assert err.splitlines() == [
        f"alexnet.py: cannot read image {missing}: no such file",
        f"alexnet.py: cannot read image {broken}: cannot identify image file '{broken}'",
    ]
    assert run("--predict", *good, "--weights", weights) == 0


def test_predict_refuses_a_fifo_at_once(tmp_path, capsys):
    # issue 25 #17: a FIFO given to --predict waited for a writer for ever
    weights = _checkpoint(tmp_path / "w.npz", sorted(COLOURS))
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = []
    worker = threading.Thread(
        target=lambda: result.append(run("--predict", fifo, tmp_path, "--weights", weights))
    )
    worker.start()
    worker.join(30)
    if worker.is_alive():  # opened for reading: a writer lets it go (at EOF)
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join()
        pytest.fail("--predict waited on the FIFO")
    assert result == [1]
    assert capsys.readouterr().err.splitlines() == [
        f"alexnet.py: cannot read image {fifo}: not a regular file (a FIFO)",
        f"alexnet.py: cannot read image {tmp_path}: not a regular file (a directory)",
    ]


def test_predict_prints_names_that_are_not_utf8(tmp_path, capsys):
    # issue 25 #18: folder names and paths of bytes that are not UTF-8 (os.listdir keeps them as
    # lone surrogates) crashed print on a strict UTF-8 stdout (capsys's is strict)
    names = [os.fsdecode(b"caf\xe9"), "green", os.fsdecode(b"r\xe9d")]
    weights = _checkpoint(tmp_path / "w.npz", names)
    image = Path(os.fsdecode(bytes(tmp_path) + b"/\xe9t\xe9.png"))
    colour_image(COLOURS["red"], np.random.default_rng(0)).save(image)
    assert run("--predict", image, "--weights", weights) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{tmp_path}/\\xe9t\\xe9.png"
    assert sorted(line.split()[-1] for line in lines[1:]) == ["caf\\xe9", "green", "r\\xe9d"]


def test_printable():
    assert printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert printable("café") == "café"  # valid UTF-8 stays as it is
    assert printable("café", io.TextIOWrapper(io.BytesIO(), encoding="ascii")) == "caf\\xe9"
    assert printable("\ud800x") == "\\ud800x"  # a surrogate that is no escaped byte
