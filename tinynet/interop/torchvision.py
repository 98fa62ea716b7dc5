"""torchvision's pretrained AlexNet in tinynet: its ``state_dict`` -> ``alexnet_torchvision``.

Also reads pytorch/examples' ImageNet checkpoints (``checkpoint.pth.tar``, ``model_best.pth.tar``:
``{"epoch", "arch", "state_dict", "best_acc1", "optimizer", "scheduler"}``) of ``arch`` alexnet,
their ``module.`` (DataParallel) key prefixes removed; the optimizer and scheduler are ignored.

Reading a file needs PyTorch (imported only then, and only through
``torch.load(..., weights_only=True)``: a file is never plainly unpickled, a checkpoint's
optimizer and scheduler entries included); a dict of arrays or tensors needs nothing but NumPy.
"""

from __future__ import annotations

import os
import pickle

import numpy as np

from ..data.names import imagenet_words
from ..models import alexnet_torchvision, param_shapes
from ..sequential import Sequential
from ..validate import check_shapes, integer

__all__ = ["from_torchvision", "OtherArchitecture", "TORCHVISION_NAMES", "IMAGENET_PREPROCESS"]

#: torchvision's module index -> tinynet's layer name, in the order of the state_dict.
TORCHVISION_NAMES = {
    "features.0": "conv1",
    "features.3": "conv2",
    "features.6": "conv3",
    "features.8": "conv4",
    "features.10": "conv5",
    "classifier.1": "fc6",
    "classifier.4": "fc7",
    "classifier.6": "fc8",
}
#: How torchvision's ImageNet models expect their input (see ``Sequential.info``).
IMAGENET_PREPROCESS = {
    "channels": "RGB",
    "scale": 1 / 255,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "resize": 256,
    "crop": 224,
}


class OtherArchitecture(ValueError):
    """A pytorch/examples checkpoint of a network other than AlexNet: its ``arch`` and
    ``epoch`` (None when it has none)."""

    def __init__(self, message: str, arch: str, epoch):
        super().__init__(message)
        self.arch, self.epoch = arch, epoch


def from_torchvision(path_or_state_dict, *, num_classes=None) -> Sequential:
    """torchvision's AlexNet weights as an ``alexnet_torchvision`` model (float32, eval mode).

    ``path_or_state_dict``: a file written by ``torch.save(model.state_dict(), path)``, or that
    dict itself (NumPy arrays or tensors; keys ``features.0.weight`` ... ``classifier.6.bias``,
    ``module.`` wrappers of DataParallel removed), or a pytorch/examples checkpoint (file or
    dict) holding such a ``state_dict``; OtherArchitecture (a ValueError) if its ``arch`` is not
    ``alexnet``.
    ``num_classes`` defaults to the rows of ``classifier.6.weight``. Input (N, 3, H, W) RGB,
    H, W >= 63, normalised as ``model.info["preprocess"]`` says -> logits (N, num_classes).
    A ValueError (naming the file) for keys other than torchvision AlexNet's, a shape that
    differs (key and both shapes) or a non-finite value; ImportError without PyTorch for a path.
    """
    if isinstance(path_or_state_dict, (str, os.PathLike)):
        where = f"from_torchvision: '{os.fspath(path_or_state_dict)}'"
        state = _load(where, path_or_state_dict)
    else:
        where, state = "from_torchvision", path_or_state_dict
    if not isinstance(state, dict):
        raise ValueError(f"{where}: expected a state_dict (a dict), got {type(state).__name__}")
    state = _without_wrappers(_state_dict(where, state))
    if num_classes is None:
        num_classes = _rows(state.get("classifier.6.weight"))
    num_classes = integer(f"{where}: num_classes", num_classes, 1)
    arrays = _converted(where, state, num_classes)  # checked before anything is allocated
    model = alexnet_torchvision(num_classes=num_classes)
    for name, array in arrays.items():
        model.params[name][...] = array
    model.eval()
    names = list(imagenet_words().values()) if num_classes == 1000 else []
    model.info = {"input_size": 224, "preprocess": dict(IMAGENET_PREPROCESS), "class_names": names}
    return model


def _state_dict(where: str, state: dict) -> dict:
    """``state`` itself, or the ``state_dict`` of a pytorch/examples checkpoint of AlexNet."""
    if not isinstance(state.get("state_dict"), dict):
        return state
    arch, epoch = state.get("arch"), state.get("epoch")
    if hasattr(epoch, "item"):  # a tensor or a NumPy scalar
        epoch = epoch.item()
    if arch is not None and str(arch).lower() != "alexnet":
        at = f" (epoch {epoch})" if epoch is not None else ""
        raise OtherArchitecture(
            f"{where}: a pytorch/examples checkpoint of {arch}{at}; tinynet imports AlexNet only",
            str(arch),
            epoch,
        )
    return state["state_dict"]


def _without_wrappers(state: dict) -> dict:
    """``state`` with the ``module`` parts of its keys removed (``module.features.0.weight``,
    ``features.module.0.weight`` -> ``features.0.weight``: DataParallel's wrapping), unless
    two keys would then be the same."""
    renamed = {
        ".".join(part for part in k.split(".") if part != "module") if isinstance(k, str) else k: v
        for k, v in state.items()
    }
    return renamed if len(renamed) == len(state) else state


def _load(where: str, path) -> dict:
    """``torch.load(path, map_location="cpu", weights_only=True)``, with one-line errors."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{where}: reading a PyTorch file needs PyTorch: pip install torch"
        ) from None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{where}: not a plain state_dict of tensors (torch.load(weights_only=True) "
            f"refused it: {reason})"
        ) from None
    except (RuntimeError, EOFError, ValueError) as err:
        if "legacy .tar format" in str(err):
            raise ValueError(
                f"{where}: a tar archive, not a file written by torch.save (PyTorch's legacy "
                ".tar format is not read: it cannot be loaded without executing pickled code)"
            ) from None
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{where}: not a readable PyTorch file ({reason})") from None


def _rows(weight) -> int:
    """The number of rows of fc8's weight; 1000 when it has none (the shape check reports it)."""
    shape = getattr(weight, "shape", ())
    return int(shape[0]) if len(shape) == 2 and shape[0] >= 1 else 1000


def _array(where: str, key: str, value) -> np.ndarray:
    """A tensor or array-like as a float32 NumPy array; ValueError if it is not numeric."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{where}: {key} is not an array ({err})") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {key} must hold numbers, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: {key} holds NaN or infinite values")
    return array.astype(np.float32, copy=False)


def _converted(where: str, state: dict, num_classes: int) -> dict[str, np.ndarray]:
    """tinynet's name -> float32 array for each parameter of torchvision's ``state``, checked:
    the keys and shapes of ``alexnet_torchvision(num_classes)`` (one ValueError listing every
    difference), finite numbers."""
    shapes = param_shapes({"builder": "alexnet_torchvision", "num_classes": num_classes})
    keys = {f"{tv}.{kind}": f"{name}.{kind}" for tv, name in TORCHVISION_NAMES.items()
            for kind in ("weight", "bias")}  # fmt: skip
    expected = {tv: shapes[ours] for tv, ours in keys.items()}
    found = {str(k): tuple(getattr(v, "shape", None) or np.shape(v)) for k, v in state.items()}
    check_shapes(f"{where}: not torchvision's AlexNet", expected, found)
    return {ours: _array(where, tv, state[tv]) for tv, ours in keys.items()}
