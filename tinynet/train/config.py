"""A training run's configuration: every setting with its default, said once.

``RunConfig`` is what ``Trainer.for_model`` builds its optimizer and schedule from, what a
checkpoint records (``Trainer.save``; ``--resume`` continues with it), and what the command
line's run options, their checks and their help are made from (``tinynet.cli.args``). Python and
the command line share these defaults; the one difference is ``--demo``, whose smaller run
changes the few settings in ``DEMO``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial

from ..models.alexnet import INITS, MIN_INPUT_SIZE
from ..optim import SCHEDULES
from ..validate import choice, fraction, integer, non_negative, positive

#: The networks of the paper's era: its two-tower net with LRN, and the single tower.
ARCHS = {"alexnet": dict(groups=2, no_lrn=False), "alexnet-plain": dict(groups=1, no_lrn=True)}
#: What ``--demo`` changes: a small network on small images, for minutes on a laptop.
DEMO = dict(epochs=10, batch_size=32, image_size=67, width=0.25)

_count, _positive_int = partial(integer, minimum=0), partial(integer, minimum=1)


def _image_size(who: str, value) -> int:
    size = _positive_int(who, value)
    if size < MIN_INPUT_SIZE:
        raise ValueError(f"{who} {size} is too small for AlexNet; the minimum is {MIN_INPUT_SIZE}")
    return size


def _one_of(options):
    return lambda who, value: choice(who, value, tuple(options))


def _text(who: str, value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{who} must be a string, got {value!r}")
    return value


def _optional(check):
    return lambda who, value: None if value is None else check(who, value)


def _setting(default, check, group: str, flags: tuple, help: str, **cli):
    """A field, and how the command line shows it: ``flags``, ``help`` (the default is added
    by the command line), its ``group``; ``check(who, value)`` validates a value (both ways in)."""
    meta = dict(check=check, group=group, flags=flags, help=help, cli=cli)
    return field(default=default, metadata=meta)


# fmt: off
@dataclass(frozen=True)
class RunConfig:
    """The settings of a training run (AlexNet with the paper's SGD), each checked on creation.

    ``groups``/``no_lrn`` None take ``arch``'s. ``dataclasses.replace(config, lr=0.1)`` makes a
    changed copy; ``asdict()``/``from_dict()`` round-trip through a checkpoint's JSON.
    """

    arch: str = _setting("alexnet", _one_of(ARCHS), "model", ("-a", "--arch"),
        "alexnet: the paper's two-tower net with LRN; alexnet-plain: single tower, no LRN",
        choices=tuple(ARCHS))
    image_size: int = _setting(227, _image_size, "model", ("--image-size",),
        f"network input side (minimum {MIN_INPUT_SIZE}); images are resized to 256/227 of it, "
        "then cropped")
    width: float = _setting(1.0, positive, "model", ("--width",),
        "scale every channel count and the fc width")
    groups: int | None = _setting(None, _optional(_one_of((1, 2))), "model", ("--groups",),
        "conv2/4/5 in 2 towers or 1 (default: from --arch)", choices=(1, 2))
    no_lrn: bool | None = _setting(None, _optional(_one_of((True, False))), "model",
        ("--no-lrn",), "leave out local response normalisation (default: from --arch)",
        action="store_const", const=True)
    init: str = _setting("he", _one_of(INITS), "model", ("--init",),
        "he: He-normal; caffe: bvlc_alexnet's; paper: N(0, 0.01) with biases 1, which can sit "
        "at chance level for epochs", choices=INITS)
    epochs: int = _setting(90, _positive_int, "training", ("--epochs",), "total epochs")
    start_epoch: int = _setting(0, _count, "training", ("--start-epoch",),
        "a new run counts its epochs from this one (the schedule too); a resumed run starts at "
        "its checkpoint's")
    batch_size: int = _setting(128, _positive_int, "training", ("-b", "--batch-size"),
        "mini-batch size; under mpirun -n N the global batch")
    lr: float = _setting(0.01, non_negative, "training", ("--lr", "--learning-rate"),
        "base learning rate (the schedule's epoch 0, after warm-up)")
    momentum: float = _setting(0.9, fraction, "training", ("--momentum",), "SGD momentum")
    weight_decay: float = _setting(5e-4, non_negative, "training", ("--wd", "--weight-decay"),
        "L2 weight decay on weights, not biases")
    schedule: str | None = _setting("plateau", _optional(_one_of(SCHEDULES)), "training",
        ("--schedule",), "plateau: lr / 10 when val top-1 error stops improving (the paper's); "
        "step: lr / 10 every --step-size epochs; cosine: down to 0 along half a cosine over "
        "--epochs", choices=tuple(SCHEDULES))
    patience: int = _setting(2, _count, "training", ("--patience",),
        "epochs without improvement before the plateau schedule divides lr")
    step_size: int = _setting(30, _positive_int, "training", ("--step-size",),
        "epochs between lr divisions for --schedule step")
    warmup: int = _setting(0, _count, "training", ("--warmup",),
        "epochs of linear warm-up to --lr before the schedule (for large batches)")
    seed: int = _setting(0, _count, "training", ("--seed",),
        "seed of the weights, data order, augmentation and dropout")
    freeze: int = _setting(0, _count, "weights", ("--freeze",),
        "when fine-tuning: keep the first N layers with parameters fixed", metavar="N")
    weights: str | None = None  # the file the run started from (--weights), recorded

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check = f.metadata.get("check")
            if check is not None:
                value = check(f"RunConfig: {f.name}", getattr(self, f.name))
                object.__setattr__(self, f.name, value)
        _optional(_text)("RunConfig: weights", self.weights)  # no flag of its own: no metadata
        for key, value in ARCHS[self.arch].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        if self.schedule == "cosine" and self.warmup >= self.epochs:
            raise ValueError(f"RunConfig: warmup ({self.warmup}) must be shorter than epochs "
                             f"({self.epochs}) with the cosine schedule")
# fmt: on

    @classmethod
    def demo(cls, **settings) -> RunConfig:
        """The ``--demo`` run's configuration, with ``settings`` changed."""
        return cls(**{**DEMO, **settings})

    @classmethod
    def from_dict(cls, saved: dict) -> RunConfig:
        """The configuration ``asdict()`` wrote; a ValueError for unknown or missing keys, and
        one naming the field for a wrong value (each field's own check, as on creation)."""
        if not isinstance(saved, dict):
            raise ValueError(f"RunConfig: expected a dict, got {type(saved).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown, missing = sorted(set(saved) - set(names)), sorted(set(names) - set(saved))
        if unknown or missing:
            raise ValueError(f"RunConfig: missing {missing}, unknown {unknown}")
        return cls(**saved)

    def asdict(self) -> dict:
        return dataclasses.asdict(self)

    def model_arguments(self) -> dict:
        """The arguments of ``tinynet.models.alexnet`` this run's model takes (all but
        ``num_classes``)."""
        return dict(input_size=self.image_size, width=self.width, groups=self.groups,
                    lrn=not self.no_lrn, init=self.init, seed=self.seed)  # fmt: skip
