"""Models from elsewhere on the command line: ``--weights`` (a tinynet ``.npz``, a torchvision
``.pth``/``.pt`` state_dict, a pytorch/examples ``.pth.tar`` checkpoint or a Caffe
``.caffemodel``), fine-tuning them, ``--export-onnx``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dist import LOCAL
from ..files import special_kind
from ..layers import Linear
from ..train import CheckpointError, Trainer
from .args import UsageError
from .run_folder import RUN_FILES, FolderLock

SUFFIXES = {
    ".npz": "tinynet",
    ".pth": "torchvision",
    ".pt": "torchvision",
    ".tar": "torchvision",  # pytorch/examples' checkpoint.pth.tar and model_best.pth.tar
    ".caffemodel": "caffe",
}


def load_weights(path):
    """The model in ``path``, with ``model.info`` (input size, preprocessing, class names)."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"--weights {path}: expected a .npz, .pth, .pt, .pth.tar or .caffemodel file"
        )
    _check_regular(path, "--weights")
    try:
        if kind == "torchvision":
            from ..interop.torchvision import OtherArchitecture, from_torchvision

            try:
                return from_torchvision(path)
            except OtherArchitecture as err:
                at = f" (epoch {err.epoch})" if err.epoch is not None else ""
                raise UsageError(
                    f"--weights {path} is a pytorch/examples checkpoint of {err.arch}{at}; "
                    "tinynet imports AlexNet only"
                ) from None
        if kind == "caffe":
            from ..interop.caffe import from_caffe

            return from_caffe(path)
    except (ValueError, ImportError) as err:
        raise UsageError(str(err)) from None
    return model_of(load_trainer(path))


def load_trainer(path, comm=LOCAL) -> Trainer:
    """A trainer rebuilt from a checkpoint (``--resume``, or a ``.npz`` as ``--weights``), with
    a UsageError for a missing or foreign file.

    In a multi-process run every rank reads the file (so it must be readable at the same path
    on every machine); the trainer then takes rank 0's weights."""
    path = Path(path)
    if path.is_dir():
        hint = (
            f"; did you mean {path / 'checkpoint.npz'}?"
            if (path / "checkpoint.npz").exists()
            else ""
        )
        raise UsageError(f"--resume {path} is a folder, not a checkpoint file{hint}")
    _check_regular(path, "checkpoint")
    try:
        return Trainer.load(path, comm=comm)
    except CheckpointError as err:
        raise UsageError(str(err)) from None


def _check_regular(path: Path, what: str) -> None:
    """Only a regular file is read: a FIFO would block for ever, a folder is a mistake."""
    try:
        kind = special_kind(path)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as err:
        raise UsageError(f"{what} {path} cannot be read: {err.strerror or err}") from None
    if kind:
        raise UsageError(f"{what} {path} is not a regular file ({kind})")


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


def export_onnx(args) -> int:
    """Write the --weights or --resume model to ``args.export_onnx`` as ONNX, holding the
    target's folder (``FolderLock``); the target may not be the model's file or another kind of
    file (``check_export_target``)."""
    from ..interop.onnx_export import to_onnx

    target, source = Path(args.export_onnx), Path(args.weights or args.resume)
    check_export_target(target, source)
    model = load_weights(source) if args.weights else model_of(load_trainer(source))
    size = input_size(model)
    with FolderLock(target.parent, "export", flag="--export-onnx's folder"):
        check_export_target(target, source)  # again, now that no one else writes there
        try:
            path = to_onnx(model, target, (1, 3, size, size))
        except (ValueError, ImportError) as err:
            raise UsageError(str(err)) from None
    print(f"wrote {path}: input (N, 3, {size}, {size}), {model.num_parameters():,} parameters")
    return 0


def check_export_target(target: Path, source: Path) -> None:
    """--export-onnx may write a new file or replace an ONNX file, nothing else: not the model
    it reads, not a checkpoint, weights or run file, not a folder."""
    if target.suffix.lower() in (*SUFFIXES, ".npy", ".prototxt") or target.name in RUN_FILES:
        raise UsageError(
            f"--export-onnx {target}: that name is for a checkpoint or weights file; give the "
            "ONNX file a name ending in .onnx"
        )
    if target.is_dir():
        raise UsageError(f"--export-onnx {target} is a folder: give a file name ending in .onnx")
    if not target.exists() and not target.is_symlink():
        return
    if source.exists() and target.exists() and target.samefile(source):
        raise UsageError(f"--export-onnx {target} is the model's own file: it would be replaced")
    if not target.is_file():
        raise UsageError(f"--export-onnx {target} exists and is not a regular file")
    if target.suffix.lower() != ".onnx" or _is_zip(target):
        raise UsageError(
            f"--export-onnx {target} exists and is not an ONNX file: it would be replaced; "
            "choose another name (ending in .onnx)"
        )


def _is_zip(path: Path) -> bool:
    """A checkpoint, .npz or .pth (zip archives) renamed .onnx."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False
