"""Building the model, trainer and loaders for a command-line run, fresh or resumed."""
from __future__ import annotations

from pathlib import Path

from ..checkpoint import CheckpointError
from ..data import DataLoader, EvalTransform, TrainTransform, check_dataset, class_names
from ..data import make_shapes_dataset
from ..models import alexnet
from ..train import Trainer
from .args import UsageError

DEMO_DATA = dict(num_classes=6, train_per_class=300, val_per_class=60, image_size=72, seed=0)


def dataset_dir(args) -> Path:
    """The dataset root: --data, or the demo's generated folder (made on first use)."""
    if args.demo:
        root = Path(args.output) / "demo-data"
        if not (root / "DONE").exists():
            print(f"writing the demo dataset (6 shapes, 300 train + 60 val images each) to {root}")
        return make_shapes_dataset(root, **DEMO_DATA)
    return Path(args.data)


def load_trainer(path) -> Trainer:
    """A trainer rebuilt from a checkpoint, with a UsageError for a missing or foreign file."""
    if not Path(path).is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        return Trainer.load(path)
    except CheckpointError as err:
        raise UsageError(str(err)) from None


def check_classes(trainer: Trainer, classes: list[str], path) -> None:
    """The checkpoint must have been trained on the same classes as the dataset."""
    saved = trainer.extra.get("classes")
    if trainer.num_classes != len(classes):
        raise UsageError(f"checkpoint {path} was trained on {trainer.num_classes} classes but "
                         f"the dataset has {len(classes)}; use a matching checkpoint or dataset")
    if saved is not None and list(saved) != list(classes):
        raise UsageError(f"checkpoint {path} was trained on other classes than the dataset's "
                         f"(e.g. {saved[:3]} vs {classes[:3]})")


def new_trainer(args, num_classes: int) -> Trainer:
    model = alexnet(num_classes=num_classes, input_size=args.image_size, width=args.width,
                    groups=args.groups, lrn=not args.no_lrn, init=args.init, seed=args.seed)
    return Trainer.for_model(model, lr=args.lr, momentum=args.momentum, weight_decay=args.wd,
                             schedule=args.schedule, patience=args.patience,
                             step_size=args.step_size)


class Session:
    """Everything a training run needs: datasets, trainer, loaders, names, output folder."""

    def __init__(self, args):
        self.args = args
        self.data_dir = dataset_dir(args)
        self.train_set, self.val_set = check_dataset(self.data_dir)
        self.classes = list(self.train_set.classes)
        self.names = class_names(self.data_dir, self.classes)
        self.output = Path(args.output)
        if args.resume:
            self.trainer = load_trainer(args.resume)
            check_classes(self.trainer, self.classes, args.resume)
            self.seed = int(self.trainer.extra.get("seed", args.seed))
            self.skip = int(self.trainer.extra.get("samples_done", 0))
        else:
            self.trainer = new_trainer(args, len(self.classes))
            self.seed = args.seed
            self.skip = 0
        self.image_size = self.trainer.model.config["input_size"]

    def train_loader(self, skip: int = 0) -> DataLoader:
        """This epoch's shuffled batches, without the first ``skip`` samples (mid-epoch resume)."""
        return DataLoader(self.train_set, TrainTransform(crop=self.image_size),
                          self.args.batch_size, shuffle=True, seed=self.seed,
                          workers=self.args.workers,
                          indices_fn=(lambda order: order[skip:]) if skip else None)

    def val_loader(self, ten_crop: bool = False) -> DataLoader:
        return DataLoader(self.val_set, EvalTransform(crop=self.image_size, ten_crop=ten_crop),
                          self.args.batch_size, shuffle=False, seed=self.seed,
                          workers=self.args.workers)

    def extra(self, samples_done: int = 0) -> dict:
        """What the command line keeps in a checkpoint besides the trainer's state."""
        return {"classes": self.classes, "class_names": self.names, "seed": self.seed,
                "samples_done": samples_done, "batch_size": self.args.batch_size}
