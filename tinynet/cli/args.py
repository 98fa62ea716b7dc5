"""Command-line arguments of ``examples/alexnet.py``, named as in pytorch/examples' ImageNet.

Every setting that defines a run (``RUN_SETTINGS``) defaults to None here, so that after parsing
``explicit`` tells which ones the user typed: a resumed run takes the others from its checkpoint
(see ``tinynet.cli.settings``).
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import validate
from ..backends import BACKENDS, ENV
from ..dist import local_batch_size, local_size
from ..models.alexnet import INITS, MIN_INPUT_SIZE


class UsageError(Exception):
    """A mistake in the command line or its inputs: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _checked(check, parse=float, *limits):
    """An argparse type: ``parse`` the text, then ``check`` it with ``tinynet.validate``."""

    def convert(text):
        value = parse(text)  # a ValueError here: argparse says "invalid <name> value"
        try:
            return check("value", value, *limits)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None

    convert.__name__ = "integer" if parse is int else "number"
    return convert


POSITIVE, COUNT = _checked(validate.integer, int, 1), _checked(validate.integer, int, 0)
RATE, FRACTION = _checked(validate.non_negative), _checked(validate.fraction)
WIDTH = _checked(validate.positive)

#: The two networks of the paper's era: its two-tower net with LRN, and the single tower.
ARCHS = {"alexnet": dict(groups=2, no_lrn=False), "alexnet-plain": dict(groups=1, no_lrn=True)}
DEMO_DEFAULTS = dict(epochs=10, batch_size=32, image_size=67, width=0.25)
DEFAULTS = dict(
    arch="alexnet", epochs=90, start_epoch=0, batch_size=128, lr=0.01, momentum=0.9, wd=5e-4,
    schedule="plateau", patience=2, step_size=30, seed=0, image_size=227, width=1.0, init="he",
)  # fmt: skip
#: What defines a run: saved in its checkpoints, taken from there by --resume.
RUN_SETTINGS = (*DEFAULTS, "groups", "no_lrn")
#: pytorch/examples flags with no meaning here, and what to use instead.
NOT_HERE = {
    "--gpu": "tinynet runs on the CPU (threads: NUMBA_NUM_THREADS, OMP_NUM_THREADS)",
    "--world-size": "for several processes or machines launch with MPI: mpirun -n N python "
    "examples/alexnet.py ... (README: 'Training on several processes')",
    "--pretrained": "tinynet has no weights to download; give a tinynet checkpoint to --resume",
}
for _flag in ("--rank", "--dist-url", "--dist-backend", "--multiprocessing-distributed"):
    NOT_HERE[_flag] = NOT_HERE["--world-size"]

