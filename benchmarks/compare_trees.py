#!/usr/bin/env python
"""tinynet's AlexNet speed and peak memory in two checkouts, measured alternately in one run.

    git worktree add /tmp/before <commit>
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/compare_trees.py /tmp/before

Each (checkout, net, batch) runs ``alexnet_speed_runners.py tinynet`` of that checkout in its own
process, with that checkout first on PYTHONPATH and NumPy imported first, as
``alexnet_speed.py`` does; the checkouts alternate within every round, so a machine that slows
down or speeds up during the run moves both alike. Prints, per configuration, the mean over the
rounds of each checkout's training and inference img/s and peak RSS, and the ratio this checkout /
the other one (1.0: unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def run(tree: Path, config: str, batch: int, args) -> dict:
    runner = tree / "benchmarks" / "alexnet_speed_runners.py"
    env = dict(os.environ, PYTHONPATH=str(tree))
    steps = [
        "--warmup",
        str(args.warmup),
        "--steps",
        str(args.steps),
        "--infer-steps",
        str(args.steps),
    ]
    cmd = [sys.executable, str(runner), "tinynet", config, str(batch), *steps]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree)
    if out.returncode != 0:
        raise RuntimeError(f"{tree} {config} {batch} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("other", type=Path, help="the other checkout (the one before a change)")
    p.add_argument("--configs", nargs="+", default=["paper", "plain"])
    p.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--json", default=None, help="write every measurement here")
    args = p.parse_args(argv)
    trees = {"other": args.other.resolve(), "this": HERE}
    results = {}
    for _ in range(args.rounds):
        for config in args.configs:
            for batch in args.batches:
                for name, tree in trees.items():
                    key = f"{config} {batch} {name}"
                    results.setdefault(key, []).append(run(tree, config, batch, args))
    print(f"{'net batch':<12} {'figure':<12} {'other':>9} {'this':>9} {'this/other':>11}")
    for config in args.configs:
        for batch in args.batches:
            for figure in ("train_img_s", "infer_img_s", "peak_rss_mib"):
                mean = {
                    n: statistics.mean(r[figure] for r in results[f"{config} {batch} {n}"])
                    for n in trees
                }
                print(f"{config} {batch:<6} {figure:<12} {mean['other']:9.1f} {mean['this']:9.1f} "
                      f"{mean['this'] / mean['other']:11.3f}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
