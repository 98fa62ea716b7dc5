"""DataLoader: batching, reproducibility, indices_fn, mid-epoch resume (set_epoch's start)
and bad-file skipping. Worker-process behaviour is in test_data_workers.py."""

import runpy
import sys
from pathlib import Path

from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no test leaves a worker behind)


def test_loader_benchmark_smoke(capsys, monkeypatch):
    """benchmarks/data_loader_speed.py, run as a script on a few small images."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "data_loader_speed.py"
    args = "--images 8 --size 64x48 --crop 32 --batch-size 4 --workers 0,1 --big 256x192"
    monkeypatch.setattr(sys, "argv", [str(script), *args.split()])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("images/s") == 2 and "workers=1" in out and "draft decode" in out
