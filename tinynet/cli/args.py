"""Command-line arguments of ``examples/alexnet.py``, named as in pytorch/examples' ImageNet.

The options of the settings that define a run (``RUN_SETTINGS``) are made from
``tinynet.train.RunConfig``'s fields: flags, checks and help with the defaults. They parse to
None when not given, so that ``explicit`` tells which ones the user typed: a resumed run takes
the others from its checkpoint (see ``tinynet.cli.settings``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from .. import validate
from ..backends import BACKENDS, ENV
from ..dist import BUCKET_BYTES, local_batch_size, local_size
from ..perf.threads import cores_per_process
from ..train.config import DEMO, RunConfig


class UsageError(Exception):
    """A mistake in the command line or its inputs: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _checked(check, parse=float, *limits):
    """An argparse type: ``parse`` the text, then ``check`` it (``tinynet.validate``)."""

    def convert(text):
        value = parse(text)  # a ValueError here: argparse says "invalid <name> value"
        try:
            return check("value", value, *limits)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None

    convert.__name__ = "integer" if parse is int else "number"
    return convert


COUNT, POSITIVE = _checked(validate.integer, int, 0), _checked(validate.integer, int, 1)
#: pytorch/examples' --dummy: as many training images as ILSVRC2012's.
DUMMY_IMAGES = 1_281_167


def flag(name: str) -> str:
    """The first command-line flag of a ``RunConfig`` field."""
    return next(f.metadata["flags"][0] for f in dataclasses.fields(RunConfig) if f.name == name)


#: The run settings (``RunConfig``'s fields but the recorded --weights): saved in checkpoints,
#: taken from there by --resume.
RUN_SETTINGS = tuple(f.name for f in dataclasses.fields(RunConfig) if f.metadata)
#: pytorch/examples flags with no meaning here, and what to use instead.
NOT_HERE = {
    "--gpu": "tinynet runs on the CPU (threads: NUMBA_NUM_THREADS, OMP_NUM_THREADS)",
    "--world-size": "for several processes or machines launch with MPI: mpirun -n N python "
    "examples/alexnet.py ... (README: 'Training on several processes')",
    "--pretrained": "tinynet downloads nothing; give a weights file to --weights (a "
    "torchvision AlexNet .pth, BVLC's .caffemodel or a tinynet .npz; README: 'Pretrained "
    "AlexNets')",
}
for _flag in ("--rank", "--dist-url", "--dist-backend", "--multiprocessing-distributed"):
    NOT_HERE[_flag] = NOT_HERE["--world-size"]

GROUPS = ("data", "model", "training", "output", "weights", "engine")
_DEMO_FLAGS = " ".join(f"{flag(name)} {value}" for name, value in DEMO.items())

