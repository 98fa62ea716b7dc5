"""Tests of ``python -m tinynet.data.prepare`` and ``tinynet.data.PreparedDataset``."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinynet.data import (
    DataLoader,
    DatasetError,
    EvalTransform,
    PreparedDataset,
    TrainTransform,
    check_dataset,
    class_names,
)
from tinynet.data.image import open_rgb
from tinynet.data.prepare import PARTIAL, SLEEP_ENV, main
from tinynet.data.transforms import center_crop, resize_shorter

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("n01440764", "n01443537", "zebra")
SIZES = [(300, 260), (180, 400), (256, 256), (90, 70), (520, 300), (257, 600)]


def write_source(root, per_class=(3, 2), seed=0):
    """root/train/<class>/ and root/val/<class>/: varied, non-square images (PNG and JPEG)."""
    rng = np.random.default_rng(seed)
    k = 0
    for split, n in zip(("train", "val"), per_class, strict=True):
        for c in CLASSES:
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                w, h = SIZES[k % len(SIZES)]
                k += 1
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                ext = "JPEG" if i % 2 else "png"
                Image.fromarray(pixels).save(root / split / c / f"{i}.{ext}")
    return root


def expected_row(path):
    return np.asarray(center_crop(resize_shorter(open_rgb(path), 256), 256))


def digests(dst):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(dst).iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_source(tmp_path_factory.mktemp("src") / "imagenet")


@pytest.fixture(scope="module")
def prepared(source, tmp_path_factory):
    dst = tmp_path_factory.mktemp("dst") / "prepared"
    assert main([str(source), str(dst), "-j", "1", "--no-progress", "--chunk-size", "4"]) == 0
    return dst


def test_arrays_are_the_resized_centre_crops(source, prepared):
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert manifest["classes"] == list(CLASSES)
    assert manifest["class_names"] == class_names(source, list(CLASSES))
    assert manifest["class_names"][0] == "tench, Tinca tinca"
    assert "BILINEAR" in manifest["resize"]
    train_src, val_src = check_dataset(source)
    for split, ds in (("train", train_src), ("val", val_src)):
        images = np.load(prepared / f"{split}_images.npy", mmap_mode="r")
        labels = np.load(prepared / f"{split}_labels.npy")
        assert images.shape == (len(ds), 256, 256, 3) and images.dtype == np.uint8
        assert labels.dtype == np.int64 and labels.tolist() == ds.targets
        assert manifest["splits"][split]["count"] == len(ds)
        for i, (path, _) in enumerate(ds.samples):
            np.testing.assert_array_equal(images[i], expected_row(path))
    for name, info in manifest["files"].items():
        assert info["bytes"] == (prepared / name).stat().st_size
        assert info["sha256"] == hashlib.sha256((prepared / name).read_bytes()).hexdigest()
    assert not (prepared / PARTIAL).exists()


def test_check_dataset_reads_the_prepared_folder(prepared):
    train, val = check_dataset(prepared)
    assert isinstance(train, PreparedDataset) and isinstance(val, PreparedDataset)
    assert train.classes == list(CLASSES) and len(train) == 9 and len(val) == 6
    images = np.load(prepared / "val_images.npy")
    for i in range(len(val)):
        img, label = val.load(i)
        assert img.mode == "RGB" and img.size == (256, 256)
        np.testing.assert_array_equal(np.asarray(img), images[i])
        assert label == val.targets[i]
    val.verify()
    assert class_names(prepared, list(CLASSES))[0] == "tench, Tinca tinca"
    # the transforms take the rows unchanged: resizing 256x256 to 256 is the identity
    img, _ = train.load(0)
    assert resize_shorter(img, 256) is img
    out = TrainTransform(227)(img, np.random.default_rng(0))
    assert out.shape == (3, 227, 227)
    assert EvalTransform(227, ten_crop=True)(img).shape == (10, 3, 227, 227)
    loader = DataLoader(train, TrainTransform(67), batch_size=4, workers=2, seed=0)
    batches = list(loader)
    assert sum(len(y) for _, y in batches) == len(train)
    with pytest.raises(DatasetError, match="val-labels"):
        check_dataset(prepared, val_labels=prepared / "val.txt")


def test_parallel_run_gives_the_same_bytes(source, prepared, tmp_path):
    dst = tmp_path / "j2"
    assert main([str(source), str(dst), "-j", "2", "--no-progress", "--chunk-size", "4"]) == 0
    assert digests(dst) == digests(prepared)


def test_flat_val_source(source, prepared, tmp_path):
    flat = tmp_path / "flat"
    (flat / "val").mkdir(parents=True)
    os.symlink(source / "train", flat / "train")
    _, val = check_dataset(source)
    lines = []
    for n, (path, label) in enumerate(reversed(val.samples), start=1):
        name = f"ILSVRC2012_val_{n:08d}{Path(path).suffix}"
        os.symlink(path, flat / "val" / name)
        lines.append(f"{name} {label}")
    (flat / "val.txt").write_text("\n".join(lines) + "\n")
    dst = tmp_path / "dst"
    assert main([str(flat), str(dst), "-j", "1", "--no-progress"]) == 0
    labels = np.load(dst / "val_labels.npy")
    assert labels.tolist() == sorted(labels.tolist())
    images = np.load(dst / "val_images.npy")
    # the same images as the sorted folder's, in the sorted folder's label order
    expected = np.load(prepared / "val_images.npy")
    assert sorted(map(bytes, images)) == sorted(map(bytes, expected))
    assert labels.tolist() == np.load(prepared / "val_labels.npy").tolist()


def run_prepare(source, dst, sleep):
    env = {**os.environ, SLEEP_ENV: str(sleep), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "tinynet.data.prepare", str(source), str(dst), "-j", "1"]
    cmd += ["--no-progress", "--chunk-size", "2"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_chunk(dst, proc, timeout=120):
    progress = dst / PARTIAL / "progress.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if progress.is_file():
            done = json.loads(progress.read_text())["done"]
            if sum(map(len, done.values())):
                return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("no chunk recorded")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_continues_to_the_same_bytes(sig, source, prepared, tmp_path):
    dst = tmp_path / "dst"
    proc = run_prepare(source, dst, sleep=30)
    wait_for_chunk(dst, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert b"run the same command again" in err
    assert not (dst / "manifest.json").exists()
    with pytest.raises(DatasetError):
        check_dataset(dst)  # not a dataset until finished
    proc = run_prepare(source, dst, sleep=0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"continuing the interrupted run" in out
    assert digests(dst) == digests(prepared)


def test_unreadable_image_stops_the_run_until_fixed(source, prepared, tmp_path, capsys):
    dst = tmp_path / "dst"
    bad = tmp_path / "bad"
    shutil.copytree(source, bad)
    victim = bad / "val" / "zebra" / "0.png"
    good = victim.read_bytes()
    victim.write_bytes(b"not an image")
    try:
        assert main([str(bad), str(dst), "-j", "1", "--no-progress", "--chunk-size", "4"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and str(victim) in err
        record = json.loads((dst / PARTIAL / "progress.json").read_text())
        assert sum(map(len, record["done"].values())) > 0
    finally:
        victim.write_bytes(good)
    assert main([str(bad), str(dst), "-j", "1", "--no-progress", "--chunk-size", "4"]) == 0
    assert "continuing" in capsys.readouterr().out
    assert digests(dst) == digests(prepared)


def test_refusals(source, prepared, tmp_path, capsys):
    cases = [
        ([str(source), str(source / "out")], "inside SRC"),
        ([str(source), str(prepared)], "prepared dataset already"),
        ([str(tmp_path), str(tmp_path.parent / "x")], "SRC is not a dataset"),
    ]
    for argv, words in cases:
        assert main([*argv, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1


def test_damaged_prepared_dataset(prepared, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(prepared, copy)
    with open(copy / "train_images.npy", "r+b") as f:
        f.truncate((copy / "train_images.npy").stat().st_size - 100)
    with pytest.raises(DatasetError, match="truncated") as info:
        check_dataset(copy)
    assert "\n" not in str(info.value)
    shutil.copy(prepared / "train_images.npy", copy / "train_images.npy")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["splits"]["val"]["count"] = 5
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="shape"):
        check_dataset(copy)
    shutil.copy(prepared / "manifest.json", copy / "manifest.json")
    with open(copy / "val_images.npy", "r+b") as f:
        f.seek(1000)
        f.write(b"\x01\x02\x03")
    _, val = check_dataset(copy)  # sizes agree: only verify() reads the bytes
    with pytest.raises(DatasetError, match="sha256"):
        val.verify()


def test_training_cli_on_a_prepared_dataset(prepared, tmp_path, capsys):
    from tinynet.cli import main as cli_main

    out = tmp_path / "run"
    argv = [str(prepared), "--image-size", "67", "--width", "0.125", "-b", "4", "-j", "0"]
    assert cli_main([*argv, "--epochs", "1", "--no-progress", "--output", str(out)]) == 0
    assert (out / "checkpoint.npz").is_file()
    with np.load(out / "checkpoint.npz", allow_pickle=False) as npz:
        text = " ".join(str(npz[k]) for k in npz.files if npz[k].dtype.kind == "U")
    assert "tench, Tinca tinca" in text


def test_sigint_interrupts_even_when_the_shell_ignored_it(source, tmp_path):
    """A background job of a non-interactive shell starts with SIGINT ignored, and Python then
    leaves it ignored: `kill -INT` did nothing and the run went on (seen in a CI run started
    with `( ... &)`). prepare takes SIGINT back, as the training command does."""
    dst = tmp_path / "dst"
    env = {**os.environ, SLEEP_ENV: "30", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "tinynet.data.prepare", str(source), str(dst), "-j", "1"]
    cmd += ["--no-progress", "--chunk-size", "2"]
    ignore = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731  (as such a shell)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=ignore)  # fmt: skip
    wait_for_chunk(dst, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
