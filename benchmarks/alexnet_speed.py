#!/usr/bin/env python
"""AlexNet training and inference speed, memory and compile time: tinynet next to PyTorch (CPU).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/alexnet_speed.py
    python benchmarks/alexnet_speed.py --quick          # under a minute, what CI runs

Measures what users get: each (framework, configuration, batch) runs in its own subprocess
(``alexnet_speed_runners.py``), in the environment this script was started with (nothing set for
tinynet), and the tinynet process imports NumPy first, as a script or notebook does; alternating
runs with NumPy first and with tinynet first show that the order does not matter. Figures are
medians of several timed steps after warm-up. Configurations: "paper" (groups=2 + LRN, the 2012
network) and "plain" (groups=1, no LRN). A training step is forward + loss + backward + SGD(momentum
0.9, weight decay 5e-4). Also printed: the share of a tinynet step spent in GEMM, and the effective
rate over a step (the network's nominal FLOPs, 3x the forward pass's, / step time) next to the
measured sgemm ceiling. PyTorch is optional: without it only tinynet's figures are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from alexnet_speed_runners import CONFIGS, threads
from alexnet_speed_tinynet import forward_flops, layer_breakdown, sgemm_ceiling, startup_seconds

ORIGINAL_ENV = dict(os.environ)  # every child runs in the environment the user started us in
RUNNER = Path(__file__).resolve().with_name("alexnet_speed_runners.py")
IMPORT_ORDER_ROUNDS = 2


# -- orchestration ----------------------------------------------------------------------------


def run_child(framework, config, batch, args, infer_only=False, tinynet_first=False) -> dict:
    steps = args.infer_steps * (4 if batch <= 8 else 1)  # small batches: more, shorter steps
    cmd = [sys.executable, str(RUNNER), framework, config, str(batch), "--warmup",
           str(args.warmup), "--steps", str(args.steps), "--infer-steps", str(steps)]  # fmt: skip
    cmd += ["--infer-only"] * infer_only + ["--tinynet-first"] * tinynet_first
    out = subprocess.run(cmd, capture_output=True, text=True, env=ORIGINAL_ENV)
    if out.returncode != 0:
        raise RuntimeError(f"{framework} {config} batch {batch} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine():
    import numba
    from threadpoolctl import threadpool_info

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    blas = [
        f"{i['internal_api']} {i.get('version')} {i.get('architecture')} {i['num_threads']} threads"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threads": threads(),
        "blas": blas,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    return info


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small batches, few steps, no torch")
    p.add_argument("--batches", type=int, nargs="+", default=[64, 128], help="train + infer")
    p.add_argument("--infer-batches", type=int, nargs="*", default=[1, 8], help="infer only")
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--infer-steps", type=int, default=5)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--json", default=None, help="write the results here as JSON")
    args = p.parse_args(argv)
    if args.quick:
        args.batches, args.infer_batches = [8, 16], [1]
        args.warmup, args.steps, args.infer_steps = 1, 2, 2
    return args


def frameworks_for(args) -> list[str]:
    frameworks = ["tinynet"]
    if not args.no_torch and not args.quick:
        try:
            import torch  # noqa: F401

            frameworks.append("torch")
        except ImportError:
            print("torch is not installed: measuring tinynet alone")
    return frameworks


def speeds(args, frameworks, results) -> None:
    """Train/infer img/s and peak memory of each (config, batch, framework), in subprocesses."""
    plan = [(b, False) for b in args.batches] + [(b, True) for b in args.infer_batches]
    for config in args.configs:
        for batch, infer_only in sorted(plan):
            row = {"config": config, "batch": batch, "infer_only": infer_only}
            for fw in frameworks:
                row[fw] = r = run_child(fw, config, batch, args, infer_only)
                train = f"train {r['train_img_s']:6.1f} img/s  " if not infer_only else ""
                print(
                    f"{config:<6} batch {batch:<4} {fw:<8} {train}infer {r['infer_img_s']:6.1f} "
                    f"img/s  peak {r['peak_rss_mib']:6.0f} MiB",
                    flush=True,
                )
            results["runs"].append(row)


def import_order(args, results) -> None:
    """The same tinynet training run with NumPy imported first and with tinynet first, the two
    alternating (a drift of the machine falls on both), means of ``IMPORT_ORDER_ROUNDS`` runs
    each: single runs move by several per cent either way."""
    batch = min(64, max(args.batches))
    rounds = 1 if args.quick else IMPORT_ORDER_ROUNDS
    results["import_order"] = {}
    for config in args.configs:
        runs = {False: [], True: []}
        for _ in range(rounds):
            for tinynet_first in (False, True):
                r = run_child("tinynet", config, batch, args, tinynet_first=tinynet_first)
                runs[tinynet_first].append(r["train_img_s"])
        numpy_first, tinynet_first = statistics.mean(runs[False]), statistics.mean(runs[True])
        ratio = numpy_first / tinynet_first
        results["import_order"][config] = {
            "batch": batch, "numpy_first": numpy_first, "tinynet_first": tinynet_first,
            "ratio": ratio, "numpy_first_runs": runs[False], "tinynet_first_runs": runs[True],
        }  # fmt: skip
        print(
            f"import order, {config} batch {batch}, {rounds} alternating runs each: NumPy first "
            f"{numpy_first:.1f} img/s, tinynet first {tinynet_first:.1f} img/s ({ratio:.2f}x)"
        )


def efficiency(args, results) -> None:
    """Share of a step in GEMM, and nominal GFLOP/s over a whole step against the ceiling."""
    biggest = max(args.batches)
    results["layers"] = {}
    for config in args.configs:
        prof = layer_breakdown(config, biggest, 1 if args.quick else 2)
        run = next(r for r in results["runs"] if r["config"] == config and r["batch"] == biggest)
        step = statistics.median(run["tinynet"]["train_step_s"])
        nominal = 3 * forward_flops(config) * biggest / step / 1e9
        ceiling = results["sgemm_gflops"]
        print(f"\ntinynet per-layer breakdown, {config}, batch {biggest}:\n{prof.table()}")
        print(
            f"GEMM {prof.gemm_flops / prof.gemm / 1e9:.0f} GFLOP/s inside GEMM; over the whole "
            f"training step {nominal:.0f} GFLOP/s nominal (3x forward FLOPs / step time) = "
            f"{nominal / ceiling:.0%} of the {ceiling:.0f} GFLOP/s sgemm ceiling"
        )
        ms = 1e3 / prof.steps
        per_layer = {
            n: [t.forward * ms, t.backward * ms, t.gemm * ms] for n, t in prof.layers.items()
        }
        results["layers"][config] = {
            "gemm_share": prof.gemm / prof.total, "gemm_gflops": prof.gemm_flops / prof.gemm / 1e9,
            "step_gflops_nominal": nominal, "share_of_ceiling": nominal / ceiling,
            "per_layer_ms": per_layer,
        }  # fmt: skip


def startup(args, results) -> None:
    """Import + first step of a small AlexNet, with a cold and a warm Numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        if not args.quick:
            results["compile_cold_s"] = startup_seconds(cache)
        results["startup_warm_s"] = startup_seconds(cache)
    cold = f"cold Numba cache {results['compile_cold_s']:.1f} s, " if not args.quick else ""
    print(f"\nimport + first step of a small AlexNet: {cold}warm {results['startup_warm_s']:.1f} s")


