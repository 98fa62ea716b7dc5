"""Tests of ``tinynet.cli.session``."""

import numpy as np
import pytest

from tinynet.cli import main
from tinynet.cli.run_folder import FolderLock

from ..helpers.cli import SMALL, run
from ..helpers.toy_data import colour_image


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


def test_an_occupied_output_is_refused_unless_overwritten(colours, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(colours, "--output", out, "--epochs", 1, *SMALL) == 0
    before = (out / "checkpoint.npz").stat().st_mtime_ns
    assert run(colours, "--output", out, "--epochs", 1, *SMALL) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert (out / "checkpoint.npz").stat().st_mtime_ns == before
    assert run(colours, "--output", out, "--epochs", 1, "--overwrite", *SMALL) == 0


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

    monkeypatch.setattr(FolderLock, "_open", refuse)  # root ignores a read-only mode
    assert run(colours, "--output", tmp_path / "ro", "--epochs", 1, *SMALL) == 2
    err = capsys.readouterr().err
    assert f"cannot write into --output {tmp_path / 'ro'}: Permission denied" in err
    assert not (tmp_path / "ro").exists()  # made to be tried, and removed


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


def test_a_tampered_epoch_step_is_one_line_naming_the_checkpoint(colours, tmp_path, capsys):
    """Issue 25 #26: epoch_step 99 gave "not one training image could be read (0 files
    skipped)" (a traceback once Trainer.fit named the checkpoint)."""
    import json

    out = tmp_path / "run"
    assert run(colours, "--output", out, "--epochs", 1, "-b", 6, *SMALL) == 0
    with np.load(out / "checkpoint.npz", allow_pickle=False) as npz:
        entries = {key: npz[key] for key in npz.files}
    meta = json.loads(str(entries["meta.json"]))
    meta.update(epoch=0, epoch_step=99, step=99)
    entries["meta.json"] = np.array(json.dumps(meta))
    np.savez(out / "checkpoint.npz", **entries)
    assert run(colours, "--resume", out / "checkpoint.npz", "--epochs", 2, *SMALL) == 2
    err = capsys.readouterr().err
    assert "cannot resume at step 99 of epoch 1" in err and "checkpoint.npz" in err
    assert "not one training image" not in err and len(err.strip().splitlines()) == 1
