"""Training on the engine: ``Trainer.fit`` and its callbacks, evaluation, checkpoints."""

from . import callbacks
from .callbacks import *  # noqa: F403  (every callback, and the exceptions they raise)
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import ARCHS, DEMO, RunConfig
from .evaluation import evaluate, predict_proba
from .lr_range import LRRange, lr_range_test
from .metrics import Meter, Stats, topk_correct
from .trainer import NoTrainingData, Trainer
from .update_ratio import UpdateRatio

__all__ = [
    "Trainer", "RunConfig", "ARCHS", "DEMO", "NoTrainingData", "evaluate", "predict_proba",
    "Meter", "Stats", "topk_correct", "CheckpointError", "load_checkpoint", "save_checkpoint",
    "LRRange", "lr_range_test", "UpdateRatio",
    *callbacks.__all__,
]  # fmt: skip
