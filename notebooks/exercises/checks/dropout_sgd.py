"""Checks for notebook 1: inverted dropout in train and eval mode, and one momentum SGD step."""

from __future__ import annotations

import numpy as np

from tinynet.optim import SGD

from ._report import Wrong, as_array, call, check, close, diagnose, differs, gradcheck

P = 0.3  # drop probability of the first case: far from 1/2, so p and 1 - p cannot be confused
# (p, shape of x, seed): then p above 1/2 on another shape, so that neither p nor a 2-D mask
# can be hard-coded
DROPOUT_CASES = ((P, (30, 40, 50), 3), (0.65, (250, 240), 13))


def _forward(dropout_forward, x, p, training, seed):
    """(out, mask) from the student's forward with a fresh generator seeded ``seed``."""
    names = ("x", "p", "training", "rng")
    got = call(dropout_forward, x, p, training, np.random.default_rng(seed), names=names)
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise Wrong(f"dropout_forward returned {type(got).__name__}, expected (out, mask)")
    return as_array("out", got[0], x.shape), got[1]


def _shared_axis(dropped: np.ndarray) -> int | None:
    """An axis along which the dropped pattern never changes (a mask broadcast along it)."""
    for axis in range(dropped.ndim):
        if np.all(dropped == np.take(dropped, [0], axis=axis)):
            return axis
    return None


def _train_forward(dropout_forward, x, p) -> tuple[np.ndarray, object]:
    out, mask = _forward(dropout_forward, x, p, True, 1)
    ratio = out / x  # x > 0 everywhere: each entry is 0 (dropped) or the scale of kept units
    dropped = float(np.mean(ratio == 0))
    if dropped == 0:
        raise Wrong("nothing is dropped in training mode")
    axis = _shared_axis(ratio == 0)
    if axis is not None:
        raise Wrong(
            f"the same units are dropped all along axis {axis} of x {x.shape}: the mask is "
            f"broadcast; draw one number per element, of x's whole shape"
        )
    if abs(dropped - (1 - p)) < 0.01:
        raise Wrong(f"drops a fraction {dropped:.2f} with p={p}: p is the probability of dropping")
    if abs(dropped - p) > 0.01:
        other = any(abs(dropped - q) < 0.01 for q in (0.5, P, 0.65) if q != p)
        hint = ": is p hard-coded?" if other else ""
        raise Wrong(
            f"drops a fraction {dropped:.3f} of the units with p={p}, expected about p{hint}"
        )
    scales = np.unique(np.round(ratio[ratio != 0], 12))
    scale_mistakes = {
        "kept units are not scaled: tinynet's dropout is inverted, it scales kept units up so "
        "that eval mode needs no change": 1.0,
        "kept units are scaled by (1-p); inverted dropout divides them by (1-p)": 1 - p,
        "kept units are scaled by 1/p; divide by the keep probability 1-p": 1 / p,
    }
    if not (scales.size == 1 and close(scales[0], 1 / (1 - p))):
        for message, scale in scale_mistakes.items():
            if scales.size == 1 and close(scales[0], scale):
                raise Wrong(message)
        if scales.size == 1 and any(close(scales[0], 1 / (1 - q)) for q in (0.5, 0.3, 0.65)):
            raise Wrong(
                f"kept units are multiplied by {scales[0]:.4g}, 1/(1-p) for another p than "
                f"p={p}: is p hard-coded?"
            )
        raise Wrong(f"kept units are multiplied by {scales[:4]}, expected 1/(1-p) only")
    again, _ = _forward(dropout_forward, x, p, True, 1)
    other, _ = _forward(dropout_forward, x, p, True, 2)
    if not np.array_equal(again, out) or np.array_equal(other, out):
        raise Wrong("the mask does not come from rng: draw it with rng.random, not np.random")
    return out, mask


