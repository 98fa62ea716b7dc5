"""Tests of ``tinynet.cli.run_folder``: one owner per --output folder, and an old run's files
kept until the new run writes its first (issue 25: #1, #3, #5, #15, #16, #19, #29, #32)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tinynet.cli import main
from tinynet.cli.args import UsageError
from tinynet.cli.run_folder import LOCK_NAME, FolderLock, ReplaceOldRun, check_run_folder

from ..helpers.cli import SMALL, run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alexnet.py"
RUN_FILES = ("best.npz", "checkpoint.npz", "metrics.csv")


@pytest.fixture(scope="module")
def old_run(colours, tmp_path_factory):
    """A finished run (one epoch) whose files the tests must not lose; copied per test."""
    out = tmp_path_factory.mktemp("old") / "run"
    assert run(colours, "--output", out, "--epochs", 1, "-b", 6, *SMALL) == 0
    return out


@pytest.fixture
def out(old_run, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for name in RUN_FILES:
        (folder / name).write_bytes((old_run / name).read_bytes())
    return folder


def _contents(folder: Path) -> dict:
    return {name: (folder / name).read_bytes() for name in RUN_FILES}


# ------------------------------------------------------------------ --overwrite loses nothing early
@pytest.mark.parametrize(
    "argv, message",
    [
        (("--data", "{tmp}/no/such/dir"), "no/such/dir"),  # a mistyped dataset path
        (("--weights", "{tmp}/nope.pth"), "does not exist"),  # bad --weights
        (("--weights", "{out}/best.npz"), "which --overwrite would replace"),  # the file it clears
        (("--lr", "nan"), "--lr"),  # a bad setting
    ],
)
def test_overwrite_keeps_the_old_run_when_the_new_one_cannot_start(
    colours, out, tmp_path, capsys, argv, message
):
    """Issue 25 #1: --overwrite deleted best.npz, checkpoint.npz and metrics.csv first."""
    before = _contents(out)
    argv = [str(a).format(tmp=tmp_path, out=out) for a in argv]
    dataset = [] if "--data" in argv else ["--data", colours]
    assert run(*dataset, "--output", out, "--overwrite", "--epochs", 1, *SMALL, *argv) == 2
    assert message in capsys.readouterr().err
    assert _contents(out) == before


def test_overwrite_keeps_the_old_run_until_the_new_one_writes_a_file(colours, out, capsys):
    """A run that diverges in its first epoch writes nothing: the old run stays whole."""
    before = _contents(out)
    argv = ("--output", out, "--overwrite", "--epochs", 1, "-b", 2, "--lr", "1e6", *SMALL)
    assert run(colours, *argv) == 1
    err = capsys.readouterr().err
    assert "No checkpoint was written" in err and "the old run's files" in err
    assert _contents(out) == before
    assert run(colours, "--output", out, "--overwrite", "--epochs", 1, "-b", 6, *SMALL) == 0
    assert all(_contents(out)[name] != before[name] for name in RUN_FILES)  # all replaced
    assert sorted(os.listdir(out)) == sorted([*RUN_FILES, "curves.png"])


def test_replace_old_run_keeps_what_the_new_run_wrote(tmp_path):
    for name in ("best.npz", "metrics.csv", "checkpoint.npz"):
        (tmp_path / name).write_text("old")
    replace = ReplaceOldRun(tmp_path, ["best.npz", "metrics.csv", "checkpoint.npz"])
    (tmp_path / "new.tmp").write_text("new")
    os.replace(tmp_path / "new.tmp", tmp_path / "checkpoint.npz")  # the stop's checkpoint

    class Stopped:
        stopped = "SIGINT"

    replace.on_fit_end(Stopped())
    assert os.listdir(tmp_path) == ["checkpoint.npz"]
    assert (tmp_path / "checkpoint.npz").read_text() == "new"


# ------------------------------------------------------------------------------ one owner
def test_a_held_folder_is_refused_naming_its_owner(colours, tmp_path, capsys):
    """Issue 25 #3 and #16: two runs into one --output both 'finished'; one lost its files."""
    out = tmp_path / "run"
    with FolderLock(out, "training"):
        assert run(colours, "--output", out, "--epochs", 1, *SMALL) == 2
        err = capsys.readouterr().err
        assert f"--output {out} is in use by pid {os.getpid()} on " in err
        assert "(training, started " in err and err.count("\n") == 1
    assert not out.exists()  # the lock made the folder and, empty, removed it again


