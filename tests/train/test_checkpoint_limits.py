"""A checkpoint's entries are judged by their declared sizes before anything is decompressed
(issue 25 #7): a small ``.npz`` holding a deflated entry of hundreds of megabytes of zeros is
refused in one line naming the file and the entry, without allocating anything of its size."""

from __future__ import annotations

import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from tinynet.train import CheckpointError, Trainer, load_checkpoint

BIG = 300 * 2**20  # bytes of zeros in the crafted entry; deflated, about 300 KB
CHUNK = np.zeros(2**20, np.uint8).tobytes()


def _npy_header(shape, dtype) -> bytes:
    import io

    buf = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False}
    np.lib.format.write_array_header_2_0(buf, {**header, "shape": shape})
    return buf.getvalue()


def deflated(saved, tmp_path, entry=None, shape=None, dtype=np.float32, name="crafted.npz"):
    """A copy of ``saved`` with every member deflated, and ``entry`` (added or replaced) a
    ``dtype`` array of ``shape`` holding only zeros, written in chunks (never in memory)."""
    path = tmp_path / name
    with (
        zipfile.ZipFile(saved) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for info in src.infolist():
            if entry is None or info.filename != entry + ".npy":
                out.writestr(info.filename, src.read(info))
        if entry is not None:
            size = int(np.prod(shape)) * np.dtype(dtype).itemsize
            with out.open(entry + ".npy", "w", force_zip64=True) as member:
                member.write(_npy_header(shape, dtype))
                for _ in range(size // len(CHUNK)):
                    member.write(CHUNK)
                member.write(CHUNK[: size % len(CHUNK)])
    return path


def test_a_deflated_checkpoint_that_is_sound_still_loads(saved, tmp_path):
    path = deflated(saved, tmp_path)
    assert path.stat().st_size < saved.stat().st_size  # it was compressed
    trainer = Trainer.load(path)
    assert trainer.model.config["width"] == 0.25


@pytest.mark.parametrize(
    "entry, shape, dtype, match",
    [
        # a parameter of another shape: refused by its shape, the model's config says which
        ("model/conv1.weight", (BIG // 4,), np.float32,
         r"cannot rebuild its model: .*conv1.weight: expected \(24, 3, 11, 11\) vs found "
         rf"\({BIG // 4},\)"),
        # the right shape, in a dtype of huge items
        ("model/fc8.bias", (4,), f"S{BIG // 4}",
         r"entry 'model/fc8.bias' \(\|S\d+ of shape \(4,\)\) would unpack to 314,572,800 bytes, "
         r"more than its expected shape allows \(32\)"),
        # an optimizer entry bigger than its parameter
        ("optim/velocity.fc8.bias", (BIG // 4,), np.float32,
         r"entry 'optim/velocity.fc8.bias' .*would unpack to 314,572,800 bytes, more than its "
         r"expected shape allows \(32\)"),
        # entries nothing expects
        ("junk", (BIG,), np.uint8, r"entry 'junk' .*more than an unknown entry may hold"),
        ("sched/extra", (BIG // 8,), np.float64, r"entry 'sched/extra' .*unknown entry may hold"),
        ("model/drop6.rng", (BIG // 8,), np.uint64, r"entry 'model/drop6.rng' .*unknown entry"),
        # the meta itself, read first: bounded too
        ("meta.json", (), f"U{BIG // 4}", r"entry 'meta.json' would unpack to 314,572,800 bytes, "
         r"more than a checkpoint's JSON may hold"),
    ],
)  # fmt: skip
def test_a_huge_deflated_entry_is_refused_before_it_is_decompressed(
    saved, tmp_path, entry, shape, dtype, match
):
    path = deflated(saved, tmp_path, entry, shape, dtype)
    assert path.stat().st_size < BIG / 40  # a small file (the model's weights and 300 KB) ...
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(CheckpointError, match=rf"^{path}: {match}") as info:
            Trainer.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "\n" not in str(info.value)
    assert peak < 16 * 2**20, peak  # ... whose 300 MB entry was never unpacked
    assert time.perf_counter() - start < 5


def test_without_expectations_only_the_json_is_bounded(saved, tmp_path):
    """``load_checkpoint`` alone knows no model: it bounds the JSON entries, and an ``expect``
    callable gives the rest their limits (here: nothing may be big)."""
    path = deflated(saved, tmp_path, "junk", (2**20,), np.uint8)  # 1 MiB: within the default
    assert load_checkpoint(path).meta["epoch"] == 0
    seen = {}

    def expect(meta, declared):
        seen.update(meta=meta, declared=declared)
        return {}

    with pytest.raises(CheckpointError, match=r"entry 'model/fc\d.weight' .*unknown entry"):
        load_checkpoint(path, expect)
    assert seen["meta"]["epoch"] == 0
    assert seen["declared"]["model/fc8.bias"] == ((4,), np.dtype(np.float32))


def test_an_entry_that_is_not_an_npy_array_is_refused_unread(saved, tmp_path):
    path = deflated(saved, tmp_path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("notes.txt", "w", force_zip64=True) as member:
            for _ in range(BIG // len(CHUNK)):
                member.write(CHUNK)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="its entry 'notes.txt' is not an .npy array"):
            Trainer.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, peak