def print_table(results, frameworks):
    heads = (f"{'train img/s':>22}", f"{'infer img/s':>22}", f"{'peak MiB':>20}")
    print(f"\n{'config':<7}{'batch':>6} | " + " | ".join(heads))
    for row in results["runs"]:
        cells = []
        for key in ("train_img_s", "infer_img_s", "peak_rss_mib"):
            t = row["tinynet"].get(key)
            if t is None or (row["infer_only"] and key == "peak_rss_mib"):
                cells.append(f"{'-':>22}" if "torch" in frameworks else f"{'-':>20}")
            elif "torch" in frameworks:
                o = row["torch"][key]
                cells.append(f"{t:6.1f} / {o:6.1f} = {t / o:4.2f}x")
            else:
                cells.append(f"{t:>20.1f}")
        print(f"{row['config']:<7}{row['batch']:>6} | " + " | ".join(cells))
    if "torch" in frameworks:
        print("(tinynet / PyTorch; for memory, lower is better)")


def main(argv=None):
    args = parse(argv)
    frameworks = frameworks_for(args)
    info = machine()
    print(json.dumps(info, indent=1))
    if info["OPENBLAS_CORETYPE"]:
        print(
            f"note: OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']} forces an older BLAS kernel; "
            "unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE to measure the machine's own"
        )
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    results = {"machine": info, "runs": [], "command": command}
    results["sgemm_gflops"] = sgemm_ceiling(1024 if args.quick else 3072)
    print(f"sgemm ceiling: {results['sgemm_gflops']:.0f} GFLOP/s")
    speeds(args, frameworks, results)
    import_order(args, results)
    print_table(results, frameworks)
    efficiency(args, results)
    startup(args, results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
