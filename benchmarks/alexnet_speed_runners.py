"""The two frameworks of benchmarks/alexnet_speed.py: one training and inference step each,
timed in a child process (``alexnet_speed.py --child FRAMEWORK CONFIG BATCH``)."""

from __future__ import annotations

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
    from tinynet.perf.memory import retain_freed_memory

    retain_freed_memory()  # as examples/alexnet.py does
    from tinynet.models import alexnet
    from tinynet.optim import SGD

    model = alexnet(num_classes=CLASSES, input_size=SIZE, init="caffe", **CONFIGS[config])
    opt = SGD(model.named_parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    loss_fn = SoftmaxCrossEntropy()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, SIZE, SIZE), dtype=np.float32)
    y = rng.integers(0, CLASSES, batch)

    def train_step():
        model.train()
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        opt.step()

    def infer_step():
        model.eval()
        model.forward(x)

    return train_step, infer_step


def torch_model(config):
    import torch.nn as nn

    g, lrn = CONFIGS[config]["groups"], CONFIGS[config]["lrn"]
    norm = (lambda: [nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)]) if lrn else (lambda: [])
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4),
        nn.ReLU(inplace=True),
        *norm(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=g),
        nn.ReLU(inplace=True),
        *norm(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=g),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=g),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(9216, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(4096, CLASSES),
    )


def torch_runner(config, batch):
    import torch

    torch.manual_seed(0)
    model = torch_model(config)
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((batch, 3, SIZE, SIZE), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, CLASSES, batch))

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


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def threads() -> int:
    import numba

    return numba.config.NUMBA_NUM_THREADS


def child(framework, config, batch, warmup, steps, infer_steps):
    """Runs in a subprocess: prints one JSON line with this framework's figures."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads())
        train_step, infer_step = torch_runner(config, batch)
    else:
        train_step, infer_step = tinynet_runner(config, batch)
    first = timed(train_step)
    for _ in range(warmup - 1):
        train_step()
    times = [timed(train_step) for _ in range(steps)]
    peak_train = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    infer_step()
    infer = [timed(infer_step) for _ in range(infer_steps)]
    print(
        json.dumps(
            {
                "train_img_s": batch / statistics.median(times),
                "train_step_s": times,
                "infer_img_s": batch / statistics.median(infer),
                "first_step_s": first,
                "peak_rss_mib": peak_train,
            }
        )
    )
