"""Pickle-free, atomically written training checkpoints.

A checkpoint is ONE uncompressed ``.npz`` file (``np.savez``) that loads with
``np.load(path, allow_pickle=False)``. Its entries::

    format          0-d str array  "tinynet-checkpoint"
    version         0-d int array  3
    meta.json       0-d str array  JSON object: epoch, step, best_acc1, model config, ...
    model/<name>    the model's arrays (state dict), e.g. model/conv1.weight, model/drop6.rng
    optim/<key>     array-valued optimizer state entries, e.g. optim/lr, optim/velocity.fc8.bias
    optim.json      0-d str array  JSON object with the optimizer's non-array entries
    sched/<key>     array-valued schedule state entries (usually none)
    sched.json      0-d str array  JSON object with the schedule's non-array entries

Non-array values (Python ``float``/``int``/``bool``/``None``/``str`` and lists/dicts of them) go
through JSON, which round-trips them exactly (``inf``/``nan`` included); tuples come back as lists,
dict keys as strings, numpy values nested in them as Python numbers/lists. Arrays -- numpy scalars
such as ``np.float32(0.5)`` too, which come back as 0-d arrays -- keep their exact dtype and bits.

Loading judges every entry's size from the zip directory and its ``.npy`` header before
anything is decompressed: the JSON entries are bounded (``JSON_LIMIT``), the meta is read first,
and ``load_checkpoint(path, expect)`` lets the reader (``Trainer.load``) bound every array entry
by the shape the meta's model config gives it (anything else: ``OTHER_LIMIT``), so a small file
holding a deflated entry of gigabytes is refused in one line, unread.

A file of another format version is refused with one line (tinynet has had no release to stay
compatible with; version 3 is the first with ``RunConfig`` and the schedules' one interface).
Writes go through
``tinynet.files.atomic_write``: an error mid-save leaves a previous checkpoint intact.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write

__all__ = [
    "CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint", "FORMAT", "VERSION",
]  # fmt: skip

FORMAT = "tinynet-checkpoint"
VERSION = 3

_SECTIONS = (("model_state", "model"), ("optimizer_state", "optim"), ("schedule_state", "sched"))
_JSON_ENTRIES = ("meta.json", "optim.json", "sched.json")


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, not a tinynet checkpoint, or does not match."""


@dataclass
class Checkpoint:
    """The contents of a checkpoint file (all arrays are in memory; the file is closed).

    ``version``: the file's format version, always ``VERSION`` (files of others are refused)."""

    model_state: dict[str, np.ndarray]
    optimizer_state: dict[str, Any]
    schedule_state: dict[str, Any]
    meta: dict[str, Any]
    path: Path | None = field(default=None, compare=False)
    version: int = VERSION


# ---------------------------------------------------------------------------------------- save
def _json_default(obj):
    if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")


