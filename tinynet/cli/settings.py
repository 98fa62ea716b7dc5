"""A run's configuration on the command line: the defaults, what the user typed, and what a
resumed checkpoint says.

A new run is ``RunConfig()`` (``RunConfig.demo()`` for ``--demo``) with the flags given. A
checkpoint keeps its run's configuration (``Trainer.config``), so ``--resume`` continues the same
run without repeating it; a flag given with ``--resume`` is, per setting:

- refused, when it would make another run: the model's shape and init (``MODEL``), the seed
  (it sets every epoch's data order and augmentation), the schedule's kind, ``--freeze``, the
  batch size in the middle of an epoch (the position in the epoch is counted in batches),
  ``--start-epoch``;
- applied and said on screen otherwise: ``--epochs``, ``--lr`` (the base rate: the lr becomes
  what the schedule gives with it), ``--momentum``, ``--wd``, ``--warmup``, ``--patience``,
  ``--step-size``, and ``-b`` at an epoch boundary.
"""

from __future__ import annotations

import dataclasses

from ..train import RunConfig
from ..train.config import ARCHS
from .args import UsageError, flag
from .weights import input_size

MODEL = ("arch", "image_size", "width", "groups", "no_lrn", "init")
REFUSED = {
    "seed": "it sets the data order and augmentation of every epoch",
    "schedule": "the schedule's state belongs to its kind",
    "start_epoch": "a resumed run starts at its checkpoint's epoch",
    "freeze": "the frozen layers were never trained: start a new run from --weights",
}
#: A run setting and the name its schedule or optimizer gives it, where they differ.
SCHEDULE_NAMES = {"lr": "base_lr"}


def new_run(args) -> RunConfig:
    """The configuration of a new run: the defaults (the demo's), then the flags given.

    With --weights the model is the file's (``describe_model``)."""
    given = {key: getattr(args, key) for key in args.explicit}
    if "freeze" in given and not args.weights:
        raise UsageError(
            f"--freeze {given['freeze']} keeps the first layers of --weights fixed while "
            "fine-tuning: give --weights PATH (a new run from scratch trains every layer)"
        )
    try:
        return RunConfig.demo(**given) if args.demo else RunConfig(**given)
    except ValueError as err:
        raise UsageError(str(err).removeprefix("RunConfig: ")) from None


def describe_model(config: RunConfig, model, weights: str, given=()) -> RunConfig:
    """``config`` with its model settings (``MODEL``) made those of ``model``, the model a run
    starts from ``weights``: what the checkpoint records, and what --resume compares with.

    ``given``: the model settings the user typed; one that disagrees with the weights' model,
    or that the weights do not record (the init of imported weights), is refused."""
    cfg = model.config
    shape = dict(image_size=input_size(model), width=cfg.get("width", 1.0),
                 groups=cfg.get("groups", 1))  # fmt: skip
    shape["no_lrn"] = not cfg.get("lrn", False)
    shape["init"] = cfg.get("init")
    for key in (k for k in MODEL if k in given):
        if key == "arch":  # the architecture's towers and LRN against the model's
            implied = ARCHS[config.arch]
            fits = all(implied[k] == shape[k] for k in implied)
            has = f"has groups {shape['groups']} and {'no ' * shape['no_lrn']}LRN"
        else:
            fits = getattr(config, key) == shape[key]
            has = "records no init" if shape[key] is None else f"has {flag(key)} {shape[key]}"
        if not fits:
            raise UsageError(
                f"{flag(key)} {getattr(config, key)}: the model of --weights {weights} {has}, "
                f"and the file sets the model's shape: leave out {flag(key)}"
            )
    return dataclasses.replace(config, weights=weights, **_known(shape))


def _known(shape: dict) -> dict:
    return {key: value for key, value in shape.items() if value is not None}


def resumed_run(args, trainer) -> tuple[RunConfig, list[str]]:
    """The configuration of a resumed run, with the flags that changed a setting applied to
    ``trainer``; returns it and a line for each change. UsageError for a change a run cannot
    take, or a checkpoint that records no run configuration."""
    saved = trainer.config
    if saved is None:
        raise UsageError(
            f"{args.resume} records no run configuration (it was saved from a Trainer made "
            "without Trainer.for_model): continue it from Python, or start a new run with "
            f"--weights {args.resume}"
        )
    changed, notes = {}, []
    for key in sorted(args.explicit):
        value, before = getattr(args, key), getattr(saved, key)
        if value == before:
            continue
        _refuse_change(key, value, before, trainer)
        changed[key] = value
        notes.append(f"{flag(key)} {value} (the checkpoint's run had {before})")
    try:
        config = dataclasses.replace(saved, **changed)
    except ValueError as err:
        raise UsageError(str(err).removeprefix("RunConfig: ")) from None
    for key, value in changed.items():
        _apply(trainer, key, value)
    trainer.config = config
    return config, notes


def _refuse_change(key, value, before, trainer) -> None:
    why = REFUSED.get(key)
    if key in MODEL:
        why = "it would be another model: start a new run (another --output) to train one"
    elif key == "batch_size" and trainer.epoch_step:
        why = (
            f"the checkpoint stopped {trainer.epoch_step} steps into epoch {trainer.epoch + 1}, "
            "counted in batches of the old size; resume with the same -b, then change it"
        )
    if why:
        raise UsageError(f"{flag(key)} {value}: the checkpoint's run has {before}; {why}")


def _apply(trainer, key: str, value) -> None:
    """Give a resumed trainer a changed setting: the optimizer's or the schedule's, by name
    (settings that neither has, such as ``epochs`` or ``batch_size``, are the loop's)."""
    opt, sched = trainer.optimizer, trainer.schedule
    name = SCHEDULE_NAMES.get(key, key)
    if sched is not None and name in sched.state_dict():
        sched.set(**{name: value})
    elif key in ("lr", "momentum", "weight_decay"):
        setattr(opt, key, value)
