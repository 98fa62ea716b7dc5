"""Copying a flat state dict into existing parameter arrays, with shape checks."""
from __future__ import annotations

import numpy as np


def load_into(params: dict[str, np.ndarray], state: dict[str, np.ndarray], owner: str) -> None:
    """Copy ``state[name]`` into ``params[name]`` in place for every parameter.

    Raises ``ValueError`` naming every missing key, unexpected key and misshaped array, before
    anything is written, so a failed load leaves the parameters untouched.
    """
    missing = [k for k in params if k not in state]
    unexpected = [k for k in state if k not in params]
    misshaped = [
        f"{k}: expected {params[k].shape}, got {np.shape(state[k])}"
        for k in params
        if k in state and np.shape(state[k]) != params[k].shape
    ]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected " + ", ".join(unexpected))
    if misshaped:
        problems.append("misshaped " + "; ".join(misshaped))
    if problems:
        raise ValueError(f"{owner}.load_state_dict: " + " | ".join(problems))
    for name, param in params.items():
        value = np.asarray(state[name])
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{owner}.load_state_dict: {name} holds NaN or infinite values")
    for name, param in params.items():
        param[...] = state[name]