# The command line but the run settings (``run_options``) as a table: (group, flags, options).
# Kept as written, not formatted.
# fmt: off
OPTIONS = [
    ("data", ("data",), dict(nargs="?", metavar="DIR",
        help="dataset root holding train/<class>/* and val/<class>/*")),
    ("data", ("--data",), dict(dest="data_flag", metavar="DIR", help="the same as DIR")),
    ("data", ("--demo",), dict(action="store_true",
        help="generate a small shapes dataset (once, in the cache folder) and train a small "
             "AlexNet on it (defaults: " + _DEMO_FLAGS + ")")),
    ("data", ("--dummy",), dict(nargs="?", type=POSITIVE, const=DUMMY_IMAGES, metavar="N",
        help="synthetic data in memory instead of a dataset (pytorch/examples' --dummy): N "
             f"training images per epoch (default {DUMMY_IMAGES:,}, ILSVRC2012's) and N/25 "
             "validation images of the input size, never read nor decoded: training's compute "
             "alone")),
    ("data", ("--dummy-classes",), dict(type=_checked(validate.integer, int, 2), default=1000,
        metavar="K",
        help="the classes of --dummy's data (default 1000)")),
    ("data", ("--val-labels",), dict(metavar="FILE",
        help="the labels of a flat DIR/val/ (ImageNet's validation images as downloaded): "
             "Kaggle's LOC_val_solution.csv, Caffe's val.txt or the devkit's "
             "ILSVRC2012_validation_ground_truth.txt (with meta.mat beside it); found without "
             "this flag in DIR or DIR/val (the devkit's also in "
             "DIR/ILSVRC2012_devkit_t12/data)")),
    ("data", ("-j", "--workers"), dict(type=COUNT, metavar="N",
        help=f"data-loading processes (default: {os.cpu_count()} cores, shared among the MPI "
             "processes of a machine; 0 decodes in the main process)")),
    ("output", ("--output",), dict(metavar="DIR",
        help="where checkpoint.npz, best.npz, metrics.csv and curves.png go (default: the "
             "--resume checkpoint's folder, else runs/demo for --demo, runs/dummy for --dummy, "
             "runs/alexnet for DIR); one run at a time uses a folder")),
    ("output", ("--overwrite",), dict(action="store_true",
        help="start a new run in an --output that holds one: its files are replaced when the "
             "new run writes its first (end of its first epoch)")),
    ("output", ("--resume",), dict(metavar="PATH",
        help="continue a run from its checkpoint, with its settings unless flags change them; "
             "with -e or --predict, the model to use")),
    ("output", ("-e", "--evaluate"), dict(action="store_true",
        help="evaluate the --resume model on DIR/val and exit")),
    ("output", ("--ten-crop",), dict(action="store_true",
        help="evaluate with 10 crops (corners + centre, and mirrors), averaging softmax")),
    ("output", ("--predict",), dict(nargs="+", metavar="IMAGE",
        help="print the top-5 classes of each image with the --resume or --weights model; an "
             "image that cannot be read (missing, not a regular file, not an image) is said on "
             "stderr and the others are still predicted; exit status 1 if any could not be read")),
    ("output", ("-p", "--print-freq"), dict(type=COUNT, default=10, metavar="N",
        help="a text line every N steps when the output is not a terminal (default 10; 0: "
             "none)")),
    ("output", ("--no-progress",), dict(action="store_true", help="no progress bars")),
    ("weights", ("--weights",), dict(metavar="PATH",
        help="start from these weights: a tinynet .npz, a torchvision AlexNet .pth/.pt "
             "state_dict or BVLC's bvlc_alexnet .caffemodel; for --predict, -e, training "
             "(fine-tuning on DIR's classes) and --export-onnx")),
    ("weights", ("--export-onnx",), dict(metavar="PATH",
        help="write the --weights or --resume model as ONNX to PATH and exit")),
    ("engine", ("--backend",), dict(choices=sorted(BACKENDS),
        help="reference: the readable NumPy code (slow); fast: Numba kernels and Winograd "
             f"(default, unless ${ENV} says reference). The same results up to rounding: not "
             "saved in checkpoints")),
    ("engine", ("--bucket-mb",), dict(type=_checked(validate.non_negative),
        default=BUCKET_BYTES / 2**20, metavar="MB",
        help="with several processes (mpirun), gradients are summed over them in buckets of "
             f"about MB MiB (default {BUCKET_BYTES / 2**20:g}), each sent while backward "
             "computes the layers below it; 0: one sum of all the gradients after backward. "
             "Speed only (the same results up to rounding): not saved in checkpoints")),
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
    options = sorted(OPTIONS + run_options(), key=lambda option: GROUPS.index(option[0]))
    groups = {name: p.add_argument_group(name) for name, _, _ in options}
    for group, flags, option in options:
        groups[group].add_argument(*flags, **option)
    return p


def run_options() -> list:
    """The options of ``RunConfig``'s fields: flags, help and checks from the field, the
    default (and the demo's) added to the help; parsed as None when not given."""
    options = []
    for f in dataclasses.fields(RunConfig):
        meta = f.metadata
        if not meta:
            continue
        option = dict(dest=f.name, help=meta["help"], **meta["cli"])
        if "action" not in option:
            parse = int if f.type.startswith("int") else float if f.type == "float" else str
            choices = "choices" in option  # argparse says what to choose from
            option["type"] = parse if choices else _checked(meta["check"], parse)
        if f.default is not None:
            demo = f"; demo {DEMO[f.name]}" if f.name in DEMO else ""
            option["help"] += f" (default {f.default}{demo})"
        options.append((meta["group"], meta["flags"], option))
    return options


def parse_args(argv=None, num_processes: int = 1) -> argparse.Namespace:
    """Parse and check the combination of flags; ``args.explicit`` holds the run settings the
    user gave. The run's configuration is made later (``settings.new_run``/``resumed_run``),
    from the defaults, the demo's, a checkpoint's and these.

    ``num_processes``: the size of a data-parallel (MPI) run, which must divide the batch.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    for word in argv:
        flag = word.split("=")[0]
        if flag in NOT_HERE:
            raise UsageError(f"{flag} does not apply here: {NOT_HERE[flag]}")
    args = build_parser().parse_args(argv)
    if args.data and args.data_flag and args.data != args.data_flag:
        raise UsageError(f"two datasets given: {args.data} and --data {args.data_flag}")
    args.data = args.data or args.data_flag
    _check_combination(args)
    if args.output is None:
        args.output = default_output(args)
    args.explicit = {k for k in RUN_SETTINGS if getattr(args, k) is not None}
    if num_processes > 1 and args.batch_size and not (args.evaluate or args.predict):
        try:
            local_batch_size(args.batch_size, num_processes)
        except ValueError as err:
            raise UsageError(str(err)) from None
    if args.workers is None:
        args.workers = cores_per_process(local_size())
    return args


def default_output(args) -> str:
    """--output when not given: a resumed run's own folder, else one per kind of dataset (so
    the demo's run does not stand in the way of the first real one)."""
    if args.resume:
        return os.path.dirname(args.resume) or "."
    return "runs/demo" if args.demo else "runs/dummy" if args.dummy else "runs/alexnet"


def _check_combination(args) -> None:
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
    sources = [s for s, on in (("DIR", args.data), ("--demo", args.demo),
                               ("--dummy", args.dummy)) if on]  # fmt: skip
    if not args.predict and not args.export_onnx and not sources:
        raise UsageError(
            "give a dataset: alexnet.py DIR (holding train/ and val/), --demo or --dummy"
        )
    if len(sources) > 1:
        raise UsageError(f"choose one of {' and '.join(sources)}: each is a dataset")
    if args.val_labels and (args.demo or args.dummy):
        made = "--demo" if args.demo else "--dummy"
        raise UsageError(f"--val-labels is for a dataset folder (DIR): {made} makes its own labels")
    if args.dummy and uses:
        raise UsageError(f"--dummy is for training: it has no images for {uses[0]}")
