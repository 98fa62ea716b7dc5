"""The backend choice reaches every process that computes: a new interpreter (from
``$TINYNET_BACKEND``), every rank of an ``mpirun`` (from the environment or ``--backend``), and a
command-line run with data-loader workers; ``--backend`` lasts for the run only.

Which code ran is counted, not assumed: ``count_convs`` wraps the forward of each of Conv2D's
algorithms (the reference one, im2col, Winograd). Under MPI this module is its own worker, as
``tests/dist/test_mpi.py`` is (see the bottom); its helpers and skip conditions are reused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import tinynet
from tinynet import dist
from tinynet.backends import ENV
from tinynet.cli import main
from tinynet.layers.conv_algorithms import Im2col, Winograd
from tinynet.reference.conv import ReferenceConv
from tinynet.train import Trainer

from ..helpers.mpi import TINY, mpirun, needs_mpi, replica_run
from ..helpers.processes import run_python
from ..helpers.toy_data import write_colour_folders

ROOT = Path(__file__).resolve().parents[2]
ALGORITHMS = (ReferenceConv, Im2col, Winograd)


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    """train/ and val/ with three colour classes, 12 and 4 images each."""
    return write_colour_folders(tmp_path_factory.mktemp("colours"))


@pytest.fixture(autouse=True)
def _restore_backend():
    before = tinynet.get_backend()
    yield
    tinynet.set_backend(before)


def count_convs(setattr=setattr) -> Counter:
    """Count the forward calls of each Conv2D algorithm ("reference", "im2col", "winograd")
    from now on; ``setattr``: pytest's ``monkeypatch.setattr`` to undo it after a test."""
    calls = Counter()

    def counting(cls):
        forward = cls.forward

        def counted(self, *args, **kwargs):
            calls[cls.name] += 1
            return forward(self, *args, **kwargs)

        return counted

    for cls in ALGORITHMS:
        setattr(cls, "forward", counting(cls))
    return calls


def ran_on_reference(calls) -> bool:
    """Only the reference convolution ran; ``calls``: ``count_convs``' counts (or their JSON)."""
    return calls.get("reference", 0) > 0 and not calls.get("im2col") and not calls.get("winograd")


def records(prefix: Path, ranks: int) -> list[dict]:
    """What the worker wrote on each rank (``_record``)."""
    return [json.loads(Path(f"{prefix}.rank{r}.json").read_text()) for r in range(ranks)]


def weights(path) -> dict:
    return {name: p for name, p, _ in Trainer.load(path).model.named_parameters()}


# -- a new interpreter ------------------------------------------------------------------------
@pytest.mark.slow
def test_a_new_process_runs_conv2d_on_the_backend_its_environment_names(tmp_path):
    """NumPy imported before tinynet changes nothing: the choice is read at tinynet's import."""
    script = (
        "import sys\n"
        "import numpy as np\n"
        "import tinynet\n"
        "from tinynet.layers import Conv2D\n"
        "conv = Conv2D(3, 8, 3, padding=1, rng=np.random.default_rng(0))\n"
        "x = np.random.default_rng(1).standard_normal((16, 3, 10, 10)).astype(np.float32)\n"
        "np.save(sys.argv[1], conv.forward(x))\n"  # 16 x 10 x 10 outputs: fast takes Winograd
        "print(tinynet.get_backend(), conv.algorithm_for(x.shape).name)\n"
    )
    outputs = {}
    for name, algorithm in (("reference", "reference"), ("fast", "winograd")):
        out = tmp_path / f"{name}.npy"
        done = run_python(script.replace("sys.argv[1]", repr(str(out))), name)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [name, algorithm]
        outputs[name] = np.load(out)
    np.testing.assert_allclose(outputs["fast"], outputs["reference"], rtol=1e-4, atol=1e-5)
    assert not np.array_equal(outputs["fast"], outputs["reference"])  # two codes ran


# -- under MPI --------------------------------------------------------------------------------
@pytest.mark.slow
@needs_mpi
def test_two_reference_processes_train_the_same_weights_as_one(tmp_path, monkeypatch):
    """tests/dist/test_mpi.py's 2-rank = 1-rank run (dropout off, one epoch), every rank on the
    reference backend from $TINYNET_BACKEND."""
    monkeypatch.setenv(ENV, "reference")
    two = tmp_path / "two.npz"
    proc = mpirun(2, "-m", "tests.integration.test_backend_processes", "replica", two)
    assert proc.returncode == 0, proc.stderr
    for record in records(two, 2):
        assert record["backend"] == "reference" and ran_on_reference(record["convs"]), record
    calls = count_convs(monkeypatch.setattr)
    with tinynet.backend("reference"):
        replica_run(tmp_path / "one.npz", epochs=1)
    assert ran_on_reference(calls)
    two, one = np.load(two), np.load(tmp_path / "one.npz")
    assert float(two["spread"]) == 0.0  # the ranks hold identical weights
    names = [k for k in one.files if k not in ("spread", "history")]
    assert len(names) == 16
    for name in names:
        scale = np.abs(one[name]).max()  # float32: the Allreduce sums in another order
        np.testing.assert_allclose(two[name], one[name], rtol=1e-5, atol=1e-5 * scale, err_msg=name)
    (r2,), (r1,) = json.loads(str(two["history"])), json.loads(str(one["history"]))
    for key in ("train_loss", "train_top1", "val_loss", "val_top1", "val_top5"):
        assert r2[key] == pytest.approx(r1[key], rel=1e-4), key


