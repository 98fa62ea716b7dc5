"""Callbacks of ``Trainer.fit``: everything around the loop that is not the loop itself."""

from .base import Callback
from .checks import DivergenceCheck, LossPlateauWarning, StallWarning, TrainingDiverged
from .outputs import COLUMNS, Curves, KeepBest, MetricsCSV, plot_history
from .progress import EpochLog, PrintEvery, ProgressBar
from .signals import StopOnSignal

__all__ = [
    "Callback", "DivergenceCheck", "StallWarning", "TrainingDiverged", "LossPlateauWarning",
    "KeepBest", "MetricsCSV", "Curves", "COLUMNS", "plot_history", "EpochLog", "PrintEvery",
    "ProgressBar", "StopOnSignal",
]  # fmt: skip
