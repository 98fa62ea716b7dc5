"""The AlexNet builder: geometry, parameter counts, init presets."""

import tracemalloc

import numpy as np
import pytest

from tinynet.models import alexnet, from_config, param_shapes

from ..helpers.models import BEFORE_THE_SPLIT


def test_from_config_names_what_it_cannot_build():
    with pytest.raises(ValueError, match="unknown builder 'resnet'"):
        from_config({"builder": "resnet"})
    with pytest.raises(ValueError, match="alexnet.*depth"):
        from_config({"builder": "alexnet", "depth": 50})
    unnamed = dict(alexnet(num_classes=3, input_size=67, width=0.125).config)
    del unnamed["builder"]
    with pytest.raises(ValueError, match="the config has no 'builder' key naming its builder"):
        from_config(unnamed)


@pytest.mark.parametrize("kwargs", [kw for kw, _ in BEFORE_THE_SPLIT] + [{}])
def test_param_shapes_are_the_built_models(kwargs):
    model = alexnet(**kwargs) if kwargs else alexnet(width=0.125)
    shapes = param_shapes(model.config)
    assert list(shapes.items()) == [(n, p.shape) for n, p, _ in model.named_parameters()]


def test_param_shapes_of_the_paper_network_and_of_a_huge_one_allocate_nothing():
    tracemalloc.start()
    try:
        paper = param_shapes({"builder": "alexnet"})
        huge = param_shapes({"builder": "alexnet", "width": 1000, "num_classes": 10})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024, peak
    assert paper["conv1.weight"] == (96, 3, 11, 11) and paper["fc6.weight"] == (4096, 9216)
    assert sum(np.prod(s) for s in paper.values()) == 60_965_224
    assert huge["conv2.weight"] == (256_000, 48_000, 5, 5) and huge["fc8.bias"] == (10,)


@pytest.mark.parametrize(
    "config, match",
    [
        (None, "expected a model config dict"),
        ({"width": 0.5}, "no 'builder' key"),
        ({"builder": "resnet"}, "unknown builder 'resnet'"),
        ({"builder": "alexnet", "depth": 50}, "alexnet.*depth"),
        ({"builder": "alexnet", "init": "xavier"}, "init must be one of"),
        ({"builder": "alexnet", "width": float("inf")}, "width must be finite"),
        ({"builder": "alexnet", "width": 1e306}, "width 1e\\+306 is too large"),
        ({"builder": "alexnet", "groups": True}, "groups must be an integer"),
        ({"builder": "alexnet", "lrn": "no"}, "lrn must be True or False"),
        ({"builder": "alexnet", "seed": -1}, "seed must be >= 0"),
        ({"builder": "alexnet", "dtype": "int32"}, "dtype must be float32 or float64"),
        ({"builder": "alexnet", "dtype": "nonsense"}, "dtype must be float32 or float64"),
        ({"builder": "alexnet", "num_classes": 2.5}, "num_classes must be an integer"),
    ],
)
def test_param_shapes_refuse_what_from_config_refuses(config, match):
    with pytest.raises(ValueError, match=match):
        param_shapes(config)
    with pytest.raises(ValueError, match=match):
        from_config(config)