@pytest.mark.slow
@needs_mpi
def test_the_backend_flag_reaches_every_rank_and_wins_over_the_environment(
    colours, tmp_path, monkeypatch
):
    monkeypatch.setenv(ENV, "fast")  # the flag wins
    out, prefix = tmp_path / "run", tmp_path / "record"
    argv = ["--data", colours, "--output", out, "--epochs", 1, "--backend", "reference", *TINY]
    proc = mpirun(2, "-m", "tests.integration.test_backend_processes", "cli", prefix, *argv)
    assert proc.returncode == 0, proc.stderr
    assert "data parallel: 2 processes" in proc.stdout and "done: 1 epoch" in proc.stdout
    for record in records(prefix, 2):
        assert record["code"] == 0 and ran_on_reference(record["convs"]), record
        assert record["backend"] == "fast"  # the process's own again after the run
    assert Trainer.load(out / "checkpoint.npz").step == 6  # 36 images, global batch 6


# -- with data-loader workers -----------------------------------------------------------------
@pytest.mark.slow
def test_reference_training_with_workers_gives_the_weights_of_a_run_without(
    colours, tmp_path, monkeypatch
):
    """examples/alexnet.py --backend reference -j 2 in a new process; the same run with -j 0
    in this one: the workers only decode images, so the weights are the same to the bit."""
    flags = [*TINY, "--epochs", "1", "--backend", "reference"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop(ENV, None)
    prefix, out = tmp_path / "record", tmp_path / "workers"
    argv = ["--data", colours, "--output", out, *flags, "-j", "2"]  # the last -j wins
    cmd = [sys.executable, "-m", "tests.integration.test_backend_processes", "cli", prefix, *argv]
    done = subprocess.run(
        [str(a) for a in cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "3 classes" in done.stdout and ", 2 workers;" in done.stdout, done.stdout
    (record,) = records(prefix, 1)
    assert record["code"] == 0 and ran_on_reference(record["convs"]), record

    tinynet.set_backend("fast")
    calls = count_convs(monkeypatch.setattr)
    in_process = tmp_path / "in-process"
    assert main([str(a) for a in ["--data", colours, "--output", in_process, *flags]]) == 0
    assert ran_on_reference(calls) and tinynet.get_backend() == "fast"

    with_workers, without = weights(out / "checkpoint.npz"), weights(in_process / "checkpoint.npz")
    assert len(without) == 16
    for name, w in without.items():
        np.testing.assert_array_equal(with_workers[name], w, err_msg=name)


def test_without_the_flag_a_run_keeps_the_backend_in_force(colours, tmp_path, monkeypatch):
    tinynet.set_backend("reference")
    calls = count_convs(monkeypatch.setattr)
    assert (
        main([str(a) for a in ["--data", colours, "--output", tmp_path, "--epochs", 1, *TINY]]) == 0
    )
    assert ran_on_reference(calls) and tinynet.get_backend() == "reference"


def test_a_bad_backend_is_one_line_naming_the_choices(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "alexnet.py"), "--demo", "--backend", "numba"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("alexnet.py: error: argument --backend: invalid choice: 'numba'")
    assert "fast" in line and "reference" in line


# -- the worker: python -m tests.integration.test_backend_processes WORKER ARGS (mpiexec or not) --
def _record(prefix, **what) -> None:
    """This rank's ``what`` (with the backend in force now) to PREFIX.rank<R>.json."""
    what["backend"] = tinynet.get_backend()
    Path(f"{prefix}.rank{dist.launched_rank()}.json").write_text(json.dumps(what))


def _worker(argv):
    calls = count_convs()
    if argv[0] == "replica":  # tests.dist.test_mpi's run on the backend of $TINYNET_BACKEND
        comm = dist.world()
        dist.run_or_abort(comm, lambda: replica_run(argv[1], comm, epochs=1))
        _record(argv[1], convs=calls)
        return 0
    if argv[0] == "cli":  # examples/alexnet.py ARGV
        code = main(argv[2:])
        _record(argv[1], convs=calls, code=code)
        return code
    raise SystemExit(f"unknown worker {argv[0]!r}")


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
