"""Command-line arguments of ``examples/alexnet.py``, named as in pytorch/examples' ImageNet."""

from __future__ import annotations

import argparse
import os

from .. import validate
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


_positive_int = _checked(validate.integer, int, 1)
_count = _checked(validate.integer, int, 0)
_non_negative_float = _checked(validate.non_negative)
_fraction = _checked(validate.fraction)


DEMO_DEFAULTS = dict(
    epochs=10, batch_size=32, lr=0.01, image_size=67, width=0.25, init="he", wd=5e-4
)
REAL_DEFAULTS = dict(
    epochs=90, batch_size=128, lr=0.01, image_size=227, width=1.0, init="paper", wd=5e-4
)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="alexnet.py",
        description="Train, evaluate or use AlexNet on an ImageNet-style folder with tinynet "
        "(NumPy + Numba, CPU). DIR must hold train/<class>/* and val/<class>/*.",
        epilog="Examples:  alexnet.py --demo  |  alexnet.py --data ./imagenet  |  "
        "alexnet.py --data ./imagenet --resume runs/alexnet/checkpoint.npz  |  "
        "alexnet.py --data ./imagenet -e --resume runs/alexnet/best.npz  |  "
        "alexnet.py --predict cat.jpg --resume runs/alexnet/best.npz",
    )
    src = p.add_argument_group("data")
    src.add_argument("--data", metavar="DIR", help="dataset root holding train/ and val/")
    src.add_argument(
        "--demo",
        action="store_true",
        help="generate a small shapes dataset in OUTPUT/demo-data and train a small "
        "AlexNet on it (defaults: --epochs 10 -b 32 --image-size 67 --width "
        "0.25 --init he); needs no data",
    )
    src.add_argument(
        "-j",
        "--workers",
        type=_count,
        default=None,
        metavar="N",
        help=f"data-loading worker processes (default: number of cores, "
        f"{os.cpu_count()}, divided among the MPI processes on this machine; "
        f"0 decodes in the main process)",
    )
    tr = p.add_argument_group("training")
    tr.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="total epochs to train (default 90; demo 10)",
    )
    tr.add_argument(
        "-b",
        "--batch-size",
        type=_positive_int,
        default=None,
        help="mini-batch size (default 128; demo 32); under mpirun -n N the global "
        "batch, B/N per process",
    )
    tr.add_argument(
        "--lr",
        "--learning-rate",
        type=_non_negative_float,
        default=None,
        help="initial learning rate (default 0.01)",
    )
    tr.add_argument("--momentum", type=_fraction, default=0.9, help="SGD momentum (default 0.9)")
    tr.add_argument(
        "--wd",
        "--weight-decay",
        type=_non_negative_float,
        default=None,
        dest="wd",
        help="L2 weight decay on weights, not biases (default 5e-4)",
    )
    tr.add_argument(
        "--schedule",
        choices=("plateau", "step"),
        default="plateau",
        help="plateau: divide lr by 10 when val top-1 error stops improving "
        "(the paper's, default); step: divide by 10 every --step-size epochs",
    )
    tr.add_argument(
        "--patience",
        type=_count,
        default=2,
        help="epochs without improvement before the plateau schedule divides lr (default 2)",
    )
    tr.add_argument(
        "--step-size",
        type=_positive_int,
        default=30,
        help="epochs between lr divisions for --schedule step (default 30)",
    )
    tr.add_argument(
        "--seed",
        type=_count,
        default=0,
        help="seed of the weights, data order, augmentation and dropout (default 0)",
    )
    mdl = p.add_argument_group("model")
    mdl.add_argument(
        "--image-size",
        type=int,
        default=None,
        help=f"network input side (default 227; minimum {MIN_INPUT_SIZE}; demo 67); "
        "images are resized to 256/227 of it, then cropped",
    )
    mdl.add_argument(
        "--width",
        type=float,
        default=None,
        help="scale every channel count and the fc width (default 1.0; demo 0.25)",
    )
    mdl.add_argument(
        "--groups",
        type=int,
        choices=(1, 2),
        default=2,
        help="2: the paper's two-tower conv2/4/5 (default); 1: single tower",
    )
    mdl.add_argument("--no-lrn", action="store_true", help="leave out local response norm")
    mdl.add_argument(
        "--init",
        choices=INITS,
        default=None,
        help="paper: N(0, 0.01), biases 1 (default; can sit at loss ln(C) for a "
        "while); caffe: bvlc_alexnet's; he: He-normal (demo default)",
    )
    run = p.add_argument_group("checkpoints and modes")
    run.add_argument(
        "--output",
        metavar="DIR",
        default="runs/alexnet",
        help="where checkpoint.npz, best.npz, metrics.csv and curves.png go (default runs/alexnet)",
    )
    run.add_argument(
        "--resume",
        metavar="PATH",
        help="continue training from a checkpoint (epoch, lr, schedule, momentum, "
        "RNG state); with -e or --predict, the model to use",
    )
    run.add_argument(
        "-e",
        "--evaluate",
        action="store_true",
        help="evaluate the --resume model on DIR/val and exit",
    )
    run.add_argument(
        "--ten-crop",
        action="store_true",
        help="evaluate with 10 crops (corners + centre, and their mirrors), averaging softmax",
    )
    run.add_argument(
        "--predict",
        nargs="+",
        metavar="IMAGE",
        help="print the top-5 classes of each image with the --resume model",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def parse_args(argv=None, num_processes: int = 1) -> argparse.Namespace:
    """Parse and check the combination of flags; fill defaults (demo or real data).

    ``num_processes``: the size of a data-parallel (MPI) run, which must divide the batch.
    """
    args = build_parser().parse_args(argv)
    if (args.evaluate or args.predict) and not args.resume:
        what = "--evaluate" if args.evaluate else "--predict"
        raise UsageError(f"{what} needs a model: add --resume PATH (e.g. runs/alexnet/best.npz)")
    if args.evaluate and args.predict:
        raise UsageError("choose one of --evaluate and --predict")
    if not args.predict and not args.demo and not args.data:
        raise UsageError("give a dataset with --data DIR (holding train/ and val/), or run --demo")
    if args.demo and args.data:
        raise UsageError("--demo makes its own dataset; leave out --data")
    defaults = DEMO_DEFAULTS if args.demo else REAL_DEFAULTS
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.image_size < MIN_INPUT_SIZE:
        raise UsageError(
            f"--image-size {args.image_size} is too small for AlexNet; the minimum "
            f"is {MIN_INPUT_SIZE}"
        )
    if not args.width > 0:
        raise UsageError(f"--width must be positive, got {args.width}")
    if num_processes > 1 and not (args.evaluate or args.predict):
        try:
            local_batch_size(args.batch_size, num_processes)
        except ValueError as err:
            raise UsageError(str(err)) from None
    if args.workers is None:
        args.workers = max(1, (os.cpu_count() or 1) // local_size())
    return args
