"""The tinynet-only figures of benchmarks/alexnet_speed.py: per-layer profile, nominal FLOPs,
the sgemm ceiling and start-up time."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
from alexnet_speed_runners import CLASSES, CONFIGS, SIZE, timed


def layer_breakdown(config, batch, steps):
    """Per-layer forward/backward ms and GEMM share of a tinynet training step."""
    from tinynet.layers import SoftmaxCrossEntropy
    from tinynet.models import alexnet
    from tinynet.optim import SGD
    from tinynet.perf.memory import retain_freed_memory
    from tinynet.perf.profile import StepProfile, profile_step

    retain_freed_memory()  # as in the timed runs
    model = alexnet(num_classes=CLASSES, input_size=SIZE, init="caffe", **CONFIGS[config])
    opt = SGD(model.named_parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
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
    "o=SGD(m.named_parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4); "
    "l=SoftmaxCrossEntropy(); "
    "x=np.zeros((4,3,67,67),np.float32); l.forward(m.forward(x), np.zeros(4,int)); "
    "m.backward(l.backward()); o.step(); print(time.perf_counter()-t)"
)


def startup_seconds(cache_dir) -> float:
    """Import + first training step of a small AlexNet in a fresh process."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", STARTUP], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def forward_flops(config) -> float:
    """Nominal FLOPs of one image's forward pass: 2 per multiply-add of every convolution and
    fully connected layer (what the network costs, whatever algorithm computes it)."""
    from tinynet.layers import Conv2D, Linear
    from tinynet.models import alexnet

    model = alexnet(num_classes=CLASSES, input_size=SIZE, init="caffe", **CONFIGS[config])
    x, flops = np.zeros((1, 3, SIZE, SIZE), np.float32), 0.0
    with model.evaluating():
        for _, layer in model:
            x = layer.forward(x)
            if isinstance(layer, Conv2D):
                kh, kw = layer.kernel_size
                flops += 2.0 * x.size * layer.in_channels // layer.groups * kh * kw
            elif isinstance(layer, Linear):
                flops += 2.0 * layer.in_features * layer.out_features
    return flops
