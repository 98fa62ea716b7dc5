"""from_torchvision: torchvision's AlexNet state_dict -> tinynet, against torch and NumPy."""

import numpy as np
import pytest

from tinynet.layers import AdaptiveAvgPool2D, Dropout
from tinynet.models import alexnet_torchvision, from_config, param_shapes
from tinynet.models.torchvision_alexnet import MIN_INPUT_SIZE

NAMES = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "conv4", "relu4"]
NAMES += ["conv5", "relu5", "pool5", "avgpool", "flatten", "drop6", "fc6", "relu6", "drop7"]
NAMES += ["fc7", "relu7", "fc8"]


@pytest.mark.slow
def test_builder_layout_config_and_param_shapes():
    model = alexnet_torchvision(num_classes=10, seed=3)
    assert list(model.layers) == NAMES and model.num_parameters() == 57_044_810
    assert isinstance(model["avgpool"], AdaptiveAvgPool2D) and isinstance(model["drop6"], Dropout)
    assert model["conv1"].input_grad is False and model["conv1"].relu  # fused
    assert param_shapes(model.config) == {n: p.shape for n, p, _ in model.named_parameters()}
    rebuilt = from_config(model.config)
    for (name, p, _), (_, q, _) in zip(model.named_parameters(), rebuilt.named_parameters()):
        np.testing.assert_array_equal(p, q, err_msg=name)
    assert "drop6" not in alexnet_torchvision(num_classes=2, dropout=0).layers


def test_builder_minimum_input_and_bad_arguments():
    assert MIN_INPUT_SIZE == 63  # conv1 15x15, pool1 7x7, pool2 3x3, pool5 1x1
    shapes = param_shapes({"builder": "alexnet_torchvision", "input_size": 63})
    assert shapes["fc6.weight"] == (4096, 9216) and shapes["fc8.weight"] == (1000, 4096)
    for kwargs, msg in [
        ({"input_size": 62}, "input_size 62 is too small; the minimum is 63"),
        ({"num_classes": 0}, "num_classes"),
        ({"dropout": 1.0}, "dropout"),
        ({"dtype": np.int32}, "dtype must be float32 or float64"),
    ]:
        with pytest.raises(ValueError, match=f"alexnet_torchvision: {msg}"):
            param_shapes({"builder": "alexnet_torchvision", **kwargs})
