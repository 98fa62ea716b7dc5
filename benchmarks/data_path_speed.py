"""Training speed from three data paths, through examples/alexnet.py (issue 22):

1. ``--dummy``: synthetic data in memory, the compute alone;
2. an ImageNet-shaped JPEG folder (about 500x375 pixels and 110 KB a file, as ILSVRC2012's
   average), decoded and augmented by the loader's workers;
3. the same folder prepared once (``python -m tinynet.data.prepare``: 256x256 uint8).

Each run is its own process, the paper AlexNet at ``-b`` (default 128), one epoch of
``--steps`` steps; the first ``--skip`` steps (warm-up) are left out. From the ``-p 1`` lines it
reports img/s and the share of step time spent waiting for data, and the ratio of each path's
img/s to ``--dummy``'s. Runs alternate over ``--rounds`` rounds; medians are printed.

    python benchmarks/data_path_speed.py --steps 10 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^epoch \[1\]\[\s*(\d+)/\d+\]\s+time ([\d.]+) s\s+data ([\d.]+) s")


def write_jpegs(root: Path, classes: int, per_class: int, seed: int) -> None:
    """ImageNet-shaped JPEGs: smooth colour fields with fine noise, 500x375 or 375x500."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", per_class), ("val", max(1, per_class // 10))):
        for c in range(classes):
            folder = root / split / f"n{c:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                w, h = (500, 375) if rng.random() < 0.75 else (375, 500)
                base = rng.integers(0, 256, (h // 25 + 1, w // 25 + 1, 3), dtype=np.uint8)
                img = Image.fromarray(base).resize((w, h), Image.BICUBIC)
                noisy = np.asarray(img, np.int16) + rng.integers(-24, 25, (h, w, 3))
                Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
                    folder / f"{c}_{i}.JPEG", quality=90
                )


def run(data_args: list[str], batch: int, workers: int, out: Path) -> list[tuple[float, float]]:
    """(average step time, average data time) after each step, from the -p 1 lines."""
    cmd = [sys.executable, str(ROOT / "examples" / "alexnet.py"), *data_args, "-b", str(batch),
           "--epochs", "1", "-p", "1", "--no-progress", "-j", str(workers),
           "--output", str(out), "--overwrite"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=out.parent)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    rows = [LINE.match(line) for line in proc.stdout.splitlines()]
    return [(float(m[2]), float(m[3])) for m in rows if m]


def measure(averages, batch: int, skip: int) -> dict:
    """img/s and data share over the steps after ``skip`` (from the running averages)."""
    n = len(averages)
    (t_all, d_all), (t_skip, d_skip) = averages[-1], averages[skip - 1]
    seconds, waiting = n * t_all - skip * t_skip, n * d_all - skip * d_skip
    return {"images_per_sec": batch * (n - skip) / seconds, "data_share": waiting / seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--skip", type=int, default=2)
    p.add_argument("-b", "--batch-size", type=int, default=128)
    p.add_argument("-j", "--workers", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    classes = 4
    per_class = -(-args.steps * args.batch_size // classes)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        began = time.perf_counter()
        write_jpegs(tmp / "jpegs", classes, per_class, seed=0)
        files = list((tmp / "jpegs").rglob("*.JPEG"))
        kb = sum(f.stat().st_size for f in files) / len(files) / 1024
        print(f"wrote {len(files)} JPEGs ({kb:.0f} KB on average) in "
              f"{time.perf_counter() - began:.0f} s")  # fmt: skip
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tinynet.data.prepare", str(tmp / "jpegs"),
                        str(tmp / "prepared"), "--no-progress"], check=True)  # fmt: skip
        print(f"prepared them in {time.perf_counter() - began:.0f} s")
        paths = {
            "dummy": ["--dummy", str(args.steps * args.batch_size), "--dummy-classes", "4"],
            "jpeg": [str(tmp / "jpegs")],
            "prepared": [str(tmp / "prepared")],
        }
        results = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, data in paths.items():
                averages = run(data, args.batch_size, args.workers, tmp / f"run-{name}")
                results[name].append(measure(averages, args.batch_size, args.skip))
    medians = {
        name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for name, runs in results.items()
    }
    base = medians["dummy"]["images_per_sec"]
    print(f"paper AlexNet, batch {args.batch_size}, -j {args.workers}, steps {args.skip + 1}-"
          f"{args.steps} of one epoch, median of {args.rounds} alternating runs:")  # fmt: skip
    for name, m in medians.items():
        share, ratio = 100 * m["data_share"], m["images_per_sec"] / base
        print(f"  {name:9s} {m['images_per_sec']:6.1f} img/s  data wait {share:5.1f}%  "
              f"{ratio:6.1%} of --dummy")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
