"""AlexNet trained a few steps on the reference and the fast backend from the same weights and
dropout streams: the same logits, losses, gradients and weights up to floating-point rounding.

Both of the paper's era's networks are run: the two-tower net with LRN (groups=2) and the single
tower without LRN (groups=1), small (width 0.125) so each run takes a fraction of a second. The
fast run must really take the fast paths: im2col on Numba kernels for conv1 (stride 4), Winograd
F(3x3, 5x5) for the two-tower net's conv2 and F(m x m, 3x3) for conv3-5 (set on those layers at
input 67, chosen by the "auto" rule at input 83 with a batch of 64); the reference run's convs
must all report "reference".

Tolerances, relative to the largest magnitude of each array (an element-wise rtol plus an atol
of that much times the array's largest value):

- float64: 1e-10. Measured (2026-12): at most 5e-15 on logits, loss, gradients and weights.
- float32: 1e-4. The fast path's stated float32 error is about 1e-5 relative per Winograd
  convolution (1e-6 for im2col); it compounds over five convolutions, three steps and the
  updates. Measured: at most 3e-6. The two runs must also differ somewhere, so that a fast
  path silently running the reference code would fail the test.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynet
from tinynet.layers import Conv2D
from tinynet.layers.loss import SoftmaxCrossEntropy
from tinynet.models import alexnet
from tinynet.optim import SGD

#: The two networks, as ``examples/alexnet.py -a`` names them.
ARCHS = {"alexnet": dict(groups=2, lrn=True), "alexnet-plain": dict(groups=1, lrn=False)}
#: Convolutions set to ``algorithm="winograd"`` at input 67 (their outputs are 7x7 and 3x3,
#: below the "auto" rule's threshold). conv2 of the single tower stays on im2col.
WINOGRAD = {
    "alexnet": ("conv2", "conv3", "conv4", "conv5"),
    "alexnet-plain": ("conv3", "conv4", "conv5"),
}
CONVS = ("conv1", "conv2", "conv3", "conv4", "conv5")
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-4}
NUM_CLASSES, STEPS = 5, 3


@pytest.fixture(autouse=True)
def _restore_backend():
    before = tinynet.get_backend()
    yield
    tinynet.set_backend(before)


def build(arch, dtype, input_size, winograd=()):
    """A small AlexNet with dropout 0.5; ``winograd``: convs set to algorithm="winograd"."""
    model = alexnet(
        num_classes=NUM_CLASSES, input_size=input_size, width=0.125, dropout=0.5, init="he",
        seed=3, dtype=dtype, **ARCHS[arch],
    )  # fmt: skip
    for name in winograd:
        model[name].algorithm = "winograd"
    return model


def batches(dtype, n, input_size):
    rng = np.random.default_rng(7)
    return [
        (rng.standard_normal((n, 3, input_size, input_size)).astype(dtype),
         rng.integers(0, NUM_CLASSES, n))
        for _ in range(STEPS)
    ]  # fmt: skip


def train(model, backend, data):
    """STEPS steps of SGD (momentum, weight decay) on ``backend``: a record per step (the convs'
    algorithms, logits, loss, gradients), then the weights and velocities after the last."""
    opt = SGD(model.named_parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = SoftmaxCrossEntropy()
    steps = []
    with tinynet.backend(backend):
        for x, labels in data:
            algorithms = {}
            for name, layer in model:  # Sequential.forward, noting each conv's algorithm
                if isinstance(layer, Conv2D):
                    algorithms[name] = layer.algorithm_for(x.shape).name
                x = layer.forward(x)
            loss = loss_fn.forward(x, labels)
            model.backward(loss_fn.backward())
            grads = {name: grad.copy() for name, _, grad in model.named_parameters()}
            opt.step()
            steps.append(dict(algorithms=algorithms, logits=x.copy(), loss=loss, grads=grads))
    after = {name: p.copy() for name, p, _ in model.named_parameters()}
    velocities = {name: opt.velocity(name).copy() for name in after}
    return steps, after, velocities


def relative(actual, expected) -> float:
    """max|actual - expected| / max|expected|: the measure the tolerances bound."""
    scale = float(np.max(np.abs(expected)))
    return float(np.max(np.abs(np.asarray(actual) - expected))) / scale if scale else 0.0


def compare_runs(arch, dtype, input_size, batch, winograd):
    """Train the same model on both backends; check they agree; return the fast run's conv
    algorithms and the largest relative difference seen."""
    reference_model = build(arch, dtype, input_size, winograd)
    fast_model = build(arch, dtype, input_size, winograd)
    start = reference_model.state_dict()
    assert {"drop6.rng", "drop7.rng"} <= set(start)  # dropout on, its streams copied too
    fast_model.load_state_dict(start)
    data = batches(dtype, batch, input_size)
    reference = train(reference_model, "reference", data)
    fast = train(fast_model, "fast", data)

    tol, worst, differs = TOLERANCE[dtype], 0.0, False

    def check(actual, expected, what):
        nonlocal worst, differs
        expected = np.asarray(expected)
        assert np.asarray(actual).dtype == expected.dtype == dtype, what
        scale = float(np.max(np.abs(expected)))
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)
        worst = max(worst, relative(actual, expected))
        differs |= not np.array_equal(actual, expected)

    for k, (ref, got) in enumerate(zip(reference[0], fast[0])):
        assert set(ref["algorithms"].values()) == {"reference"}, ref["algorithms"]
        assert got["algorithms"] == fast[0][0]["algorithms"]  # the same every step
        check(got["logits"], ref["logits"], f"step {k}: logits")
        check(np.array(got["loss"], dtype), np.array(ref["loss"], dtype), f"step {k}: loss")
        assert set(got["grads"]) == set(ref["grads"]) and len(ref["grads"]) == 16
        for name, grad in ref["grads"].items():
            check(got["grads"][name], grad, f"step {k}: gradient of {name}")
    for name, weight in reference[1].items():
        check(fast[1][name], weight, f"{name} after {STEPS} steps")
        check(fast[2][name], reference[2][name], f"velocity of {name} after {STEPS} steps")
        assert not np.array_equal(weight, start[name]), name  # it did train
    assert differs, "the fast run gave the reference's bits: did it run the fast code?"
    print(f"{arch} {np.dtype(dtype).name}: largest relative difference {worst:.1e}")
    return fast[0][0]["algorithms"], worst


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("arch", ARCHS)
def test_a_few_training_steps_agree_between_backends(arch, dtype):
    algorithms, _ = compare_runs(arch, dtype, input_size=67, batch=8, winograd=WINOGRAD[arch])
    expected = {name: "winograd" if name in WINOGRAD[arch] else "im2col" for name in CONVS}
    assert algorithms == expected


@pytest.mark.slow
def test_the_auto_rule_picks_winograd_and_the_backends_still_agree():
    """Input 83 makes conv3-5's maps 4x4; a batch of 64 gives them 1024 output pixels: the
    "auto" rule's smallest Winograd case. conv2 (5x5, 6 input channels per group) stays on
    im2col."""
    conv3 = build("alexnet", np.float32, 83)["conv3"]
    assert conv3.algorithm == "auto" and conv3.uses_winograd(64, 4, 4)
    assert not conv3.uses_winograd(63, 4, 4)
    algorithms, _ = compare_runs("alexnet", np.float32, input_size=83, batch=64, winograd=())
    assert algorithms == dict(
        conv1="im2col", conv2="im2col", conv3="winograd", conv4="winograd", conv5="winograd"
    )
