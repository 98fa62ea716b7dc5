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
import re
import tarfile
import zipfile

import numpy as np

from ..data.names import imagenet_words
from ..files import open_regular
from ..models import alexnet_torchvision, param_shapes
from ..sequential import Sequential
from ..validate import check_shapes, check_state, integer
from .messages import one_line

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
#: Bytes allowed beyond what torchvision's AlexNet needs (see ``_limits``).
_SLACK = 16 << 20
_TAR = (
    "a tar archive, not a file written by torch.save (PyTorch's legacy .tar format is not "
    "read: it cannot be loaded without executing pickled code)"
)


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
    A ValueError (one line naming the file) for keys other than torchvision AlexNet's, a shape
    that differs (key and both shapes), a tensor that is not dense real numbers (key and what it
    is) or whose values are not finite as float32; for a path also: not a regular file, empty,
    not a torch.save file, or bigger uncompressed than AlexNet's tensors can be (judged from
    the zip directory, or the size of a legacy file, before anything is decompressed; an fc8
    of more than 9216 classes needs ``num_classes``). ImportError without PyTorch for a path.
    Tensors of float16, bfloat16, float64, float8 or integers are converted to float32.
    """
    if isinstance(path_or_state_dict, (str, os.PathLike)):
        where = f"from_torchvision: '{os.fspath(path_or_state_dict)}'"
        if num_classes is not None:  # before the file is read: it sets the size limits
            num_classes = integer(f"{where}: num_classes", num_classes, 1)
        state = _load(where, path_or_state_dict, num_classes)
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
    check_state(where, model.params, arrays)  # as Sequential.load_state_dict checks
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


def _load(where: str, path, num_classes) -> dict:
    """``torch.load(path, map_location="cpu", weights_only=True)`` of a regular file whose format
    and sizes were checked first (nothing is decompressed before), with one-line errors."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{where}: reading a PyTorch file needs PyTorch: pip install torch"
        ) from None
    with open_regular(where, path) as f:
        _check_format(where, f, num_classes)
        f.seek(0)
        try:
            return torch.load(f, map_location="cpu", weights_only=True)
        except Exception as err:  # anything torch raises on a damaged or foreign file
            raise ValueError(_refusal(where, err)) from None


def _limits(num_classes) -> tuple[int, int, str]:
    """(the most bytes one stored tensor may take, the most all of them may take, the largest
    tensor's key) for torchvision's AlexNet of ``num_classes`` (1000 if None): its largest
    tensor as float64, and its tensors plus two optimizer buffers each, as float64, with slack."""
    shapes = param_shapes({"builder": "alexnet_torchvision", "num_classes": num_classes or 1000})
    sizes = {name: 8 * int(np.prod(shape)) for name, shape in shapes.items()}
    largest = max(sizes, key=sizes.get)
    return sizes[largest] + _SLACK, 3 * sum(sizes.values()) + _SLACK, largest


def _check_format(where: str, f, num_classes) -> None:
    """ValueError unless ``f`` is a torch.save file (a zip archive, or a legacy pickle) whose
    uncompressed sizes fit torchvision's AlexNet: judged from the zip directory or the file's
    size, before anything is decompressed."""
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise ValueError(f"{where}: the file is empty (0 bytes), not a PyTorch file")
    head = f.read(8)
    f.seek(0)
    per_tensor, total, largest = _limits(num_classes)
    if zipfile.is_zipfile(f):
        _check_zip(where, f, per_tensor, total, largest, num_classes)
    elif head[:1] == b"\x80":  # a pickle (protocol 2 or later): PyTorch's legacy format
        if size > total:
            raise ValueError(
                f"{where}: {size:,} bytes, more than torchvision's AlexNet can take "
                f"({total:,}: its tensors and two optimizer buffers each, as float64); "
                "refused unread"
            )
    elif head.startswith(b"PK\x03\x04"):
        raise ValueError(f"{where}: a damaged or truncated zip archive (no central directory)")
    else:
        f.seek(0)
        if tarfile.is_tarfile(f):
            raise ValueError(f"{where}: {_TAR}")
        raise ValueError(
            f"{where}: not a PyTorch file (neither the zip archive torch.save writes nor a "
            f"legacy pickle; it starts with {head!r}){_caffe_hint(f, size, total)}"
        )


