"""torchvision AlexNet state_dicts (and pytorch/examples checkpoints of them) for tests."""

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


def examples_checkpoint(torch, state, arch="alexnet", wrapped="features", epoch=12):
    """``state`` as pytorch/examples' ImageNet trainer saves it (``checkpoint.pth.tar``): keys
    wrapped by DataParallel (``wrapped="features"``: ``features.module.0.weight``, as it does for
    AlexNet; ``"model"``: ``module.`` before every key), with a real SGD optimizer's and StepLR
    scheduler's state_dicts (of a small layer: the same kinds of objects)."""
    if wrapped == "features":
        state = {k.replace("features.", "features.module.", 1): v for k, v in state.items()}
    elif wrapped == "model":
        state = {f"module.{k}": v for k, v in state.items()}
    layer = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(layer.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    layer(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    scheduler.step()
    return {
        "epoch": epoch,
        "arch": arch,
        "state_dict": {k: torch.as_tensor(v) for k, v in state.items()},
        "best_acc1": torch.tensor(56.5),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
    }
