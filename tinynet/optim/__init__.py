"""Optimizers and learning-rate schedules."""

from .schedules import SCHEDULES, CosineLR, ReduceLROnPlateau, Schedule, StepLR, make_schedule
from .sgd import SGD

__all__ = [
    "SGD", "Schedule", "ReduceLROnPlateau", "StepLR", "CosineLR", "SCHEDULES", "make_schedule",
]  # fmt: skip
