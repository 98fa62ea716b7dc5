"""Pickle-free, atomically written training checkpoints.

A checkpoint is ONE uncompressed ``.npz`` file (``np.savez``) that loads with
``np.load(path, allow_pickle=False)``. Its entries::

    format          0-d str array  "tinynet-checkpoint"
    version         0-d int array  1
    meta.json       0-d str array  JSON object: epoch, step, best_acc1, model config, RNG states, ...
    model/<name>    the model's arrays (state dict), e.g. model/conv1.weight
    optim/<key>     array-valued optimizer state entries, e.g. optim/lr, optim/velocity.fc8.bias
    optim.json      0-d str array  JSON object with the optimizer's non-array entries
    sched/<key>     array-valued schedule state entries (usually none)
    sched.json      0-d str array  JSON object with the schedule's non-array entries

Non-array values (Python ``float``/``int``/``bool``/``None``/``str`` and lists/dicts of them) go
through JSON, which round-trips them exactly (floats are written with ``repr``; ``inf``/``nan`` as
``Infinity``/``NaN``, which Python's json reads back). Arrays -- including 0-d arrays and numpy
scalars such as ``np.float32(0.5)``, which come back as 0-d arrays -- are stored with their exact
dtype and bits. In JSON, tuples come back as lists and dict keys as strings; numpy scalars/arrays
nested inside JSON values are converted to Python numbers/lists.

A NumPy Generator's state is JSON-able: save ``rng.bit_generator.state`` in ``meta`` and restore
it with ``rng.bit_generator.state = ckpt.meta[...]``.

Writes are atomic: the file is written to a temporary file in the same directory, flushed and
fsync'ed, then ``os.replace``d onto the target, so a crash or error mid-save leaves any previous
checkpoint at that path intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = [
    "CheckpointError",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "check_state_matches",
    "FORMAT",
    "VERSION",
]

FORMAT = "tinynet-checkpoint"
VERSION = 1

_SECTIONS = (("model_state", "model"), ("optimizer_state", "optim"), ("schedule_state", "sched"))


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, not a tinynet checkpoint, or does not match."""


@dataclass
class Checkpoint:
    """The contents of a checkpoint file (all arrays are in memory; the file is closed)."""

    model_state: dict[str, np.ndarray]
    optimizer_state: dict[str, Any]
    schedule_state: dict[str, Any]
    meta: dict[str, Any]
    path: Path | None = field(default=None, compare=False)
    version: int = VERSION


