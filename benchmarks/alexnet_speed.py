#!/usr/bin/env python
"""AlexNet training and inference speed, memory and compile time: tinynet next to PyTorch (CPU).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/alexnet_speed.py
    python benchmarks/alexnet_speed.py --quick          # under a minute, what CI runs

Each (framework, configuration, batch) is measured in its own subprocess, so peak resident
memory is that framework's alone. Figures are medians of several timed steps after warm-up.
Configurations: "paper" (groups=2 + LRN, the 2012 network) and "plain" (groups=1, no LRN).
A training step is forward + loss + backward + SGD(momentum 0.9, weight decay 5e-4) step.
PyTorch is optional: without it only tinynet's figures are printed.
"""

from __future__ import annotations

import os

ORIGINAL_ENV = dict(os.environ)  # PyTorch's runs get this: without tinynet's thread defaults

# first, so that OpenBLAS sees tinynet's thread defaults, as in examples/alexnet.py
import tinynet  # noqa: E402,F401  # isort: skip

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from alexnet_speed_runners import CLASSES, CONFIGS, SIZE, child, threads, timed  # noqa: E402

HERE = Path(__file__).resolve()


# -- tinynet-only measurements ----------------------------------------------------------------


def layer_breakdown(config, batch, steps):
    """Per-layer forward/backward ms and GEMM share of a tinynet training step."""
    from tinynet.layers import SoftmaxCrossEntropy
    from tinynet.models import alexnet
    from tinynet.optim import SGD
    from tinynet.perf.memory import retain_freed_memory
    from tinynet.perf.profile import StepProfile, profile_step

    retain_freed_memory()  # as in the timed runs
    model = alexnet(num_classes=CLASSES, input_size=SIZE, init="caffe", **CONFIGS[config])
    opt = SGD(model.named_parameters(), lr=0.001)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, SIZE, SIZE), dtype=np.float32)
    y = rng.integers(0, CLASSES, batch)
    profile_step(model, SoftmaxCrossEntropy(), x, y, opt)  # warm-up
    prof = StepProfile()
    for _ in range(steps):
        profile_step(model, SoftmaxCrossEntropy(), x, y, opt, prof)
    return prof


def sgemm_ceiling(n=3072, reps=5):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    best = min(timed(lambda: a @ a) for _ in range(reps))
    return 2 * n**3 / best / 1e9


STARTUP = (
    "import time; t=time.perf_counter(); import numpy as np; "
    "from tinynet.models import alexnet; from tinynet.layers import SoftmaxCrossEntropy; "
    "from tinynet.optim import SGD; m=alexnet(num_classes=10, input_size=67, width=0.25); "
    "o=SGD(m.named_parameters()); l=SoftmaxCrossEntropy(); "
    "x=np.zeros((4,3,67,67),np.float32); l.forward(m.forward(x), np.zeros(4,int)); "
    "m.backward(l.backward()); o.step(); print(time.perf_counter()-t)"
)


def startup_seconds(cache_dir) -> float:
    """Import + first training step of a small AlexNet in a fresh process."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", STARTUP], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


# -- orchestration ----------------------------------------------------------------------------


def run_child(framework, config, batch, args):
    cmd = [
        sys.executable,
        str(HERE),
        "--child",
        framework,
        config,
        str(batch),
        "--warmup",
        str(args.warmup),
        "--steps",
        str(args.steps),
        "--infer-steps",
        str(args.infer_steps),
    ]
    env = ORIGINAL_ENV if framework == "torch" else None
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
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
    p.add_argument("--quick", action="store_true", help="batch 8 and 16, few steps, no torch")
    p.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--infer-steps", type=int, default=5)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--json", default=None, help="write the results here as JSON")
    p.add_argument(
        "--child", nargs=3, metavar=("FRAMEWORK", "CONFIG", "BATCH"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    if args.quick:
        args.batches, args.warmup, args.steps, args.infer_steps = [8, 16], 1, 2, 2
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
    for config in args.configs:
        for batch in args.batches:
            row = {"config": config, "batch": batch}
            for fw in frameworks:
                row[fw] = run_child(fw, config, batch, args)
                print(
                    f"{config:<6} batch {batch:<4} {fw:<8} train {row[fw]['train_img_s']:6.1f} "
                    f"img/s  infer {row[fw]['infer_img_s']:6.1f} img/s  peak "
                    f"{row[fw]['peak_rss_mib']:6.0f} MiB",
                    flush=True,
                )
            results["runs"].append(row)


def layer_profiles(args, results) -> None:
    """Per-layer forward/backward/GEMM milliseconds of tinynet at the largest batch."""
    biggest = max(args.batches)
    results["layers"] = {}
    for config in args.configs:
        prof = layer_breakdown(config, biggest, 1 if args.quick else 2)
        gemm_rate = prof.gemm_flops / prof.gemm / 1e9
        overall = prof.gemm_flops / (prof.total / prof.steps) / 1e9 / prof.steps
        print(f"\ntinynet per-layer breakdown, {config}, batch {biggest}:\n{prof.table()}")
        print(
            f"GEMM {gemm_rate:.0f} GFLOP/s inside GEMM, {overall:.0f} GFLOP/s over the whole "
            f"step, against a {results['sgemm_gflops']:.0f} GFLOP/s sgemm ceiling"
        )
        per_layer = {
            n: [
                t.forward / prof.steps * 1e3,
                t.backward / prof.steps * 1e3,
                t.gemm / prof.steps * 1e3,
            ]
            for n, t in prof.layers.items()
        }
        results["layers"][config] = {
            "gemm_share": prof.gemm / prof.total, "gemm_gflops": gemm_rate,
            "step_gflops": overall, "per_layer_ms": per_layer,
        }  # fmt: skip


def startup(args, results) -> None:
    """Import + first step of a small AlexNet, with a cold and a warm Numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        if args.quick:
            results["startup_warm_s"] = startup_seconds(cache)
            print(
                f"\nimport + first step (first run, cache {cache}): "
                f"{results['startup_warm_s']:.1f} s"
            )
        else:
            results["compile_cold_s"] = startup_seconds(cache)
            results["startup_warm_s"] = startup_seconds(cache)
            print(
                f"\nimport + first step of a small AlexNet: cold Numba cache "
                f"{results['compile_cold_s']:.1f} s, warm cache {results['startup_warm_s']:.1f} s"
            )


def main(argv=None):
    args = parse(argv)
    if args.child:
        fw, config, batch = args.child
        return child(fw, config, int(batch), args.warmup, args.steps, args.infer_steps)
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
    print_table(results, frameworks)
    layer_profiles(args, results)
    startup(args, results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"results written to {args.json}")


def print_table(results, frameworks):
    print(
        f"\n{'config':<7}{'batch':>6} | {'train img/s':>22} | {'infer img/s':>22} | "
        f"{'peak MiB':>20}"
    )
    for row in results["runs"]:
        cells = []
        for key in ("train_img_s", "infer_img_s", "peak_rss_mib"):
            t = row["tinynet"][key]
            if "torch" in frameworks:
                o = row["torch"][key]
                cells.append(f"{t:6.1f} / {o:6.1f} = {t / o:4.2f}x")
            else:
                cells.append(f"{t:>20.1f}")
        print(f"{row['config']:<7}{row['batch']:>6} | " + " | ".join(cells))
    if "torch" in frameworks:
        print("(tinynet / PyTorch; for memory, lower is better)")


if __name__ == "__main__":
    main()
