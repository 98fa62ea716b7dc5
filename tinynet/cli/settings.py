"""A run's settings: the defaults, what the user typed, and what a resumed checkpoint says.

A new run takes the defaults (the demo's for ``--demo``) and the flags given. A checkpoint keeps
every setting of its run (``trainer.extra["run"]``), so ``--resume`` continues the same run
without repeating them; a flag given with ``--resume`` is, per setting:

- refused, when it would make another run: the model's shape and init (``MODEL``), the seed
  (it sets every epoch's data order and augmentation), the schedule's kind, the batch size in
  the middle of an epoch (the position in the epoch is counted in batches), ``--start-epoch``;
- applied and said on screen otherwise: ``--epochs``, ``--lr``, ``--momentum``, ``--wd``,
  ``--patience``, ``--step-size``, and ``-b`` at an epoch boundary.
"""

from __future__ import annotations

from ..optim import StepLR
from .args import ARCHS, DEFAULTS, DEMO_DEFAULTS, UsageError

MODEL = ("arch", "image_size", "width", "groups", "no_lrn", "init")
REFUSED = {
    "seed": "it sets the data order and augmentation of every epoch",
    "schedule": "the schedule's state belongs to its kind",
    "start_epoch": "a resumed run starts at its checkpoint's epoch",
}
FLAGS = {"batch_size": "-b", "wd": "--wd", "arch": "-a"}


def flag(key: str) -> str:
    return FLAGS.get(key, "--" + key.replace("_", "-"))


def new_run(args) -> dict:
    """The settings of a new run: defaults, the demo's, ``--arch``'s, then the flags given."""
    settings = {**DEFAULTS, **(DEMO_DEFAULTS if args.demo else {})}
    settings.update({k: getattr(args, k) for k in args.explicit})
    for key, value in ARCHS[settings["arch"]].items():
        settings.setdefault(key, value)
    return settings


def resumed_run(args, trainer) -> tuple[dict, list[str]]:
    """The settings of a resumed run, with the flags that changed one applied to ``trainer``;
    returns them and a line for each change. UsageError for a change a run cannot take."""
    saved = trainer.extra.get("run") or _recorded_before(args, trainer)
    settings, notes = dict(saved), []
    for key in sorted(args.explicit):
        value, before = getattr(args, key), saved.get(key)
        if value == before:
            continue
        _refuse_change(key, value, before, trainer)
        settings[key] = value
        _apply(trainer, key, value)
        notes.append(f"{flag(key)} {value} (the checkpoint's run had {before})")
    return settings, notes


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


def _recorded_before(args, trainer) -> dict:
    """Settings of a checkpoint written before runs recorded them: its model, then flags."""
    config = trainer.model.config
    settings = new_run(args)
    settings.update(
        image_size=config["input_size"], width=config["width"], groups=config["groups"],
        no_lrn=not config["lrn"], init=config["init"], seed=trainer.extra.get("seed", 0),
        batch_size=trainer.extra.get("batch_size", settings["batch_size"]),
    )  # fmt: skip
    settings["arch"] = next(
        (name for name, arch in ARCHS.items() if arch == {k: settings[k] for k in arch}),
        settings["arch"],
    )
    return settings


def _apply(trainer, key: str, value) -> None:
    """Give a resumed trainer a changed hyperparameter (the others are the checkpoint's)."""
    opt, sched = trainer.optimizer, trainer.schedule
    if key in ("momentum", "wd"):
        setattr(opt, "weight_decay" if key == "wd" else key, value)
    elif key == "lr" or (key == "step_size" and isinstance(sched, StepLR)):
        if isinstance(sched, StepLR):  # lr = base_lr * gamma ** (epoch // step_size)
            if key == "step_size":
                sched.load_state_dict({**sched.state_dict(), "step_size": value})
            else:
                sched.base_lr = value / sched.gamma ** (trainer.epoch // sched.step_size)
            value = sched.lr_at(trainer.epoch)
        opt.lr = value
    elif key == "patience" and sched is not None and hasattr(sched, "patience"):
        sched.load_state_dict({**sched.state_dict(), "patience": value})


def start_at(trainer, epoch: int) -> None:
    """A new run that counts its epochs from ``epoch`` (``--start-epoch``)."""
    trainer.epoch = epoch
    if isinstance(trainer.schedule, StepLR):
        trainer.schedule.last_epoch = epoch
        trainer.optimizer.lr = trainer.schedule.lr_at(epoch)