# ---------------------------------------------------------------------------------------- save
def _json_default(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("object arrays are not JSON serialisable")
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")


def _to_json(obj, what: str) -> str:
    try:
        return json.dumps(obj, default=_json_default, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serialisable: {exc}") from exc


def _check_key(key, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"{what} keys must be non-empty strings, got {key!r}")
    return key


def _as_storable_array(value, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.hasobject:
        raise ValueError(
            f"{name} has dtype object, which cannot be saved without pickle; "
            "store numeric/str arrays or JSON-able scalars"
        )
    return arr


def _section_entries(state, section: str, prefix: str, *, arrays_only: bool):
    """Split a state dict into ({'prefix/key': array}, {key: json scalar})."""
    if state is None:
        state = {}
    if not isinstance(state, Mapping):
        raise ValueError(f"{section} must be a dict, got {type(state).__name__}")
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for key, value in state.items():
        _check_key(key, section)
        if arrays_only or isinstance(value, (np.ndarray, np.generic)):
            arrays[f"{prefix}/{key}"] = _as_storable_array(value, f"{section}[{key!r}]")
        else:
            scalars[key] = value
    return arrays, scalars


def _fsync_dir(directory: Path) -> None:
    """Best effort: make the rename durable (not possible on every platform/filesystem)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(
    path,
    *,
    model_state: Mapping[str, np.ndarray],
    optimizer_state: Mapping[str, Any] | None,
    schedule_state: Mapping[str, Any] | None,
    meta: Mapping[str, Any],
) -> Path:
    """Atomically write a checkpoint to ``path`` (written as given; no ``.npz`` is appended).

    ``model_state`` values must be arrays (anything ``np.asarray`` turns into a non-object
    array). ``optimizer_state``/``schedule_state`` values may be arrays/numpy scalars (stored as
    arrays) or JSON-able Python values (stored in ``optim.json``/``sched.json``). ``meta`` must be
    a JSON-able dict. Everything is validated and serialised before the file is touched; on any
    error the temporary file is removed and a previous checkpoint at ``path`` is left as it was.
    Parent directories are created. Returns ``Path(path)``.
    """
    path = Path(path)
    if not isinstance(meta, Mapping):
        raise ValueError(f"meta must be a dict, got {type(meta).__name__}")

    entries: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION, dtype=np.int64),
        "meta.json": np.array(_to_json(dict(meta), "meta")),
    }
    for (section, prefix), state in zip(_SECTIONS, (model_state, optimizer_state, schedule_state)):
        arrays, scalars = _section_entries(state, section, prefix, arrays_only=(prefix == "model"))
        entries.update(arrays)
        if prefix != "model":
            entries[f"{prefix}.json"] = np.array(_to_json(scalars, section))

    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **entries)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; checkpoints are ordinary files
        except OSError:
            pass
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    return path


# ---------------------------------------------------------------------------------------- load
def _read_json(value, key: str, path: Path) -> dict:
    try:
        text = str(np.asarray(value).item())
        obj = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: entry {key!r} is not valid JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: entry {key!r} must hold a JSON object, got {type(obj).__name__}")
    return obj


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (no pickle is ever loaded).

    Raises :class:`CheckpointError` (a ``ValueError``) naming the file if it does not exist, is
    not an ``.npz`` archive, is not a tinynet checkpoint (no ``format`` marker), was written by a
    newer version, or is corrupted. All arrays are read into memory and the file is closed.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a regular file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is not a tinynet checkpoint: not an .npz (zip) archive, or it is truncated"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):  # pragma: no cover - is_zipfile said zip
                raise CheckpointError(f"{path} is not an .npz archive")
            files = list(npz.files)
            if "format" not in files:
                raise CheckpointError(
                    f"{path} is not a tinynet checkpoint: it is an .npz without the 'format' marker "
                    f"(entries: {sorted(files)[:10]})"
                )
            fmt = npz["format"]
            if not isinstance(fmt, np.ndarray) or fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != FORMAT:
                raise CheckpointError(
                    f"{path} is not a tinynet checkpoint: its 'format' entry is {fmt!r}, "
                    f"expected {FORMAT!r}"
                )
            if "version" not in files:
                raise CheckpointError(f"{path}: tinynet checkpoint without a 'version' entry")
            version_arr = npz["version"]
            if (
                not isinstance(version_arr, np.ndarray)
                or version_arr.shape != ()
                or version_arr.dtype.kind not in "iu"
            ):
                raise CheckpointError(f"{path}: invalid checkpoint version entry {version_arr!r}")
            version = int(version_arr)
            if version > VERSION:
                raise CheckpointError(
                    f"{path} is checkpoint format version {version}, written by a newer tinynet; "
                    f"this tinynet reads versions up to {VERSION}"
                )
            if version < 1:
                raise CheckpointError(f"{path}: invalid checkpoint version {version}")
            data = {key: npz[key] for key in files}  # reads every array into memory
    except CheckpointError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise CheckpointError(f"{path} is corrupted or unreadable: {type(exc).__name__}: {exc}") from exc

    if "meta.json" not in data:
        raise CheckpointError(f"{path}: tinynet checkpoint without 'meta.json'")
    meta = _read_json(data["meta.json"], "meta.json", path)

    states: dict[str, dict] = {}
    for section, prefix in _SECTIONS:
        state: dict[str, Any] = {}
        start = prefix + "/"
        for key, value in data.items():
            if key.startswith(start):
                state[key[len(start):]] = value
        if prefix != "model":
            json_key = prefix + ".json"
            if json_key not in data:
                raise CheckpointError(f"{path}: tinynet checkpoint without {json_key!r}")
            scalars = _read_json(data[json_key], json_key, path)
            clash = sorted(set(scalars) & set(state))
            if clash:
                raise CheckpointError(
                    f"{path}: {section} keys {clash} are stored both as arrays and in {json_key}"
                )
            state.update(scalars)
        states[section] = state

    return Checkpoint(
        model_state=states["model_state"],
        optimizer_state=states["optimizer_state"],
        schedule_state=states["schedule_state"],
        meta=meta,
        path=path,
        version=version,
    )


# ---------------------------------------------------------------------------------------- check
def _shape_of(value) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(int(d) for d in shape)
    if isinstance(value, (tuple, list)) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in value
    ):
        return tuple(int(d) for d in value)
    return tuple(np.shape(value))


def check_state_matches(expected: Mapping[str, Any], state: Mapping[str, Any], what: str = "model") -> None:
    """Raise :class:`CheckpointError` unless ``state`` has exactly the keys and shapes of ``expected``.

    ``expected`` maps names to arrays (their ``.shape`` is used) or to shape tuples. The error
    lists every missing key, every unexpected key, and every misshaped entry as
    ``name: expected (a, b) vs found (c, d)``.
    """
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = []
    for key, ref in expected.items():
        if key in state:
            want, got = _shape_of(ref), _shape_of(state[key])
            if want != got:
                misshaped.append(f"{key}: expected {want} vs found {got}")
    if not (missing or unexpected or misshaped):
        return

    def listing(items, limit=20):
        shown = ", ".join(str(i) for i in items[:limit])
        return shown + (f", ... and {len(items) - limit} more" if len(items) > limit else "")

    parts = []
    if missing:
        parts.append(f"missing keys ({len(missing)}): {listing(missing)}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {listing(unexpected)}")
    if misshaped:
        parts.append(f"shape mismatches ({len(misshaped)}): {listing(misshaped)}")
    raise CheckpointError(f"{what} state does not match: " + "; ".join(parts))
