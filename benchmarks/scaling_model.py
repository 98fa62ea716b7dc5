"""A model of data-parallel scaling: measured per-layer times plus ring allreduce's alpha-beta cost.

One training step on each of N machines is forward, backward, gradient averaging, SGD. The
averaging is a ring allreduce of every gradient; its cost for ``nbytes`` is

    t(nbytes) = 2 (N - 1) alpha + 2 (N - 1) / N * nbytes / beta

(``alpha``: the latency of one message; ``beta``: the bytes per second one link carries; each
machine sends and receives 2 (N - 1) / N of the buffer). Without overlap the whole buffer is
reduced after backward: step = forward + backward + t(all) + update. With overlap, buckets of
parameters in reverse layer order (fc8 first) start as soon as backward has finished their
last layer, one after the other on the network:

    start_k = max(ready_k, end_{k-1}),  end_k = start_k + t(bucket_k)
    step    = forward + max(backward, end_last) + update

Efficiency is weak scaling: the per-machine batch stays the same, so one machine's step
(forward + backward + update) over N machines' step. ``gamma`` is the processor time the
network stack takes per byte sent or received on the computing core: a transfer takes at least
``gamma`` times its bytes, and with overlap that time is taken from backward's (0: the network
has a core, or a card, of its own).

    python benchmarks/scaling_model.py --measure --batch 64 --threads 1 --save prof64.json
    python benchmarks/scaling_model.py --profile prof64.json --alpha 60e-6 --efficiency 0.93

prints the predicted step time and efficiency for 2-64 machines at 1, 10, 25 and 100 Gbit/s,
with and without overlap. ``predict`` is what ``benchmarks/overlap_scaling.py`` compares with
its measurements on emulated hosts.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass

#: The bucket size the model assumes unless told: tinynet.dist's default (bytes).
DEFAULT_BUCKET_BYTES = 25 * 2**20
MACHINES = (2, 4, 8, 16, 32, 64)
GBITS = (1, 10, 25, 100)


@dataclass
class LayerProfile:
    """One layer's measured seconds per step and its gradients' bytes (float32)."""

    name: str
    forward: float
    backward: float
    grad_bytes: int


@dataclass
class Profile:
    """A step's layers in forward order, the optimizer's seconds and how it was measured."""

    layers: list[LayerProfile]
    update: float
    batch: int
    threads: int
    note: str = ""

    @property
    def forward(self) -> float:
        return sum(layer.forward for layer in self.layers)

    @property
    def backward(self) -> float:
        return sum(layer.backward for layer in self.layers)

    @property
    def compute(self) -> float:
        return self.forward + self.backward + self.update

    @property
    def grad_bytes(self) -> int:
        return sum(layer.grad_bytes for layer in self.layers)

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=1)

    @classmethod
    def load(cls, path) -> Profile:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        raw["layers"] = [LayerProfile(**layer) for layer in raw["layers"]]
        return cls(**raw)


def allreduce_seconds(nbytes: float, machines: int, alpha: float, beta: float) -> float:
    """Ring allreduce of ``nbytes`` over ``machines``: latency ``alpha`` s, ``beta`` bytes/s."""
    if machines < 2 or nbytes <= 0:
        return 0.0
    n = machines
    return 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / beta


def buckets(layers: list[LayerProfile], bucket_bytes: int) -> list[tuple[int, int]]:
    """(index of the layer that completes it, bytes) for each bucket, in the order backward
    fills them (last layer first); a bucket closes once it holds ``bucket_bytes`` or more."""
    out, held, last = [], 0, None
    for i in reversed(range(len(layers))):
        if not layers[i].grad_bytes:
            continue
        held += layers[i].grad_bytes
        last = i
        if held >= bucket_bytes:
            out.append((i, held))
            held = 0
    if held:
        out.append((last, held))
    return out


@dataclass
class Prediction:
    machines: int
    gbit: float
    overlap: bool
    step: float  # seconds
    allreduce: float  # seconds of network time per step (all buckets)
    exposed: float  # seconds the step waits for the network
    efficiency: float  # one machine's step / this step


def predict(profile: Profile, machines: int, gbit: float, *, alpha: float, efficiency: float,
            overlap: bool, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
            gamma: float = 0.0) -> Prediction:  # fmt: skip
    """The step of ``machines`` machines linked at ``gbit`` Gbit/s, of which the allreduce
    achieves ``efficiency`` (its bytes/s over the link's)."""
    beta = gbit * 1e9 / 8 * efficiency
    single = profile.compute
    share = 2 * (machines - 1) / machines if machines > 1 else 0.0

    def seconds(nbytes):  # the wire's time, or the processor's if that is longer
        return max(allreduce_seconds(nbytes, machines, alpha, beta), gamma * share * nbytes)

    if not overlap or machines < 2:
        comm = seconds(profile.grad_bytes)
        step = single + comm
        return Prediction(machines, gbit, overlap, step, comm, comm, single / step)
    # backward runs last layer first: when does layer i finish?
    done, t = {}, 0.0
    for i in reversed(range(len(profile.layers))):
        t += profile.layers[i].backward
        done[i] = t
    end, comm = 0.0, 0.0
    for index, nbytes in buckets(profile.layers, bucket_bytes):
        took = seconds(nbytes)
        end = max(done[index], end) + took
        comm += took
    # the network's processor time is taken from backward's (the same core)
    backward = max(profile.backward + gamma * share * profile.grad_bytes, end)
    step = profile.forward + backward + profile.update
    return Prediction(machines, gbit, True, step, comm, step - single, single / step)


def measure(batch: int, threads: int, steps: int = 3, seed: int = 0) -> Profile:
    """Per-layer forward/backward seconds of the paper AlexNet (1000 classes, 227) at ``batch``,
    medians of ``steps`` profiled steps after one warm-up, on ``threads`` threads."""
    import os

    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    import numpy as np

    from tinynet.layers import SoftmaxCrossEntropy
    from tinynet.models import alexnet
    from tinynet.optim import SGD
    from tinynet.perf.profile import profile_step

    model = alexnet(num_classes=1000, seed=seed)
    optimizer = SGD(model.named_parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn, rng = SoftmaxCrossEntropy(), np.random.default_rng(seed)
    images = rng.standard_normal((batch, 3, 227, 227), dtype=np.float32)
    labels = rng.integers(0, 1000, batch)
    profile_step(model, loss_fn, images, labels, optimizer)  # warm-up: compiles, allocates
    runs = [profile_step(model, loss_fn, images, labels, optimizer) for _ in range(steps)]
    layers = []
    for name, layer in model:
        nbytes = sum(g.nbytes for g in layer.grads.values())
        forward = float(np.median([r.layers[name].forward for r in runs]))
        backward = float(np.median([r.layers[name].backward for r in runs]))
        layers.append(LayerProfile(name, forward, backward, nbytes))
    update = float(np.median([r.layers["sgd"].backward for r in runs]))
    note = f"paper AlexNet, batch {batch}, {threads} thread(s), medians of {steps} steps"
    return Profile(layers, update, batch, threads, note)


def table(profile: Profile, alpha: float, efficiency: float, bucket_bytes: int,
          gamma: float = 0.0) -> str:  # fmt: skip
    """Predicted efficiency for ``MACHINES`` x ``GBITS``, without / with overlap."""
    head = "machines " + " ".join(f"{g:>5} Gbit/s (no / overlap)" for g in GBITS)
    lines = [head]
    for n in MACHINES:
        cells = []
        for g in GBITS:
            plain, over = (
                predict(profile, n, g, alpha=alpha, efficiency=efficiency, overlap=o,
                        bucket_bytes=bucket_bytes, gamma=gamma)
                for o in (False, True)
            )  # fmt: skip
            cells.append(f"{100 * plain.efficiency:>11.0f}% / {100 * over.efficiency:>4.0f}%")
        lines.append(f"{n:>8} " + " ".join(cells))
    return "\n".join(lines)


def scaled(profile: Profile, factor: float) -> Profile:
    """``profile`` with every time multiplied by ``factor``."""
    layers = [LayerProfile(x.name, x.forward * factor, x.backward * factor, x.grad_bytes)
              for x in profile.layers]  # fmt: skip
    return Profile(layers, profile.update * factor, profile.batch, profile.threads, profile.note)


def compare(runs: list[dict], profiles: dict, alpha: float, efficiency: float,
            gamma: float) -> str:  # fmt: skip
    """Predicted next to measured step times of ``benchmarks/overlap_scaling.py``'s ``runs``
    (2 hosts): ``flat`` against no overlap, each ``MB:thread`` way against overlap with its
    bucket size. ``profiles`` maps a batch to the per-layer profile measured at it; its times
    are scaled to the run's own one-host step (the machine's speed drifts between runs: the
    profile gives the layers' shares, the run the seconds)."""
    lines = [f"{'Gbit/s':>6} {'batch':>5} {'way':<11} {'measured s':>10} {'predicted s':>11}"]
    for run in runs:
        profile = profiles.get(run["batch"])
        if profile is None:
            continue
        alone = sorted(r["step"] for r in run["single"])[len(run["single"]) // 2]
        profile = scaled(profile, alone / profile.compute)
        for way, records in run["ways"].items():
            if way != "flat" and not way.endswith(":thread"):
                continue  # progress between layers only: not what the model describes
            steps = sorted(r["step"] for r in records)
            measured = steps[len(steps) // 2] if len(steps) % 2 else sum(
                steps[len(steps) // 2 - 1 : len(steps) // 2 + 1]) / 2  # fmt: skip
            bucket = int(float(way.split(":")[0]) * 2**20) if way != "flat" else 1
            guess = predict(profile, 2, run["gbit"], alpha=alpha, efficiency=efficiency,
                            overlap=way != "flat", bucket_bytes=bucket, gamma=gamma)  # fmt: skip
            lines.append(f"{run['gbit']:>6g} {run['batch']:>5} {way:<11} {measured:>10.2f} "
                         f"{guess.step:>11.2f}")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", help="a profile saved by --measure --save")
    p.add_argument("--measure", action="store_true", help="measure the per-layer times now")
    p.add_argument("--batch", type=int, default=64, help="per-machine batch (with --measure)")
    p.add_argument("--threads", type=int, default=1, help="threads (with --measure)")
    p.add_argument("--save", help="write the measured profile (JSON) here")
    p.add_argument("--alpha", type=float, default=50e-6, help="seconds per message (latency)")
    p.add_argument("--efficiency", type=float, default=0.9,
                   help="the share of the link's bandwidth an allreduce achieves")  # fmt: skip
    p.add_argument("--gamma", type=float, default=0.0,
                   help="seconds of the computing core per byte sent and received")  # fmt: skip
    p.add_argument("--bucket-mb", type=float, default=DEFAULT_BUCKET_BYTES / 2**20)
    p.add_argument("--compare", nargs="+", metavar="JSON",
                   help="overlap_scaling.py results to set the predictions beside (with one "
                        "--profile per batch, comma-separated)")  # fmt: skip
    args = p.parse_args(argv)
    if args.compare:
        profiles = {}
        for path in args.profile.split(","):
            loaded = Profile.load(path)
            profiles[loaded.batch] = loaded
        runs = [r for path in args.compare for r in json.loads(open(path).read())["runs"]]
        print(compare(runs, profiles, args.alpha, args.efficiency, args.gamma))
        return 0
    if not (args.profile or args.measure):
        p.error("give --profile FILE or --measure")
    profile = Profile.load(args.profile) if args.profile else measure(args.batch, args.threads)
    if args.save:
        profile.save(args.save)
    bucket = int(args.bucket_mb * 2**20)
    times = f"forward {profile.forward:.2f} s, backward {profile.backward:.2f} s"
    print(f"{profile.note}: {times}, update {profile.update:.2f} s; gradients "
          f"{profile.grad_bytes / 1e6:.1f} MB")  # fmt: skip
    print(f"alpha {args.alpha * 1e6:.0f} us, allreduce at {100 * args.efficiency:.0f}% of the "
          f"link, gamma {args.gamma:g} s/B, buckets of {args.bucket_mb:g} MB")  # fmt: skip
    print(table(profile, args.alpha, args.efficiency, bucket, args.gamma))
    return 0


if __name__ == "__main__":
    sys.exit(main())
