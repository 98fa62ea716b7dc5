"""tinynet.data: image data pipeline (Pillow + NumPy only).

ImageFolder / check_dataset / class_names read ``root/{train,val}/<class>/<image>``
trees (a flat ImageNet ``val/`` with its label file is a LabelledFolder, see
``val_labels``), and the 256x256 arrays ``python -m tinynet.data.prepare`` writes
(PreparedDataset); TrainTransform / EvalTransform / ten_crop turn PIL images into normalised
float32 CHW arrays; DataLoader batches them (optionally in worker processes,
reproducibly); ArrayBatches batches in-memory arrays the same way; both resume
mid-epoch with ``set_epoch(epoch, start)``. make_shapes_dataset generates a small
dataset to try things on.
"""

from .arrays import ArrayBatches
from .check import check_dataset
from .errors import DatasetError
from .folder import ImageFolder
from .image import IMG_EXTENSIONS, open_rgb, to_rgb
from .loader import DataLoader
from .names import class_names
from .prepared import PreparedDataset
from .synthetic import make_shapes_dataset
from .transforms import (
    IMAGENET_EIGVAL,
    IMAGENET_EIGVEC,
    IMAGENET_MEAN,
    IMAGENET_STD,
    EvalTransform,
    TrainTransform,
    ten_crop,
)
from .val_labels import LabelledFolder

__all__ = [
    "ImageFolder",
    "LabelledFolder",
    "PreparedDataset",
    "DatasetError",
    "check_dataset",
    "class_names",
    "TrainTransform",
    "EvalTransform",
    "ten_crop",
    "DataLoader",
    "make_shapes_dataset",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGENET_EIGVAL",
    "IMAGENET_EIGVEC",
    "IMG_EXTENSIONS",
    "open_rgb",
    "to_rgb",
    "ArrayBatches",
]
