"""Training on the engine: ``Trainer.fit`` and its callbacks, evaluation, checkpoints."""

from .callbacks import (
    Callback,
    Curves,
    DivergenceCheck,
    EpochLog,
    KeepBest,
    LossPlateauWarning,
    MetricsCSV,
    ProgressBar,
    StallWarning,
    StopOnSignal,
    TrainingDiverged,
)
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .evaluation import evaluate, predict_proba
from .metrics import Meter, Stats, topk_correct
from .trainer import SCHEDULES, Trainer

__all__ = [
    "Trainer", "SCHEDULES", "evaluate", "predict_proba", "Meter", "Stats", "topk_correct",
    "Callback", "Curves", "DivergenceCheck", "EpochLog", "KeepBest", "LossPlateauWarning",
    "MetricsCSV", "ProgressBar", "StallWarning", "StopOnSignal", "TrainingDiverged",
    "CheckpointError", "load_checkpoint", "save_checkpoint",
]  # fmt: skip
