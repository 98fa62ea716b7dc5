"""Models from elsewhere on the command line: ``--weights`` (a tinynet ``.npz``, a torchvision
``.pth``/``.pt`` state_dict or a Caffe ``.caffemodel``), fine-tuning them, ``--export-onnx``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..layers import Linear
from ..train import CheckpointError, Trainer
from .args import UsageError

SUFFIXES = {".npz": "tinynet", ".pth": "torchvision", ".pt": "torchvision", ".caffemodel": "caffe"}


def load_weights(path):
    """The model in ``path``, with ``model.info`` (input size, preprocessing, class names)."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"--weights {path}: expected a .npz, .pth, .pt or .caffemodel file")
    if not path.is_file():
        raise UsageError(f"--weights {path} does not exist")
    try:
        if kind == "torchvision":
            from ..interop.torchvision import from_torchvision

            return from_torchvision(path)
        if kind == "caffe":
            from ..interop.caffe import from_caffe

            return from_caffe(path)
        return model_of(Trainer.load(path))
    except (ValueError, ImportError, CheckpointError) as err:
        raise UsageError(str(err)) from None


def model_of(trainer: Trainer):
    """A trainer's model, its class names filled in from what the command line saved."""
    model = trainer.model
    names = trainer.extra.get("class_names") or trainer.extra.get("classes")
    if names and not model.info.get("class_names"):
        model.info = {**model.info, "class_names": list(names)}
    return model


def input_size(model) -> int:
    return int(model.info.get("input_size") or model.config["input_size"])


def fine_tune(model, classes: list[str], names: list[str], seed: int) -> str | None:
    """Give ``model`` a fresh last layer for ``classes`` unless it already has them; returns a
    line saying what was done (None when nothing was)."""
    last_name, last = list(model)[-1]
    known = model.info.get("class_names") or []
    if not isinstance(last, Linear):
        raise UsageError(f"--weights: the model's last layer {last_name!r} is not a Linear layer")
    if last.out_features == len(classes) and (not known or len(known) == len(classes)):
        model.info = {**model.info, "class_names": names}
        return None
    fresh = Linear(last.in_features, len(classes), rng=np.random.default_rng(seed))
    model.replace(last_name, fresh)
    model.config = {**model.config, "num_classes": len(classes)}
    model.info = {**model.info, "class_names": names}
    return (
        f"fine-tuning: {last_name} ({last.out_features} classes) replaced by a new "
        f"{last_name} for the dataset's {len(classes)} classes; the rest starts from the weights"
    )


def frozen_names(model, layers: int) -> list[str]:
    """The parameters of the first ``layers`` layers that have any (``--freeze N``)."""
    with_params = [name for name, layer in model if layer.params][:layers]
    return [f"{name}.{key}" for name in with_params for key in model[name].params]


def export_onnx(args) -> int:
    """Write the --weights or --resume model to ``args.export_onnx`` as ONNX."""
    from ..interop.onnx_export import to_onnx

    model = load_weights(args.weights) if args.weights else _resumed(args.resume)
    size = input_size(model)
    try:
        path = to_onnx(model, args.export_onnx, (1, 3, size, size))
    except (ValueError, ImportError, OSError) as err:
        raise UsageError(str(err)) from None
    print(f"wrote {path}: input (N, 3, {size}, {size}), {model.num_parameters():,} parameters")
    return 0


def _resumed(path):
    from .session import load_trainer

    return model_of(load_trainer(path))
