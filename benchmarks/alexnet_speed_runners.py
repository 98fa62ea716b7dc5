"""One (framework, configuration, batch) of benchmarks/alexnet_speed.py, timed in its own process.

    python benchmarks/alexnet_speed_runners.py FRAMEWORK CONFIG BATCH [--infer-only]
        [--tinynet-first] [--warmup W] [--steps S] [--infer-steps I]

prints one JSON line. NumPy is imported first, as in a user's script or notebook, unless
``--tinynet-first`` is given (to show that the order no longer matters).
"""

from __future__ import annotations

import sys

if "--tinynet-first" in sys.argv:
    import tinynet  # noqa: F401  # isort: skip

import argparse
import json
import resource
import statistics
import time

import numpy as np

CONFIGS = {"paper": dict(groups=2, lrn=True), "plain": dict(groups=1, lrn=False)}
SIZE, CLASSES = 227, 1000


# -- the two frameworks -----------------------------------------------------------------------


def tinynet_runner(config, batch):
    from tinynet.layers import SoftmaxCrossEntropy
    from tinynet.models import alexnet
    from tinynet.optim import SGD
    from tinynet.perf.memory import retain_freed_memory

    retain_freed_memory()  # as examples/alexnet.py does
    model = alexnet(num_classes=CLASSES, input_size=SIZE, init="caffe", **CONFIGS[config])
    opt = SGD(model.named_parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    loss_fn = SoftmaxCrossEntropy()
    x, y = inputs(batch)

    def train_step():
        model.train()
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        opt.step()

    def infer_step():
        with model.evaluating():  # eval mode, nothing kept for backward (as predict does)
            model.forward(x)

    return train_step, infer_step


def torch_model(config):
    import torch.nn as nn

    g, lrn = CONFIGS[config]["groups"], CONFIGS[config]["lrn"]
    norm = (lambda: [nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)]) if lrn else (lambda: [])
    # fmt: off
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(inplace=True), *norm(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=g), nn.ReLU(inplace=True), *norm(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=g), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=g), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, CLASSES),
    )
    # fmt: on


def torch_runner(config, batch):
    import torch

    torch.manual_seed(0)
    model = torch_model(config)
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = (torch.from_numpy(a) for a in inputs(batch))

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    def infer_step():
        model.eval()
        with torch.no_grad():
            model(x)

    return train_step, infer_step


def inputs(batch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, SIZE, SIZE), dtype=np.float32)
    return x, rng.integers(0, CLASSES, batch)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def threads() -> int:
    import numba

    return numba.config.NUMBA_NUM_THREADS


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux


def measure(framework, config, batch, args) -> dict:
    """This framework's figures: training (unless --infer-only), then inference."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads())
        train_step, infer_step = torch_runner(config, batch)
    else:
        train_step, infer_step = tinynet_runner(config, batch)
    result = {}
    if not args.infer_only:
        result["first_step_s"] = timed(train_step)
        for _ in range(args.warmup - 1):
            train_step()
        times = [timed(train_step) for _ in range(args.steps)]
        result.update(train_img_s=batch / statistics.median(times), train_step_s=times)
        result["peak_rss_mib"] = peak_mib()
    for _ in range(2):
        infer_step()
    infer = [timed(infer_step) for _ in range(args.infer_steps)]
    result.update(infer_img_s=batch / statistics.median(infer), infer_step_s=infer)
    result.setdefault("peak_rss_mib", peak_mib())
    return result


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("framework", choices=["tinynet", "torch"])
    p.add_argument("config", choices=list(CONFIGS))
    p.add_argument("batch", type=int)
    p.add_argument("--infer-only", action="store_true")
    p.add_argument("--tinynet-first", action="store_true")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--infer-steps", type=int, default=5)
    return p.parse_args(argv)


if __name__ == "__main__":
    args = parse()
    print(json.dumps(measure(args.framework, args.config, args.batch, args)))
