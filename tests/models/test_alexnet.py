"""Tests of ``tinynet.models.alexnet``."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tinynet.layers import Dropout, LocalResponseNorm
from tinynet.models import MIN_INPUT_SIZE, alexnet, from_config, param_shapes

from ..helpers.models import BEFORE_THE_SPLIT

PAPER_ORDER = [
    "conv1",
    "relu1",
    "norm1",
    "pool1",
    "conv2",
    "relu2",
    "norm2",
    "pool2",
    "conv3",
    "relu3",
    "conv4",
    "relu4",
    "conv5",
    "relu5",
    "pool5",
    "flatten",
    "fc6",
    "relu6",
    "drop6",
    "fc7",
    "relu7",
    "drop7",
    "fc8",
]


@pytest.mark.slow
@pytest.mark.parametrize("groups,count", [(2, 60_965_224), (1, 62_378_344)])
def test_parameter_counts_and_logits_shape(groups, count):
    model = alexnet(groups=groups)
    assert model.num_parameters() == count
    assert list(model.layers) == PAPER_ORDER
    shapes = {name: p.shape for name, p, _ in model.named_parameters()}
    assert shapes["conv2.weight"] == (256, 96 // groups, 5, 5)
    assert shapes["fc6.weight"] == (4096, 9216)
    model.eval()
    assert model.forward(np.zeros((1, 3, 227, 227), np.float32)).shape == (1, 1000)


def test_layer_names_without_lrn_and_dropout():
    names = list(alexnet(lrn=False, dropout=0, width=0.25).layers)
    assert names == [n for n in PAPER_ORDER if not n.startswith(("norm", "drop"))]


def test_small_input_sizes_fc6_from_the_feature_map():
    model = alexnet(num_classes=4, input_size=MIN_INPUT_SIZE, width=0.25)
    assert model["fc6"].in_features == 64 * 1 * 1
    assert model.forward(np.zeros((2, 3, 67, 67), np.float32)).shape == (2, 4)
    assert alexnet(input_size=131, width=0.25)["fc6"].in_features == 64 * 3 * 3


def test_too_small_input_names_the_minimum():
    with pytest.raises(ValueError, match="input_size 66 is too small; the minimum is 67"):
        alexnet(input_size=66)


def test_width_scales_channels_and_fc():
    model = alexnet(width=0.25, groups=2)
    assert [model[f"conv{i}"].out_channels for i in range(1, 6)] == [24, 64, 96, 96, 64]
    assert model["fc6"].out_features == 1024 and model["fc7"].out_features == 1024


def test_bad_arguments():
    for kwargs, msg in [
        ({"init": "xavier"}, "init must be one of"),
        ({"groups": 3}, "groups"),
        ({"width": 0}, "width"),
        ({"dropout": 1.0}, "dropout"),
        ({"num_classes": 0}, "num_classes"),
    ]:
        with pytest.raises(ValueError, match=msg):
            alexnet(**kwargs)


def _stats(model):
    return {
        name: (float(p.mean()), float(p.std()), np.unique(p))
        for name, p, _ in model.named_parameters()
    }


POSITIVE = ("conv2", "conv4", "conv5", "fc6", "fc7")


@pytest.mark.slow
def test_paper_init():
    stats = _stats(alexnet(init="paper", width=0.5))
    for layer in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        mean, std, _ = stats[f"{layer}.weight"]
        assert abs(mean) < 1e-3 and abs(std - 0.01) < 0.0005, (layer, mean, std)
        bias = stats[f"{layer}.bias"][2]
        assert bias.tolist() == ([1.0] if layer in POSITIVE else [0.0]), layer


@pytest.mark.slow
def test_caffe_init():
    stats = _stats(alexnet(init="caffe", width=0.5))
    for layer in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        _, std, _ = stats[f"{layer}.weight"]
        assert abs(std - (0.005 if layer in ("fc6", "fc7") else 0.01)) < 0.0005, layer
        expected = np.float32(0.1) if layer in POSITIVE else 0.0
        assert stats[f"{layer}.bias"][2].tolist() == [expected], layer


@pytest.mark.slow
def test_he_init():
    model = alexnet(init="he", width=0.5)
    for name, p, _ in model.named_parameters():
        if name.endswith("bias"):
            assert not p.any(), name
        else:
            target = np.sqrt(2.0 / p[0].size)
            assert abs(p.std() - target) < 0.05 * target, name


def test_seed_determines_weights_and_config_rebuilds():
    a, b = alexnet(width=0.25, seed=3), alexnet(width=0.25, seed=3)
    c = from_config(a.config)
    for (n, p, _), (_, q, _), (_, r, _) in zip(
        a.named_parameters(), b.named_parameters(), c.named_parameters()
    ):
        np.testing.assert_array_equal(p, q, err_msg=n)
        np.testing.assert_array_equal(p, r, err_msg=n)
    d = alexnet(width=0.25, seed=4)
    assert not np.array_equal(a["conv1"].params["weight"], d["conv1"].params["weight"])


def test_layer_types():
    model = alexnet(width=0.25)
    assert isinstance(model["norm1"], LocalResponseNorm) and model["norm1"].k == 2.0
    assert isinstance(model["drop6"], Dropout) and model["drop6"].p == 0.5
    assert model["conv1"].input_grad is False  # the image needs no gradient


@pytest.mark.slow
def test_summary_lists_every_layer():
    text = alexnet().summary((1, 3, 227, 227))
    assert "(1, 96, 55, 55)" in text and "(1, 256, 6, 6)" in text and "60,965,224" in text


def test_the_default_init_is_he_as_on_the_command_line():
    assert alexnet(width=0.125).config["init"] == "he"  # init="paper": the paper's recipe


# ------------------------------------------------------------------- built models and shapes
def _digest(model) -> str:
    """sha256 of every state entry's name, dtype, shape and bytes, in order."""
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(f"{key} {value.dtype} {value.shape}".encode() + value.tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("kwargs, digest", BEFORE_THE_SPLIT)
def test_builds_the_same_models_as_before(kwargs, digest):
    assert _digest(alexnet(**kwargs)) == digest


# ------------------------------------------------------------------------- alexnet(lrn_k=...)
def test_lrn_k_reaches_the_norm_layers_and_the_config():
    assert alexnet(width=0.125)["norm1"].k == 2.0
    model = alexnet(width=0.125, lrn_k=1)
    assert model.config["lrn_k"] == 1.0 and model["norm2"].k == 1.0
    assert from_config(model.config)["norm1"].k == 1.0


@pytest.mark.parametrize("k", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_lrn_k_must_be_a_positive_float(k):
    with pytest.raises(ValueError, match="alexnet: lrn_k must be"):
        alexnet(width=0.125, lrn_k=k)


# --------------------------------------------------------------------- alexnet(pool_size=...)
@pytest.mark.parametrize("pool_size", [3, 2])
def test_pool_size_sets_the_windows_and_keeps_the_paper_sizes_at_227(pool_size):
    """3x3 windows with stride 2 overlap (the paper's, section 3.4), 2x2 ones do not; both
    give 55 -> 27 -> 13 -> 6 from a 227 input, as the paper says."""
    model = alexnet(num_classes=4, width=0.125, pool_size=pool_size)
    for name in ("pool1", "pool2", "pool5"):
        assert model[name].kernel_size == (pool_size, pool_size) and model[name].stride == (2, 2)
    assert model["fc6"].in_features == 32 * 6 * 6
    model.eval()
    sides = [out.shape[-1] for name, out in _outputs(model, 227) if name.startswith("pool")]
    assert sides == [27, 13, 6]


@pytest.mark.parametrize("pool_size, side", [(3, 1), (2, 2)])
def test_pool_size_sizes_fc6_from_the_feature_map(pool_size, side):
    """From an even side the 2x2 pools keep one more row: 71 -> conv1 16 -> 8 -> 4 -> 2
    (3x3: 7 -> 3 -> 1); fc6 follows. The minimum input serves both."""
    model = alexnet(num_classes=4, input_size=71, width=0.125, pool_size=pool_size)
    assert model["fc6"].in_features == 32 * side * side
    assert model.forward(np.zeros((2, 3, 71, 71), np.float32)).shape == (2, 4)
    small = alexnet(num_classes=4, input_size=MIN_INPUT_SIZE, width=0.125, pool_size=pool_size)
    assert small["fc6"].in_features == 32
    assert small.forward(np.zeros((2, 3, 67, 67), np.float32)).shape == (2, 4)


def test_pool_size_is_recorded_and_rebuilds():
    model = alexnet(num_classes=4, input_size=71, width=0.125, seed=2, pool_size=2)
    assert model.config["pool_size"] == 2 and alexnet(width=0.125).config["pool_size"] == 3
    rebuilt = from_config(model.config)
    assert rebuilt["pool2"].kernel_size == (2, 2) and rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())  # same shapes (fc6 included)
    assert param_shapes(model.config) == {n: p.shape for n, p, _ in model.named_parameters()}
    old = {k: v for k, v in model.config.items() if k != "pool_size"}  # saved before the option
    assert from_config(old)["pool1"].kernel_size == (3, 3)


@pytest.mark.parametrize("bad", [4, 1, 2.0, "3", True, None])
def test_pool_size_must_be_3_or_2(bad):
    with pytest.raises(ValueError, match="alexnet: pool_size must be"):
        alexnet(width=0.125, pool_size=bad)
    with pytest.raises(ValueError, match="alexnet: pool_size must be 3 .overlapping"):
        alexnet(width=0.125, pool_size=4)


def _outputs(model, side):
    """(name, output) of every layer for a zero (1, 3, side, side) input."""
    x, outs = np.zeros((1, 3, side, side), np.float32), []
    for name, layer in model:
        x = layer.forward(x)
        outs.append((name, x))
    return outs


def test_pool_size_survives_a_checkpoint(tmp_path):
    from tinynet.train import Trainer

    model = alexnet(num_classes=4, input_size=67, width=0.125, seed=1, pool_size=2)
    Trainer.for_model(model).save(tmp_path / "ck.npz")
    loaded = Trainer.load(tmp_path / "ck.npz").model
    assert loaded.config["pool_size"] == 2 and loaded["pool5"].kernel_size == (2, 2)
    for (name, p, _), (_, q, _) in zip(model.named_parameters(), loaded.named_parameters()):
        np.testing.assert_array_equal(p, q, err_msg=name)
