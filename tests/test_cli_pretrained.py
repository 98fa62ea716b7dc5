"""The command line with weights from elsewhere: a torchvision .pth and a BVLC .caffemodel
(written here with random weights) predict readable ImageNet names and fine-tune on a small
folder, the frozen layers staying as they were."""

import numpy as np
import pytest

from tinynet.cli import main
from tinynet.data.names import imagenet_words
from tinynet.train import load_checkpoint

from .test_interop_caffe import random_weights, write
from .toy_data import COLOURS, colour_image, write_colour_folders

FLAGS = "-j 0 --no-progress -b 6 --epochs 1".split()


def run(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_colour_folders(
        tmp_path_factory.mktemp("colours"), counts=(("train", 4), ("val", 2))
    )


@pytest.fixture(scope="module")
def pth(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from .test_interop_torchvision import random_state

    path = tmp_path_factory.mktemp("tv") / "alexnet.pth"
    torch.save({k: torch.from_numpy(v) for k, v in random_state(1000).items()}, path)
    return path


@pytest.fixture(scope="module")
def caffemodel(tmp_path_factory):
    pytest.importorskip("google.protobuf")
    return write(
        tmp_path_factory.mktemp("caffe") / "bvlc_alexnet.caffemodel", random_weights(1000), True
    )


def test_predict_prints_five_imagenet_names(pth, tmp_path, capsys):
    image = tmp_path / "red.jpg"
    colour_image(COLOURS["red"], np.random.default_rng(0), size=300).save(image)
    assert run("--predict", image, "--weights", pth) == 0
    lines = capsys.readouterr().out.splitlines()
    words = set(imagenet_words().values())
    assert lines[0] == str(image) and len(lines) == 6
    assert all(line.split(maxsplit=1)[1] in words for line in lines[1:])  # "tabby, tabby cat"


@pytest.mark.parametrize("source", ["pth", "caffemodel"])
def test_fine_tuning_from_imported_weights(source, request, folder, tmp_path, capsys):
    weights = request.getfixturevalue(source)
    out = tmp_path / "tuned"
    assert run(folder, "--weights", weights, "--freeze", 5, "--output", out, *FLAGS) == 0
    text = capsys.readouterr().out
    assert "replaced by a new fc8 for the dataset's 3 classes" in text
    tuned = load_checkpoint(out / "checkpoint.npz")
    assert tuned.meta["model_info"]["preprocess"]["channels"] == (
        "BGR" if source == "caffemodel" else "RGB"
    )
    assert tuned.model_state["fc8.weight"].shape == (3, 4096)
    if source == "pth":
        import torch

        original = torch.load(weights, weights_only=True)
        np.testing.assert_array_equal(
            tuned.model_state["conv1.weight"], original["features.0.weight"].numpy()
        )
    else:
        original = random_weights(1000)
        np.testing.assert_array_equal(tuned.model_state["conv5.weight"], original["conv5"][0])


def test_a_pth_of_another_network_is_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    path = tmp_path / "resnet.pth"
    torch.save(
        {"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(1000, 512)}, path
    )
    assert run("--predict", tmp_path / "x.jpg", "--weights", path) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("alexnet.py: error:") and "resnet.pth" in err and len(err.splitlines()) == 1
    )


def test_evaluating_imported_weights_on_other_classes_is_refused(pth, folder, capsys):
    assert run(folder, "-e", "--weights", pth, "-j", 0) == 2
    err = capsys.readouterr().err
    assert "has 1000 classes but the dataset has 3" in err and len(err.splitlines()) == 1
