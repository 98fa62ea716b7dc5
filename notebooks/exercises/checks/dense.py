"""Checks for notebook 1: ReLU, Linear and softmax cross-entropy backward, dropout, SGD step.

Each compares the student's float64 answer with tinynet's own layer and with centred
differences, and on a mismatch tries the known mistakes one by one to name the one made.
"""

from __future__ import annotations

import numpy as np

from tinynet.layers import Linear, ReLU, SoftmaxCrossEntropy, softmax

from ._report import Wrong, as_array, call, check, close, diagnose, differs, gradcheck


@check("relu_backward")
def check_relu_backward(relu_backward) -> str:
    """``relu_backward(dout, x) -> dx``, all (N, D) float64, against tinynet's ``ReLU``."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    x[0, :3] = 0.0  # the kink, where tinynet's derivative is 0
    dout = rng.standard_normal(x.shape)
    dx = as_array("dx", call(relu_backward, dout, x, names=("dout", "x")), x.shape)
    relu = ReLU()
    relu.forward(x)
    expected = relu.backward(dout)
    if not close(dx, expected):
        mistakes = {
            "sign flipped: where x > 0, dx is +dout, not -dout": -expected,
            "returned the mask [x > 0] itself: multiply it by the upstream gradient dout": (
                x > 0
            ).astype(float),
            "gradient passed at x == 0: tinynet takes the derivative at the kink to be 0, "
            "so the mask is x > 0, not x >= 0": dout * (x >= 0),
            "masked by the sign of dout; the gate is the sign of the input x": dout * (dout > 0),
            "no mask: dx must be zero where x <= 0": dout,
            "returned relu(x), the forward output, not a gradient": np.maximum(x, 0),
            "mask inverted: dout passes where x > 0 and is zero elsewhere": dout * (x <= 0),
            "multiplied by sign(x): where x < 0 the derivative of max(x, 0) is 0, not -1": dout
            * np.sign(x),
        }
        raise Wrong(diagnose(dx, mistakes) or differs("dx", dx, expected))
    x[0, :3] = 0.5  # centred differences need distance from the kink
    dx = call(relu_backward, dout, x, names=("dout", "x"))
    error = gradcheck("dx", lambda: float(np.sum(np.maximum(x, 0) * dout)), x, dx)
    return (
        f"matches tinynet's ReLU (0 at the kink) and centred differences (rel. error {error:.0e})"
    )


@check("linear_backward")
def check_linear_backward(linear_backward) -> str:
    """``linear_backward(dout (N, M), x (N, D), w (M, D)) -> (dx, dw, db)``, float64."""
    errors = []
    # all different, so every shape mistake shows; then other sizes, N > M > D
    for n, d, m, seed in ((4, 3, 5, 1), (7, 2, 3, 11)):
        try:
            errors.append(_linear_case(linear_backward, n, d, m, seed))
        except Wrong as wrong:
            raise Wrong(f"{wrong} (N={n}, D={d}, M={m})") from None
    return (
        "dx, dW, db match tinynet's Linear and centred differences for two sets of sizes "
        f"(largest rel. error {max(errors):.0e})"
    )


def _linear_case(linear_backward, n, d, m, seed) -> float:
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((m, d)), rng.standard_normal(m)
    dout = rng.standard_normal((n, m))
    layer = Linear(d, m, dtype=np.float64)
    layer.params["weight"][...], layer.params["bias"][...] = w, b
    layer.forward(x)
    expected = {"dx": layer.backward(dout), "dw": layer.grads["weight"], "db": layer.grads["bias"]}
    got = call(linear_backward, dout, x, w, names=("dout", "x", "w"))
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise Wrong(f"returned {type(got).__name__}, expected a tuple (dx, dw, db)")
    shapes = {k: v.shape for k, v in expected.items()}
    for label, value in zip(shapes, got):
        shape_of = np.shape(value) if value is not None else None
        if shape_of == (d, m) and label == "dw":
            raise Wrong(f"dw has shape {(d, m)}, the transpose of W's {(m, d)}: dW = dout.T @ x")
        if shape_of == (n, m) and label == "db":
            raise Wrong("db has shape (N, M): sum dout over the batch axis (axis 0)")
        if shape_of == (n,) and label == "db":
            raise Wrong("db has shape (N,): sum dout over the batch axis 0, not over axis 1")
        others = [k for k, s in shapes.items() if s == shape_of and k != label]
        if others:
            raise Wrong(f"{label} has the shape of {others[0]}: return (dx, dw, db) in this order")
    dx, dw, db = (as_array(k, v, shapes[k]) for k, v in zip(shapes, got))
    mistakes = {
        "dx": {"dx has the wrong sign: dx = dout @ W": -expected["dx"]},
        "dw": {
            "dw has the wrong sign: dW = dout.T @ x": -expected["dw"],
            "dw is averaged over the batch (1/N too small): sum, the loss already has its 1/N": (
                expected["dw"] / n
            ),
        },
        "db": {
            "db has the wrong sign: db = dout summed over the batch": -expected["db"],
            "db is averaged over the batch (1/N too small): sum over the batch, every example "
            "used the bias": expected["db"] / n,
        },
    }
    for label, value in zip(expected, (dx, dw, db)):
        if not close(value, expected[label]):
            found = diagnose(value, mistakes[label])
            raise Wrong(found or differs(label, value, expected[label]))

    def loss() -> float:
        return float(np.sum((x @ w.T + b) * dout))

    errors = [gradcheck(k, loss, a, g) for k, a, g in (("dx", x, dx), ("dw", w, dw))]
    errors.append(gradcheck("db", loss, b, db))
    return max(errors)


# (labels, K, seed): labels < N, so that grad[labels] (rows) is a wrong answer with a shape;
# then N > K and a repeated label, so that no size or class count can be hard-coded
SOFTMAX_CASES = (([2, 0, 3, 2], 6, 2), ([1, 2, 0, 2, 2, 1, 0], 3, 12))


@check("softmax_ce_backward")
def check_softmax_ce_backward(softmax_ce_backward) -> str:
    """``softmax_ce_backward(logits (N, K) float64, labels (N,) int) -> dlogits (N, K)``."""
    errors = []
    for labels, k, seed in SOFTMAX_CASES:
        try:
            errors.append(_softmax_case(softmax_ce_backward, np.array(labels), k, seed))
        except Wrong as wrong:
            raise Wrong(f"{wrong} (N={len(labels)}, K={k})") from None
    return (
        "matches tinynet's SoftmaxCrossEntropy for two sizes, is stable for large logits, and "
        f"matches centred differences (rel. error {max(errors):.0e})"
    )


def _softmax_case(softmax_ce_backward, labels, k, seed) -> float:
    rng = np.random.default_rng(seed)
    n = len(labels)
    logits = rng.standard_normal((n, k))
    loss = SoftmaxCrossEntropy()
    loss.forward(logits, labels)
    expected = loss.backward()
    names = ("logits", "labels")
    got = as_array("dlogits", call(softmax_ce_backward, logits, labels, names=names), (n, k))
    if not close(got, expected):
        p, onehot = softmax(logits), np.eye(k)[labels]
        rows = p.copy()
        rows[labels] -= 1  # indexes rows with the labels instead of (row, label) pairs
        e = np.exp(logits)
        mistakes = {
            "N times too large: the loss is the mean over the batch, so divide by N": expected * n,
            "sign flipped: the gradient is softmax - onehot, not onehot - softmax": -expected,
            "the one-hot of the label is not subtracted: (softmax - onehot) / N": p / n,
            "softmax taken over the batch axis 0; it normalises each row (axis 1)": (
                e / e.sum(axis=0) - onehot
            )
            / n,
            "the 1 is subtracted at the wrong entries: use grad[np.arange(N), labels] -= 1, "
            "not grad[labels] -= 1": rows / n,
            "divided by K (classes) instead of N (batch size)": expected * n / k,
        }
        for c in sorted(set(range(2, 17)) - {n, k}):
            mistakes[f"divided by {c} instead of N = {n}: is the batch size hard-coded?"] = (
                expected * n / c
            )
        raise Wrong(diagnose(got, mistakes) or differs("dlogits", got, expected))
    big = logits * 1000.0
    loss.forward(big, labels)
    with np.errstate(all="ignore"):
        got = call(softmax_ce_backward, big, labels, names=names)
    if not np.all(np.isfinite(np.asarray(got, dtype=np.float64))):
        raise Wrong(
            "NaN or inf for logits of size ~1e3: subtract each row's max before exp (its own: "
            "the max of the whole batch leaves rows whose exponentials all underflow to 0)"
        )
    if not close(got, loss.backward()):
        raise Wrong("wrong for large logits: subtract each row's max before exp")

    def objective() -> float:
        return loss.forward(logits, labels)

    gradient = call(softmax_ce_backward, logits, labels, names=names)
    return gradcheck("dlogits", objective, logits, gradient)
