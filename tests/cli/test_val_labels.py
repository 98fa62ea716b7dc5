"""End to end: ``-e`` on ImageNet's flat val/ with a label file (``--val-labels`` or found)
gives the figures of the sorted val/<class>/ folder."""

import os
import shutil

from ..helpers.cli import TINY, run


def _figures(text):
    """The part of -e's line after the folder: images, loss, Acc@1, Acc@5."""
    line = next(ln for ln in text.splitlines() if "Acc@1" in ln)
    return line.split(" (", 1)[1]


def test_evaluate_flat_val_as_the_sorted_folder(folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--data", folder, "--output", out, "--epochs", 1, *TINY) == 0
    flat = tmp_path / "flat"
    (flat / "val").mkdir(parents=True)
    os.symlink(folder / "train", flat / "train")
    rows, n = [], 0
    for k, cls in enumerate(sorted(os.listdir(folder / "val"))):
        for f in sorted((folder / "val" / cls).iterdir()):
            n += 1
            name = f"ILSVRC2012_val_{(5 * n) % 7:08d}.png"  # 5 3 1 6 4 2: unlike the classes
            shutil.copy(f, flat / "val" / name)
            rows.append(f"{name} {k}\n")
    labels = tmp_path / "val.txt"
    labels.write_text("".join(rows))
    use = ("-e", "--resume", out / "best.npz", "-j", 0, "--no-progress", "-b", 4)
    capsys.readouterr()
    assert run(flat, *use) == 2  # no label file found
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no label file was found" in err and "--val-labels" in err
    for ten_crop in ((), ("--ten-crop",)):
        assert run(folder, *use, *ten_crop) == 0
        expected = _figures(capsys.readouterr().out)
        assert expected.startswith("6 images") and "Acc@5" in expected
        assert run(flat, *use, *ten_crop, "--val-labels", labels) == 0
        assert _figures(capsys.readouterr().out) == expected
    shutil.copy(labels, flat / "val.txt")  # found without the flag
    assert run(flat, *use) == 0
    assert _figures(capsys.readouterr().out) == _figures_of(folder, use, capsys)


def _figures_of(folder, use, capsys):
    assert run(folder, *use) == 0
    return _figures(capsys.readouterr().out)
