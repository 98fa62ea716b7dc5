"""from_torchvision: torchvision's AlexNet state_dict -> tinynet, against torch and NumPy."""

import os
import sys
from collections import OrderedDict

import numpy as np
import pytest

from tinynet.interop.torchvision import TORCHVISION_NAMES, OtherArchitecture, from_torchvision
from tinynet.reference.conv import conv2d

from ..helpers.adaptive_pool import reference as adaptive_avg_pool
from ..helpers.torchvision_files import examples_checkpoint, random_state, shapes

# (key prefix, stride, padding) of each convolution, with a 3/2 max-pool after those marked
CONVS = [("features.0", 4, 2, True), ("features.3", 1, 2, True), ("features.6", 1, 1, False)]
CONVS += [("features.8", 1, 1, False), ("features.10", 1, 1, True)]


def rel_error(ours, theirs):
    """max abs difference / max abs value, as float64."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def zeros_state(num_classes=1000):
    return {key: np.zeros(shape, np.float32) for key, shape in shapes(num_classes).items()}


def numpy_forward(state, x):
    """torchvision's AlexNet in eval mode, in float64 NumPy with a loop convolution."""
    s = {k: v.astype(np.float64) for k, v in state.items()}
    for prefix, stride, pad, pool in CONVS:
        w, b = s[f"{prefix}.weight"], s[f"{prefix}.bias"]
        x = np.maximum(conv2d(x, w, b, (stride, stride), (pad, pad), 1), 0)
        if pool:
            windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))
            x = windows[:, :, ::2, ::2].max(axis=(4, 5))
    x = adaptive_avg_pool(x, (6, 6)).reshape(len(x), -1)
    for i in (1, 4, 6):
        x = x @ s[f"classifier.{i}.weight"].T + s[f"classifier.{i}.bias"]
        x = np.maximum(x, 0) if i != 6 else x
    return x


@pytest.mark.slow
def test_dict_of_arrays_matches_a_numpy_forward():
    state = random_state(10)
    model = from_torchvision(state)
    assert not model.training and model.info["class_names"] == []
    x = np.random.default_rng(1).standard_normal((2, 3, 67, 67)).astype(np.float32)
    logits = model.forward(x)
    assert logits.shape == (2, 10) and logits.dtype == np.float32
    assert rel_error(logits, numpy_forward(state, x.astype(np.float64))) <= 1e-4


def torch_alexnet(torch, num_classes=1000):
    """torchvision's AlexNet layout (same module indices, so the same state_dict keys)."""
    nn = torch.nn
    features = nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
    )  # fmt: skip
    classifier = nn.Sequential(
        nn.Dropout(0.5), nn.Linear(9216, 4096), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes),
    )  # fmt: skip
    parts = [("features", features), ("avgpool", nn.AdaptiveAvgPool2d((6, 6)))]
    parts += [("flatten", nn.Flatten()), ("classifier", classifier)]
    return nn.Sequential(OrderedDict(parts)).eval()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(torch model, path of its saved state_dict, tinynet model read from it)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch_alexnet(torch)
    path = tmp_path_factory.mktemp("tv") / "alexnet.pth"
    torch.save(net.state_dict(), path)
    return net, path, from_torchvision(path)


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("hw", [(224, 224), (256, 200)])
def test_saved_file_matches_torch(saved, hw):
    import torch

    net, _, model = saved
    x = np.random.default_rng(2).standard_normal((2, 3, *hw)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    logits = model.forward(x)
    assert logits.shape == (2, 1000)
    assert rel_error(logits, expected) <= 1e-4


@pytest.mark.slow
@pytest.mark.torch
def test_info_and_mode(saved):
    model = saved[2]
    assert not model.training and model.config["builder"] == "alexnet_torchvision"
    info = model.info
    assert info["input_size"] == 224 and info["preprocess"]["crop"] == 224
    assert info["preprocess"]["mean"] == [0.485, 0.456, 0.406]
    names = info["class_names"]
    assert len(names) == 1000 and names[0] == "tench, Tinca tinca"
    assert names[281] == "tabby, tabby cat"


@pytest.mark.slow
@pytest.mark.torch
def test_tensors_in_a_dict_and_num_classes(saved):
    net, path, _ = saved
    state = net.state_dict()
    model = from_torchvision(state, num_classes=1000)
    np.testing.assert_array_equal(model["fc8"].params["bias"], state["classifier.6.bias"].numpy())
    with pytest.raises(ValueError, match=r"classifier\.6\.weight: expected \(10, 4096\)"):
        from_torchvision(path, num_classes=10)


def one_line_error(match, source, **kwargs):
    with pytest.raises(ValueError, match=match) as err:
        from_torchvision(source, **kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_missing_and_unexpected_keys():
    state = zeros_state()
    del state["features.3.bias"]
    state["features.1.weight"] = np.zeros(3, np.float32)
    message = one_line_error("missing keys", state)
    assert "missing keys (1): features.3.bias" in message
    assert "unexpected keys (1): features.1.weight" in message


def test_wrong_shape_names_key_and_both_shapes():
    state = zeros_state()
    state["features.3.weight"] = np.zeros((192, 64, 3, 3), np.float32)
    one_line_error(r"features\.3\.weight: expected \(192, 64, 5, 5\) vs found \(192, 64, 3, 3\)",
                   state)  # fmt: skip


def test_nan_weight():
    state = zeros_state(10)
    state["classifier.4.weight"][3, 5] = np.nan
    one_line_error(r"classifier\.4\.weight holds NaN", state)


def test_not_a_dict():
    one_line_error("expected a state_dict", [np.zeros(3)])


@pytest.mark.slow
@pytest.mark.torch
def test_files_torch_refuses_or_that_are_not_state_dicts(saved, tmp_path):
    import torch

    whole = tmp_path / "whole_model.pth"
    torch.save(saved[0], whole)  # a pickled module, not a state_dict: weights_only refuses it
    one_line_error(f"'{whole}': not a plain state_dict of tensors", whole)
    listed = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], listed)
    one_line_error(f"'{listed}': expected a state_dict", str(listed))
    state = {k: v.clone() for k, v in saved[0].state_dict().items()}
    state["features.0.bias"][0] = float("inf")
    bad = tmp_path / "inf.pth"
    torch.save(state, bad)
    one_line_error(f"'{bad}': features.0.bias holds NaN or infinite", bad)


