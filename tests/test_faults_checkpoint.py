"""Bad checkpoint contents: a one-line CheckpointError naming the file, before anything is built."""

import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from tinynet.models import alexnet
from tinynet.train import CheckpointError, Trainer, load_checkpoint, save_checkpoint, trainer


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint of a small AlexNet trainer."""
    model = alexnet(num_classes=4, input_size=67, width=0.25, init="he", seed=0)
    path = tmp_path_factory.mktemp("ck") / "good.npz"
    Trainer.for_model(model, lr=0.01, schedule="plateau").save(path)
    return path


def edited(saved, tmp_path, edit):
    """A copy of ``saved`` whose contents went through ``edit(checkpoint)``."""
    ck = load_checkpoint(saved)
    edit(ck)
    states = dict(model_state=ck.model_state, optimizer_state=ck.optimizer_state)
    path = tmp_path / "edited.npz"
    return save_checkpoint(path, **states, schedule_state=ck.schedule_state, meta=ck.meta)


def _set(section, key, value):
    def edit(ck):
        getattr(ck, section)[key] = value

    return edit


def _poke(section, key, value):
    def edit(ck):
        getattr(ck, section)[key].flat[0] = value

    return edit


# ----------------------------------------------------------------------------- non-finite values
@pytest.mark.parametrize(
    "edit, match",
    [
        (_poke("model_state", "conv1.weight", np.nan), "conv1.weight holds NaN or infinite"),
        (_poke("model_state", "fc8.bias", -np.inf), "fc8.bias holds NaN or infinite"),
        (_set("optimizer_state", "lr", np.array(np.nan)), r"learning rate \(lr\).*NaN"),
        (_set("optimizer_state", "lr", np.array(np.inf)), r"learning rate \(lr\).*finite"),
        (_set("optimizer_state", "momentum", np.array(np.nan)), "momentum.*NaN"),
        (_set("optimizer_state", "weight_decay", np.array(np.nan)), "weight_decay.*NaN"),
        (_poke("optimizer_state", "velocity.fc8.weight", np.nan), "velocity.fc8.weight holds NaN"),
    ],
)
def test_non_finite_contents_are_refused_naming_the_file(saved, tmp_path, edit, match):
    path = edited(saved, tmp_path, edit)
    with pytest.raises(CheckpointError, match=rf"^{path}: .*{match}") as info:
        Trainer.load(path)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------- a lying .npy header
def crafted(saved, tmp_path, entry, shape):
    """A copy of ``saved`` whose member ``entry`` declares ``shape`` (its data is unchanged)."""
    with zipfile.ZipFile(saved) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    npy = members[entry + ".npy"]
    end = npy.index(b"\n")  # the header is padded with spaces up to its newline
    old = f"'shape': {np.load(saved)[entry].shape}, ".encode()
    header = npy[:end].replace(old, f"'shape': {shape}, ".encode())[:end]
    assert len(header) == end and header.endswith(b" ")
    members[entry + ".npy"] = header + npy[end:]
    path = tmp_path / "crafted.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("shape", [(2**40,), (1024, 1024, 1024, 1024), (3,)])
def test_an_entry_whose_header_lies_about_its_size_is_refused_unread(saved, tmp_path, shape):
    path = crafted(saved, tmp_path, "model/fc8.bias", shape)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith(f"{path}: entry 'model/fc8.bias' is corrupted: its header declares")
    assert f"of shape {shape}" in message and "but it holds 16 bytes" in message
    assert "\n" not in message and peak < 2**20, peak  # nothing the size of the entry was read


def _zip_sizes(path, name, size):
    """Patch the central directory of the zip ``path`` so member ``name`` claims ``size`` bytes
    (stored and unpacked alike), as a crafted file would."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 20 : entry + 28] = size.to_bytes(4, "little") * 2
    path.write_bytes(bytes(data))


def test_an_entry_whose_zip_sizes_lie_too_is_refused_unread(saved, tmp_path):
    path = crafted(saved, tmp_path, "model/fc8.bias", (2**29,))  # 2 GiB of float32
    _zip_sizes(path, "model/fc8.bias.npy", 2**31 + 128)  # what header + data would take
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"'model/fc8.bias' is corrupted: its zip sizes"):
            load_checkpoint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak


# ----------------------------------------------------------------------------- the model config
@pytest.fixture
def no_building(monkeypatch):
    """Make building a model fail the test: a config must be refused before that."""

    def build(config):
        raise AssertionError(f"the model was built from {config}")

    monkeypatch.setattr(trainer, "from_config", build)


@pytest.mark.parametrize("width", [6, 1000, 0.5])
def test_a_config_that_does_not_fit_the_arrays_is_refused_unbuilt(
    saved, tmp_path, no_building, width
):
    path = edited(saved, tmp_path, lambda ck: ck.meta["model_config"].update(width=width))
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        Trainer.load(path)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert message.startswith(f"{path}: cannot rebuild its model: its model_config does not fit")
    assert "shape mismatches (15): conv1.weight: expected (" in message  # all but fc8.bias
    assert "vs found (24, 3, 11, 11)" in message and "\n" not in message


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(init="xavier"), "init must be one of .*got 'xavier'"),
        (dict(depth=50), "cannot take .*unexpected keyword argument 'depth'"),
        (dict(builder="resnet"), "unknown builder 'resnet'"),
        (dict(lrn="no"), "lrn must be True or False"),
        (dict(num_classes=-1), "num_classes must be >= 1"),
        (dict(dtype="int8"), "dtype must be a floating point type"),
    ],
)
def test_a_bad_config_is_refused_naming_the_file_and_the_key(
    saved, tmp_path, no_building, change, match
):
    path = edited(saved, tmp_path, lambda ck: ck.meta["model_config"].update(change))
    with pytest.raises(CheckpointError, match=rf"^{path}: cannot rebuild its model: .*{match}"):
        Trainer.load(path)


def test_a_good_checkpoint_still_loads(saved):
    trainer = Trainer.load(saved)
    assert trainer.model.config["width"] == 0.25 and trainer.optimizer.lr == 0.01
