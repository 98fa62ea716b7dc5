"""Tests of ``tinynet.cli.weights``."""

import shutil

import numpy as np
import pytest

from tinynet.train import Trainer, load_checkpoint

from ..helpers.caffe_files import random_weights, write
from ..helpers.cli import run
from ..helpers.torchvision_files import examples_checkpoint
from ..helpers.toy_data import COLOURS, colour_image, write_colour_folders

FLAGS = "-j 0 --no-progress -b 6 --epochs 1".split()


@pytest.fixture(scope="module")
def caffemodel(tmp_path_factory):
    pytest.importorskip("google.protobuf")
    return write(
        tmp_path_factory.mktemp("caffe") / "bvlc_alexnet.caffemodel", random_weights(1000), True
    )


@pytest.mark.slow
@pytest.mark.parametrize("source", [pytest.param("pth", marks=pytest.mark.torch), "caffemodel"])
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


@pytest.mark.torch
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


@pytest.mark.slow
@pytest.mark.torch
def test_pytorch_examples_checkpoints_predict_as_their_state_dict(pth, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    state = torch.load(pth, weights_only=True)
    sources = [pth, tmp_path / "checkpoint.pth.tar", tmp_path / "model_best.pth"]
    torch.save(examples_checkpoint(torch, state, wrapped="features"), sources[1])
    torch.save(examples_checkpoint(torch, state, wrapped="model"), sources[2])
    image = tmp_path / "red.png"
    colour_image(COLOURS["red"], np.random.default_rng(5)).save(image)
    printed = []
    for source in sources:
        assert run("--predict", image, "--weights", source) == 0
        printed.append(capsys.readouterr().out)
    assert len(printed[0].splitlines()) == 6 and printed[1] == printed[0] == printed[2]


@pytest.mark.torch
def test_a_pytorch_examples_checkpoint_of_another_arch_is_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    path = tmp_path / "checkpoint.pth.tar"
    state = {"module.conv1.weight": torch.zeros(64, 3, 7, 7), "module.fc.weight": torch.zeros(9)}
    torch.save(examples_checkpoint(torch, state, arch="resnet18", wrapped=None), path)
    assert run("--predict", tmp_path / "x.jpg", "--weights", path) == 2
    assert capsys.readouterr().err == (
        f"alexnet.py: error: --weights {path} is a pytorch/examples checkpoint of resnet18 "
        "(epoch 12); tinynet imports AlexNet only\n"
    )


@pytest.mark.torch
def test_a_tar_archive_as_weights_is_one_line(tmp_path, capsys):
    pytest.importorskip("torch")
    import tarfile

    path = tmp_path / "ILSVRC2012_img_val.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(__file__, arcname="x.py")
    assert run("--predict", tmp_path / "x.jpg", "--weights", path) == 2
    err = capsys.readouterr().err
    assert "a tar archive, not a file written by torch.save" in err and len(err.splitlines()) == 1


SMALL = "--image-size 67 --width 0.125 -j 0 --no-progress -b 6".split()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained on three colour classes, and its data."""
    root = tmp_path_factory.mktemp("weights")
    data = write_colour_folders(root / "colours")
    assert run(data, "--output", root / "run", "--epochs", 3, *SMALL) == 0
    return data, root / "run" / "best.npz"


def test_fine_tuning_replaces_the_classifier_and_keeps_frozen_layers(trained, tmp_path, capsys):
    data, weights = trained
    two = tmp_path / "two"
    for split in ("train", "val"):
        for name in ("blue", "red"):
            shutil.copytree(data / split / name, two / split / name)
    out = tmp_path / "tuned"
    argv = [two, "--weights", weights, "--freeze", 3, "--epochs", 2, "--output", out, *SMALL]
    assert run(*argv) == 0
    text = capsys.readouterr().out
    assert "fine-tuning: fc8 (3 classes) replaced by a new fc8 for the dataset's 2 classes" in text
    assert "frozen: conv1.weight, conv1.bias, conv2.weight, conv2.bias, conv3.weight" in text
    before, after = load_checkpoint(weights).model_state, load_checkpoint(out / "best.npz")
    for name in ("conv1.weight", "conv2.bias", "conv3.weight"):
        np.testing.assert_array_equal(after.model_state[name], before[name], err_msg=name)
    assert not np.array_equal(after.model_state["conv4.weight"], before["conv4.weight"])
    assert after.model_state["fc8.weight"].shape[0] == 2
    resumed = Trainer.load(out / "checkpoint.npz")  # a fine-tuned run resumes, frozen as it was
    assert resumed.frozen[:2] == ["conv1.weight", "conv1.bias"] and resumed.epoch == 2
    assert run(two, "--output", out, "--resume", out / "checkpoint.npz", "--epochs", 3) == 0


def test_predict_with_weights_prints_the_names(trained, tmp_path, capsys):
    _, weights = trained
    path = tmp_path / "red.png"
    colour_image(COLOURS["red"], np.random.default_rng(5)).save(path)
    assert run("--predict", path, "--weights", weights) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(path) and len(lines) == 4  # three classes: three lines
    assert {line.split()[-1] for line in lines[1:]} == set(COLOURS)


def test_export_onnx_gives_tinynets_output(trained, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    _, weights = trained
    path = tmp_path / "model.onnx"
    assert run("--export-onnx", path, "--weights", weights) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    model = Trainer.load(weights).model.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 67, 67)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    expected = model.forward(x)
    assert np.max(np.abs(got - expected)) <= 1e-4 * np.max(np.abs(expected))


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ("--predict", "x.jpg", "--weights", "w.txt"),
            "expected a .npz, .pth, .pt, .pth.tar or .caffemodel",
        ),
        (("--predict", "x.jpg", "--weights", "nowhere.pth"), "does not exist"),
        (("--export-onnx", "m.onnx"), "--export-onnx needs a model"),
        (("--export-onnx", "m.onnx", "--weights", "a.npz", "--resume", "b.npz"), "choose one"),
        (("--pretrained",), "give a weights file to --weights"),  # issue 25 #31
    ],
)
def test_weights_mistakes_are_one_line(argv, message, capsys):
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------- issue 25: export, flags
def test_export_never_replaces_the_model_or_another_kind_of_file(trained, tmp_path, capsys):
    """Issue 25 #2: --export-onnx best.npz --resume best.npz replaced the checkpoint."""
    _, weights = trained
    copy = tmp_path / "best.npz"
    shutil.copy(weights, copy)
    renamed = tmp_path / "old.onnx"  # a checkpoint that someone named .onnx
    shutil.copy(weights, renamed)
    cases = [
        (("--export-onnx", copy, "--resume", copy), "that name is for a checkpoint"),
        (("--export-onnx", tmp_path / "x.pth", "--weights", copy), "that name is for"),
        (("--export-onnx", renamed, "--weights", renamed), "is the model's own file"),
        (("--export-onnx", renamed, "--weights", copy), "exists and is not an ONNX file"),
        (("--export-onnx", tmp_path, "--weights", copy), "is a folder"),
    ]
    for argv, message in cases:
        assert run(*argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert copy.read_bytes() == weights.read_bytes() == renamed.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "old.onnx"]


def test_export_errors_name_the_target(trained, tmp_path, capsys):
    """Issue 25 #24: a path under a file gave "[Errno 17] File exists"."""
    _, weights = trained
    (tmp_path / "file").write_text("x")
    assert run("--export-onnx", tmp_path / "file" / "m.onnx", "--weights", weights) == 2
    err = capsys.readouterr().err
    assert f"--export-onnx's folder {tmp_path / 'file'} is a file, not a folder" in err


def test_export_cut_short_by_sigterm_says_so_and_leaves_no_file(trained, tmp_path, monkeypatch,
                                                               capsys):  # fmt: skip
    """Issue 25 #13: SIGTERM during --export-onnx died silently with its temporary file left;
    a file left by a SIGKILL is removed by the next export."""
    import os
    import signal

    from tinynet import files

    _, weights = trained
    path = tmp_path / "m.onnx"
    (tmp_path / ".m.onnx.killed.tmp").write_bytes(b"left by a SIGKILL")
    real = files.atomic_write

    def terminated(target, write):
        def write_then_sigterm(f):
            write(f)
            os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-write, before the rename

        return real(target, write_then_sigterm)

    monkeypatch.setattr("tinynet.interop.onnx_export.atomic_write", terminated)
    assert run("--export-onnx", path, "--weights", weights) == 143
    assert "terminated (SIGTERM)" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []  # the stale temporary file went too
    monkeypatch.setattr("tinynet.interop.onnx_export.atomic_write", real)
    assert run("--export-onnx", path, "--weights", weights) == 0
    assert os.listdir(tmp_path) == ["m.onnx"]


def test_a_folder_or_fifo_as_weights_is_named_as_such(tmp_path, capsys):
    """Issue 25 #23: both were reported as "does not exist" (and a FIFO must not be opened)."""
    import os

    fifo = tmp_path / "w.npz"
    os.mkfifo(fifo)
    (tmp_path / "d.pth").mkdir()
    for flag, path, message in [
        ("--weights", fifo, "is not a regular file (a FIFO)"),
        ("--weights", tmp_path / "d.pth", "is not a regular file (a directory)"),
        ("--resume", fifo, "is not a regular file (a FIFO)"),
    ]:
        assert run("--predict", "x.png", flag, path) == 2
        assert message in capsys.readouterr().err


def test_model_flags_must_agree_with_the_weights(trained, tmp_path, capsys):
    """Issue 25 #11: with --weights the model flags were ignored, yet recorded; a resume with
    the true value was then refused."""
    data, weights = trained
    out = tmp_path / "tuned"
    common = ("--weights", weights, "--output", out, "-j", 0, "--no-progress", "-b", 6)
    for flags, message in [
        (("--width", 0.5), "--width 0.5: the model of --weights"),
        (("--image-size", 99), "has --image-size 67"),
        (("-a", "alexnet-plain"), "has groups 2 and LRN"),
    ]:
        assert run(data, *common, *flags) == 2
        assert message in capsys.readouterr().err
    assert not out.exists()
    assert run(data, *common, "--epochs", 1) == 0  # no model flags: the weights' model
    assert Trainer.load(out / "checkpoint.npz").config.width == 0.125  # recorded as it is
    resume = ("--resume", out / "checkpoint.npz", "-j", 0, "--no-progress", "--epochs", 2)
    assert run(data, *resume, "--width", 0.125, "--image-size", 67) == 0


def test_freeze_without_weights_is_refused(trained, tmp_path, capsys):
    """Issue 25 #12: --freeze without --weights (or with --resume) was ignored without a word."""
    data, weights = trained
    assert run(data, "--freeze", 2, "--output", tmp_path / "x", *SMALL) == 2
    assert "--freeze 2 keeps the first layers of --weights fixed" in capsys.readouterr().err
    resume = ("--resume", weights.parent / "checkpoint.npz", "--output", tmp_path / "y")
    assert run(data, *resume, "--freeze", 2, *SMALL) == 2  # nor is it ignored on a resume
    assert "--freeze 2: the checkpoint's run has 0" in capsys.readouterr().err
