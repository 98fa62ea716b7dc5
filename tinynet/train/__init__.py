"""Training: epochs over any iterable of (images, labels) batches, evaluation, exact resume."""
from .arrays import ArrayBatches
from .loop import (EpochStats, EvalStats, LossPlateauWarning, TrainingDiverged, evaluate,
                   predict_proba, train_epoch)
from .metrics import Meter, topk_correct
from .trainer import SCHEDULES, Trainer

__all__ = ["ArrayBatches", "EpochStats", "EvalStats", "LossPlateauWarning", "TrainingDiverged",
           "evaluate", "predict_proba", "train_epoch", "Meter", "topk_correct", "SCHEDULES",
           "Trainer"]
