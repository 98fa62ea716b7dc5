"""Evaluating a checkpoint on a validation folder, and predicting the classes of images."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..data import EvalTransform, check_dataset, open_rgb
from ..dist import LOCAL, local_batch_size
from ..train import RunConfig, evaluate, predict_proba
from .args import UsageError
from .session import check_classes, dataset_dir, eval_loader
from .weights import input_size, load_trainer, load_weights, model_of


def run_evaluation(args, comm=LOCAL, on_skip=None) -> int:
    """Evaluate --resume or --weights on DIR/val; under MPI each rank takes a part."""
    data_dir = dataset_dir(args, comm)
    train_set, val_set = check_dataset(data_dir, args.val_labels)
    model, config = _model(args, comm, list(train_set.classes))
    batch = args.batch_size or (config or RunConfig()).batch_size
    transform = EvalTransform.for_model(model.info, input_size(model), ten_crop=args.ten_crop)
    quiet = True if args.no_progress or comm.rank != 0 else None
    options = dict(workers=args.workers, on_skip=on_skip, keep_empty=comm.size > 1)
    local_batch = local_batch_size(batch, comm.size, exact=False)
    with eval_loader(val_set, transform, local_batch, comm=comm, **options) as loader:
        with tqdm(total=len(loader), desc="evaluate", leave=False, disable=quiet) as bar:
            stats = evaluate(model, loader, comm=comm, on_batch=lambda m: bar.update(1))
        skipped = int(comm.sum([loader.skipped])[0])
    if comm.rank != 0:
        return 0
    crops = "10-crop" if args.ten_crop else "centre crop"
    split = data_dir / "val" if (data_dir / "val").is_dir() else data_dir  # prepared: one folder
    print(
        f"{args.resume or args.weights} on {split} ({stats.images} images, {crops}): "
        f"loss {stats.loss:.4f}  Acc@1 {100 * stats.acc1:.2f} (error {100 * stats.top1_error:.2f})"
        f"  Acc@5 {100 * stats.acc5:.2f} (error {100 * stats.top5_error:.2f})"
    )
    if skipped:
        print(f"{skipped} unreadable files skipped")
    return 0


def run_prediction(args) -> int:
    """Print the five most likely classes of each image given to --predict."""
    model, _ = _model(args)
    classes = model.config["num_classes"]
    names = model.info.get("class_names") or [str(i) for i in range(classes)]
    transform = EvalTransform.for_model(model.info, input_size(model), ten_crop=args.ten_crop)
    for path in args.predict:
        try:
            image = open_rgb(path)
        except FileNotFoundError:
            raise UsageError(f"image {path} does not exist") from None
        except Exception as err:
            raise UsageError(f"cannot read image {path}: {err}") from None
        probs = predict_proba(model, transform(image)[None])[0]
        print(path)
        for k in np.argsort(-probs, kind="stable")[:5]:
            print(f"  {probs[k]:.4f}  {names[k]}")
    return 0


def _model(args, comm=LOCAL, classes=None):
    """The --weights or --resume model and its run's ``RunConfig`` (None if it has none),
    checked against ``classes``."""
    if args.weights:
        model = load_weights(args.weights)
        if classes is not None and model.config["num_classes"] != len(classes):
            raise UsageError(
                f"--weights {args.weights} has {model.config['num_classes']} classes but the "
                f"dataset has {len(classes)}: evaluate on a matching folder, or fine-tune first"
            )
        return model, None
    trainer = load_trainer(args.resume, comm)
    if classes is not None:
        check_classes(trainer, classes, args.resume)
    return model_of(trainer), trainer.config