@pytest.mark.slow  # three command lines in subprocesses
def test_a_second_run_into_a_folder_in_use_is_refused_end_to_end(colours, tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, str(EXAMPLE), str(colours), "--output", str(out), *SMALL]
    slow = ("--epochs", "50", "--lr", "1e-4", "-b", "2", "-p", "1")
    first = subprocess.Popen([*argv, *slow], cwd=tmp_path, text=True, stdout=subprocess.PIPE)
    try:
        for line in first.stdout:  # training: it holds the folder
            if line.startswith("epoch [1]["):
                break
        second = subprocess.run([*argv, "--epochs", "1"], cwd=tmp_path, capture_output=True,
                                text=True, timeout=120)  # fmt: skip
        assert second.returncode == 2
        assert f"is in use by pid {first.pid} on " in second.stderr
        resumed = subprocess.run(
            [*argv, "--resume", str(out / "checkpoint.npz")], cwd=tmp_path, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert resumed.returncode == 2, resumed.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
    assert first.returncode == 143
    assert not (out / LOCK_NAME).exists()


def test_a_lock_whose_owner_died_is_free(tmp_path):
    """Killed (SIGKILL) while holding the folder: the kernel released the lock."""
    folder = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from tinynet.cli.run_folder import FolderLock\n"
         f"with FolderLock({str(folder)!r}, 'training'):\n"
         "    print('held', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(UsageError, match=f"in use by pid {holder.pid} on "):
        with FolderLock(folder, "training"):
            pass
    holder.kill()
    holder.wait()
    assert (folder / LOCK_NAME).exists()  # left behind by the kill, but not held
    with FolderLock(folder, "training"):
        assert f"pid {os.getpid()} " in (folder / LOCK_NAME).read_text()
    assert os.listdir(folder) == []  # the lock file went with the lock (the folder was not ours)


# --------------------------------------------------------------------- what a resume may replace
def test_resuming_best_into_its_folder_would_replace_the_later_checkpoint(colours, out, capsys):
    """Issue 25 #19: --resume best.npz --output <its folder> replaced checkpoint.npz silently."""
    before = _contents(out)
    argv = ("--resume", out / "best.npz", "--output", out, "--epochs", 2, *SMALL)
    assert run(colours, *argv) == 2
    err = capsys.readouterr().err
    assert "would replace" in err and "checkpoint.npz" in err and "--overwrite" in err
    assert _contents(out) == before
    assert run(colours, *argv, "--overwrite") == 0  # said and asked for
    assert (out / "checkpoint.npz").read_bytes() != before["checkpoint.npz"]


def test_a_folder_with_only_best_npz_points_to_it(colours, out, capsys):
    """Issue 25 #15: killed during its first checkpoint write, a run has best.npz alone; the
    refusal pointed to the missing checkpoint.npz."""
    (out / "checkpoint.npz").unlink()
    assert run(colours, "--output", out, "--epochs", 1, *SMALL) == 2
    err = capsys.readouterr().err
    assert f"--resume {out / 'best.npz'}" in err and "checkpoint.npz" not in err
    assert run(colours, "--resume", out / "best.npz", "--epochs", 2, *SMALL) == 0  # and it works


def test_resume_continues_in_the_checkpoints_folder(colours, out, capsys):
    """Issue 25 #29: without --output a resume went to runs/alexnet."""
    assert run(colours, "--resume", out / "checkpoint.npz", "--epochs", 2, *SMALL) == 0
    assert f"output {out}" in capsys.readouterr().out
    assert not (Path.cwd() / "runs").exists()


def test_check_run_folder_refuses_a_file_and_allows_an_empty_folder(tmp_path):
    assert check_run_folder(tmp_path / "new") == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_run_folder(tmp_path / "file")


# -------------------------------------------------------------------------- default folders
def test_the_demo_and_a_dataset_get_their_own_default_folders(colours, tmp_path, capsys):
    """Issue 25 #32: the README's ImageNet command was refused right after the demo, and the
    'output in use' check came before the dataset's."""
    runs = Path.cwd() / "runs"  # each test has its own working folder
    (runs / "demo").mkdir(parents=True)
    (runs / "demo" / "checkpoint.npz").write_text("the demo's")
    assert run(colours, "--epochs", 1, *SMALL) == 0
    assert (runs / "alexnet" / "checkpoint.npz").is_file()
    assert run("--data", tmp_path / "no" / "such", "--epochs", 1, *SMALL) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "already holds" not in err


def test_freeze_of_every_layer_is_one_line_and_leaves_no_folder(colours, out, tmp_path, capsys):
    """Issue 25 #5: --freeze 8 gave 'SGD got an empty parameter list' and an empty folder."""
    new = tmp_path / "fine"
    argv = ("--weights", out / "best.npz", "--output", new, "--epochs", 1, "-j", 0)
    assert main([str(a) for a in (colours, *argv, "--freeze", 8)]) == 2
    err = capsys.readouterr().err
    assert "--freeze 8 would keep all 8 layers with parameters" in err and "at most 7" in err
    assert not new.exists()
    assert main([str(a) for a in (colours, *argv, "--freeze", 7, "--no-progress")]) == 0


def test_an_output_inside_the_dataset_is_refused(colours, tmp_path, capsys):
    """A run's files may not mix with a dataset's (issue 25: no save replaces a dataset file)."""
    for out in (colours, colours / "train", colours / "runs"):
        assert run(colours, "--output", out, "--epochs", 1, *SMALL) == 2
        assert f"--output {out} is inside the dataset" in capsys.readouterr().err
    assert not (colours / "runs").exists()
