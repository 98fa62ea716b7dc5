"""What the meta of a training checkpoint (``Trainer.save``) must hold, field by field.

``check_meta`` reads nothing but the meta's JSON, so a tampered or foreign file is refused in one
line naming the file and the field (``runs/x/checkpoint.npz: meta field 'epoch' must be a
non-negative integer, got 'abc'``) before any array is read or any model is built.
"""

from __future__ import annotations

import math
import numbers

from ..models.info import check_model_info
from ..optim import SCHEDULES
from .checkpoint import CheckpointError
from .config import RunConfig
from .metrics import Meter

#: Fields every training checkpoint has; the others may be missing (their defaults).
REQUIRED = ("epoch", "step", "model_config", "schedule_kind", "best_acc1")
#: Entries the command line keeps in ``extra``: lists of strings.
EXTRA_LISTS = ("classes", "class_names")
#: Fields of a ``history`` record that the callbacks read (``Curves``, ``MetricsCSV``).
RECORD_FIELDS = ("epoch", "train_loss", "train_top1")


def check_meta(path, meta: dict) -> dict:
    """``meta`` with every field checked (CheckpointError naming ``path`` and the first bad
    field); returns a copy with the defaults of missing optional fields filled in."""
    for key in REQUIRED:
        if key not in meta:
            raise CheckpointError(f"{path}: not a training checkpoint (no {key!r} in meta)")
    fail = _failer(path)
    out = dict(meta)
    for key in ("epoch", "step"):
        out[key] = _count(fail, key, meta[key])
    out["epoch_step"] = _count(fail, "epoch_step", meta.get("epoch_step", 0))
    if out["epoch_step"] > out["step"]:
        fail("epoch_step", f"must be at most 'step' ({out['step']})", out["epoch_step"])
    for key in ("best_acc1", "best_acc5"):
        out[key] = _share(fail, key, meta.get(key, 0.0))
    kind = meta["schedule_kind"]
    if kind is not None and (not isinstance(kind, str) or kind not in SCHEDULES):
        fail("schedule_kind", f"must be one of {sorted(SCHEDULES)} or null", kind)
    config = meta["model_config"]
    if not isinstance(config, dict):
        fail("model_config", "must be a JSON object", config)
    out["run"] = _run(path, meta.get("run"))
    out["epoch_meter"] = _meter(fail, meta.get("epoch_meter"))
    try:
        info = check_model_info(f"{path}: meta field 'model_info'", meta.get("model_info"), config)
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    out["model_info"] = info
    out["frozen"] = _strings(fail, "frozen", meta.get("frozen") or [])
    out["history"] = _history(fail, meta.get("history", []))
    out["extra"] = _extra(fail, meta.get("extra", {}))
    callbacks = meta.get("callbacks", {})
    if not isinstance(callbacks, dict) or not all(isinstance(s, dict) for s in callbacks.values()):
        fail("callbacks", "must map callback class names to JSON objects", callbacks)
    out["callbacks"] = dict(callbacks)
    return out


def _failer(path):
    def fail(field: str, what: str, value):
        text = repr(value)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise CheckpointError(f"{path}: meta field {field!r} {what}, got {text}")

    return fail


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _count(fail, field: str, value) -> int:
    if not _is_int(value) or value < 0:
        fail(field, "must be a non-negative integer", value)
    return int(value)


def _share(fail, field: str, value) -> float:
    if not _is_real(value) or not 0 <= value <= 1:
        fail(field, "must be a number from 0 to 1", value)
    return float(value)


def _strings(fail, field: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(field, "must be a list of strings", value)
    return list(value)


def _run(path, run):
    """The saved ``RunConfig`` as a dict (None: the trainer was not made by ``for_model``)."""
    if run is None:
        return None
    try:
        RunConfig.from_dict(run)
    except ValueError as err:
        message = str(err).removeprefix("RunConfig: ")
        raise CheckpointError(f"{path}: meta field 'run': {message}") from None
    return run


def _meter(fail, sums):
    """The running sums of an unfinished epoch (``Meter.state_dict()``), or None."""
    if sums is None:
        return None
    if not isinstance(sums, dict) or set(sums) - set(Meter.FIELDS):
        fail("epoch_meter", f"must be a JSON object with keys from {list(Meter.FIELDS)}", sums)
    for key, value in sums.items():
        counted = key in ("images", "top1", "top5")
        if not (_is_int(value) if counted else _is_real(value)) or not 0 <= value < math.inf:
            kind = "a non-negative integer" if counted else "a finite number >= 0"
            fail(f"epoch_meter.{key}", f"must be {kind}", value)
    images = sums.get("images", 0)
    if not sums.get("top1", 0) <= sums.get("top5", 0) <= images:
        fail("epoch_meter", "must count top1 <= top5 <= images", sums)
    return dict(sums)


def _history(fail, history) -> list[dict]:
    """The records of the finished epochs (``Trainer.finish_epoch``)."""
    if not isinstance(history, list):
        fail("history", "must be a list of epoch records", history)
    for i, record in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(record, dict):
            fail(where, "must be a JSON object (an epoch record)", record)
        for key in RECORD_FIELDS:
            if not _is_real(record.get(key)):
                fail(f"{where}.{key}", "must be a number", record.get(key))
        for key, value in record.items():
            if value is not None and not isinstance(value, (bool, numbers.Real)):
                fail(f"{where}.{key}", "must be a number, true/false or null", value)
    return list(history)


def _extra(fail, extra) -> dict:
    """The application's own entries; the command line's lists of class names checked."""
    if not isinstance(extra, dict):
        fail("extra", "must be a JSON object", extra)
    for key in EXTRA_LISTS:
        if extra.get(key) is not None:
            _strings(fail, f"extra.{key}", extra[key])
    return dict(extra)
