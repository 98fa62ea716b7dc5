"""from_torchvision: torchvision's AlexNet state_dict -> tinynet, against torch and NumPy."""

import numpy as np

from tinynet.interop.torchvision import TORCHVISION_NAMES
from tinynet.models import param_shapes


def shapes(num_classes):
    """torchvision's key -> shape, from tinynet's param_shapes (no allocation)."""
    ours = param_shapes({"builder": "alexnet_torchvision", "num_classes": num_classes})
    return {f"{tv}.{k}": ours[f"{name}.{k}"] for tv, name in TORCHVISION_NAMES.items()
            for k in ("weight", "bias")}  # fmt: skip


def random_state(num_classes, seed=0):
    """He-scaled random weights and small biases, float32, torchvision's keys."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in shapes(num_classes).items():
        scale = np.sqrt(2 / np.prod(shape[1:])) if key.endswith("weight") else 0.05
        state[key] = (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float32)
    return state
