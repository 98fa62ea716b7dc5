"""Tests of ``tinynet.cli.use``."""

import numpy as np
import pytest

from tinynet.data.names import imagenet_words

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
