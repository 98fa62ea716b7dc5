"""BVLC's Caffe AlexNet (``bvlc_alexnet.caffemodel``) as a tinynet model.

The released network is the 2012 one: groups=2 in conv2/conv4/conv5, LRN (size 5, alpha 1e-4,
beta 0.75) with Caffe's k=1, 227x227 input in BGR order, pixel values 0-255 minus the
ImageNet mean. Caffe stores a convolution's weight as (out, in/groups, kh, kw) and an inner
product's as (out, in), as tinynet does, so the blobs are copied as they are.

Both layouts of a ``.caffemodel`` are read: the current one (``NetParameter.layer``, blobs with
a ``BlobShape``) and the 2014 V1 one (``NetParameter.layers``, blobs with num/channels/height/
width, an inner product's weight stored as (1, 1, out, in)), which the released file uses.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..data.names import imagenet_words
from ..files import open_regular
from ..models import alexnet, param_shapes
from ..sequential import Sequential
from .caffe_schema import messages
from .messages import one_line

#: The layers with weights, by their names in bvlc_alexnet; the others are ignored.
WEIGHTED = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
#: Per-channel mean of BVLC's ilsvrc_2012_mean.binaryproto, B, G, R (pixels 0-255).
MEAN_BGR = [104.00698793, 116.66876762, 122.67891434]
#: The builder's arguments for the released network (``num_classes`` from fc8's rows).
ARGUMENTS = dict(input_size=227, groups=2, lrn=True, lrn_k=1.0, dropout=0.5, init="caffe")
#: The most axes a Caffe blob has (``kMaxBlobAxes`` in Caffe's blob.hpp).
MAX_AXES = 32
#: (a layer name that gives it away, what the file probably is) for the "not AlexNet" message.
_HINTS = (
    ("conv1_1", "VGG"),
    ("inception", "GoogLeNet"),
    ("res2a", "ResNet"),
    ("fire2", "SqueezeNet"),
)


def from_caffe(path) -> Sequential:
    """The AlexNet of a ``.caffemodel`` (bvlc_alexnet's layer names), in eval mode.

    ``model.info`` says how to feed it (BGR, 0-255 minus ``MEAN_BGR``, resize 256, crop 227)
    and names ImageNet's classes when fc8 has 1000 rows. Every blob's shape is checked against
    the model's first. ValueError (one line naming the file) for a path that is not a regular
    file (a FIFO, a device, a directory: refused unread), a file that is not a protobuf or is
    truncated, a net without AlexNet's layers, blob data that disagrees with its shape, shapes
    that do not fit AlexNet, values not finite as float32; ImportError without protobuf.
    """
    path = os.fspath(path)
    net = _parse(path)
    blobs = _weighted_blobs(net, path)
    arrays = {key: _array(blob, key, path) for key, blob in blobs.items()}
    config = dict(builder="alexnet", num_classes=_num_classes(arrays, path), **ARGUMENTS)
    expected = param_shapes(config)
    for key, array in arrays.items():
        arrays[key] = _fitted(array, expected[key], key, path)
    del config["builder"]
    model = alexnet(**config)
    for key, array in arrays.items():
        model.params[key][...] = array
    model.eval()
    model.info = _info(config["num_classes"])
    return model


def _parse(path: str):
    """The file's ``NetParameter``; ValueError if it is not one (or is cut short)."""
    net_class = messages()["NetParameter"]
    from google.protobuf.message import DecodeError

    with open_regular(path, path) as f:  # a FIFO would block the read forever
        data = f.read()
    try:
        return net_class.FromString(data)
    except DecodeError as err:
        hint = ""
        if data[:200].lstrip().startswith((b"name:", b"layer", b"input", b"#")):
            hint = " (a .prototxt? from_caffe reads the binary .caffemodel of weights)"
        reason = one_line(err) or "cannot parse"
        raise ValueError(
            f"{path}: not a Caffe .caffemodel, or truncated ({reason}){hint}"
        ) from None


def _weighted_blobs(net, path: str) -> dict:
    """``{"conv1.weight": BlobProto, "conv1.bias": ..., ...}`` from either layout."""
    found, layers = [], {}
    for layer in [*net.layer, *net.layers]:
        found.append(layer.name)
        if layer.name in WEIGHTED and layer.blobs and layer.name not in layers:
            layers[layer.name] = layer
    missing = [name for name in WEIGHTED if name not in layers]
    if missing:
        raise ValueError(
            f"{path}: not Caffe's AlexNet: no {', '.join(missing)} with weights; "
            f"found: {_listing(found)}{_guess(found)}"
        )
    blobs = {}
    for name in WEIGHTED:
        count = len(layers[name].blobs)
        if count != 2:
            raise ValueError(
                f"{path}: layer {name} has {count} blob(s); AlexNet's has 2 (weight, bias)"
            )
        blobs[f"{name}.weight"], blobs[f"{name}.bias"] = layers[name].blobs
    return blobs


def _listing(names: list[str], limit: int = 8) -> str:
    if not names:
        return "no layers"
    shown = ", ".join(n or "<unnamed>" for n in names[:limit])
    return shown + (f", ... ({len(names)} layers)" if len(names) > limit else "")


def _guess(names: list[str]) -> str:
    for clue, what in _HINTS:
        if any(clue in name for name in names):
            return f" (is this {what}?)"
    return ""


def _shape(blob) -> tuple[int, ...]:
    """The blob's shape: its ``BlobShape``, else the V1 (num, channels, height, width)."""
    if blob.HasField("shape"):
        return tuple(int(d) for d in blob.shape.dim)
    return (blob.num, blob.channels, blob.height, blob.width)


def _array(blob, key: str, path: str) -> np.ndarray:
    """The blob's values as a float32 array of its shape; ValueError (naming the file and the
    blob) if they disagree, or are not finite as float32."""
    shape = _shape(blob)
    values = blob.double_data if len(blob.double_data) else blob.data
    dtype = np.float64 if len(blob.double_data) else np.float32
    if len(shape) > MAX_AXES:
        raise ValueError(f"{path}: {key} has {len(shape)} axes, more than Caffe's {MAX_AXES}")
    needed = math.prod(shape) if min(shape, default=0) >= 0 else -1  # exact: no int64 wrap
    if len(values) != needed:
        raise ValueError(
            f"{path}: {key} holds {len(values)} values but its shape {shape} needs "
            f"{needed if needed >= 0 else 'a non-negative size'}; the file is damaged"
        )
    stored = np.array(values, dtype=dtype).reshape(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        array = stored.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        bad = int(array.size - np.isfinite(array).sum())
        if np.isfinite(stored).all():
            raise ValueError(
                f"{path}: {key} has {bad} value(s) too large for float32 (stored as "
                "double_data; float32 ends at 3.4e38)"
            )
        raise ValueError(f"{path}: {key} has {bad} non-finite value(s) (NaN or inf)")
    return array


def _squeezed(shape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """``shape`` without the leading 1s a V1 blob pads it with, e.g. (1, 1, out, in) -> 2-d."""
    while len(shape) > ndim and shape[0] == 1:
        shape = shape[1:]
    return shape


def _num_classes(arrays: dict, path: str) -> int:
    shape = _squeezed(arrays["fc8.weight"].shape, 2)
    if len(shape) != 2 or shape[0] < 1:
        raise ValueError(
            f"{path}: fc8.weight has shape {arrays['fc8.weight'].shape}; AlexNet's is "
            "(num_classes, 4096)"
        )
    return shape[0]


def _fitted(array: np.ndarray, expected: tuple, key: str, path: str) -> np.ndarray:
    """``array`` in the model's shape ``expected``; ValueError naming both if it does not fit."""
    if _squeezed(array.shape, len(expected)) != tuple(expected):
        raise ValueError(
            f"{path}: {key} has shape {array.shape}, AlexNet (Caffe's, groups=2, 227x227 "
            f"input) needs {tuple(expected)}"
        )
    return array.reshape(expected)


def _info(num_classes: int) -> dict:
    names = list(imagenet_words().values()) if num_classes == 1000 else []
    preprocess = dict(
        channels="BGR", scale=1.0, mean=list(MEAN_BGR), std=[1.0, 1.0, 1.0], resize=256, crop=227
    )
    return {"input_size": 227, "preprocess": preprocess, "class_names": names}
