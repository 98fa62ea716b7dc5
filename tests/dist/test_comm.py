"""Data-parallel training (tinynet.dist) without MPI: flat buffers, gradient averaging,
launcher variables, sharding. The MPI runs are in tests/dist/test_mpi.py."""

import sys

import numpy as np

from tinynet import dist
from tinynet.cli import main
from tinynet.dist import LOCAL


def test_local_communicator_is_the_identity():
    buf = np.arange(4.0)
    assert LOCAL.allreduce_sum(buf) is buf and LOCAL.bcast(buf) is buf
    np.testing.assert_array_equal(buf, np.arange(4.0))
    assert LOCAL.agree_signal(None) is None and LOCAL.agree_signal("SIGTERM") == "SIGTERM"
    assert dist.world() is LOCAL  # pytest is not started by an MPI launcher


def test_launcher_variables():
    assert dist.launched_size({}) is None and dist.local_size({}) == 1
    assert dist.launched_size({"PMI_SIZE": "4", "PMI_RANK": "2"}) == 4
    assert dist.launched_rank({"PMI_SIZE": "4", "PMI_RANK": "2"}) == 2
    assert dist.launched_size({"OMPI_COMM_WORLD_SIZE": "2"}) == 2
    assert dist.launched_size({"PMIX_RANK": "0"}) == 0  # launched; size unknown
    assert dist.local_size({"PMI_SIZE": "4", "MPI_LOCALNRANKS": "2"}) == 2
    assert dist.local_size({"SLURM_NTASKS_PER_NODE": "4"}) == 1  # not launched by MPI


def test_under_a_launcher_without_mpi4py_one_clear_line(monkeypatch, capsys):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py fails
    monkeypatch.setattr(dist.comm, "_world", None)
    assert main(["--data", "nowhere"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mpi4py" in err[0] and "pip install mpi4py mpich" in err[0]
    monkeypatch.setattr(dist.comm, "_world", None)
