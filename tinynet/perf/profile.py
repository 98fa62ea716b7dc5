"""Where a step's time goes: per-layer forward/backward seconds and the share spent in GEMM."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import blas


@dataclass
class LayerTimes:
    forward: float = 0.0
    backward: float = 0.0
    gemm: float = 0.0
    gemm_flops: float = 0.0


@dataclass
class StepProfile:
    """Seconds per layer (forward, backward, of which GEMM) for one or more profiled steps."""

    layers: dict[str, LayerTimes] = field(default_factory=dict)
    steps: int = 0

    @property
    def total(self) -> float:
        return sum(t.forward + t.backward for t in self.layers.values())

    @property
    def gemm(self) -> float:
        return sum(t.gemm for t in self.layers.values())

    @property
    def gemm_flops(self) -> float:
        return sum(t.gemm_flops for t in self.layers.values())

    def table(self) -> str:
        n = max(self.steps, 1)
        lines = [
            f"{'layer':<9} {'forward ms':>11} {'backward ms':>12} {'GEMM ms':>9} "
            f"{'GEMM GFLOP/s':>13}"
        ]
        for name, t in self.layers.items():
            rate = t.gemm_flops / t.gemm / 1e9 if t.gemm > 0 else 0.0
            lines.append(
                f"{name:<9} {t.forward / n * 1e3:>11.1f} {t.backward / n * 1e3:>12.1f} "
                f"{t.gemm / n * 1e3:>9.1f} {rate:>13.1f}"
            )
        share = self.gemm / self.total if self.total else 0.0
        lines.append(
            f"{'total':<9} {sum(t.forward for t in self.layers.values()) / n * 1e3:>11.1f}"
            f" {sum(t.backward for t in self.layers.values()) / n * 1e3:>12.1f} "
            f"{self.gemm / n * 1e3:>9.1f}   GEMM share {share:.0%}"
        )
        return "\n".join(lines)


@contextmanager
def _gemm_recording():
    previous = blas.record
    blas.record = []
    try:
        yield blas.record
    finally:
        blas.record = previous


def profile_step(model, loss_fn, images, labels, optimizer=None, profile=None) -> StepProfile:
    """Run one training step layer by layer, timing each layer and its GEMMs."""
    profile = profile or StepProfile()
    names = list(model.layers)
    for name in names:
        profile.layers.setdefault(name, LayerTimes())
    with _gemm_recording() as rec:

        def timed(name, phase, fn, arg):
            rec.clear()
            start = time.perf_counter()
            out = fn(arg)
            t = profile.layers[name]
            setattr(t, phase, getattr(t, phase) + time.perf_counter() - start)
            t.gemm += sum(r[0] for r in rec)
            t.gemm_flops += sum(r[1] for r in rec)
            return out

        x = images
        for name in names:
            x = timed(name, "forward", model.layers[name].forward, x)
        loss_fn.forward(x, labels)
        grad = loss_fn.backward()
        for name in reversed(names):
            grad = timed(name, "backward", model.layers[name].backward, grad)
            if grad is None:
                break
    if optimizer is not None:
        start = time.perf_counter()
        optimizer.step()
        profile.layers.setdefault("sgd", LayerTimes()).backward += time.perf_counter() - start
    profile.steps += 1
    return profile
