#!/usr/bin/env python
"""Data-loader throughput: images/s of ``DataLoader(TrainTransform(crop))`` per worker count.

    python benchmarks/data_loader_speed.py [--images 200] [--size 500x375]

Writes synthetic photo-like JPEGs into a temporary ImageFolder, times the loader with several
worker counts, then the decode+resize cost of a large JPEG with and without draft decoding.
Needs tinynet installed (``pip install -e .``), as the other benchmarks do.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

try:
    import resource
except ImportError:  # Windows
    resource = None

from tinynet.data import DataLoader, ImageFolder, TrainTransform
from tinynet.data.image import open_rgb
from tinynet.data.transforms import resize_shorter


def make_jpegs(root: Path, count: int, size: tuple[int, int], classes: int = 4, seed: int = 0):
    """``count`` JPEGs (quality 90) of smooth colour fields + texture, ``classes`` folders."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(count):
        folder = root / f"c{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        f = rng.uniform(0.005, 0.05, (3, 2))
        ph = rng.uniform(0, 6.3, 3)
        chans = [127 + 100 * np.sin(xx * f[c, 0] + yy * f[c, 1] + ph[c]) for c in range(3)]
        arr = np.stack(chans, axis=2) + rng.normal(0, 12, (h, w, 3))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        img.save(folder / f"img{i:05d}.jpg", quality=90)


def _cpu_seconds() -> float:
    """CPU time of this process plus its reaped children (the loader's workers)."""
    if resource is None:
        return float("nan")
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def throughput(ds, transform, workers: int, batch_size: int, epochs: int = 2):
    """-> (images/s wall clock, CPU ms per image) over ``epochs`` passes
    (worker start-up included). CPU ms/image does not depend on machine load."""
    with DataLoader(ds, transform, batch_size, shuffle=True, seed=0, workers=workers) as dl:
        t0, c0, n = time.perf_counter(), _cpu_seconds(), 0
        for e in range(epochs):
            dl.set_epoch(e)
            for images, _ in dl:
                n += len(images)
        wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    return n / wall, 1000 * cpu / n


def decode_resize_ms(path: Path, size: int, draft: bool, reps: int = 20) -> float:
    """ms to decode ``path`` and resize its shorter side to ``size``."""
    t0 = time.perf_counter()
    for _ in range(reps):
        resize_shorter(open_rgb(path, min_size=size if draft else None), size)
    return 1000 * (time.perf_counter() - t0) / reps


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--size", default="500x375", help="JPEG size WxH")
    ap.add_argument("--crop", type=int, default=227)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", default="0,1,2", help="comma-separated worker counts")
    ap.add_argument("--big", default="2048x1536", help="size WxH of the draft-decoding example")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="tinynet-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_jpegs(root / "train", args.images, (w, h))
        print(f"wrote {args.images} JPEGs of {w}x{h} in {time.perf_counter() - t0:.1f} s")
        ds = ImageFolder(root / "train")
        tf = TrainTransform(args.crop)
        print(f"TrainTransform(crop={args.crop}) resize={tf.resize}, batch {args.batch_size}")
        for k in (int(v) for v in args.workers.split(",")):
            rate, cpu_ms = throughput(ds, tf, k, args.batch_size)
            print(f"  workers={k}: {rate:7.1f} images/s  ({cpu_ms:.2f} CPU ms/image)")
        bw, bh = (int(v) for v in args.big.lower().split("x"))
        make_jpegs(root / "big", 1, (bw, bh))
        big = next((root / "big").rglob("*.jpg"))
        print(
            f"decode + resize one {bw}x{bh} JPEG to {tf.resize}: "
            f"full decode {decode_resize_ms(big, tf.resize, False):.1f} ms, "
            f"draft decode {decode_resize_ms(big, tf.resize, True):.1f} ms"
        )


if __name__ == "__main__":
    main()
