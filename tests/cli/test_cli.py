"""The command line as a new user meets it: resume with the run's settings, overrides said or
refused, an occupied --output, text progress in logs, the stall notice, clean one-line notices
and errors, pytorch/examples' conventions."""

import shutil

from ..helpers.cli import SMALL, run


def test_unreadable_images_are_one_line_notices(colours, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(colours, data)
    (data / "train" / "red" / "broken.png").write_bytes(b"")
    assert run(data, "--output", tmp_path / "out", "--epochs", 2, *SMALL) == 0
    captured = capsys.readouterr()
    notices = [line for line in captured.err.splitlines() if "broken.png" in line]
    assert len(notices) == 1 and notices[0].startswith("alexnet.py: skipping unreadable image")
    assert "Warning" not in captured.err
    assert captured.out.count("(1 unreadable files skipped)") == 2


def test_no_readable_training_image_is_an_error(colours, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(colours, data)
    for path in (data / "train").rglob("*.png"):
        path.write_bytes(b"")
    assert run(data, "--output", tmp_path / "out", "--epochs", 1, *SMALL) == 1
    err = capsys.readouterr().err
    assert "not one training image could be read" in err.splitlines()[-1]
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def test_a_full_disk_is_one_line(colours, tmp_path, capsys, monkeypatch):
    import errno

    from tinynet import files

    real = files.atomic_write

    def full(path, write):  # every write runs out of space, through the real atomic_write
        def no_space(f):
            raise OSError(errno.ENOSPC, "No space left on device")

        return real(path, no_space)

    monkeypatch.setattr(files, "atomic_write", full)
    monkeypatch.setattr("tinynet.train.checkpoint.atomic_write", full)
    monkeypatch.setattr("tinynet.train.callbacks.outputs.atomic_write", full)
    assert run(colours, "--output", tmp_path / "out", "--epochs", 1, *SMALL) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("alexnet.py: error: cannot write") and "No space left" in err[-1]
    assert not list((tmp_path / "out").glob("*.npz"))
