"""Evaluating a checkpoint on a validation folder, and predicting the classes of images."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..data import EvalTransform, check_dataset, open_rgb
from ..dist import LOCAL, local_batch_size
from ..train import evaluate, predict_proba
from .args import DEFAULTS, UsageError
from .session import check_classes, dataset_dir, eval_loader, load_trainer


def run_evaluation(args, comm=LOCAL, on_skip=None) -> int:
    """Evaluate --resume on DIR/val; under MPI each rank takes a part and rank 0 reports."""
    trainer = load_trainer(args.resume, comm)
    data_dir = dataset_dir(args, comm)
    train_set, val_set = check_dataset(data_dir)
    check_classes(trainer, list(train_set.classes), args.resume)
    batch = args.batch_size or trainer.extra.get("run", {}).get(
        "batch_size", DEFAULTS["batch_size"]
    )
    local_batch = local_batch_size(batch, comm.size, exact=False)
    size = trainer.model.config["input_size"]
    quiet = True if args.no_progress or comm.rank != 0 else None
    options = dict(workers=args.workers, on_skip=on_skip, keep_empty=comm.size > 1)
    with eval_loader(
        val_set, size, local_batch, comm=comm, ten_crop=args.ten_crop, **options
    ) as loader:
        with tqdm(total=len(loader), desc="evaluate", leave=False, disable=quiet) as bar:
            stats = evaluate(trainer.model, loader, comm=comm, on_batch=lambda m: bar.update(1))
        skipped = int(comm.sum([loader.skipped])[0])
    if comm.rank != 0:
        return 0
    crops = "10-crop" if args.ten_crop else "centre crop"
    print(
        f"{args.resume} on {data_dir / 'val'} ({stats.images} images, {crops}): "
        f"loss {stats.loss:.4f}  Acc@1 {100 * stats.acc1:.2f} (error {100 * stats.top1_error:.2f})"
        f"  Acc@5 {100 * stats.acc5:.2f} (error {100 * stats.top5_error:.2f})"
    )
    if skipped:
        print(f"{skipped} unreadable files skipped")
    return 0


def run_prediction(args) -> int:
    """Print the five most likely classes of each image given to --predict."""
    trainer = load_trainer(args.resume)
    extra, classes = trainer.extra, trainer.model.config["num_classes"]
    names = extra.get("class_names") or extra.get("classes") or [str(i) for i in range(classes)]
    transform = EvalTransform(crop=trainer.model.config["input_size"], ten_crop=args.ten_crop)
    for path in args.predict:
        try:
            image = open_rgb(path)
        except FileNotFoundError:
            raise UsageError(f"image {path} does not exist") from None
        except Exception as err:
            raise UsageError(f"cannot read image {path}: {err}") from None
        probs = predict_proba(trainer.model, transform(image)[None])[0]
        print(path)
        for k in np.argsort(-probs, kind="stable")[:5]:
            print(f"  {probs[k]:.4f}  {names[k]}")
    return 0
