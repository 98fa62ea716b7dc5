"""Checks for notebook 4, part 1: the sanity checks of lecture 05 around a training loop.

The student's functions run on tiny float64 models (conv, ReLU, max-pool, dropout, linear) on
tinynet's reference backend, against the same steps taken here on a copy of the model: the loss
at initialisation against ln K, a training loop that stops on a non-finite loss, and
overfitting one small batch. Geometry, K, batch size, lr and steps vary between the cases.
"""

from __future__ import annotations

import copy

import numpy as np

import tinynet
from tinynet.data import ArrayBatches
from tinynet.layer import Layer
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, SoftmaxCrossEntropy
from tinynet.optim import SGD
from tinynet.sequential import Sequential

from ._report import Wrong, as_array, call, check, close, differs


def tiny_model(k: int, h: int, w: int, seed: int, p: float = 0.5, channels: int = 4):
    """A float64 classifier of (N, 3, h, w) images into k classes, conv1 without dL/dx."""
    rng = np.random.default_rng(seed)
    layers = [
        ("conv1", Conv2D(3, channels, 3, padding=1, dtype=np.float64, rng=rng, input_grad=False)),
        ("relu1", ReLU()),
        ("pool1", MaxPool2D(2)),
        ("flatten", Flatten()),
        ("drop", Dropout(p, rng=np.random.default_rng(seed + 1))),
        ("fc", Linear(channels * (h // 2) * (w // 2), k, dtype=np.float64, rng=rng)),
    ]
    return Sequential(layers)


def images(n: int, h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, h, w))


def _modes(model) -> tuple[bool, ...]:
    return (model.training, *(layer.training for _, layer in model))


# -- 1. the loss at initialisation ----------------------------------------------------------------


def _eval_loss(model, x, y) -> float:
    with model.evaluating(), np.errstate(invalid="ignore"):
        return float(SoftmaxCrossEntropy().forward(model.forward(x), y))


def _train_loss(model, x, y) -> float:
    model = copy.deepcopy(model).train()
    return float(SoftmaxCrossEntropy().forward(model.forward(x), y))


def _healthy(k: int, n: int, classes: int, seed: int):
    """(model in training mode, x, y): logits small, labels drawn from the first ``classes``."""
    model = tiny_model(k, 6, 8, seed)
    model["fc"].params["weight"][...] *= 0.2  # small logits: the loss is within 0.05 of ln K
    y = np.random.default_rng(seed).permutation(np.arange(n) % classes)
    return model, images(n, 6, 8, seed), y


def _raises(initial_loss, model, x, y, tol) -> tuple[float | None, Exception | None]:
    """(returned loss, None) or (None, the exception the student's function raised)."""
    try:
        with np.errstate(invalid="ignore", over="ignore"):
            got = call(initial_loss, model, SoftmaxCrossEntropy(), x, y, tol, names=_NAMES)
    except Wrong as wrong:
        cause = wrong.__cause__
        if cause is None:
            raise
        return None, cause
    return got, None


_NAMES = ("model", "loss_fn", "x", "y", "tol")


def _must_raise(initial_loss, case, tol, what: str) -> None:
    """The answer must raise ValueError on ``case`` = (model, x, y) with ``tol``."""
    _, error = _raises(initial_loss, *case, tol)
    if error is None:
        raise Wrong(f"accepted {what}: raise ValueError when |loss - ln K| > tol")
    if not isinstance(error, ValueError):
        raise Wrong(f"raised {type(error).__name__} for {what}; raise ValueError")


@check("initial_loss")
def check_initial_loss(initial_loss) -> str:
    """``initial_loss(model, loss_fn, x, y, tol) -> float`` (eval mode, mode restored);
    ValueError when |loss - ln K| > tol."""
    with tinynet.backend("reference"):
        # healthy models: K = 7 with every class in y, K = 7 with 4 classes in y, K = 3, K = 10
        healthy = {"all": (7, 14, 7, 0), "some": (7, 12, 4, 1), "K3": (3, 9, 3, 2)}
        healthy["K10"] = (10, 11, 10, 3)
        raised, tol = {}, 0.2
        for case, (k, n, classes, seed) in healthy.items():
            model, x, y = _healthy(k, n, classes, seed)
            expected = _eval_loss(model, x, y)
            assert abs(expected - np.log(k)) < 0.05, "the check's healthy model is not healthy"
            before, in_training = _modes(model), _train_loss(model, x, y)
            got, error = _raises(initial_loss, model, x, y, tol)
            if error is not None:
                raised[case] = (k, expected, error)
                continue
            if _modes(model) != before:
                raise Wrong(
                    "the model came in training mode and was left in eval mode: a training loop "
                    "after this check would run without dropout; restore the mode (`with "
                    "model.evaluating():` does)"
                )
            if isinstance(got, tuple | list | np.ndarray) and np.size(got) != 1:
                raise Wrong(f"returned {type(got).__name__} {got!r}, expected the loss (a float)")
            got = float(as_array("the loss", got, np.shape(got)))
            if not close(got, expected):
                if close(got, in_training):
                    raise Wrong(
                        "the loss was computed in training mode (dropout on): measure it in eval "
                        "mode, model.eval() or `with model.evaluating():`"
                    )
                raise Wrong(f"returned {got:.6g}, expected the loss {expected:.6g} (K = {k})")
        if raised:
            if set(raised) == {"some"}:
                raise Wrong(
                    "raised for a healthy model whose labels use 4 of its K = 7 classes: K is the "
                    "number of logits (logits.shape[1]), not the classes present in y"
                )
            k, loss, error = next(iter(raised.values()))
            where = ", ".join(f"K = {k}" for k in sorted({healthy[c][0] for c in raised}))
            if len(raised) < len(healthy):
                raise Wrong(
                    f"raised for healthy models at {where} only, whose losses are within "
                    f"tol = {tol} of ln K: ln of a hard-coded K, or a tolerance other than tol? K "
                    f"is the number of logits, logits.shape[1], and tol the largest accepted "
                    f"|loss - ln K| (first: {type(error).__name__}: {error})"
                )
            raise Wrong(
                f"raised for a healthy model (loss {loss:.4f}, ln K = {np.log(k):.4f}, K = {k}, "
                f"tol {tol}): the natural logarithm, np.log (log10 K = {np.log10(k):.4f}), and "
                f"tol an absolute distance ({type(error).__name__}: {error})"
            )

        # broken models: must raise
        model, x, y = _healthy(10, 12, 10, 4)
        model["fc"].params["weight"][...] *= 40  # fc too large: confidently wrong at the start
        gap = _eval_loss(model, x, y) - np.log(10)
        assert 0.5 < gap < 2.0, f"the check's broken model is {gap:.2f} from ln K"
        _must_raise(
            initial_loss,
            (model, x, y),
            gap / 2,
            f"a broken model (fc weights x 40) whose loss is {gap:.2f} above ln K with tol "
            f"{gap / 2:.2f}",
        )
        model, x, y = _healthy(6, 12, 6, 5)
        model["fc"].params["bias"][...] = 0.0
        model["fc"].params["bias"][y[0]] = 3.0  # one class favoured, and every label is it
        y[...] = y[0]
        gap = np.log(6) - _eval_loss(model, x, y)
        assert gap > 1.0, f"the check's leaking model is only {gap:.2f} below ln K"
        _must_raise(
            initial_loss,
            (model, x, y),
            0.3,
            f"a loss {gap:.2f} below ln K with tol 0.3 (labels leaking into the logits): "
            "compare the absolute difference",
        )
        model, x, y = _healthy(5, 8, 5, 6)
        model["fc"].params["weight"][0, 0] = np.nan
        _must_raise(
            initial_loss,
            (model, x, y),
            0.3,
            "a NaN loss (`abs(loss - ln K) > tol` is False for NaN: test `not ... <= tol` or "
            "np.isfinite too)",
        )
    return (
        "eval-mode loss compared with ln K for K = 3, 7, 10 (K from the logits), mode restored; "
        "raises for an oversized fc, a loss below ln K and a NaN"
    )


# -- 2. the training loop -------------------------------------------------------------------------


class _FailingLoss(SoftmaxCrossEntropy):
    """SoftmaxCrossEntropy whose forward returns ``value`` (NaN, inf) at call number ``at``."""

    def __init__(self, at: int, value: float):
        super().__init__()
        self.at, self.value, self.calls = at, value, 0

    def forward(self, logits, labels) -> float:
        loss = super().forward(logits, labels)
        self.calls += 1
        return self.value if self.calls == self.at else loss


def _loop(model, batches, steps, lr, mistake=None):
    """A reference (or deliberately wrong) loop on ``model`` -> its losses."""
    loss_fn = SoftmaxCrossEntropy()
    opt = SGD(model.named_parameters(), lr=lr, momentum=0.9)
    model.train(mistake != "eval")
    total = {n: np.zeros_like(g) for n, _, g in model.named_parameters()}
    losses, it, first = [], iter(batches), None
    for _ in range(steps):
        try:
            x, y = next(it)
        except StopIteration:
            if mistake == "one pass":
                break
            it = iter(batches)
            x, y = next(it)
        first = (x, y) if first is None else first
        if mistake == "first batch":
            x, y = first
        losses.append(loss_fn.forward(model.forward(x), y))
        if mistake == "step first":
            opt.step()
        model.backward(loss_fn.backward())
        if mistake == "accumulate":
            for n, _, g in model.named_parameters():
                total[n] += g
                g[...] = total[n]
        if mistake != "step first":
            opt.step()
    return np.array(losses)


LOOP_MISTAKES = {
    "eval": "trained in eval mode (dropout off): call model.train() first, the model may come in "
    "eval mode",
    "step first": "the optimizer stepped before backward, on the previous step's gradients: the "
    "order is forward, loss, backward, step",
    "accumulate": "the gradients were added up across steps: tinynet's backward overwrites them "
    "(in PyTorch, the same mistake is forgetting zero_grad)",
    "first batch": "every step trained on the first batch: take the next batch at each step",
}


def _params(model) -> dict[str, np.ndarray]:
    return {n: p.copy() for n, p, _ in model.named_parameters()}


def _same_params(a, b) -> bool:
    return all(close(a[n], b[n]) for n in a)


def _run_student(train_steps, model, loss_fn, batches, steps, lr):
    opt = SGD(model.named_parameters(), lr=lr, momentum=0.9)
    names = ("model", "loss_fn", "optimizer", "batches", "steps")
    return call(train_steps, model, loss_fn, opt, batches, steps, names=names)


def _diagnose_loop(train_steps, case) -> str | None:
    k, n, batch, steps, lr, seed = case
    model = tiny_model(k, 6, 8, seed).eval()  # handed over in eval mode on purpose
    x, y = images(n, 6, 8, seed), np.random.default_rng(seed).integers(0, k, n)
    # in order: a pass is the same whether or not the answer calls batches.set_epoch
    batches = ArrayBatches(x, y, batch_size=batch, shuffle=False)
    right = copy.deepcopy(model)
    expected, student = _loop(right, batches, steps, lr), copy.deepcopy(model)
    got = _run_student(train_steps, student, SoftmaxCrossEntropy(), batches, steps, lr)
    if got is None:
        return "returned None: return the array of per-step losses"
    got = np.asarray(got, dtype=np.float64)
    per_pass = -(-n // batch)
    if got.shape == (min(steps, per_pass),) and steps > per_pass:
        return (
            f"returned {got.size} losses for steps={steps}: the {per_pass} batches ran out; "
            "start a new pass over them (iter(batches) again)"
        )
    got = as_array("the losses", got, (steps,))
    if close(got, expected) and _same_params(_params(student), _params(right)):
        return None
    for mistake, message in LOOP_MISTAKES.items():
        wrong = copy.deepcopy(model)
        if close(got, _loop(wrong, batches, steps, lr, mistake)):
            return message
    if np.all(got == got[0]):
        return "every entry is the first step's loss: record the loss of each step"
    if not close(got, expected):
        return differs("the losses", got, expected)
    return "the losses are right but the final weights are not: one optimizer step per step"


@check("train_steps")
def check_train_steps(train_steps) -> str:
    """``train_steps(model, loss_fn, optimizer, batches, steps) -> losses (steps,)``; stops with
    FloatingPointError on a non-finite loss."""
    with tinynet.backend("reference"):
        # (K, images, batch size, steps, lr, seed): passes of 3 and 2 batches, the last smaller
        for case in ((4, 10, 4, 7, 0.05, 0), (3, 9, 5, 4, 0.02, 1)):
            found = _diagnose_loop(train_steps, case)
            if found:
                k, n, batch, steps, lr, _ = case
                raise Wrong(f"{found} (K={k}, batch size {batch}, steps={steps}, lr={lr})")
        for at, value in ((3, np.nan), (2, np.inf)):
            model = tiny_model(4, 6, 8, 7)
            x, y = images(8, 6, 8, 7), np.arange(8) % 4
            batches = ArrayBatches(x, y, batch_size=4, shuffle=False)
            right = copy.deepcopy(model)
            _loop(right, batches, at - 1, 0.05)
            try:
                with np.errstate(invalid="ignore"):
                    _run_student(train_steps, model, _FailingLoss(at, value), batches, 6, 0.05)
            except Wrong as wrong:
                error = wrong.__cause__
                if not isinstance(error, FloatingPointError):
                    raise Wrong(
                        f"on a loss of {value} at step {at}: {wrong}; raise FloatingPointError"
                    ) from None
                if str(at) not in str(error):
                    raise Wrong(
                        f"the FloatingPointError for a loss of {value} does not name the step "
                        f"({at}): {error}"
                    ) from None
            else:
                raise Wrong(
                    f"did not stop on a loss of {value} at step {at}: raise FloatingPointError "
                    "when the loss is not finite"
                )
            if not _same_params(_params(model), _params(right)):
                raise Wrong(
                    f"the weights were updated by step {at}, whose loss was {value}: raise "
                    "before optimizer.step()"
                )
    return (
        "matches forward/loss/backward/step in training mode for two sets of K, batch size, "
        "steps and lr; stops with FloatingPointError on NaN and inf"
    )


# -- 3. overfitting one small batch ---------------------------------------------------------------


class _Reversed(Layer):
    """The identity whose backward flips the gradient: a deliberately broken layer."""

    def _forward(self, x):
        return x

    def _backward(self, dout):
        return -dout


def _overfit_case(k: int, n: int, seed: int, broken: bool = False):
    model = tiny_model(k, 6, 8, seed, p=0.0, channels=6)
    if broken:
        model = Sequential([*((name, layer) for name, layer in model), ("reverse", _Reversed())])
    return model, images(n, 6, 8, seed), np.random.default_rng(seed).integers(0, k, n)


def _overfit_reference(model, x, y, steps, lr, momentum=0.9, weight_decay=0.0, batch=None):
    loss_fn = SoftmaxCrossEntropy()
    opt = SGD(model.named_parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    model.train()
    losses, batch = [], batch or len(y)
    starts = range(0, len(y), batch)  # batches of ``batch`` images in order, the last smaller
    for step in range(steps):
        i = starts[step % len(starts)]
        xb, yb = x[i : i + batch], y[i : i + batch]
        losses.append(loss_fn.forward(model.forward(xb), yb))
        model.backward(loss_fn.backward())
        opt.step()
    return np.array(losses)


def _run_overfit(overfit, model, x, y, steps, lr, target):
    names = ("model", "loss_fn", "x", "y", "steps", "lr", "target")
    return call(overfit, model, SoftmaxCrossEntropy(), x, y, steps, lr, target, names=names)


@check("overfit")
def check_overfit(overfit) -> str:
    """``overfit(model, loss_fn, x, y, steps, lr, target) -> losses (steps,)``; RuntimeError
    when the last loss is not below ``target``."""
    with tinynet.backend("reference"):
        for k, n, steps, lr, target, seed in ((5, 6, 30, 0.1, 0.05, 0), (3, 9, 25, 0.05, 0.1, 1)):
            model, x, y = _overfit_case(k, n, seed)
            expected = _overfit_reference(copy.deepcopy(model), x, y, steps, lr)
            assert expected[-1] < target / 2, "the check's model does not overfit"
            where = f"(K={k}, {n} images, steps={steps}, lr={lr})"
            # first with a target no loss misses, to see the losses whatever the answer tests
            got = _run_overfit(overfit, copy.deepcopy(model), x, y, steps, lr, np.inf)
            got = as_array(f"the losses {where}", got, (steps,))
            if not close(got, expected):
                variants = {
                    "no momentum: SGD with momentum 0.9": {"momentum": 0.0},
                    "weight decay: the sanity check uses none": {"weight_decay": 5e-4},
                    "the steps did not each take the whole batch (x, y): every step trains on "
                    "all the images": {"batch": 4},
                }
                for message, options in variants.items():
                    wrong = _overfit_reference(copy.deepcopy(model), x, y, steps, lr, **options)
                    if close(got, wrong):
                        raise Wrong(f"{message} {where}")
                raise Wrong(differs(f"the losses {where}", got, expected))
            try:
                _run_overfit(overfit, model, x, y, steps, lr, target)
            except Wrong as wrong:
                if isinstance(wrong.__cause__, RuntimeError):
                    raise Wrong(
                        f"raised although the last loss, {expected[-1]:.4f}, is below the target "
                        f"{target} {where}: compare the loss of the last step"
                    ) from None
                raise
        # must raise: a far too small lr, and a model whose backward is broken
        failures = {
            "a learning rate of 1e-4, whose loss stays near ln K": (5, 6, 0, 20, 1e-4, False),
            "a model whose backward flips the gradient's sign": (5, 6, 0, 30, 0.1, True),
        }
        for what, (k, n, seed, steps, lr, broken) in failures.items():
            model, x, y = _overfit_case(k, n, seed, broken)
            last = _overfit_reference(copy.deepcopy(model), x, y, steps, lr)[-1]
            try:
                _run_overfit(overfit, model, x, y, steps, lr, 0.05)
            except Wrong as wrong:
                if not isinstance(wrong.__cause__, RuntimeError):
                    raise Wrong(f"on {what}: {wrong}; raise RuntimeError") from None
                continue
            raise Wrong(
                f"did not raise for {what} (last loss {last:.3f}, target 0.05): raise "
                "RuntimeError when the last loss is not below target"
            )
    return (
        "memorises 6 and 9 images like SGD (momentum 0.9) on the whole batch; raises for a tiny "
        "lr and for a broken backward"
    )