def _to_json(obj, what: str) -> np.ndarray:
    try:
        return np.array(json.dumps(obj, default=_json_default, allow_nan=True, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serialisable: {exc}") from exc


def _section_entries(state, section: str, prefix: str) -> dict[str, np.ndarray]:
    """``{'prefix/key': array}`` for the arrays of ``state``, plus ``prefix.json`` for the rest
    (the model section holds arrays only)."""
    state = {} if state is None else state
    if not isinstance(state, Mapping):
        raise ValueError(f"{section} must be a dict, got {type(state).__name__}")
    entries: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{section} keys must be non-empty strings, got {key!r}")
        if prefix == "model" or isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if arr.dtype.hasobject:
                raise ValueError(f"{section}[{key!r}] has dtype object: not savable without pickle")
            entries[f"{prefix}/{key}"] = arr
        else:
            scalars[key] = value
    if prefix != "model":
        entries[f"{prefix}.json"] = _to_json(scalars, section)
    return entries


def save_checkpoint(path, *, model_state, optimizer_state, schedule_state, meta) -> Path:
    """Atomically write a checkpoint to ``path`` (written as given; no ``.npz`` is appended).

    ``model_state`` maps names to arrays (anything ``np.asarray`` turns into a non-object array).
    ``optimizer_state``/``schedule_state`` (dicts or None) map names to arrays/numpy scalars
    (stored as arrays) or JSON-able Python values (stored in ``optim.json``/``sched.json``).
    ``meta`` must be a JSON-able dict. Everything is checked and serialised before the file is
    touched; on any error a previous checkpoint at ``path`` is left as it was. Parent
    directories are created. Returns ``Path(path)``.
    """
    if not isinstance(meta, Mapping):
        raise ValueError(f"meta must be a dict, got {type(meta).__name__}")
    entries = {"format": np.array(FORMAT), "version": np.array(VERSION, dtype=np.int64)}
    entries["meta.json"] = _to_json(dict(meta), "meta")
    states = (model_state, optimizer_state, schedule_state)
    for (section, prefix), state in zip(_SECTIONS, states, strict=True):
        entries.update(_section_entries(state, section, prefix))
    return atomic_write(path, lambda f: np.savez(f, **entries))


# ---------------------------------------------------------------------------------------- load
#: The most bytes a JSON entry (``meta.json``, ``optim.json``, ``sched.json``) may hold: a
#: training run's meta is kilobytes (a history of 90 epochs, 1000 class names twice).
JSON_LIMIT = 16 * 2**20
#: With ``expect``: the most bytes an array entry it does not name may hold (``format``,
#: ``version``, a random layer's generator state, an optimizer's scalars).
OTHER_LIMIT = 2**20


def load_checkpoint(path, expect=None) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` without pickle.

    Raises :class:`CheckpointError` (a ``ValueError``) naming the file if it is missing, not a
    tinynet checkpoint, written in another format version, or corrupted (an entry whose sizes do not
    add up is named, and refused before it is read). Returns it all in memory.

    Nothing is decompressed before its size is judged from the zip directory and the ``.npy``
    headers: the JSON entries may hold at most ``JSON_LIMIT`` bytes, and ``meta.json`` is read
    first. ``expect(meta, declared)``, if given, is then called with the meta and the
    ``{entry: (shape, dtype)}`` every array entry declares, before any array is read; it may
    raise a ValueError (refused, with the file's name in front) and returns ``{entry: most
    bytes}`` for the entries it knows; any other array entry may hold at most
    ``OTHER_LIMIT`` bytes."""
    path = Path(path)
    version, data = _read_archive(path, expect)
    meta = _read_json(data, "meta.json", path)
    states = {section: _read_section(data, section, prefix, path) for section, prefix in _SECTIONS}
    return Checkpoint(**states, meta=meta, path=path, version=version)


def _read_archive(path: Path, expect=None) -> tuple[int, dict[str, np.ndarray]]:
    """The file's format version and all its entries, read into memory once their sizes are
    judged (``load_checkpoint``)."""
    if not path.is_file():
        problem = "is not a regular file" if path.exists() else "does not exist"
        raise CheckpointError(f"checkpoint {path} {problem}")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is not a tinynet checkpoint: not an .npz (zip) archive, or it is truncated"
        )
    errors = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, MemoryError)
    try:
        declared = _check_sizes(path)
        with np.load(path, allow_pickle=False) as npz:
            version = _check_header(path, npz)
            if expect is not None:
                meta = _read_json({"meta.json": npz["meta.json"]}, "meta.json", path)
                try:
                    limits = expect(meta, _without_sizes(declared))
                except CheckpointError:
                    raise
                except ValueError as err:
                    raise CheckpointError(f"{path}: {err}") from None
                _check_expected(path, declared, limits)
            return version, {key: npz[key] for key in npz.files}
    except CheckpointError:
        raise
    except errors as exc:
        raise CheckpointError(f"{path} is corrupted or unreadable: {exc!r}") from exc


def _check_sizes(path: Path) -> dict[str, tuple]:
    """Each ``.npy`` entry must hold as many bytes as its header declares (dtype and shape), and
    a stored entry no more than the file, so a corrupted or crafted header declaring terabytes
    is refused before anything is allocated (a CheckpointError naming the file and the entry);
    a JSON entry may hold at most ``JSON_LIMIT`` bytes. Returns ``{entry: (shape, dtype, bytes
    held)}``, read from the zip directory and the headers alone."""
    declared = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):  # np.load would read it whole, as bytes
                raise CheckpointError(
                    f"{path} is not a tinynet checkpoint: its entry {info.filename!r} is not an "
                    ".npy array"
                )
            entry = info.filename[: -len(".npy")]
            problem, found = _size_problem(archive, info, path.stat().st_size)
            if problem:
                raise CheckpointError(f"{path}: entry {entry!r} is corrupted: {problem}")
            limit, what = _HEADER_LIMITS.get(entry, (0, ""))
            if what and found[2] > limit:
                raise CheckpointError(
                    f"{path}: entry {entry!r} would unpack to {found[2]:,} bytes, more than "
                    f"{what} may hold ({limit:,}); refused unread"
                )
            declared[entry] = found
    return declared


#: The entries read before ``expect`` judges the rest: the most bytes each may hold.
_HEADER_LIMITS = {
    **{name: (JSON_LIMIT, "a checkpoint's JSON") for name in _JSON_ENTRIES},
    "format": (OTHER_LIMIT, "a format marker"),
    "version": (OTHER_LIMIT, "a version number"),
}


def _without_sizes(declared: dict) -> dict[str, tuple]:
    return {entry: (shape, dtype) for entry, (shape, dtype, _) in declared.items()}


def _check_expected(path: Path, declared: dict, limits) -> None:
    """Every array entry within what ``expect`` allows it (``OTHER_LIMIT`` if not named)."""
    if not isinstance(limits, Mapping):
        raise TypeError(f"load_checkpoint: expect must return a dict, got {type(limits).__name__}")
    for entry, (shape, dtype, held) in declared.items():
        if entry in _JSON_ENTRIES:
            continue
        limit = limits.get(entry, OTHER_LIMIT)
        if held > limit:
            what = "its expected shape allows" if entry in limits else "an unknown entry may hold"
            raise CheckpointError(
                f"{path}: entry {entry!r} ({dtype} of shape {shape}) would unpack to {held:,} "
                f"bytes, more than {what} ({limit:,}); refused unread"
            )


def _size_problem(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_size: int):
    """What is wrong with the sizes of the ``.npy`` member ``info`` (or ``""``), and its
    (shape, dtype, bytes held)."""
    stored = info.compress_type == zipfile.ZIP_STORED
    if info.compress_size > file_size or (stored and info.compress_size != info.file_size):
        problem = f"its zip sizes ({info.compress_size:,} / {info.file_size:,} bytes) do not fit"
        return problem, None
    with archive.open(info) as member:
        try:
            shape, dtype = _npy_header(member)
        except ValueError as exc:
            return str(exc), None
        held = info.file_size - member.tell()
    found = (shape, dtype, held)
    declared = math.prod(shape) * dtype.itemsize
    if dtype.hasobject or declared == held:  # object arrays: np.load refuses them
        return "", found
    return (
        f"its header declares a {dtype} array of shape {shape} ({declared:,} bytes) "
        f"but it holds {held:,} bytes"
    ), found


def _npy_header(member) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the header of an ``.npy`` stream (format 1.0 or 2.0)."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f".npy format version {version} is not supported")
    return shape, dtype


def _check_header(path: Path, npz) -> int:
    """The version of a tinynet checkpoint this tinynet can read, or a CheckpointError."""
    fmt = npz["format"] if "format" in npz.files else None
    if fmt is None or fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != FORMAT:
        found = f"entries {sorted(npz.files)[:10]}" if fmt is None else f"'format' entry {fmt!r}"
        raise CheckpointError(
            f"{path} is not a tinynet checkpoint: expected a 'format' marker {FORMAT!r}, "
            f"found {found}"
        )
    version = npz["version"] if "version" in npz.files else None
    if version is None or version.shape != () or version.dtype.kind not in "iu" or version < 1:
        raise CheckpointError(f"{path}: missing or invalid checkpoint version entry {version!r}")
    if int(version) != VERSION:
        age = "newer" if int(version) > VERSION else "older"
        raise CheckpointError(
            f"{path} is checkpoint format version {int(version)}, written by an {age} tinynet; "
            f"this tinynet reads version {VERSION}"
        )
    return int(version)


def _read_json(data: dict, key: str, path: Path) -> dict:
    if key not in data:
        raise CheckpointError(f"{path}: tinynet checkpoint without {key!r}")
    try:
        obj = json.loads(str(data[key].item()))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: entry {key!r} is not valid JSON ({exc})") from exc
    if not isinstance(obj, dict):
        kind = type(obj).__name__
        raise CheckpointError(f"{path}: entry {key!r} must hold a JSON object, got {kind}")
    return obj


def _read_section(data: dict, section: str, prefix: str, path: Path) -> dict[str, Any]:
    """The ``prefix/*`` arrays, merged with the ``prefix.json`` values (except for the model)."""
    start = prefix + "/"
    state: dict[str, Any] = {k[len(start) :]: v for k, v in data.items() if k.startswith(start)}
    if prefix == "model":
        return state
    scalars = _read_json(data, prefix + ".json", path)
    clash = sorted(set(scalars) & set(state))
    if clash:
        raise CheckpointError(
            f"{path}: {section} keys {clash} are stored both as arrays and in {prefix}.json"
        )
    return {**state, **scalars}
