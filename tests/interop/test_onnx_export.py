"""ONNX export: onnxruntime runs the exported graph to tinynet's eval-mode output."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tinynet  # noqa: E402
from tinynet import Layer, Sequential, files, models  # noqa: E402
from tinynet.interop.onnx_export import to_onnx  # noqa: E402
from tinynet.layers import (  # noqa: E402
    AdaptiveAvgPool2D,
    Conv2D,
    Dropout,
    Flatten,
    Linear,
    LocalResponseNorm,
    MaxPool2D,
    ReLU,
    fuse_conv_relu,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


TOLERANCE = 1e-4  # max abs difference / max abs output, float32


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    return session.run(None, {"input": x.astype(np.float32)})[0]


def relative_error(model, path, x) -> float:
    with model.evaluating():
        expected = model.forward(x)
    got = run_onnx(path, x)
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def images(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("groups, lrn", [(2, True), (1, False)], ids=["paper", "plain"])
def test_small_alexnet_matches(tmp_path, groups, lrn):
    model = models.alexnet(
        num_classes=10, input_size=67, width=0.25, groups=groups, lrn=lrn, init="paper"
    )
    path = to_onnx(model, tmp_path / "alexnet.onnx", (1, 3, 67, 67))
    assert path == tmp_path / "alexnet.onnx"
    assert relative_error(model, path, images((4, 3, 67, 67))) <= TOLERANCE
    assert model.training  # the model's mode is left as it was


@pytest.mark.slow
def test_full_paper_alexnet_matches(tmp_path):
    model = models.alexnet(num_classes=1000, input_size=227, groups=2, lrn=True, init="paper")
    path = to_onnx(model, tmp_path / "alexnet.onnx", (1, 3, 227, 227))
    assert relative_error(model, path, images((2, 3, 227, 227))) <= TOLERANCE


def test_batch_dimension_is_symbolic(tmp_path):
    model = models.alexnet(num_classes=10, input_size=67, width=0.25, init="paper")
    path = to_onnx(model, tmp_path / "m.onnx", (8, 3, 67, 67))
    dims = onnx.load(path).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 3, 67, 67]
    for n in (1, 3):
        assert relative_error(model, path, images((n, 3, 67, 67), seed=n)) <= TOLERANCE


def hand_made(rng) -> Sequential:
    """Padding, strides, non-square kernels and input, groups 3, every layer kind."""
    model = Sequential(
        [
            ("conv1", Conv2D(3, 6, (3, 5), stride=(2, 1), padding=(1, 2), groups=3, rng=rng)),
            ("relu1", ReLU()),
            ("norm1", LocalResponseNorm(size=3, alpha=0.5, beta=0.75, k=1.0)),
            ("pool1", MaxPool2D(3, stride=2, padding=1)),
            ("conv2", Conv2D(6, 9, 3, padding=1, groups=3, rng=rng)),
            ("norm2", LocalResponseNorm(size=4, alpha=0.5, beta=0.6, k=2.0)),
            ("relu2", ReLU()),
            ("flatten", Flatten()),
            ("fc", Linear(9 * 5 * 13, 7, rng=rng)),
            ("relu3", ReLU()),
            ("drop", Dropout(0.5, rng=rng)),
        ]
    )
    fuse_conv_relu(model)  # relu1 only: conv2 is followed by norm2
    return model


def test_hand_made_sequential_matches(tmp_path, rng):
    model = hand_made(rng)
    assert model["relu1"].fused_into == "conv1" and not model["relu2"].fused_into
    path = to_onnx(model, tmp_path / "m.onnx", (3, 19, 26))
    ops = [node.op_type for node in onnx.load(path).graph.node]
    assert ops.count("Relu") == 3 and "Dropout" not in ops
    assert relative_error(model, path, images((5, 3, 19, 26))) <= TOLERANCE


def test_float64_model_exports_as_float32(tmp_path, rng):
    model = Sequential([("conv", Conv2D(2, 3, 3, dtype=np.float64, rng=rng)), ("flat", Flatten())])
    path = to_onnx(model, tmp_path / "m.onnx", (1, 2, 5, 6))
    assert relative_error(model, path, images((2, 2, 5, 6))) <= TOLERANCE


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_lrn_alpha_is_divided_by_size_as_in_tinynet(tmp_path, size):
    """A large alpha makes a wrong convention (alpha vs alpha/size) or window visible."""
    model = Sequential([("norm", LocalResponseNorm(size=size, alpha=2.0, beta=0.75, k=1.0))])
    path = to_onnx(model, tmp_path / "m.onnx", (1, 7, 3, 4))
    x = images((2, 7, 3, 4)) * 3
    assert relative_error(model, path, x) <= TOLERANCE
    wrong = Sequential([("norm", LocalResponseNorm(size=size, alpha=2.0 / size, beta=0.75))])
    if size > 1:
        with wrong.evaluating():
            assert np.abs(wrong.forward(x) - run_onnx(path, x)).max() > 1e-2


def test_info_and_producer_are_stored(tmp_path):
    model = models.alexnet(num_classes=3, input_size=67, width=0.25)
    model.info = {"input_size": 67, "class_names": ["a", "b", "c"], "mean": np.float32(0.5)}
    proto = onnx.load(to_onnx(model, tmp_path / "m.onnx", (1, 3, 67, 67)))
    assert proto.producer_name == "tinynet" and proto.producer_version == tinynet.__version__
    props = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert props == {"input_size": 67, "class_names": ["a", "b", "c"], "mean": 0.5}
    assert {i.name for i in proto.graph.initializer} >= {"conv1.weight", "fc8.bias"}


@pytest.mark.slow
@pytest.mark.parametrize("size", [63, 224])  # pool5 1x1 (repeated to 6x6), 6x6 (kept)
def test_torchvision_variant_matches(tmp_path, size):
    model = models.alexnet_torchvision(num_classes=10, input_size=size)
    path = to_onnx(model, tmp_path / "tv.onnx", (1, 3, size, size))
    assert relative_error(model, path, images((2, 3, size, size))) <= TOLERANCE


class MyLayer(Layer):
    def _forward(self, x):
        return x


def test_unknown_layer_is_refused_naming_it(tmp_path):
    model = Sequential([("conv", Conv2D(1, 2, 3)), ("x", MyLayer())])
    with pytest.raises(ValueError, match=r"cannot export layer 'x' \(MyLayer\): ONNX export"):
        to_onnx(model, tmp_path / "m.onnx", (1, 1, 5, 5))
    assert os.listdir(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch, rng):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    model = Sequential([("conv", Conv2D(1, 2, 3, rng=rng))])

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(OSError, match=f"^cannot write {target}: No space left on device$"):
        to_onnx(model, target, (1, 1, 5, 5))
    assert os.listdir(tmp_path) == ["m.onnx"] and target.read_bytes() == b"old"


def test_bad_arguments_are_refused(tmp_path, rng):
    model = Sequential([("conv", Conv2D(1, 2, 3, rng=rng))])
    with pytest.raises(ValueError, match="input_shape"):
        to_onnx(model, tmp_path / "m.onnx", (1, 5, 5, 5, 5))
    with pytest.raises(ValueError, match="is too big to trace"):  # issue 25 #28: NumPy's error
        to_onnx(model, tmp_path / "m.onnx", (1, 3, 10**9, 10**9))
    with pytest.raises(ValueError, match="opset"):
        to_onnx(model, tmp_path / "m.onnx", (1, 1, 5, 5), opset=5)
    with pytest.raises(ValueError, match="Sequential"):
        to_onnx(Conv2D(1, 2, 3), tmp_path / "m.onnx", (1, 1, 5, 5))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_opsets(tmp_path, rng, opset):
    model = hand_made(rng)
    path = to_onnx(model, tmp_path / "m.onnx", (1, 3, 19, 26), opset=opset)
    assert relative_error(model, path, images((2, 3, 19, 26))) <= TOLERANCE


# -- AdaptiveAvgPool2D ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hw, out, ops",
    [
        ((6, 8), (6, 8), []),
        ((6, 8), (1, 1), ["GlobalAveragePool"]),
        ((6, 8), (3, 2), ["AveragePool"]),
        ((2, 3), (6, 6), ["Resize"]),
        ((6, 2), (3, 4), ["AveragePool", "Resize"]),
        ((1, 1), (1, 1), []),
    ],
)
def test_adaptive_avgpool(tmp_path, rng, hw, out, ops):
    model = Sequential([("conv", Conv2D(2, 3, 1, rng=rng)), ("pool", AdaptiveAvgPool2D(out))])
    path = to_onnx(model, tmp_path / "m.onnx", (1, 2, *hw))
    assert [node.op_type for node in onnx.load(path).graph.node] == ["Conv", *ops]
    assert relative_error(model, path, images((2, 2, *hw))) <= TOLERANCE


def test_adaptive_avgpool_uneven_is_refused(tmp_path):
    model = Sequential([("gap", AdaptiveAvgPool2D((4, 4)))])
    with pytest.raises(ValueError, match=r"'gap' \(AdaptiveAvgPool2D\).*4x4 from input 6x7"):
        to_onnx(model, tmp_path / "m.onnx", (1, 2, 6, 7))
    assert os.listdir(tmp_path) == []
