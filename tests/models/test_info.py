"""``tinynet.models.info.check_model_info``: every field of a ``model.info`` checked, against
what the model accepts (issue 25 #9)."""

from __future__ import annotations

import numpy as np
import pytest

from tinynet.models import alexnet, alexnet_torchvision
from tinynet.models.info import accepted_sides, check_model_info

ALEXNET = dict(builder="alexnet", num_classes=4, input_size=227)
TORCHVISION = dict(builder="alexnet_torchvision", num_classes=1000, input_size=224)


def test_the_sides_a_model_accepts():
    # AlexNet: every side whose pool5 output is 6x6, as fc6 was sized for 227
    assert accepted_sides(ALEXNET) == range(227, 259)
    assert accepted_sides({**ALEXNET, "input_size": 67}) == range(67, 99)
    # torchvision's adaptive pool takes any side from 63; up to twice its own is sane
    assert accepted_sides(TORCHVISION) == range(63, 449)
    assert accepted_sides({"builder": "mine", "input_size": 100}) == range(1, 201)
    assert accepted_sides(None) == range(1, 4097)


def test_the_sides_follow_the_pool_size():
    # 2x2 pools, stride 2: pool5 is 6x6 from 199 to 230 (the 3x3 pools' range is 227-258)
    pooled = {**ALEXNET, "pool_size": 2}
    assert accepted_sides(pooled) == range(199, 231)
    for side in (199, 230):
        assert alexnet(num_classes=4, width=0.0625, pool_size=2).forward(
            np.zeros((1, 3, side, side), np.float32)
        ).shape == (1, 4)
    with pytest.raises(ValueError):
        alexnet(num_classes=4, width=0.0625, pool_size=2).forward(np.zeros((1, 3, 231, 231)))


def test_alexnet_runs_on_the_sides_it_accepts_and_not_beyond():
    import numpy as np

    model = alexnet(num_classes=2, input_size=67, width=0.125)
    sides = accepted_sides(model.config)
    for side in (sides.start, sides.stop - 1):
        model.forward(np.zeros((1, 3, side, side), np.float32))
    with pytest.raises(ValueError):
        model.forward(np.zeros((1, 3, sides.stop, sides.stop), np.float32))


def test_what_the_importers_write_passes():
    from tinynet.interop.caffe import _info
    from tinynet.interop.torchvision import IMAGENET_PREPROCESS

    caffe = _info(1000)
    config = dict(alexnet(num_classes=3, input_size=227, width=0.125).config, num_classes=1000)
    assert check_model_info("from_caffe: model.info", caffe, config) == caffe
    torchvision = {"input_size": 224, "preprocess": dict(IMAGENET_PREPROCESS), "class_names": []}
    config = alexnet_torchvision(num_classes=3).config
    assert check_model_info("from_torchvision: model.info", torchvision, config) == torchvision
    assert check_model_info("x", None, config) == {} and check_model_info("x", {}, config) == {}


@pytest.mark.parametrize(
    "info, match",
    [
        ([], "who must be a dict, got list"),
        ({"mean": 0.5}, r"who has unknown keys \['mean'\]; known: \['input_size', "),
        ({"input_size": 1}, "who input_size must be a side the model accepts, 227..258, got 1"),
        ({"input_size": True}, "who input_size must be an integer, got True"),
        ({"preprocess": "RGB"}, "who preprocess must be a dict, got str 'RGB'"),
        ({"preprocess": {"channels": "XYZ"}}, "who preprocess channels must be one of"),
        ({"preprocess": {"crop": 5000}}, "who preprocess crop must be a side the model accepts"),
        ({"preprocess": {"crop": 227, "resize": 200}}, r"resize must be from the crop \(227\)"),
        ({"preprocess": {"resize": 1000}}, r"resize must be from the crop \(227\) up to twice"),
        ({"preprocess": {"mean": [0, 0, float("nan")]}}, "who preprocess mean must be a real"),
        ({"preprocess": {"mean": [0, 0, float("inf")]}}, "who preprocess mean must be finite"),
        ({"preprocess": {"std": [1, 1, -1]}}, "who preprocess std must be finite and > 0"),
        ({"preprocess": {"scale": 0}}, "who preprocess scale must be finite and > 0"),
        ({"preprocess": {"size": 3}}, r"who preprocess has unknown keys \['size'\]"),
        ({"class_names": ["a", "b"]}, "class_names has 2 names for the model's 4 classes"),
        ({"class_names": [1, 2, 3, 4]}, "who class_names must be a list of strings"),
    ],
)
def test_a_bad_field_is_named(info, match):
    with pytest.raises(ValueError, match=match):
        check_model_info("who", info, ALEXNET)