def _check_zip(where: str, f, per_tensor: int, total: int, largest: str, num_classes) -> None:
    """ValueError if a member of the zip archive ``f`` would be bigger uncompressed than
    ``per_tensor`` bytes, or all of them together than ``total``: from its directory."""
    try:
        with zipfile.ZipFile(f) as archive:
            members = [(i.filename, i.file_size, i.compress_size) for i in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ValueError(f"{where}: a damaged zip archive ({one_line(err)})") from None
    hint = "" if num_classes else "; pass num_classes for an fc8 bigger than that"
    for name, size, packed in members:
        if size > per_tensor:
            raise ValueError(
                f"{where}: {name} would be {size:,} bytes uncompressed ({packed:,} in the "
                f"file), more than any tensor of torchvision's AlexNet needs ({per_tensor:,}: "
                f"{largest} as float64){hint}; refused unread"
            )
    if sum(size for _, size, _ in members) > total:
        raise ValueError(
            f"{where}: {sum(s for _, s, _ in members):,} bytes uncompressed, more than "
            f"torchvision's AlexNet can take ({total:,}: its tensors and two optimizer "
            "buffers each, as float64); refused unread"
        )


def _caffe_hint(f, size: int, total: int) -> str:
    """A hint that ``f`` is a Caffe .caffemodel if it parses as a net with named layers."""
    if size > total:
        return ""
    try:
        from .caffe_schema import messages

        f.seek(0)
        net = messages()["NetParameter"].FromString(f.read())
    except Exception:  # not protobuf, or protobuf is not installed: no hint
        return ""
    if not any(layer.name for layer in [*net.layer, *net.layers]):
        return ""
    return " (it is a Caffe .caffemodel, a protobuf: read it with from_caffe)"


def _refusal(where: str, err: Exception) -> str:
    """The one-line message for what ``torch.load`` raised: the reason, without torch's advice
    to unpickle the file (weights_only=False) and without its colour codes."""
    text = one_line(err)
    if "legacy .tar format" in text:
        return f"{where}: {_TAR}"
    if isinstance(err, pickle.UnpicklingError):
        return (
            f"{where}: not a plain state_dict of tensors (torch.load(weights_only=True) refused "
            f"it: {_reason(err, text)}); tinynet never unpickles other objects"
        )
    return f"{where}: not a readable PyTorch file ({_reason(err, text)})"


def _reason(err: Exception, text: str) -> str:
    """The cause in torch's message ``text``: after "WeightsUnpickler error:", before its
    advice; the exception's type if nothing is left or the advice cannot be cut off."""
    _, found, rest = text.partition("WeightsUnpickler error:")
    reason = (rest if found else text).strip()
    advice = r"\s*(?:Please |Check the documentation|In PyTorch 2\.6|This is an internal)"
    reason = re.split(advice, reason)[0]
    reason = reason.strip().rstrip(".")
    if not reason or re.search(r"weights_only|succeed|trust", reason):
        return type(err).__name__
    return reason


def _rows(weight) -> int:
    """The number of rows of fc8's weight; 1000 when it has none (the shape check reports it)."""
    shape = getattr(weight, "shape", ())
    return int(shape[0]) if len(shape) == 2 and shape[0] >= 1 else 1000


def _array(where: str, key: str, value) -> np.ndarray:
    """A tensor or array-like as a float32 NumPy array; ValueError if it is not real numbers,
    or not finite as float32."""
    if hasattr(value, "detach"):  # a torch tensor
        return _tensor_array(where, key, value)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{where}: {key} is not an array ({one_line(err)})") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {key} must hold numbers, got dtype {array.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(converted)):
        stored = array.dtype.kind != "f" or bool(np.all(np.isfinite(array)))
        _not_finite(where, key, converted, array.dtype, stored)
    return converted


def _tensor_array(where: str, key: str, tensor) -> np.ndarray:
    """A dense tensor of floating point or integer numbers as a float32 NumPy array; ValueError
    for a meta, sparse, nested or quantized tensor, another dtype, or values not finite."""
    import torch

    kind = _unreadable(tensor)
    if kind:
        raise ValueError(f"{where}: {key} is {kind}; tinynet imports dense tensors of numbers")
    dtype = tensor.dtype
    if dtype.is_complex or not (dtype.is_floating_point or dtype in _integers(torch)):
        raise ValueError(f"{where}: {key} must hold numbers, got dtype {dtype}")
    try:
        converted = tensor.detach().to("cpu", torch.float32).numpy()
    except (RuntimeError, TypeError) as err:
        reason = one_line(err)
        raise ValueError(f"{where}: {key} has dtype {dtype}, not convertible ({reason})") from None
    if not np.all(np.isfinite(converted)):
        # a narrower float converts exactly: only float64's finite values can become inf
        stored = dtype == torch.float64 and bool(torch.isfinite(tensor).all())
        _not_finite(where, key, converted, dtype, stored)
    return converted


def _unreadable(tensor) -> str:
    """What ``tensor`` is if it has no dense values to read ("a meta tensor..."), else ""."""
    if tensor.is_meta:
        return "a meta tensor (a shape without values)"
    if getattr(tensor, "is_nested", False):
        return "a nested tensor"
    if tensor.is_quantized:
        return f"a quantized tensor ({tensor.dtype}; save tensor.dequantize())"
    if str(tensor.layout) != "torch.strided":
        return f"a sparse tensor ({tensor.layout}; save tensor.to_dense())"
    return ""


def _integers(torch) -> set:
    """torch's integer dtypes (uint16... only in recent versions)."""
    names = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    return {getattr(torch, name) for name in names if hasattr(torch, name)}


def _not_finite(where: str, key: str, converted: np.ndarray, dtype, stored_finite: bool):
    """ValueError: ``key`` holds NaN or infinities, or values that become infinite as float32."""
    bad = int(converted.size - np.count_nonzero(np.isfinite(converted)))
    if stored_finite:
        raise ValueError(
            f"{where}: {key} holds {bad} value(s) too large for float32 (stored as {dtype}; "
            "float32 ends at 3.4e38)"
        )
    raise ValueError(f"{where}: {key} holds NaN or infinite values ({bad} of {converted.size})")


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
