"""Optimizers and learning-rate schedules."""

from .schedules import ReduceLROnPlateau, StepLR
from .sgd import SGD

__all__ = ["SGD", "ReduceLROnPlateau", "StepLR"]
