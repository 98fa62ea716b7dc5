"""``python -m tinynet.data.prepare SRC DST [-j N]``: an ImageNet-style folder made into the
paper's own input, once: every image as 256x256 RGB uint8 (see ``tinynet.data.prepared`` for
what ``DST`` holds and how it is read).

Each image is decoded in full (no reduced-scale JPEG decoding), made RGB (``to_rgb``), its
shorter side resized to 256 with PIL's bilinear filter (``transforms.resize_shorter``, the
resize the training and evaluation transforms use) and the centre 256x256 kept
(``transforms.center_crop``).

The images are written in fixed-size chunks by ``-j`` processes into ``DST/.partial/``, whose
``progress.json`` records a chunk once its rows are flushed; an interrupted run (Ctrl-C, a kill,
a power cut, an unreadable image) continues where it stopped when run again, and gives the same
bytes as an uninterrupted one. At the end the arrays are hashed and moved into ``DST`` and
``manifest.json`` is renamed into place last: ``DST`` is a prepared dataset only then.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..files import atomic_write, fsync_dir
from .check import check_dataset
from .errors import DatasetError
from .image import open_rgb
from .names import class_names
from .prepared import FORMAT, MANIFEST, SIZE, SPLITS, VERSION, PreparedDataset, file_sha256
from .transforms import center_crop, resize_shorter

__all__ = ["main", "prepare", "prepared_row", "PrepareError", "RESIZE"]

PARTIAL = ".partial"
PROGRESS = "progress.json"
CHUNK = 256
#: What the manifest says of the resize.
RESIZE = (
    f"decoded in full, converted to RGB (tinynet.data.to_rgb), shorter side resized to {SIZE} "
    f"with PIL Image.BILINEAR (tinynet.data.transforms.resize_shorter), centre {SIZE}x{SIZE} "
    "kept (tinynet.data.transforms.center_crop)"
)
#: For tests only: seconds to sleep after each recorded chunk (to interrupt a run mid-way).
SLEEP_ENV = "TINYNET_PREPARE_SLEEP_AFTER_CHUNK"
PROG = "python -m tinynet.data.prepare"


class PrepareError(Exception):
    """A reason not to prepare (or to stop): one line."""


def prepared_row(path) -> np.ndarray:
    """The image file ``path`` as a (256, 256, 3) uint8 RGB array (see the module docstring)."""
    img = center_crop(resize_shorter(open_rgb(path), SIZE), SIZE)
    return np.asarray(img, dtype=np.uint8)


def _names(split: str) -> tuple[str, str]:
    return f"{split}_images.npy", f"{split}_labels.npy"


def _write_json(path: Path, obj) -> None:
    """``obj`` as JSON at ``path``, atomically (``tinynet.files``)."""
    text = json.dumps(obj, indent=1) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _check_places(src: Path, dst: Path) -> None:
    s, d = src.resolve(), dst.resolve()
    if d == s or s in d.parents:
        raise PrepareError(f"DST '{dst}' is inside SRC '{src}': choose a folder outside it.")
    if (dst / MANIFEST).is_file():
        raise PrepareError(
            f"DST '{dst}' is a prepared dataset already (it holds {MANIFEST}): train on it, or "
            "remove it to prepare it again."
        )
    if dst.exists() and not dst.is_dir():
        raise PrepareError(f"DST '{dst}' is a file, not a folder.")
    if dst.is_dir():
        ours = {PARTIAL} | {n for s in SPLITS for n in _names(s)}
        other = sorted(n for n in os.listdir(dst) if n not in ours)
        if other:
            raise PrepareError(
                f"DST '{dst}' holds other files ({', '.join(other[:3])}): choose a new or empty "
                "folder."
            )


def _plan(src: Path, val_labels, chunk: int) -> dict:
    """What to write: classes, names, each split's (path, label) list, and their digest."""
    try:
        train, val = check_dataset(src, val_labels)
    except DatasetError as err:
        raise PrepareError(f"SRC is not a dataset: {err}") from None
    if isinstance(train, PreparedDataset):
        raise PrepareError(f"SRC '{src}' is a prepared dataset already: train on it directly.")
    splits = {"train": train.samples, "val": val.samples}
    key = {
        "format": FORMAT,
        "version": VERSION,
        "size": SIZE,
        "chunk": chunk,
        "classes": train.classes,
        "splits": {s: [(os.path.relpath(p, src), int(k)) for p, k in v] for s, v in splits.items()},
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    names = class_names(src, train.classes)
    return {"classes": train.classes, "class_names": names, "splits": splits, "digest": digest}


def _start(part: Path, plan: dict, say) -> dict[str, set[int]]:
    """Make ``part`` ready: the arrays created (or kept from an interrupted run of the same
    plan) -> the chunks already done, by split."""
    done = {s: set() for s in SPLITS}
    record = None
    if part.is_dir():
        try:
            record = json.loads((part / PROGRESS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None
        if isinstance(record, dict) and record.get("plan") == plan["digest"]:
            done = {s: set(record["done"].get(s, [])) for s in SPLITS}
            n = sum(map(len, done.values()))
            say(f"continuing the interrupted run in {part} ({n} chunk(s) done)")
        else:
            say(f"{part} is from another source or run: starting over")
            shutil.rmtree(part)
    part.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        images, labels = _names(split)
        samples = plan["splits"][split]
        shape = (len(samples), SIZE, SIZE, 3)
        try:
            ok = np.load(part / images, mmap_mode="r").shape == shape
        except (OSError, ValueError):
            ok = False
        if not ok:
            done[split] = set()
            np.lib.format.open_memmap(part / images, mode="w+", dtype=np.uint8, shape=shape)
        np.save(part / labels, np.array([k for _, k in samples], dtype=np.int64))
    _write_json(part / PROGRESS, _record(plan, done))
    return done


def _record(plan: dict, done: dict[str, set[int]]) -> dict:
    return {"plan": plan["digest"], "done": {s: sorted(done[s]) for s in SPLITS}}


def _write_chunk(task):
    """Worker: decode, resize, crop and write one chunk's rows, flushed to disk -> (split,
    index, count, error line or None)."""
    part, split, index, start, paths = task
    images = np.load(Path(part) / _names(split)[0], mmap_mode="r+")
    try:
        for j, path in enumerate(paths):
            try:
                images[start + j] = prepared_row(path)
            except Exception as err:  # any decoder error: refused, naming the file
                reason = str(err).splitlines()[0] if str(err) else type(err).__name__
                return split, index, len(paths), f"{path}: {reason}"
        images.flush()
    finally:
        del images
    return split, index, len(paths), None


def _ignore_sigint():
    """Worker initializer: Ctrl-C is the main process's to handle, and SIGTERM (sent by
    ``Pool.terminate``) ends a worker quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _finish(part: Path, dst: Path, plan: dict | None, workers: int) -> dict:
    """Hash the arrays, write the manifest into ``part``, move the arrays into ``dst``, rename
    the manifest into place last and remove ``part``; continues a finish that was cut short."""
    if not (part / MANIFEST).is_file():
        files = [n for s in SPLITS for n in _names(s)]
        if workers > 1:
            with mp.get_context(_method()).Pool(min(workers, len(files)), _ignore_sigint) as pool:
                hashes = pool.map(file_sha256, [part / n for n in files])
        else:
            hashes = [file_sha256(part / n) for n in files]
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "size": SIZE,
            "layout": f"(N, {SIZE}, {SIZE}, 3) uint8 RGB rows; int64 labels",
            "resize": RESIZE,
            "classes": plan["classes"],
            "class_names": plan["class_names"],
            "splits": {
                s: {"count": len(plan["splits"][s]), "images": _names(s)[0], "labels": _names(s)[1]}
                for s in SPLITS
            },
            "files": {
                n: {"bytes": (part / n).stat().st_size, "sha256": h}
                for n, h in zip(files, hashes, strict=True)
            },
        }
        _write_json(part / MANIFEST, manifest)
    manifest = json.loads((part / MANIFEST).read_text(encoding="utf-8"))
    for name in manifest["files"]:
        if (part / name).exists():
            os.replace(part / name, dst / name)
    fsync_dir(dst)
    os.replace(part / MANIFEST, dst / MANIFEST)
    fsync_dir(dst)
    shutil.rmtree(part)
    return manifest


def _method() -> str:
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def prepare(src, dst, workers: int | None = None, val_labels=None, chunk: int = CHUNK,
            progress: bool = True, say=print) -> dict:  # fmt: skip
    """Prepare ``src`` into ``dst`` (see the module docstring) -> the manifest. Raises
    ``PrepareError`` (one line) for a reason not to or an unreadable image."""
    src, dst = Path(src), Path(dst)
    workers = max(1, int(workers or os.cpu_count() or 1))
    _check_places(src, dst)
    part = dst / PARTIAL
    if (part / MANIFEST).is_file():  # all written, the finish was cut short
        return _finish(part, dst, None, workers)
    plan = _plan(src, val_labels, chunk)
    dst.mkdir(parents=True, exist_ok=True)
    done = _start(part, plan, say)
    tasks = []
    for split in SPLITS:
        paths = [str(p) for p, _ in plan["splits"][split]]
        for index, start in enumerate(range(0, len(paths), chunk)):
            if index not in done[split]:
                tasks.append((str(part), split, index, start, paths[start : start + chunk]))
    total = sum(len(v) for v in plan["splits"].values())
    left = sum(len(t[4]) for t in tasks)
    sleep = float(os.environ.get(SLEEP_ENV, 0) or 0)
    bar = tqdm(total=total, initial=total - left, unit="img", desc="prepare",
               disable=True if not progress else None, dynamic_ncols=True)  # fmt: skip
    pool = None
    try:
        if workers > 1 and len(tasks) > 1:
            pool = mp.get_context(_method()).Pool(workers, _ignore_sigint)
            results = pool.imap_unordered(_write_chunk, tasks)
        else:
            results = map(_write_chunk, tasks)
        for split, index, count, error in results:
            if error is not None:
                raise PrepareError(
                    f"cannot read image {error}. Fix or replace it and run the same command "
                    f"again to continue (the chunks written so far are kept in {part})."
                )
            done[split].add(index)
            _write_json(part / PROGRESS, _record(plan, done))
            bar.update(count)
            if sleep:
                time.sleep(sleep)
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    return _finish(part, dst, plan, workers)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Write an ImageNet-style folder (SRC/train/<class>/..., SRC/val/...) as "
        f"{SIZE}x{SIZE} RGB uint8 arrays in DST, the input AlexNet's paper trains on.",
    )
    p.add_argument("src", metavar="SRC", help="dataset root holding train/ and val/")
    p.add_argument("dst", metavar="DST", help="folder to write (not inside SRC)")
    p.add_argument("-j", "--workers", type=int, default=os.cpu_count() or 1,
                   help="processes (default: one per core)")  # fmt: skip
    p.add_argument("--val-labels", metavar="FILE", default=None,
                   help="label file of a flat val/ (found in SRC without it)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--chunk-size", type=int, default=CHUNK, help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    """The command; returns the exit status (0, 2 for a refusal, 130 when interrupted)."""
    args = _parser().parse_args(argv)
    if args.workers < 1 or args.chunk_size < 1:
        print(f"{PROG}: error: -j and the chunk size must be at least 1", file=sys.stderr)
        return 2

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    # Ctrl-C (SIGINT) interrupts, also when the shell that started us ignored it (a background
    # job): then Python leaves it ignored, and a `kill -INT` would do nothing
    interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    start = time.perf_counter()
    try:
        manifest = prepare(args.src, args.dst, args.workers, args.val_labels, args.chunk_size,
                           progress=not args.no_progress)  # fmt: skip
    except PrepareError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"\n{PROG}: interrupted; the finished chunks are kept in "
            f"{Path(args.dst) / PARTIAL}: run the same command again to continue.",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, interrupt)
    seconds = time.perf_counter() - start
    counts = {s: manifest["splits"][s]["count"] for s in SPLITS}
    size = sum(f["bytes"] for f in manifest["files"].values())
    print(
        f"prepared {args.dst}: {counts['train']} train + {counts['val']} val images, "
        f"{size:,} bytes, in {seconds:.1f} s ({sum(counts.values()) / seconds:.0f} img/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
