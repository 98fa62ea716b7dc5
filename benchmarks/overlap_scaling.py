"""Data-parallel AlexNet on emulated hosts: the allreduce with and without overlap (issue 23).

The driver starts ``tools/multihost.py``'s cluster (2 hosts, each one core, linked at the given
bandwidth and latency) and runs this script's worker on it, once per (bandwidth, batch). The
worker trains the paper AlexNet (1000 classes, 227 px) on random data and alternates, step by
step, the ways to average the gradients given by ``--modes``: ``flat`` (one allreduce after
backward) and ``MB:progress`` (buckets of MB MiB sent during backward, moved forward by
``progress``: test, thread or none), so that every way is measured in the same run, under the
same conditions. Per step and way it records:

- compute: forward + backward + SGD (the hooks' packing and starting included);
- wait: the time ``average`` waits after backward (the allreduce not hidden);
- step: the whole step.

The allreduce's full time is ``flat``'s wait; the share hidden behind backward is
``1 - wait(way) / wait(flat)``. One host alone (the same core, no network) gives the single
machine's step; the scaling efficiency is that step over the step on 2 hosts.

    python benchmarks/overlap_scaling.py --gbit 1,10 --batch 32,64 --steps 4 \\
        --save docs/bench/overlap_scaling.json

Needs root (network namespaces), mpi4py and MPICH, and what tools/multihost.py needs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = "flat,25:test,25:thread,5:test,100:test"


# ----------------------------------------------------------------------------------- worker
def worker(args) -> int:
    """One rank: alternate the ways, step by step; rank 0 prints one JSON line of results."""
    import numpy as np

    from tinynet.dist import GradientSync, world
    from tinynet.layers import SoftmaxCrossEntropy
    from tinynet.models import alexnet
    from tinynet.optim import SGD

    comm = world()
    model = alexnet(num_classes=1000, seed=0).train()
    optimizer = SGD(model.named_parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)
    loss_fn = SoftmaxCrossEntropy()
    rng = np.random.default_rng(comm.rank)
    images = rng.standard_normal((args.batch, 3, 227, 227), dtype=np.float32)
    labels = rng.integers(0, 1000, args.batch)
    ways = {}
    for mode in args.modes.split(","):
        if mode == "flat":
            sync = GradientSync(model.named_parameters(), comm, overlap=False)
        else:
            mb, progress = mode.split(":")
            sync = GradientSync(
                model.named_parameters(), comm, overlap=True,
                bucket_bytes=int(float(mb) * 2**20), progress=progress,
            )  # fmt: skip
        ways[mode] = sync
    records = {mode: [] for mode in ways}
    for step in range(args.warmup + args.steps):
        for mode, sync in ways.items():
            hook = model.register_backward_hook(sync.ready) if sync.overlap else None
            start = time.perf_counter()
            sync.begin(args.batch)
            loss = loss_fn.forward(model.forward(images), labels)
            model.backward(loss_fn.backward())
            backward_done = time.perf_counter()
            sync.average(loss, args.batch)
            averaged = time.perf_counter()
            optimizer.step()
            end = time.perf_counter()
            if hook is not None:
                hook.remove()
            if step >= args.warmup:
                wait = averaged - backward_done
                records[mode].append(dict(step=end - start, wait=wait, compute=end - start - wait))
    for sync in ways.values():
        sync.close()
    if comm.rank == 0:
        print("RESULT " + json.dumps({"size": comm.size, "batch": args.batch, "ways": records}))
    return 0


def single(args) -> int:
    """One process, no network: the step of one machine (one core) at this batch."""
    args.modes = "flat"
    return worker(args)


# ----------------------------------------------------------------------------------- driver
def _median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _result(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"the worker printed no result:\n{text[-2000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def _worker_argv(args, batch: int, mode: str) -> list[str]:
    return [
        sys.executable, str(Path(__file__).resolve()), mode, "--batch", str(batch),
        "--steps", str(args.steps), "--warmup", str(args.warmup), "--modes", args.modes,
    ]  # fmt: skip


def drive(args) -> int:
    sys.path.insert(0, str(ROOT / "tools"))
    import multihost

    problem = multihost.missing()
    if problem:
        print(f"overlap_scaling.py: {problem}", file=sys.stderr)
        return 2
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # what users get: BLAS's own choice
        os.environ.pop(name, None)
    threads = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env = {**os.environ, **threads}  # one core per emulated host
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": _cpu(), "delay": args.delay,
               "modes": args.modes, "runs": []}  # fmt: skip
    for batch in map(int, args.batch.split(",")):
        core = sorted(os.sched_getaffinity(0))[0]
        alone = subprocess.run(
            ["taskset", "-c", str(core), *_worker_argv(args, batch, "single")],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        one = _result(alone.stdout)["ways"]["flat"]
        for gbit in args.gbit.split(","):
            delay = None if args.delay in ("", "0", "none") else args.delay
            with multihost.Cluster(hosts=2, bandwidth=f"{gbit}gbit", delay=delay) as cluster:
                argv, pipe = _worker_argv(args, batch, "worker"), subprocess.PIPE
                proc = cluster.popen(argv, env=threads, stdout=pipe, stderr=pipe, text=True)
                out, err = proc.communicate(timeout=3600)
                if proc.returncode != 0:
                    failed = f"the cluster run failed ({proc.returncode})"
                    raise RuntimeError(f"{failed}:\n{err[-3000:]}")
            run = dict(gbit=float(gbit), batch=batch, single=one, ways=_result(out)["ways"])
            results["runs"].append(run)
            print(_table(run), flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


def _table(run: dict) -> str:
    """One run's medians: step, compute, wait, the share of the allreduce hidden, efficiency."""
    single = _median([r["step"] for r in run["single"]])
    flat = _median([r["wait"] for r in run["ways"]["flat"]])
    flat_step = _median([r["step"] for r in run["ways"]["flat"]])
    lines = [
        f"2 hosts at {run['gbit']:g} Gbit/s, batch {run['batch']} per rank; one host alone: "
        f"{single:.2f} s/step",
        f"{'way':<12} {'step s':>7} {'compute s':>10} {'wait s':>7} {'hidden':>7} "
        f"{'vs flat':>8} {'efficiency':>11}",
    ]
    for mode, records in run["ways"].items():
        step = _median([r["step"] for r in records])
        compute = _median([r["compute"] for r in records])
        wait = _median([r["wait"] for r in records])
        hidden = 1 - wait / flat if flat > 0 else 0.0
        lines.append(
            f"{mode:<12} {step:>7.2f} {compute:>10.2f} {wait:>7.2f} {100 * hidden:>6.0f}% "
            f"{step / flat_step:>7.2f}x {100 * single / step:>10.0f}%"
        )
    return "\n".join(lines)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("role", nargs="?", default="drive", choices=("drive", "worker", "single"))
    p.add_argument("--gbit", default="1,10", help="link bandwidths in Gbit/s (comma-separated)")
    p.add_argument("--delay", default="0.1ms",
                   help="one-way latency between the hosts (0: none added)")  # fmt: skip
    p.add_argument("--batch", default="32,64", help="per-rank batch sizes (comma-separated)")
    p.add_argument("--steps", type=int, default=4, help="timed steps of each way")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps of each way first")
    p.add_argument("--modes", default=MODES, help=f"the ways, alternated (default {MODES})")
    p.add_argument("--save", help="write every step's figures here (JSON)")
    p.add_argument("--table", help="print the tables of a saved JSON and exit")
    args = p.parse_args(argv)
    if args.table:
        for run in json.loads(Path(args.table).read_text(encoding="utf-8"))["runs"]:
            print(_table(run))
        return 0
    if args.role != "drive":
        args.batch = int(args.batch)
        return worker(args) if args.role == "worker" else single(args)
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
