"""tinynet.interop.caffe: .caffemodel files written here with the schema, in both layouts, read
back and run against an independent forward (PyTorch when installed, NumPy partial checks)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from tinynet.interop import caffe_schema
from tinynet.interop.caffe import ARGUMENTS, MEAN_BGR, from_caffe

from ..helpers.caffe_files import SHAPES, data_blob, net_bytes, random_weights

pytest.importorskip("google.protobuf")


# name -> (stride, padding, groups) of the convolutions
CONVS = {
    "conv1": (4, 0, 1),
    "conv2": (1, 2, 2),
    "conv3": (1, 1, 1),
    "conv4": (1, 1, 2),
    "conv5": (1, 1, 2),
}


# ------------------------------------------------------------------------------- full networks
@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """The same random AlexNet written twice: V1 layout with 1000 classes, current with 10."""
    weights = random_weights(1000)
    blobs = {n: [(data_blob(a), a.shape) for a in arrays] for n, arrays in weights.items()}
    small = {**weights, "fc8": [weights["fc8"][0][:10].copy(), weights["fc8"][1][:10].copy()]}
    folder = tmp_path_factory.mktemp("caffe")
    v1 = folder / "bvlc_alexnet_v1.caffemodel"
    v1.write_bytes(net_bytes(list(blobs.items()), v1=True))
    small_blobs = {**blobs, "fc8": [(a, a.shape) for a in small["fc8"]]}
    current = folder / "alexnet10.caffemodel"
    current.write_bytes(net_bytes(list(small_blobs.items()), v1=False))
    x = np.random.default_rng(1).uniform(0, 255, (2, 3, 227, 227)).astype(np.float32)
    x -= np.array(MEAN_BGR, np.float32)[:, None, None]  # a Caffe input blob: BGR minus the mean
    return {"v1": (v1, weights), "current": (current, small)}, x


@pytest.fixture(scope="module")
def models(nets):
    """Each file of ``nets`` read once: {"v1": model, "current": model}."""
    return {layout: from_caffe(path) for layout, (path, _) in nets[0].items()}


def relative_error(got, want) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def torch_forward(weights, x) -> np.ndarray:
    """The same network in PyTorch: Caffe's LRN is torch's (alpha/size) with k=1."""
    torch = pytest.importorskip("torch")
    nn, functional = torch.nn, torch.nn.functional
    t = {n: [torch.from_numpy(a) for a in arrays] for n, arrays in weights.items()}
    norm, pool = nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2)
    with torch.no_grad():
        h = torch.from_numpy(x)
        for name, (stride, pad, groups) in CONVS.items():
            h = torch.relu(functional.conv2d(h, *t[name], stride, pad, groups=groups))
            h = norm(h) if name in ("conv1", "conv2") else h
            h = pool(h) if name in ("conv1", "conv2", "conv5") else h
        h = h.flatten(1)
        for name in ("fc6", "fc7"):
            h = torch.relu(functional.linear(h, *t[name]))
        return functional.linear(h, *t["fc8"]).numpy()


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("layout", ["v1", "current"])
def test_loads_both_layouts_and_matches_torch(nets, models, layout):
    files, x = nets
    weights, model = files[layout][1], models[layout]
    assert not model.training and model.config["lrn_k"] == 1.0
    assert model["norm1"].k == 1.0 and model["conv2"].groups == 2
    for name, (w, b) in weights.items():
        assert np.array_equal(model.params[f"{name}.weight"], w)
        assert np.array_equal(model.params[f"{name}.bias"], b)
    got = model.forward(x)
    assert got.shape == (2, len(weights["fc8"][1])) and got.dtype == np.float32
    error = relative_error(got, torch_forward(weights, x))
    print(f"{layout}: relative error against torch {error:.2e}")
    assert error <= 1e-4


@pytest.mark.slow
def test_info_names_imagenet_classes_for_1000_rows_only(models):
    v1, current = models["v1"], models["current"]
    assert v1.info["class_names"][0] == "tench, Tinca tinca" and len(v1.info["class_names"]) == 1000
    assert v1.info["input_size"] == 227
    assert v1.info["preprocess"] == {
        "channels": "BGR", "scale": 1.0, "mean": [104.00698793, 116.66876762, 122.67891434],
        "std": [1.0, 1.0, 1.0], "resize": 256, "crop": 227,
    }  # fmt: skip
    assert current.info["class_names"] == [] and current.config["num_classes"] == 10
    assert current.config == {
        "builder": "alexnet",
        "num_classes": 10,
        **ARGUMENTS,
        "seed": 0,
        "dtype": "float32",
        "width": 1.0,
        "pool_size": 3,  # bvlc_alexnet's overlapping 3x3 pools
    }


@pytest.mark.slow
def test_numpy_conv1_and_fc8_without_torch(nets, models):
    """Independent partial forwards: conv1+relu1 by sliding windows, fc8 from fc7's output."""
    files, x = nets
    weights, model = files["current"][1], models["current"]
    (w1, b1), (w8, b8) = weights["conv1"], weights["fc8"]
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (11, 11), axis=(2, 3))
    windows = windows[:, :, ::4, ::4]  # float64: not the float32 GEMM tinynet runs
    want = np.maximum(
        np.einsum("nchwij,ocij->nohw", windows, w1, optimize=True) + b1[:, None, None], 0
    )
    got = model["conv1"].forward(x)  # relu1 runs inside conv1 (fused)
    conv_error = relative_error(got, want)
    h = x
    for name, layer in model:
        if name == "fc8":
            break
        h = layer.forward(h)
    fc_error = relative_error(model["fc8"].forward(h), h.astype(np.float64) @ w8.T + b8)
    print(f"conv1 {conv_error:.2e}, fc8 {fc_error:.2e}")
    assert conv_error <= 1e-5 and fc_error <= 1e-5


