"""``model.info``, checked: how a model is fed (input size, preprocessing) and what its outputs
are called, as ``Sequential.info`` describes it.

``check_model_info`` is for whoever fills ``model.info`` or reads it from a file (a checkpoint,
an importer): every key known, every value of the right type and range, and the sizes ones the
model accepts, so a bad value fails here in one line and not later, deep in a transform or in
fc6 after minutes of decoding.
"""

from __future__ import annotations

import math

from ..validate import choice, integer, positive, real
from .alexnet import MIN_INPUT_SIZE as ALEXNET_MIN
from .alexnet import POOL_SIZES, _feature_side
from .torchvision_alexnet import MIN_INPUT_SIZE as TORCHVISION_MIN

__all__ = ["check_model_info", "accepted_sides", "INFO_KEYS", "PREPROCESS_KEYS", "MAX_SIDE"]

INFO_KEYS = ("input_size", "preprocess", "class_names")
PREPROCESS_KEYS = ("channels", "scale", "mean", "std", "resize", "crop")
#: The largest input side (or resize) accepted when nothing narrower is known.
MAX_SIDE = 4096


def accepted_sides(config) -> range:
    """The input sides the model of ``config`` (``model.config``) runs on.

    ``alexnet``: the sides whose pool5 output is the one fc6 was sized for (227..258 for 227
    with the paper's 3x3 pooling, 199..230 with ``pool_size=2``).
    ``alexnet_torchvision`` (an adaptive pool before fc6): any side from its minimum up to
    twice its ``input_size``, a sane bound (a larger one only costs time). Other builders:
    1..``MAX_SIDE``."""
    config = config if isinstance(config, dict) else {}
    size, builder = config.get("input_size"), config.get("builder")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return range(1, MAX_SIDE + 1)
    pool = config.get("pool_size", 3)
    if builder == "alexnet" and size >= ALEXNET_MIN and type(pool) is int and pool in POOL_SIZES:

        def side(s):
            return _feature_side(s, pool)

        low, high = size, size
        while low > ALEXNET_MIN and side(low - 1) == side(size):
            low -= 1
        while side(high + 1) == side(size):
            high += 1
        return range(low, high + 1)
    if builder == "alexnet_torchvision":
        return range(TORCHVISION_MIN, max(2 * size, TORCHVISION_MIN) + 1)
    return range(1, min(2 * size, MAX_SIDE) + 1)


def check_model_info(who: str, info, config) -> dict:
    """``info`` (a ``model.info``; None is ``{}``) checked against the model's ``config``
    (``model.config``: its ``num_classes`` and ``input_size``); returns a copy.

    - keys: only ``input_size``, ``preprocess``, ``class_names``;
    - ``input_size`` and ``preprocess["crop"]``: sides the model accepts (``accepted_sides``);
    - ``preprocess``: only ``channels`` ("RGB" or "BGR"), ``scale`` (> 0), ``mean`` (3 finite
      numbers), ``std`` (3 numbers > 0), ``resize`` (from the crop up to twice it) and ``crop``;
    - ``class_names``: strings, one per class (``config["num_classes"]``), or empty (unknown).

    ``who`` names the info in messages (``"from_caffe: model.info"``); a ValueError starting
    with it names the first bad field (``... preprocess channels must be one of ...``)."""
    if info is None:
        return {}
    if not isinstance(info, dict):
        raise ValueError(f"{who} must be a dict, got {_kind(info)}")
    _known(who, info, INFO_KEYS)
    config = config if isinstance(config, dict) else {}
    sides = accepted_sides(config)
    checked = dict(info)
    if "input_size" in info:
        checked["input_size"] = _side(f"{who} input_size", info["input_size"], sides)
    if info.get("preprocess") is not None:
        size = checked.get("input_size", config.get("input_size"))
        default_crop = size if size in sides else sides.start  # what EvalTransform would crop
        checked["preprocess"] = _preprocess(who, info["preprocess"], sides, default_crop)
    if info.get("class_names") is not None:
        checked["class_names"] = _class_names(who, info["class_names"], config.get("num_classes"))
    return checked


def _preprocess(who: str, pre, sides: range, default_crop: int) -> dict:
    what = f"{who} preprocess"
    if not isinstance(pre, dict):
        raise ValueError(f"{what} must be a dict, got {_kind(pre)}")
    _known(what, pre, PREPROCESS_KEYS)
    out = dict(pre)
    if "channels" in pre:
        out["channels"] = choice(f"{what} channels", pre["channels"], ("RGB", "BGR"))
    if "scale" in pre:
        out["scale"] = positive(f"{what} scale", pre["scale"])
    for key, check in (("mean", _finite), ("std", positive)):
        if key in pre:
            out[key] = _triple(f"{what} {key}", pre[key], check)
    crop = default_crop
    if "crop" in pre:
        crop = out["crop"] = _side(f"{what} crop", pre["crop"], sides)
    if "resize" in pre:
        resize = integer(f"{what} resize", pre["resize"], 1)
        if not crop <= resize <= 2 * crop:
            raise ValueError(
                f"{what} resize must be from the crop ({crop}) up to twice it, got {resize}"
            )
        out["resize"] = resize
    return out


def _side(who: str, value, sides: range) -> int:
    side = integer(who, value, 1)
    if side not in sides:
        raise ValueError(
            f"{who} must be a side the model accepts, {sides.start}..{sides.stop - 1}, got {side}"
        )
    return side


def _class_names(who: str, names, num_classes) -> list[str]:
    what = f"{who} class_names"
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{what} must be a list of strings, got {_short(names)}")
    if names and isinstance(num_classes, int) and len(names) != num_classes:
        raise ValueError(
            f"{what} has {len(names)} names for the model's {num_classes} classes "
            "(give one per class, or none)"
        )
    return list(names)


def _triple(who: str, value, check) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(
            f"{who} must be a list of 3 numbers (one per channel), got {_short(value)}"
        )
    return [check(who, v) for v in value]


def _finite(who: str, value) -> float:
    number = real(who, value)
    if not math.isfinite(number):
        raise ValueError(f"{who} must be finite, got {value!r}")
    return number


def _known(who: str, mapping: dict, keys: tuple) -> None:
    unknown = sorted(map(str, set(mapping) - set(keys)))
    if unknown:
        raise ValueError(f"{who} has unknown keys {unknown}; known: {list(keys)}")


def _kind(value) -> str:
    return f"{type(value).__name__} {_short(value)}"


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
