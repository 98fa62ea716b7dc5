"""Evaluating a checkpoint on a validation folder, and predicting the classes of images."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data import EvalTransform, check_dataset, open_rgb
from ..data.names import imagenet_words
from ..dist import LOCAL, local_batch_size
from ..train import RunConfig, evaluate, predict_proba
from ..train.callbacks.progress import bar_size
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
        with tqdm(
            total=len(loader), desc="evaluate", leave=False, disable=quiet, **bar_size()
        ) as bar:
            stats = evaluate(model, loader, comm=comm, on_batch=lambda m: bar.update(1))
        skipped = int(comm.sum([loader.skipped])[0])
    if comm.rank != 0:
        return 0
    crops = "10-crop" if args.ten_crop else "centre crop"
    split = data_dir / "val" if (data_dir / "val").is_dir() else data_dir  # prepared: one folder
    print(
        f"{printable(args.resume or args.weights)} on {printable(split)} "
        f"({stats.images} images, {crops}): "
        f"loss {stats.loss:.4f}  Acc@1 {100 * stats.acc1:.2f} (error {100 * stats.top1_error:.2f})"
        f"  Acc@5 {100 * stats.acc5:.2f} (error {100 * stats.top5_error:.2f})"
    )
    if skipped:
        print(f"{skipped} unreadable files skipped")
    return 0


def run_prediction(args) -> int:
    """Print the five most likely classes of each image given to --predict; returns 1 if any
    image could not be read (each said on stderr, the others predicted), else 0."""
    model, _ = _model(args)
    classes = model.config["num_classes"]
    names = model.info.get("class_names") or [str(i) for i in range(classes)]
    transform = EvalTransform.for_model(model.info, input_size(model), ten_crop=args.ten_crop)
    failed = 0
    for path in args.predict:
        image = _read_image(path)
        if image is None:
            failed += 1
            continue
        probs = predict_proba(model, transform(image)[None])[0]
        print(printable(path))
        for k in np.argsort(-probs, kind="stable")[:5]:
            print(f"  {probs[k]:.4f}  {printable(names[k])}")
    return 1 if failed else 0


def _read_image(path):
    """The RGB image at ``path``, or None after one line on stderr saying why it cannot be read
    (missing, not a regular file (a FIFO would block for ever), not an image...)."""
    try:
        return open_rgb(path)  # checks first that it is a regular file
    except FileNotFoundError:
        reason = "no such file"
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError... for bad files
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
    print(
        f"alexnet.py: cannot read image {printable(path, sys.stderr)}: "
        f"{printable(reason, sys.stderr)}",
        file=sys.stderr,
        flush=True,
    )
    return None


def printable(text, stream=None) -> str:
    """``text`` (a name or path, perhaps holding bytes that were not UTF-8, which Python keeps as
    lone surrogates) as it can be printed on ``stream`` (default stdout) whatever its encoding:
    such bytes become ``\\xe9``, characters the stream cannot encode ``\\u...`` escapes."""
    text = str(text)
    try:
        raw = text.encode("utf-8", "surrogateescape")  # os.fsencode's round trip
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        raw = text.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except (LookupError, UnicodeError):
        return text.encode("ascii", "backslashreplace").decode("ascii")


def _model(args, comm=LOCAL, classes=None):
    """The --weights or --resume model and its run's ``RunConfig`` (None if it has none),
    checked against the dataset's ``classes`` (folder names) as far as the file knows its own:
    a tinynet checkpoint keeps the folder names it was trained on; an imported ImageNet model
    (.pth, .caffemodel) knows ImageNet's 1000 classes, comparable with WordNet-id folders."""
    weights = Path(args.weights) if args.weights else None
    if weights and (classes is None or weights.suffix.lower() != ".npz" or not weights.is_file()):
        model = load_weights(weights)  # its messages for a missing or foreign file
        if classes is not None:
            _check_count(model, classes, args.weights)
            _check_imagenet(model, classes, args.weights)
        return model, None
    trainer = load_trainer(args.weights or args.resume, comm)
    if classes is not None:
        if args.weights:
            _check_count(trainer.model, classes, args.weights)
        check_classes(trainer, classes, args.weights or args.resume)
    return model_of(trainer), None if args.weights else trainer.config


def _check_count(model, classes, path) -> None:
    if model.config["num_classes"] != len(classes):
        raise UsageError(
            f"--weights {path} has {model.config['num_classes']} classes but the "
            f"dataset has {len(classes)}: evaluate on a matching folder, or fine-tune first"
        )


_WNID = re.compile(r"n\d{8}")


def _check_imagenet(model, classes, path) -> None:
    """An imported model with ImageNet's 1000 class names was trained on the 1000 ILSVRC-2012
    WordNet ids in sorted order: a dataset whose folders are WordNet ids must have those."""
    words = imagenet_words()
    if list(model.info.get("class_names") or []) != list(words.values()):
        return  # its classes are not known
    if not all(_WNID.fullmatch(c) for c in classes) or list(classes) == list(words):
        return  # not WordNet ids (nothing to compare), or the right ones
    other = [c for c in classes if c not in words]
    raise UsageError(
        f"--weights {path} was trained on ImageNet's 1000 classes but the dataset's WordNet ids "
        f"are other ones (e.g. {other[:3]}); use a matching dataset, or fine-tune first"
    )
