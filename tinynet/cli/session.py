"""Building the datasets, the trainer and the loaders of a command-line run, fresh or resumed."""

from __future__ import annotations

from pathlib import Path

from ..data import (
    DataLoader,
    EvalTransform,
    TrainTransform,
    check_dataset,
    class_names,
    make_shapes_dataset,
)
from ..dist import LOCAL, eval_shard, train_shard
from ..models import alexnet
from ..train import CheckpointError, Trainer
from .args import UsageError

DEMO_DATA = dict(num_classes=6, train_per_class=900, val_per_class=100, image_size=72, seed=0)


def dataset_dir(args, comm=LOCAL) -> Path:
    """The dataset root: --data, or the demo's generated folder (made on first use, by rank 0
    while the other ranks of a multi-process run wait)."""
    if not args.demo:
        return Path(args.data)
    root = Path(args.output) / "demo-data"
    if comm.rank == 0:
        if not (root / "DONE").exists():
            print(
                f"writing the demo dataset ({DEMO_DATA['num_classes']} shapes, "
                f"{DEMO_DATA['train_per_class']} train + {DEMO_DATA['val_per_class']} val "
                f"images each) to {root}"
            )
        make_shapes_dataset(root, **DEMO_DATA)
    comm.barrier()
    return make_shapes_dataset(root, **DEMO_DATA)  # made: this only checks it


def load_trainer(path, comm=LOCAL) -> Trainer:
    """A trainer rebuilt from a checkpoint, with a UsageError for a missing or foreign file.

    In a multi-process run every rank reads the file (so it must be readable at the same path
    on every machine); the trainer then takes rank 0's weights."""
    if not Path(path).is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        return Trainer.load(path, comm=comm)
    except CheckpointError as err:
        raise UsageError(str(err)) from None


def check_classes(trainer: Trainer, classes: list[str], path) -> None:
    """The checkpoint must have been trained on the same classes as the dataset."""
    saved = trainer.extra.get("classes")
    trained = trainer.model.config["num_classes"]
    if trained != len(classes):
        raise UsageError(
            f"checkpoint {path} was trained on {trained} classes but the dataset has "
            f"{len(classes)}; use a matching checkpoint or dataset"
        )
    if saved is not None and list(saved) != list(classes):
        raise UsageError(
            f"checkpoint {path} was trained on other classes than the dataset's "
            f"(e.g. {saved[:3]} vs {classes[:3]})"
        )


def new_trainer(args, num_classes: int, comm=LOCAL) -> Trainer:
    model = alexnet(
        num_classes=num_classes, input_size=args.image_size, width=args.width,
        groups=args.groups, lrn=not args.no_lrn, init=args.init, seed=args.seed,
    )  # fmt: skip
    return Trainer.for_model(
        model, lr=args.lr, momentum=args.momentum, weight_decay=args.wd, schedule=args.schedule,
        patience=args.patience, step_size=args.step_size, comm=comm,
    )  # fmt: skip


def eval_loader(dataset, image_size, local_batch, workers, comm=LOCAL, ten_crop=False):
    """Centre-crop (or 10-crop) batches of ``dataset`` in order; in a multi-process run, this
    rank's contiguous share."""
    rank, size = comm.rank, comm.size
    return DataLoader(
        dataset, EvalTransform(crop=image_size, ten_crop=ten_crop), local_batch, shuffle=False,
        workers=workers, indices_fn=lambda order: eval_shard(order, rank, size),
    )  # fmt: skip


class Session:
    """Everything a run needs: datasets, trainer, loaders, names, output folder.

    ``local_batch`` is this process's share of the global ``-b`` batch (all of it in a single
    process); ``root`` is True on rank 0, the only rank that prints and writes files.
    """

    def __init__(self, args, comm=LOCAL):
        self.args, self.comm = args, comm
        self.root = comm.rank == 0
        self.local_batch = max(1, args.batch_size // comm.size)  # parse_args checked it divides
        self.data_dir = dataset_dir(args, comm)
        self.train_set, self.val_set = check_dataset(self.data_dir)
        self.classes = list(self.train_set.classes)
        self.output = Path(args.output)
        if args.resume:
            self.trainer = load_trainer(args.resume, comm)
            check_classes(self.trainer, self.classes, args.resume)
        else:
            self.trainer = new_trainer(args, len(self.classes), comm)
            self.trainer.extra = {
                "classes": self.classes,
                "class_names": class_names(self.data_dir, self.classes),
                "seed": args.seed,
                "batch_size": args.batch_size,
            }
        self.seed = int(self.trainer.extra.get("seed", args.seed))
        self.image_size = self.trainer.model.config["input_size"]

    def train_loader(self) -> DataLoader:
        """Shuffled, augmented batches; in a multi-process run this rank's part of each global
        batch of ``-b`` samples (``tinynet.dist.train_shard``)."""
        batch, rank, size = self.args.batch_size, self.comm.rank, self.comm.size
        return DataLoader(
            self.train_set, TrainTransform(crop=self.image_size), self.local_batch, shuffle=True,
            seed=self.seed, workers=self.args.workers,
            indices_fn=lambda order: train_shard(order, batch, rank, size),
        )  # fmt: skip

    def val_loader(self, ten_crop: bool = False) -> DataLoader:
        return eval_loader(
            self.val_set, self.image_size, self.local_batch, self.args.workers, self.comm, ten_crop
        )
