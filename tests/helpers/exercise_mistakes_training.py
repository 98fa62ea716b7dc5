"""Deliberately wrong answers to notebooks/exercises/4_training_and_saliency.ipynb, each with a
piece of the diagnosis its check must print (appended to ``WRONG`` in
tests/helpers/exercise_mistakes.py)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

from tinynet.data import ArrayBatches
from tinynet.layers import softmax
from tinynet.optim import SGD

EXERCISE_DIR = Path(__file__).resolve().parents[2] / "notebooks" / "exercises"
sys.path.insert(0, str(EXERCISE_DIR))
T = importlib.import_module("solutions.training_and_saliency")


# -- initial_loss -----------------------------------------------------------------------------


def initial_loss_by(expected=None, mode="evaluating", compare="abs", error=ValueError):
    """An initial_loss with one mistake: ``expected(logits, y)`` (the ln K it compares with),
    ``mode`` ("train": dropout on, "eval": model.eval() not restored), ``compare`` (how it
    decides), ``error`` (what it raises)."""

    def initial_loss(model, loss_fn, x, y, tol):
        if mode == "evaluating":
            with model.evaluating():
                logits = model.forward(x)
        else:
            if mode == "eval":
                model.eval()
            logits = model.forward(x)
        loss = float(loss_fn.forward(logits, y))
        ln_k = np.log(logits.shape[1]) if expected is None else expected(logits, y)
        bad = {
            "abs": not abs(loss - ln_k) <= tol,
            "nan passes": abs(loss - ln_k) > tol,
            "one-sided": loss - ln_k > tol,
            "relative": abs(loss - ln_k) / ln_k > tol,
            "loose": abs(loss - ln_k) > 3.0,
            "tight": abs(loss - ln_k) > 0.001,
        }[compare]
        if bad and error is AssertionError:
            raise AssertionError(f"loss {loss} far from ln K {ln_k}")
        if bad:
            raise error(f"loss {loss:.4f} is not within {tol} of ln K = {ln_k:.4f}")
        return loss

    return initial_loss


# -- train_steps ------------------------------------------------------------------------------


def train_steps_by(mistake=None):
    """A train_steps with one mistake (None: right)."""

    def train_steps(model, loss_fn, optimizer, batches, steps):
        if mistake != "no train()":
            model.train()
        total = {n: np.zeros_like(g) for n, _, g in model.named_parameters()}
        losses, it, first = [], iter(batches), None
        for step in range(10 if mistake == "ten steps" else steps):
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
            loss = loss_fn(model.forward(x), y)
            if not np.isfinite(loss) and mistake not in ("no stop", "stop after step"):
                if mistake == "ValueError":
                    raise ValueError(f"loss {loss} at step {step + 1}")
                raise FloatingPointError(
                    "the loss is not finite" if mistake == "no step" else f"step {step + 1}"
                )
            if mistake == "step first":
                optimizer.step()
            model.backward(loss_fn.backward())
            if mistake == "accumulate":
                for n, _, g in model.named_parameters():
                    total[n] += g
                    g[...] = total[n]
            if mistake != "step first":
                optimizer.step()
            if mistake == "stop after step" and not np.isfinite(loss):
                raise FloatingPointError(f"the loss is {loss} at step {step + 1}")
            losses.append(loss)
        if mistake == "first loss":
            return np.full(steps, losses[0])
        return np.array(losses)

    return train_steps


# -- overfit ----------------------------------------------------------------------------------


def overfit_by(momentum=0.9, weight_decay=0.0, batch=None, lr=None, steps=None, judge="last"):
    """An overfit with one mistake: its SGD settings, batches of ``batch`` images, a hard-coded
    ``lr`` or ``steps``, or ``judge`` ("first": the first loss, "never": no check, "ValueError")."""

    def overfit(model, loss_fn, x, y, steps_, lr_, target):
        opt = SGD(
            model.named_parameters(), lr=lr or lr_, momentum=momentum, weight_decay=weight_decay
        )
        batches = [(x, y)] if batch is None else ArrayBatches(x, y, batch, shuffle=False)
        losses = T.train_steps(model, loss_fn, opt, batches, steps or steps_)
        checked = losses[0] if judge == "first" else losses[-1]
        if judge != "never" and not checked < target:
            raise (ValueError if judge == "ValueError" else RuntimeError)(f"loss {checked}")
        return losses

    return overfit


# -- saliency ---------------------------------------------------------------------------------


def saliency_by(dout=None, reduce=None, mode="eval", restore=True, first_only=False):
    """A saliency with one mistake: the upstream gradient ``dout(logits, labels)``, the channel
    reduction ``reduce(dx)``, the ``mode`` it runs in, no restoring, or only the first image."""

    def saliency(model, x, labels):
        first = model["conv1"]
        was_training, had = model.training, first.input_grad
        if first_only:
            x, labels = x[:1], labels[:1]
        model.train(mode == "train")
        first.input_grad = True
        logits = model.forward(x)
        if dout is None:
            d = np.zeros_like(logits)
            d[np.arange(len(labels)), labels] = 1
        else:
            d = dout(logits, labels)
        dx = model.backward(d)
        if restore != "mode":
            model.train(was_training)
        if restore != "input_grad":
            first.input_grad = had
        return np.abs(dx).max(axis=1) if reduce is None else reduce(dx)

    return saliency


def _onehot(z, labels):
    d = np.zeros_like(z)
    d[np.arange(len(labels)), labels] = 1
    return d


def _loss_grad(z, labels):
    return (softmax(z) - _onehot(z, labels)) / len(labels)


def _prob_grad(z, labels):
    p = softmax(z)
    return p[np.arange(len(labels)), labels][:, None] * (_onehot(z, labels) - p)


def _columns(z, labels):
    d = np.zeros_like(z)
    d[:, labels] = 1
    return d


WRONG = [
    (
        "initial_loss",
        initial_loss_by(expected=lambda z, y: np.log10(z.shape[1])),
        "log10 K = 0.8451",
    ),
    ("initial_loss", initial_loss_by(expected=lambda z, y: np.log(10)), "hard-coded K"),
    ("initial_loss", initial_loss_by(expected=lambda z, y: np.log(y.max() + 1)), "present in y"),
    ("initial_loss", initial_loss_by(expected=lambda z, y: np.log(len(set(y)))), "present in y"),
    ("initial_loss", initial_loss_by(mode="train"), "computed in training mode"),
    ("initial_loss", initial_loss_by(mode="eval"), "left in eval mode"),
    ("initial_loss", initial_loss_by(compare="loose"), "accepted a broken model"),
    ("initial_loss", initial_loss_by(compare="tight"), "a tolerance other than tol"),
    ("initial_loss", initial_loss_by(compare="relative"), "accepted a broken model"),
    ("initial_loss", initial_loss_by(compare="one-sided"), "below ln K"),
    ("initial_loss", initial_loss_by(compare="nan passes"), "a NaN loss"),
    ("initial_loss", initial_loss_by(error=AssertionError), "raise ValueError"),
    ("train_steps", train_steps_by("no train()"), "trained in eval mode"),
    ("train_steps", train_steps_by("step first"), "stepped before backward"),
    ("train_steps", train_steps_by("accumulate"), "added up across steps"),
    ("train_steps", train_steps_by("first batch"), "trained on the first batch"),
    ("train_steps", train_steps_by("one pass"), "start a new pass"),
    ("train_steps", train_steps_by("ten steps"), "has shape (10,)"),
    ("train_steps", train_steps_by("first loss"), "the first step's loss"),
    ("train_steps", train_steps_by("no stop"), "did not stop on a loss of nan"),
    ("train_steps", train_steps_by("stop after step"), "raise before optimizer.step()"),
    ("train_steps", train_steps_by("no step"), "does not name the step"),
    ("train_steps", train_steps_by("ValueError"), "raise FloatingPointError"),
    ("overfit", overfit_by(momentum=0.0), "no momentum"),
    ("overfit", overfit_by(weight_decay=5e-4), "weight decay"),
    ("overfit", overfit_by(batch=4), "the whole batch"),
    ("overfit", overfit_by(lr=0.1), "the losses (K=3, 9 images, steps=25, lr=0.05)"),
    ("overfit", overfit_by(steps=30), "has shape (30,)"),
    ("overfit", overfit_by(judge="first"), "compare the loss of the last step"),
    ("overfit", overfit_by(judge="never"), "did not raise for a learning rate of 1e-4"),
    ("overfit", overfit_by(judge="ValueError"), "raise RuntimeError"),
    ("saliency", saliency_by(dout=_loss_grad), "the gradient of the loss"),
    ("saliency", saliency_by(dout=_prob_grad), "the softmax probability"),
    ("saliency", saliency_by(dout=lambda z, y: _onehot(z, z.argmax(axis=1))), "predicted class"),
    ("saliency", saliency_by(dout=lambda z, y: _onehot(z, np.full_like(y, y[0]))), "one label"),
    ("saliency", saliency_by(dout=_columns), "dout[np.arange(N), labels]"),
    ("saliency", saliency_by(reduce=lambda g: g.max(axis=1)), "no absolute value"),
    ("saliency", saliency_by(reduce=lambda g: np.abs(g).mean(axis=1)), "the mean over channels"),
    ("saliency", saliency_by(reduce=lambda g: np.abs(g).sum(axis=1)), "the sum over channels"),
    ("saliency", saliency_by(reduce=lambda g: np.abs(g.max(axis=1))), "|max over channels|"),
    ("saliency", saliency_by(reduce=lambda g: g), "reduce it over the channel axis"),
    ("saliency", saliency_by(mode="train"), "dropout was active"),
    ("saliency", saliency_by(restore="mode"), "left in eval mode"),
    ("saliency", saliency_by(restore="input_grad"), "input_grad was left changed"),
    ("saliency", saliency_by(first_only=True), "has shape (1, 6, 8), expected (3, 6, 8)"),
    (
        "saliency",
        saliency_by(reduce=lambda g: np.abs(g).reshape(len(g), 3, 6, 8).max(axis=1)),
        "raised ValueError: cannot reshape",
    ),
]