# The whole command line as a table: (group, flags, options). Kept as written, not formatted.
# fmt: off
OPTIONS = [
    ("data", ("data",), dict(nargs="?", metavar="DIR",
        help="dataset root holding train/<class>/* and val/<class>/*")),
    ("data", ("--data",), dict(dest="data_flag", metavar="DIR", help="the same as DIR")),
    ("data", ("--demo",), dict(action="store_true",
        help="generate a small shapes dataset (once, in the cache folder) and train a small "
             "AlexNet on it (defaults: --epochs 10 -b 32 --image-size 67 --width 0.25)")),
    ("data", ("-j", "--workers"), dict(type=COUNT, metavar="N",
        help=f"data-loading processes (default: {os.cpu_count()} cores, shared among the MPI "
             "processes of a machine; 0 decodes in the main process)")),
    ("model", ("-a", "--arch"), dict(choices=ARCHS,
        help="alexnet: the paper's two-tower net with LRN (default); alexnet-plain: single "
             "tower, no LRN")),
    ("model", ("--image-size",), dict(type=POSITIVE,
        help=f"network input side (default 227; minimum {MIN_INPUT_SIZE}; demo 67); images "
             "are resized to 256/227 of it, then cropped")),
    ("model", ("--width",), dict(type=WIDTH,
        help="scale every channel count and the fc width (default 1.0; demo 0.25)")),
    ("model", ("--groups",), dict(type=int, choices=(1, 2),
        help="conv2/4/5 in 2 towers or 1 (default: from --arch)")),
    ("model", ("--no-lrn",), dict(action="store_const", const=True,
        help="leave out local response normalisation (default: from --arch)")),
    ("model", ("--init",), dict(choices=INITS,
        help="he: He-normal (default); caffe: bvlc_alexnet's; paper: N(0, 0.01) with biases "
             "1, which can sit at chance level for epochs")),
    ("training", ("--epochs",), dict(type=POSITIVE, help="total epochs (default 90; demo 10)")),
    ("training", ("--start-epoch",), dict(type=COUNT,
        help="a new run counts its epochs from this one (the step schedule too); a resumed "
             "run starts at its checkpoint's")),
    ("training", ("-b", "--batch-size"), dict(type=POSITIVE,
        help="mini-batch size (default 128; demo 32); under mpirun -n N the global batch")),
    ("training", ("--lr", "--learning-rate"), dict(type=RATE,
        help="initial learning rate (default 0.01)")),
    ("training", ("--momentum",), dict(type=FRACTION, help="SGD momentum (default 0.9)")),
    ("training", ("--wd", "--weight-decay"), dict(type=RATE, dest="wd",
        help="L2 weight decay on weights, not biases (default 5e-4)")),
    ("training", ("--schedule",), dict(choices=("plateau", "step"),
        help="plateau: lr / 10 when val top-1 error stops improving (the paper's, default); "
             "step: lr / 10 every --step-size epochs")),
    ("training", ("--patience",), dict(type=COUNT,
        help="epochs without improvement before the plateau schedule divides lr (default 2)")),
    ("training", ("--step-size",), dict(type=POSITIVE,
        help="epochs between lr divisions for --schedule step (default 30)")),
    ("training", ("--seed",), dict(type=COUNT,
        help="seed of the weights, data order, augmentation and dropout (default 0)")),
    ("output", ("--output",), dict(metavar="DIR", default="runs/alexnet",
        help="where checkpoint.npz, best.npz, metrics.csv and curves.png go (default "
             "runs/alexnet)")),
    ("output", ("--overwrite",), dict(action="store_true",
        help="start a new run in an --output that holds one (its files are replaced)")),
    ("output", ("--resume",), dict(metavar="PATH",
        help="continue a run from its checkpoint, with its settings unless flags change them; "
             "with -e or --predict, the model to use")),
    ("output", ("-e", "--evaluate"), dict(action="store_true",
        help="evaluate the --resume model on DIR/val and exit")),
    ("output", ("--ten-crop",), dict(action="store_true",
        help="evaluate with 10 crops (corners + centre, and mirrors), averaging softmax")),
    ("output", ("--predict",), dict(nargs="+", metavar="IMAGE",
        help="print the top-5 classes of each image with the --resume model")),
    ("output", ("-p", "--print-freq"), dict(type=COUNT, default=10, metavar="N",
        help="a text line every N steps when the output is not a terminal (default 10; 0: "
             "none)")),
    ("output", ("--no-progress",), dict(action="store_true", help="no progress bars")),
    ("weights", ("--weights",), dict(metavar="PATH",
        help="start from these weights: a tinynet .npz, a torchvision AlexNet .pth/.pt "
             "state_dict or BVLC's bvlc_alexnet .caffemodel; for --predict, -e, training "
             "(fine-tuning on DIR's classes) and --export-onnx")),
    ("weights", ("--freeze",), dict(type=COUNT, default=0, metavar="N",
        help="when fine-tuning: keep the first N layers with parameters fixed (default 0)")),
    ("weights", ("--export-onnx",), dict(metavar="PATH",
        help="write the --weights or --resume model as ONNX to PATH and exit")),
    ("engine", ("--backend",), dict(choices=sorted(BACKENDS),
        help="reference: the readable NumPy code (slow); fast: Numba kernels and Winograd "
             f"(default, unless ${ENV} says reference). The same results up to rounding: not "
             "saved in checkpoints")),
]
# fmt: on


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="alexnet.py",
        description="Train, evaluate or use AlexNet on an ImageNet-style folder with tinynet "
        "(NumPy + Numba, CPU).",
        epilog="Examples:  alexnet.py --demo  |  alexnet.py ./imagenet  |  alexnet.py "
        "./imagenet --resume runs/alexnet/checkpoint.npz  |  alexnet.py ./imagenet -e --resume "
        "runs/alexnet/best.npz  |  alexnet.py --predict cat.jpg --resume runs/alexnet/best.npz",
    )
    groups = {name: p.add_argument_group(name) for name, _, _ in OPTIONS}
    for group, flags, options in OPTIONS:
        groups[group].add_argument(*flags, **options)
    return p


def parse_args(argv=None, num_processes: int = 1) -> argparse.Namespace:
    """Parse and check the combination of flags; ``args.explicit`` holds the run settings the
    user gave. Defaults (demo or real data) are filled in later, by ``settings.resolve``.

    ``num_processes``: the size of a data-parallel (MPI) run, which must divide the batch.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    for word in argv:
        flag = word.split("=")[0]
        if flag in NOT_HERE:
            raise UsageError(f"{flag} does not apply here: {NOT_HERE[flag]}")
    args = build_parser().parse_args(argv)
    _check_combination(args)
    args.explicit = {k for k in RUN_SETTINGS if getattr(args, k) is not None}
    if num_processes > 1 and args.batch_size and not (args.evaluate or args.predict):
        try:
            local_batch_size(args.batch_size, num_processes)
        except ValueError as err:
            raise UsageError(str(err)) from None
    if args.workers is None:
        args.workers = max(1, (os.cpu_count() or 1) // local_size())
    return args


def _check_combination(args) -> None:
    if args.data and args.data_flag and args.data != args.data_flag:
        raise UsageError(f"two datasets given: {args.data} and --data {args.data_flag}")
    args.data = args.data or args.data_flag
    if args.weights and args.resume:
        raise UsageError("--weights starts a run from weights, --resume continues one: choose one")
    uses = [f for f, on in (("--evaluate", args.evaluate), ("--predict", args.predict),
                            ("--export-onnx", args.export_onnx)) if on]  # fmt: skip
    if len(uses) > 1:
        raise UsageError(f"choose one of {' and '.join(uses)}")
    if uses and not (args.resume or args.weights):
        raise UsageError(
            f"{uses[0]} needs a model: add --resume PATH (e.g. runs/alexnet/best.npz) or "
            "--weights PATH"
        )
    if not args.predict and not args.export_onnx and not args.demo and not args.data:
        raise UsageError("give a dataset: alexnet.py DIR (holding train/ and val/), or --demo")
    if args.demo and args.data:
        raise UsageError("--demo makes its own dataset; leave out DIR and --data")
    if args.image_size is not None and args.image_size < MIN_INPUT_SIZE:
        raise UsageError(
            f"--image-size {args.image_size} is too small for AlexNet; the minimum is "
            f"{MIN_INPUT_SIZE}"
        )
