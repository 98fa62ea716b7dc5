"""Building the datasets, the trainer and the loaders of a command-line run, fresh or resumed."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..data import (
    DataLoader,
    EvalTransform,
    TrainTransform,
    check_dataset,
    class_names,
    make_shapes_dataset,
)
from ..data.dummy import DummyBatches, dummy_splits
from ..dist import LOCAL, eval_shard, local_batch_size, train_shard
from ..models import alexnet
from ..train import StallWarning, Trainer
from .args import UsageError
from .run_folder import FolderLock, check_run_folder
from .settings import describe_model, new_run, resumed_run
from .weights import fine_tune, input_size, load_trainer, load_weights

DEMO_DATA = dict(num_classes=6, train_per_class=900, val_per_class=100, image_size=72, seed=0)


def cache_dir() -> Path:
    """Where tinynet keeps what it can make again: $TINYNET_CACHE, else ~/.cache/tinynet."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinynet"
    return Path(os.environ.get("TINYNET_CACHE") or default)


def dataset_dir(args, comm=LOCAL) -> Path:
    """The dataset root: DIR, or the demo's dataset, made once in the cache folder (by rank 0
    while the other ranks of a multi-process run wait)."""
    if not args.demo:
        return Path(args.data)
    root = cache_dir() / "demo-shapes"
    if comm.rank == 0:
        if not (root / "DONE").exists():
            print(
                f"writing the demo dataset ({DEMO_DATA['num_classes']} shapes, "
                f"{DEMO_DATA['train_per_class']} train + {DEMO_DATA['val_per_class']} val "
                f"images each) to {root} (once)"
            )
        make_shapes_dataset(root, **DEMO_DATA)
    comm.barrier()
    return make_shapes_dataset(root, **DEMO_DATA)  # made: this only checks it


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


def check_freeze(model, freeze: int) -> None:
    """--freeze N must leave at least one layer with parameters to train."""
    layers = [name for name, layer in model if layer.params]
    if freeze >= len(layers):
        raise UsageError(
            f"--freeze {freeze} would keep all {len(layers)} layers with parameters of the model "
            f"fixed ({', '.join(layers)}): nothing would be trained; give at most "
            f"{len(layers) - 1}"
        )


def new_trainer(config, num_classes: int, comm=LOCAL) -> Trainer:
    """A new run's trainer: AlexNet as ``config`` says, for ``num_classes`` classes."""
    model = alexnet(num_classes=num_classes, **config.model_arguments())
    return Trainer.for_model(model, config, comm=comm)


def eval_loader(dataset, transform, local_batch, comm=LOCAL, **options):
    """Batches of ``dataset`` in order through ``transform`` (an ``EvalTransform``); in a
    multi-process run, this rank's contiguous share."""
    rank, size = comm.rank, comm.size
    return DataLoader(
        dataset, transform, local_batch, shuffle=False,
        indices_fn=lambda order: eval_shard(order, rank, size), **options,
    )  # fmt: skip