# ------------------------------------------------------------------------------- bad input
def small_layers(**changes):
    """AlexNet's layer names with tiny blobs (conv1 full size), ``changes`` replacing some."""
    layers = {n: [(np.ones(2, np.float32), (2,)), (np.ones(2, np.float32), (2,))] for n in SHAPES}
    layers["conv1"] = [(np.zeros(SHAPES["conv1"], np.float32), SHAPES["conv1"])] + [
        (np.zeros(96, np.float32), (96,))
    ]
    layers["fc8"] = [
        (np.zeros((10, 4096), np.float32), (10, 4096)),
        (np.ones(10, np.float32), (10,)),
    ]
    return list({**layers, **changes}.items())


def refused(tmp_path, data: bytes, match: str) -> str:
    path = tmp_path / "model.caffemodel"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match) as info:
        from_caffe(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.mark.parametrize(
    "data, match",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not a Caffe .caffemodel"),
        (b'name: "AlexNet"\nlayer {\n  name: "conv1"\n}\n', "a .prototxt\\?"),
    ],
)
def test_refuses_what_is_not_a_protobuf(tmp_path, data, match):
    refused(tmp_path, data, match)


def test_refuses_a_v1_shape_that_does_not_fit(tmp_path):
    weight = np.ones((96, 3, 5, 5), np.float32)
    layers = small_layers(conv1=[(weight, weight.shape), (np.ones(96, np.float32), (96,))])
    match = r"conv1.weight has shape \(96, 3, 5, 5\), .* needs \(96, 3, 11, 11\)"
    refused(tmp_path, net_bytes(layers, v1=True), match)


@pytest.mark.parametrize("v1", [True, False])
def test_refuses_a_truncated_file(tmp_path, v1):
    data = net_bytes(small_layers(), v1)
    refused(tmp_path, data[: len(data) // 2], "not a Caffe .caffemodel, or truncated")


def test_names_the_layers_of_another_network(tmp_path):
    vgg = [(f"conv{i}_{j}", [(np.ones(2, np.float32), (2,))]) for i in (1, 2) for j in (1, 2)]
    message = refused(tmp_path, net_bytes(vgg, v1=False), "is this VGG\\?")
    assert "no conv1, conv2, conv3, conv4, conv5, fc6, fc7, fc8" in message
    assert "found: data, relu1, norm1, conv1_1, conv1_2" in message
    refused(tmp_path, b"", "found: no layers")


@pytest.mark.parametrize("v1", [True, False])
def test_refuses_data_that_disagrees_with_its_shape(tmp_path, v1):
    layers = small_layers(conv3=[(np.ones(10, np.float32), (384, 256, 3, 3))] * 2)
    refused(tmp_path, net_bytes(layers, v1), r"conv3.weight holds 10 values but its shape")


@pytest.mark.parametrize(
    "changes, match",
    [
        (
            {"conv2": [(np.ones((256, 96, 5, 5), np.float32), (256, 96, 5, 5))] * 2},
            r"conv2.weight has shape \(256, 96, 5, 5\), .* needs \(256, 48, 5, 5\)",
        ),
        ({"conv1": [(np.ones(96, np.float32), (96,))]}, "layer conv1 has 1 blob.*has 2"),
        ({"fc8": [(np.ones(5, np.float32), (5,))] * 2}, r"fc8.weight has shape \(5,\)"),
    ],
)
def test_refuses_shapes_that_do_not_fit_alexnet(tmp_path, changes, match):
    refused(tmp_path, net_bytes(small_layers(**changes), v1=False), match)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_refuses_non_finite_values(tmp_path, bad):
    weight = np.zeros(SHAPES["conv1"], np.float32)
    weight[5, 1, 2, 3] = bad
    layers = small_layers(conv1=[(weight, weight.shape), (np.zeros(96, np.float32), (96,))])
    refused(tmp_path, net_bytes(layers, v1=False), r"conv1.weight has 1 non-finite value")


def test_without_protobuf_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.protobuf", None)
    caffe_schema.messages.cache_clear()
    try:
        with pytest.raises(ImportError, match="pip install protobuf") as info:
            from_caffe(tmp_path / "missing.caffemodel")
        assert "\n" not in str(info.value)
    finally:
        caffe_schema.messages.cache_clear()


def test_refuses_double_data_beyond_float32s_range(tmp_path):
    blob = caffe_schema.messages()["BlobProto"]()
    blob.double_data[:] = [0.5, 1e300]  # finite as a double, infinite as float32
    layers = small_layers(fc7=[(blob, (2,)), (np.ones(2, np.float32), (2,))])
    message = refused(tmp_path, net_bytes(layers, v1=False), r"fc7\.weight has 1 value\(s\)")
    assert message.endswith("too large for float32 (stored as double_data; float32 ends at 3.4e38)")


def test_double_data_within_float32s_range_is_read(tmp_path):
    blob = caffe_schema.messages()["BlobProto"]()
    blob.double_data[:] = [0.5] * 96
    weight = np.zeros(SHAPES["conv1"], np.float32)
    layers = small_layers(conv1=[(weight, weight.shape), (blob, (96,))])
    message = refused(tmp_path, net_bytes(layers, v1=False), "conv2.weight has")
    assert "shape (2,)" in message  # conv1.bias was read: the first blob to fail is conv2's


@pytest.mark.parametrize(
    "shape, match",
    [
        ((2**32, 2**32, 1), rf"holds 0 values but its shape .* needs {2**64}; the file"),
        ((2**62, 4), rf"holds 0 values but its shape .* needs {2**64}; the file"),
        ((2**62, 2**62, 2**62), rf"holds 0 values but its shape .* needs {2**186}; the file"),
        ((1,) * 40, "has 40 axes, more than Caffe's 32"),
    ],
)
def test_refuses_dims_whose_product_overflows_int64(tmp_path, shape, match):
    values = np.ones(1 if len(shape) == 40 else 0, np.float32)
    layers = small_layers(conv3=[(values, shape), (np.ones(2, np.float32), (2,))])
    refused(tmp_path, net_bytes(layers, v1=False), r"model\.caffemodel: conv3\.weight " + match)


def unblock_after(path, seconds):
    """Open the FIFO ``path`` for writing after ``seconds`` (if it is read by then): a reader
    blocked on it then gets end-of-file, so a regression fails instead of hanging."""
    import threading

    def open_and_close():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # nobody reads it: nothing to unblock
            pass

    timer = threading.Timer(seconds, open_and_close)
    timer.daemon = True
    timer.start()
    return timer


def test_refuses_a_fifo_a_directory_or_a_device_unread(tmp_path):
    cases = [(tmp_path, "a directory")]
    if os.path.exists("/dev/null"):
        cases.append(("/dev/null", "a character device"))
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.caffemodel")
        cases.insert(0, (tmp_path / "fifo.caffemodel", "a FIFO"))
    for path, what in cases:
        timer = unblock_after(path, 5) if what == "a FIFO" else None
        with pytest.raises(ValueError) as info:
            from_caffe(path)
        if timer:
            timer.cancel()
        assert str(info.value) == f"{path} is not a regular file ({what})"


def test_a_missing_file_is_a_one_line_value_error(tmp_path):
    path = tmp_path / "missing.caffemodel"
    with pytest.raises(ValueError, match=f"^{path}: no such file$"):
        from_caffe(path)