def _dropout_case(dropout_forward, dropout_backward, p, shape, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(1.0, 2.0, shape)
    out, mask = _train_forward(dropout_forward, x, p)
    dout = rng.standard_normal(x.shape)
    dx = as_array("dx", call(dropout_backward, dout, mask, names=("dout", "mask")), x.shape)
    expected = dout * (out / x)
    if not close(dx, expected):
        mistakes = {
            "backward lets the gradient through dropped units: multiply dout by the mask": dout,
            "backward is not scaled by 1/(1-p), as the forward's kept units are": dout * (out != 0),
            "backward has the wrong sign": -expected,
        }
        found = diagnose(dx, mistakes)
        if found is None and any(
            close(dx, dout * (out != 0) / (1 - q)) for q in (0.5, 0.3, 0.65) if q != p
        ):
            found = (
                f"backward scales by 1/(1-q) for another q than p={p}: is p hard-coded? the "
                f"forward can put the scale into the mask"
            )
        raise Wrong(found or differs("dx", dx, expected))
    x_eval = x.copy()
    out, mask = _forward(dropout_forward, x_eval, p, False, 1)
    if not np.array_equal(out, x_eval):
        mistakes = {
            "eval mode returns x * (1-p), the rule of non-inverted dropout; inverted dropout is "
            "the identity in eval mode": x_eval * (1 - p),
            "eval mode scales by 1/(1-p): only training mode scales, eval is the identity": x_eval
            / (1 - p),
        }
        found = diagnose(out, mistakes)
        if found is None and np.any(out == 0):
            found = "units are still dropped in eval mode: eval must return x unchanged"
        raise Wrong(found or differs("out (eval)", out, x_eval))
    dx = as_array("dx (eval)", call(dropout_backward, dout, mask, names=("dout", "mask")), x.shape)
    if not np.array_equal(dx, dout):
        raise Wrong("backward in eval mode is not the identity: dx must equal dout")


@check("dropout")
def check_dropout(dropout_forward, dropout_backward) -> str:
    """``dropout_forward(x, p, training, rng) -> (out, mask)``; ``dropout_backward(dout, mask)
    -> dx``; x, out, dout, dx float64 of one shape, rng a ``np.random.Generator``."""
    passed = []
    for p, shape, seed in DROPOUT_CASES:
        try:
            _dropout_case(dropout_forward, dropout_backward, p, shape, seed)
        except Wrong as wrong:
            after = f"; right with p={passed[-1][0]}, x {passed[-1][1]}" if passed else ""
            raise Wrong(f"{wrong} (p={p}, x {shape}{after})") from None
        passed.append((p, shape))

    rng = np.random.default_rng(4)
    small, dout = rng.uniform(1.0, 2.0, (3, 4)), rng.standard_normal((3, 4))
    _, mask = _forward(dropout_forward, small, P, True, 4)
    dx = call(dropout_backward, dout, mask, names=("dout", "mask"))

    def objective() -> float:
        return float(np.sum(_forward(dropout_forward, small, P, True, 4)[0] * dout))

    error = gradcheck("dx", objective, small, dx)
    return (
        f"drops a fraction p, scales by 1/(1-p), identity in eval (p={P} and 0.65, 2-D and 3-D "
        f"x), backward matches centred differences (rel. error {error:.0e})"
    )


# -- SGD ------------------------------------------------------------------------------------------

# a model's names, and a lone layer's ("weight", "bias": decayed and not)
SHAPES = {
    "conv1.weight": (2, 3),
    "conv1.bias": (2,),
    "fc8.weight": (3, 2),
    "fc8.bias": (3,),
    "weight": (2, 2),
    "bias": (2,),
}


def _decayed(name: str) -> bool:
    return name == "weight" or name.endswith(".weight")


def _variant(w, g, v, lr, mu, wd, *, decay=_decayed, rule="paper"):
    """(new w, new v) dicts of a correct or deliberately wrong step, for diagnosis."""
    new_w, new_v = {}, {}
    for name in w:
        d = wd if decay(name) else 0.0
        if rule == "pytorch":  # b <- mu b + g + wd w; w <- w - lr b
            new_v[name] = mu * v[name] + g[name] + d * w[name]
            new_w[name] = w[name] - lr * new_v[name]
            continue
        step = {
            "paper": mu * v[name] - d * lr * w[name] - lr * g[name],
            "decay without lr": mu * v[name] - d * w[name] - lr * g[name],
            "decay sign": mu * v[name] + d * lr * w[name] - lr * g[name],
            "gradient sign": mu * v[name] - d * lr * w[name] + lr * g[name],
            "momentum outside": mu * (v[name] - d * lr * w[name] - lr * g[name]),
            "no momentum": -d * lr * w[name] - lr * g[name],
        }
        base = rule if rule in step else "paper"
        new_v[name] = step[base]
        new_w[name] = w[name] + (-new_v[name] if rule == "minus velocity" else new_v[name])
    return new_w, new_v


MISTAKES = {
    "the biases are decayed too: tinynet decays only weights (names 'weight' or ending in "
    "'.weight'), like Caffe's AlexNet; the paper decays every parameter": {"decay": lambda n: True},
    "the weights are not decayed: add -weight_decay * lr * w to the velocity of each weight": {
        "decay": lambda n: False
    },
    "weight decay is not multiplied by lr: the paper's term is -weight_decay * lr * w": {
        "rule": "decay without lr"
    },
    "weight decay has the wrong sign: it pulls w towards 0 (-weight_decay * lr * w)": {
        "rule": "decay sign"
    },
    "the gradient term has the wrong sign: the step goes downhill, -lr * grad": {
        "rule": "gradient sign"
    },
    "momentum multiplies the new terms too: v <- momentum * v - weight_decay * lr * w - lr * "
    "grad": {"rule": "momentum outside"},
    "no momentum: the old velocity must carry over, momentum * v": {"rule": "no momentum"},
    "this is PyTorch's form (b <- momentum b + grad + wd w; w <- w - lr b); tinynet and the paper "
    "keep the velocity v = -lr b and do w <- w + v": {"rule": "pytorch"},
    "w moved against the velocity: w <- w + v": {"rule": "minus velocity"},
    "the parameter named just 'weight' is not decayed: decay 'weight' as well as names ending "
    "in '.weight'": {"decay": lambda n: n.endswith(".weight")},
}

# the paper's hyperparameters, the values a student might write in place of the arguments
PAPER = {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}


def _run_step(sgd_step, lr, mu, wd, seed) -> str | None:
    """Run one student step against tinynet's SGD; a diagnosis if wrong, else None."""
    rng = np.random.default_rng(seed)
    w = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    g = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    v = {k: 0.1 * rng.standard_normal(s) for k, s in SHAPES.items()}  # as after a few steps
    grads = {k: a.copy() for k, a in g.items()}
    right_w = {k: a.copy() for k, a in w.items()}
    ref = SGD([(k, right_w[k], grads[k]) for k in SHAPES], lr=lr, momentum=mu, weight_decay=wd)
    for k in SHAPES:
        ref.velocity(k)[...] = v[k]
    ref.step()
    right_v = {k: ref.velocity(k) for k in SHAPES}
    params, velocity = {k: a.copy() for k, a in w.items()}, {k: a.copy() for k, a in v.items()}
    arrays = {k: (params[k], velocity[k]) for k in SHAPES}
    names = ("params", "grads", "velocity", "lr", "momentum", "weight_decay")
    args = (params, {k: a.copy() for k, a in g.items()}, velocity, lr, mu, wd)
    call(sgd_step, *args, names=names, inplace=("params", "velocity"))
    for k, (p0, v0) in arrays.items():
        if k not in params or k not in velocity:
            return f"params or velocity lost the entry {k!r}: update the arrays, keep the dicts"
        if params.get(k) is not p0 or velocity.get(k) is not v0:
            which = "params" if params.get(k) is not p0 else "velocity"
            return f"{which}[{k!r}] was replaced by a new array: update it in place (+=, [...] =)"
    got_w = {k: as_array(f"params[{k!r}]", params[k], SHAPES[k]) for k in SHAPES}
    got_v = {k: as_array(f"velocity[{k!r}]", velocity[k], SHAPES[k]) for k in SHAPES}
    if all(close(got_w[k], right_w[k]) and close(got_v[k], right_v[k]) for k in SHAPES):
        return None
    for message, options in MISTAKES.items():
        wrong_w, wrong_v = _variant(w, g, v, lr, mu, wd, **options)
        if all(close(got_w[k], wrong_w[k]) and close(got_v[k], wrong_v[k]) for k in SHAPES):
            return message
    given = {"lr": lr, "momentum": mu, "weight_decay": wd}
    for name, value in PAPER.items():
        if given[name] == value:
            continue
        hard = {**given, name: value}
        wrong_w, wrong_v = _variant(w, g, v, hard["lr"], hard["momentum"], hard["weight_decay"])
        if all(close(got_w[k], wrong_w[k]) and close(got_v[k], wrong_v[k]) for k in SHAPES):
            return f"{name} is hard-coded to the paper's {value:g}: use the argument {name}"
    if all(close(got_w[k], w[k] + v[k]) for k in SHAPES):
        return "w moved by the old velocity: first update v, then w <- w + v with the new v"
    if all(close(got_w[k], right_w[k]) for k in SHAPES):
        if all(np.array_equal(got_v[k], v[k]) for k in SHAPES):
            return "velocity is not updated: store the new v in velocity[name] in place"
        bad = next(k for k in SHAPES if not close(got_v[k], right_v[k]))
        return differs(f"velocity[{bad!r}]", got_v[bad], right_v[bad])
    if all(np.array_equal(got_w[k], w[k]) for k in SHAPES):
        return "params are unchanged: update each parameter in place, w += v"
    bad = next(k for k in SHAPES if not close(got_w[k], right_w[k]))
    return differs(f"params[{bad!r}]", got_w[bad], right_w[bad])


@check("sgd_step")
def check_sgd_step(sgd_step) -> str:
    """``sgd_step(params, grads, velocity, lr, momentum, weight_decay) -> None``: dicts of
    float64 arrays keyed by names like ``"conv1.weight"``, updated in place."""
    # exaggerated hyperparameters first, so every term is large enough to tell mistakes apart;
    # then the paper's; then no momentum and no decay; none equal to another's
    for lr, mu, wd, seed in ((0.1, 0.5, 0.05, 5), (0.01, 0.9, 5e-4, 6), (0.03, 0.0, 0.0, 7)):
        found = _run_step(sgd_step, lr, mu, wd, seed)
        if found:
            raise Wrong(f"{found} (lr={lr}, momentum={mu}, weight_decay={wd})")
    return "matches tinynet's SGD (weights decayed, biases not) for three sets of hyperparameters"