def test_a_path_without_torch_says_pip_install_torch(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    with pytest.raises(ImportError, match="pip install torch") as err:
        from_torchvision(tmp_path / "alexnet.pth")
    assert "\n" not in str(err.value)


def test_a_pytorch_examples_checkpoint_of_arrays_gives_its_weights():
    state = {k: np.full(shape, i, np.float32) for i, (k, shape) in enumerate(shapes(10).items())}
    wrapped = {k.replace("features.", "features.module.", 1): v for k, v in state.items()}
    checkpoint = {"epoch": 90, "arch": "alexnet", "state_dict": wrapped, "best_acc1": 56.5}
    checkpoint["optimizer"] = {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}
    model = from_torchvision(checkpoint)
    assert model.config["num_classes"] == 10 and not model.training
    for tv, ours in TORCHVISION_NAMES.items():
        for kind in ("weight", "bias"):
            assert np.array_equal(model.params[f"{ours}.{kind}"], state[f"{tv}.{kind}"]), tv


@pytest.mark.slow
@pytest.mark.torch
def test_pytorch_examples_checkpoints_give_the_state_dicts_model(tmp_path):
    torch = pytest.importorskip("torch")
    state = random_state(10, seed=3)
    expected = from_torchvision(state)
    x = np.random.default_rng(4).standard_normal((1, 3, 67, 67)).astype(np.float32)
    logits = expected.forward(x)
    path = tmp_path / "checkpoint.pth.tar"  # features.module.0.weight, as for AlexNet
    torch.save(examples_checkpoint(torch, state, wrapped="features"), path)
    wrapped = examples_checkpoint(torch, state, wrapped="model")  # module.features.0.weight
    assert "module.classifier.6.bias" in wrapped["state_dict"]
    for name, source in [("file", path), ("in memory", wrapped)]:
        model = from_torchvision(source)
        assert model.info == expected.info and not model.training, name
        different = [
            k for k, v in expected.params.items() if not np.array_equal(v, model.params[k])
        ]
        assert different == [], name
        np.testing.assert_array_equal(model.forward(x), logits, err_msg=name)


def test_a_pytorch_examples_checkpoint_of_another_arch_is_one_line():
    checkpoint = {"epoch": 12, "arch": "resnet18", "state_dict": {"module.fc.weight": np.zeros(3)}}
    checkpoint["optimizer"] = {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}
    message = one_line_error("a pytorch/examples checkpoint of resnet18", checkpoint)
    assert message == (
        "from_torchvision: a pytorch/examples checkpoint of resnet18 (epoch 12); "
        "tinynet imports AlexNet only"
    )
    with pytest.raises(OtherArchitecture) as err:
        from_torchvision({**checkpoint, "epoch": np.int64(3)})
    assert (err.value.arch, err.value.epoch) == ("resnet18", 3)
    del checkpoint["epoch"]
    one_line_error(r"checkpoint of resnet18; tinynet imports AlexNet only$", checkpoint)


def test_module_prefixes_that_collide_are_kept_and_reported():
    state = zeros_state()
    state["module.features.0.bias"] = state["features.0.bias"]
    one_line_error(r"unexpected keys \(1\): module\.features\.0\.bias", state)


@pytest.mark.torch
def test_a_tar_archive_is_refused_unread(tmp_path):
    pytest.importorskip("torch")
    import tarfile

    path = tmp_path / "images.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(__file__, arcname="x.py")
    one_line_error(f"'{path}': a tar archive, not a file written by torch.save", path)


# ------------------------------------------------------------------- files that must be refused
def expanded(torch, dtype=None, num_classes=10, fill=0.0):
    """torchvision's keys and shapes, each tensor one value expanded (a file of a few KB)."""
    dtype = dtype or torch.float32
    return {k: torch.full((1,), fill).to(dtype).expand(s) for k, s in shapes(num_classes).items()}


@pytest.mark.torch
def test_every_real_dtype_torch_writes_is_read_as_float32(tmp_path):
    torch = pytest.importorskip("torch")
    dtypes = [torch.bfloat16, torch.float16, torch.float64, torch.int16, torch.uint8]
    dtypes += [torch.float8_e4m3fn, torch.int64, torch.float32]
    state = expanded(torch)
    keys = list(state)
    for i, dtype in enumerate(dtypes):  # key i holds the value i, stored as dtypes[i]
        state[keys[i]] = torch.full((1,), float(i)).to(dtype).expand(state[keys[i]].shape)
    path = tmp_path / "mixed.pth"
    torch.save(state, path)
    model = from_torchvision(path)
    for i, key in enumerate(keys[: len(dtypes)]):
        layer, kind = key.rsplit(".", 1)
        ours = model.params[f"{TORCHVISION_NAMES[layer]}.{kind}"]
        assert ours.dtype == np.float32 and np.all(ours == i), (key, dtypes[i])


#: kind -> (a features.0.bias of that kind, from torch; what the message says of it)
KINDS = {
    "meta": (lambda t: t.zeros(64, device="meta"), "is a meta tensor"),
    "sparse": (lambda t: t.zeros(64).to_sparse(), r"is a sparse tensor \(torch\.sparse_coo"),
    "qint8": (
        lambda t: t.quantize_per_tensor(t.zeros(64), 0.1, 0, t.qint8),
        r"is a quantized tensor \(torch\.qint8",
    ),
    "bool": (lambda t: t.zeros(64, dtype=t.bool), "must hold numbers, got dtype torch.bool"),
    "complex": (lambda t: t.zeros(64, dtype=t.complex64), "must hold numbers, got dtype torch.c"),
}


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated:UserWarning")
@pytest.mark.parametrize("kind", list(KINDS))
def test_tensors_without_dense_numbers_name_the_file_and_key(tmp_path, kind):
    torch = pytest.importorskip("torch")
    make, match = KINDS[kind]
    path = tmp_path / f"{kind}.pth"
    torch.save({**expanded(torch), "features.0.bias": make(torch)}, path)
    one_line_error(f"^from_torchvision: '{path}': features\\.0\\.bias {match}", path)


@pytest.mark.torch
def test_float64_beyond_float32s_range_names_the_file_and_key(tmp_path):
    torch = pytest.importorskip("torch")
    state = expanded(torch, torch.float64)
    state["features.3.bias"] = torch.zeros(192, dtype=torch.float64)
    state["features.3.bias"][7] = 1e300  # finite as float64, infinite as float32
    path = tmp_path / "float64.pth"
    torch.save(state, path)
    message = one_line_error(f"^from_torchvision: '{path}': features.3.bias holds 1 value", path)
    assert "too large for float32 (stored as torch.float64" in message
    for dtype in (torch.float64, torch.bfloat16):  # stored infinite: said so
        state["features.3.bias"] = torch.zeros(192, dtype=dtype)
        state["features.3.bias"][7] = float("inf")
        torch.save(state, path)
        one_line_error(r"features\.3\.bias holds NaN or infinite values \(1 of 192\)", path)


def test_float64_arrays_beyond_float32s_range_are_refused():
    state = zeros_state(10)
    state["classifier.1.bias"] = np.full(4096, 1e300)
    one_line_error(r"classifier\.1\.bias holds 4096 value\(s\) too large for float32", state)


def bomb(torch, path, mib):
    """A real torch.save file whose storage is replaced by ``mib`` MiB of deflated zeros."""
    small = path.with_name("small.pth")
    torch.save({"features.0.bias": torch.zeros(64)}, small)
    import zipfile

    with zipfile.ZipFile(small) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            if not info.filename.endswith("/data/0"):
                dst.writestr(info, src.read(info))
                continue
            member = zipfile.ZipInfo(info.filename)
            member.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(member, "w", force_zip64=True) as out:
                chunk = bytes(1 << 20)
                for _ in range(mib):
                    out.write(chunk)
    return path


@pytest.mark.torch
def test_a_zip_bomb_is_refused_from_the_zip_directory(tmp_path, monkeypatch):
    import tracemalloc

    torch = pytest.importorskip("torch")
    path = bomb(torch, tmp_path / "bomb.pth", 320)  # 320 MiB > fc6.weight as float64 + 16 MiB
    assert path.stat().st_size < 1 << 20
    loads = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or {})
    tracemalloc.start()
    try:
        message = one_line_error(f"^from_torchvision: '{path}': small/data/0 would be", path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "335,544,320 bytes uncompressed" in message and "refused unread" in message
    assert loads == [] and peak < 4 << 20, peak  # torch.load never called, nothing inflated


@pytest.mark.torch
def test_a_big_legacy_file_is_refused_by_its_size(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    path = tmp_path / "legacy.pth"
    with open(path, "wb") as f:  # a sparse file: a pickle's first bytes, then 2 GiB of holes
        f.write(b"\x80\x02\x8a\x0a")
        f.truncate(2 << 30)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    one_line_error(f"'{path}': 2,147,483,648 bytes, more than torchvision's AlexNet can", path)


@pytest.mark.torch
def test_an_empty_file_says_it_is_empty(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "empty.pth"
    path.write_bytes(b"")
    message = one_line_error(f"'{path}': the file is empty", path)
    assert message.endswith("the file is empty (0 bytes), not a PyTorch file")


@pytest.mark.torch
def test_a_caffemodel_renamed_pth_is_named_without_torchs_advice(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("google.protobuf")
    from ..helpers.caffe_files import net_bytes

    layers = [("conv1", [(np.ones(2, np.float32), (2,))])]
    path = tmp_path / "bvlc_alexnet.pth"
    path.write_bytes(net_bytes(layers, v1=True))
    message = one_line_error(f"'{path}': not a PyTorch file", path)
    assert message.endswith("(it is a Caffe .caffemodel, a protobuf: read it with from_caffe)")
    assert "weights_only" not in message and "succeed" not in message


@pytest.mark.torch
@pytest.mark.parametrize(
    "data, match",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "not a PyTorch file"),
        (b"PK\x03\x04" + bytes(64), "a damaged or truncated zip archive"),
        (b"\x80\x02\xff\xff", r"not a plain .* refused it: Unsupported operand 255\); tinynet"),
    ],
)
def test_files_that_are_not_torch_save_files(tmp_path, data, match):
    pytest.importorskip("torch")
    path = tmp_path / "other.pth"
    path.write_bytes(data)
    one_line_error(f"'{path}': {match}", path)


@pytest.mark.torch
def test_a_damaged_zip_gives_torchs_reason_without_its_advice(tmp_path):
    import zipfile

    torch = pytest.importorskip("torch")
    small, path = tmp_path / "small.pth", tmp_path / "bzip2.pth"
    torch.save({"features.0.bias": torch.zeros(64)}, small)
    with zipfile.ZipFile(small) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():  # the storage compressed as torch's reader cannot read
            data = src.read(info)
            info.compress_type = zipfile.ZIP_BZIP2 if "/data/" in info.filename else 0
            dst.writestr(info, data)
    message = one_line_error(f"'{path}': not a readable PyTorch file", path)
    assert message.endswith("(PytorchStreamReader failed retrieving file meta-data for "
                            "data/0: unsupported method)")  # fmt: skip


@pytest.mark.torch
def test_torchs_refusal_is_one_line_without_its_colours_or_advice(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "relu.pth"
    torch.save(torch.nn.ReLU(), path)  # torch's message has \x1b[1m...\x1b[0m and newlines
    message = one_line_error("not a plain state_dict of tensors", path)
    assert "Unsupported global: GLOBAL torch.nn.modules.activation.ReLU" in message
    assert "\x1b" not in message and "\t" not in message
    assert "weights_only=False" not in message and "succeed" not in message


def special_files(tmp_path):
    """(name, path, what) of what is not a regular file: a directory, a FIFO, a device."""
    found = [("directory", tmp_path, "a directory")]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.pth")
        found.append(("fifo", tmp_path / "fifo.pth", "a FIFO"))
    if os.path.exists("/dev/null"):
        found.append(("device", "/dev/null", "a character device"))
    return found


@pytest.mark.torch
def test_a_directory_fifo_or_device_is_not_a_regular_file(tmp_path):
    pytest.importorskip("torch")
    for _, path, what in special_files(tmp_path):
        message = one_line_error(f"^from_torchvision: '{path}' is not a regular file", path)
        assert message.endswith(f"({what})")
    one_line_error(f"'{tmp_path / 'missing.pth'}': no such file", tmp_path / "missing.pth")