class Session:
    """Everything a training run needs: settings, datasets, trainer, loaders, output folder.

    ``config`` is the run's ``RunConfig`` (``tinynet.cli.settings``), ``notes`` the lines
    saying what the flags changed in a resumed run or what --weights led to; ``local_batch``
    is this process's share of the global batch; ``root`` is True on rank 0, the only rank
    that prints and writes files.
    """

    def __init__(self, args, comm=LOCAL, on_skip=None):
        self.args, self.comm, self.on_skip = args, comm, on_skip
        self.root = comm.rank == 0
        self.output = Path(args.output)  # checked last (check_folder): the dataset comes first
        if args.dummy:  # synthetic data in memory: no folder
            self.data_dir = None
            self.train_set, self.val_set = dummy_splits(args.dummy, args.dummy_classes)
        else:
            self.data_dir = dataset_dir(args, comm)
            self.train_set, self.val_set = check_dataset(self.data_dir, args.val_labels)
        self.classes = list(self.train_set.classes)
        if args.resume:
            self.trainer = load_trainer(args.resume, comm)
            check_classes(self.trainer, self.classes, args.resume)
            self.config, self.notes = resumed_run(args, self.trainer)
        else:
            self.config, self.notes = new_run(args), []
            names = self.classes if args.dummy else class_names(self.data_dir, self.classes)
            if args.weights:
                self.trainer = self._from_weights(names)
            else:
                self.trainer = new_trainer(self.config, len(self.classes), comm)
            self.trainer.extra = {"classes": self.classes, "class_names": names}
        self.trainer.sync_gradients(round(args.bucket_mb * 2**20))  # --bucket-mb (speed only)
        if args.dummy:  # random labels: no network learns them, and no one should be told so
            callbacks = self.trainer.callbacks
            self.trainer.callbacks = [c for c in callbacks if not isinstance(c, StallWarning)]
        try:
            self.local_batch = local_batch_size(self.config.batch_size, comm.size)
        except ValueError as err:
            raise UsageError(str(err)) from None
        self.image_size = input_size(self.trainer.model)
        self.replacing = self.check_folder()  # last: the dataset, weights and settings are good

    def check_folder(self, held: bool = False) -> list[str]:
        """The old run's files in --output that this run will replace when it writes its first
        file (``run_folder.check_run_folder``; a UsageError if it may not, or if another
        process holds the folder, unless this one does: ``held``); rank 0's only."""
        if not self.root:
            return []
        args = self.args
        if self.data_dir is not None and _inside(self.output, self.data_dir):
            raise UsageError(
                f"--output {self.output} is inside the dataset {self.data_dir}: the run's files "
                "would mix with the images; choose a folder outside it"
            )
        if not held:
            FolderLock(self.output, "training").check_free()
        return check_run_folder(
            self.output, resume=args.resume, weights=[args.weights] if args.weights else [],
            overwrite=args.overwrite, data=self.data_command(),
        )  # fmt: skip

    def data_command(self) -> str:
        """The dataset as the command line gave it: DIR, --demo or --dummy N."""
        args = self.args
        if args.demo:
            return "--demo"
        if args.dummy:
            classes = f" --dummy-classes {args.dummy_classes}" if args.dummy_classes != 1000 else ""
            return f"--dummy {args.dummy}{classes}"
        return shlex.quote(str(args.data))

    def _from_weights(self, names) -> Trainer:
        """A trainer that starts from --weights: a new last layer if the dataset's classes
        differ (fine-tuning), the first --freeze layers with parameters kept fixed."""
        model = load_weights(self.args.weights)
        check_freeze(model, self.config.freeze)
        note = fine_tune(model, self.classes, names, self.config.seed)
        weights, given = str(self.args.weights), self.args.explicit
        self.config = describe_model(self.config, model, weights, given)
        trainer = Trainer.for_model(model.train(), self.config, comm=self.comm)
        self.notes = [note] if note else []
        if trainer.frozen:
            self.notes.append(f"frozen: {', '.join(trainer.frozen)}")
        return trainer

    def _loader_options(self) -> dict:
        # under MPI every rank must take the same number of steps, unreadable files or not
        return dict(workers=self.args.workers, on_skip=self.on_skip, keep_empty=self.comm.size > 1)

    def train_loader(self) -> DataLoader:
        """Shuffled, augmented batches; in a multi-process run this rank's part of each global
        batch (``tinynet.dist.train_shard``)."""
        batch, rank, size = self.config.batch_size, self.comm.rank, self.comm.size
        if self.args.dummy:  # every rank its share of each global batch, as with a dataset
            return self._dummy(len(self.train_set) // batch)

        def mine(order):
            return train_shard(order, batch, rank, size)

        return DataLoader(
            self.train_set, TrainTransform.for_model(self.trainer.model.info, self.image_size),
            self.local_batch, shuffle=True,
            seed=self.config.seed, indices_fn=mine,
            **self._loader_options(),
        )  # fmt: skip

    def val_loader(self, ten_crop: bool = False) -> DataLoader:
        if self.args.dummy:
            return self._dummy(-(-len(self.val_set) // self.config.batch_size), seed=1)
        info = self.trainer.model.info
        transform = EvalTransform.for_model(info, self.image_size, ten_crop=ten_crop)
        return eval_loader(
            self.val_set, transform, self.local_batch, comm=self.comm, **self._loader_options()
        )

    def _dummy(self, steps: int, seed: int = 0) -> DummyBatches:
        """--dummy's batches: ``steps`` (at least 1) of this rank's share of the batch."""
        classes = len(self.classes)
        return DummyBatches(max(1, steps), self.local_batch, self.image_size, classes, seed)


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or below it (both resolved)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents
