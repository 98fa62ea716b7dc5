"""DataLoader: batching, reproducibility, indices_fn, mid-epoch resume (set_epoch's start)
and bad-file skipping. Worker-process behaviour is in test_data_workers.py."""

import runpy
import sys
from pathlib import Path

import pytest

from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no test leaves a worker behind)


def test_loader_benchmark_smoke(capsys, monkeypatch):
    """benchmarks/data_loader_speed.py, run as a script on a few small images."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "data_loader_speed.py"
    args = "--images 8 --size 64x48 --crop 32 --batch-size 4 --workers 0,1 --big 256x192"
    monkeypatch.setattr(sys, "argv", [str(script), *args.split()])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("images/s") == 2 and "workers=1" in out and "draft decode" in out


def _scaling_model():
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "scaling_model.py"
    spec = importlib.util.spec_from_file_location("scaling_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_scaling_model_by_hand():
    """benchmarks/scaling_model.py: ring allreduce's alpha-beta cost and the overlap schedule on
    a three-layer profile worked out by hand."""
    m = _scaling_model()
    assert m.allreduce_seconds(1000, 1, alpha=1.0, beta=1.0) == 0.0
    assert m.allreduce_seconds(1000, 2, alpha=0.5, beta=100.0) == 2 * 0.5 + 1000 / 100
    assert m.allreduce_seconds(900, 4, alpha=0.0, beta=100.0) == 2 * 3 / 4 * 900 / 100
    layers = [  # forward order; backward runs c (1 s), then b (2 s), then a (3 s)
        m.LayerProfile("a", 1.0, 3.0, 100),
        m.LayerProfile("relu", 0.5, 0.5, 0),
        m.LayerProfile("b", 1.0, 2.0, 100),
        m.LayerProfile("c", 0.5, 1.0, 800),
    ]
    profile = m.Profile(layers, update=0.5, batch=1, threads=1)
    assert m.buckets(layers, 500) == [(3, 800), (0, 200)]  # c alone; b and a together
    # 1 Gbit/s at 100%: 125e6 B/s; scale bytes so that c's bucket takes 2 s, b+a's 0.5 s
    beta = 1e9 / 8
    scaled = [m.LayerProfile(x.name, x.forward, x.backward, x.grad_bytes * beta // 400)
              for x in layers]  # fmt: skip
    profile = m.Profile(scaled, update=0.5, batch=1, threads=1)
    kw = dict(alpha=0.0, efficiency=1.0, bucket_bytes=scaled[3].grad_bytes)
    plain = m.predict(profile, 2, 1, overlap=False, **kw)
    over = m.predict(profile, 2, 1, overlap=True, **kw)
    compute = 3.0 + 6.5 + 0.5
    assert abs(plain.step - (compute + 2.5)) < 1e-9 and abs(plain.allreduce - 2.5) < 1e-9
    # c's bucket: ready at 1 s, done at 3 s; b+a's: ready at 6.5 s (backward's end), done 7 s
    assert abs(over.step - (3.0 + 7.0 + 0.5)) < 1e-9 and abs(over.exposed - 0.5) < 1e-9
    assert abs(over.efficiency - compute / 10.5) < 1e-9
    fast = m.predict(profile, 64, 1e6, overlap=True, **kw)
    assert fast.efficiency > 0.999  # an endless network costs nothing
    # gamma: the stack's processor time per byte, longer than the wire's here (4 s vs 2.5 s);
    # flat waits for it, overlap takes it from backward (6.5 + 4 s) and then sends the rest
    cpu = dict(kw, gamma=4.0 / sum(x.grad_bytes for x in scaled))
    assert abs(m.predict(profile, 2, 1, overlap=False, **cpu).step - (compute + 4.0)) < 1e-9
    slow = m.predict(profile, 2, 1, overlap=True, **cpu)
    assert abs(slow.step - (3.0 + 10.5 + 0.5)) < 1e-9


@pytest.mark.slow  # a step of the full-size AlexNet
def test_overlap_scaling_single_role_and_table(capsys, tmp_path):
    """benchmarks/overlap_scaling.py: the one-host role runs a step of the paper AlexNet and
    prints its result; --table turns a saved run into the medians it reports."""
    import json

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "overlap_scaling.py"
    _run_script(script, "single", "--batch", "1", "--steps", "1", "--warmup", "0")
    result = json.loads(capsys.readouterr().out.split("RESULT ", 1)[1])
    assert result["size"] == 1 and len(result["ways"]["flat"]) == 1
    flat, overlapped = (
        dict(step=3.0, compute=2.0, wait=1.0),
        dict(step=2.25, compute=2.0, wait=0.25),
    )
    alone = [dict(step=2.0, compute=2.0, wait=0.0)]
    run = dict(gbit=1.0, batch=64, single=alone, ways={"flat": [flat], "25:thread": [overlapped]})
    saved = tmp_path / "runs.json"
    saved.write_text(json.dumps({"runs": [run]}))
    _run_script(script, "--table", saved)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 hosts at 1 Gbit/s, batch 64 per rank; one host alone: 2.00")
    flat, overlapped = lines[2].split(), lines[3].split()
    assert flat[0] == "flat" and flat[4] == "0%" and flat[5] == "1.00x" and flat[6] == "67%"
    assert overlapped[4] == "75%" and overlapped[5] == "0.75x" and overlapped[6] == "89%"


def _run_script(script: Path, *argv) -> None:
    """Run ``script`` as ``python script argv...`` in this process; it must exit with 0."""
    old = sys.argv
    sys.argv = [str(script), *map(str, argv)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as done:
        assert done.code == 0
    finally:
        sys.argv = old
