"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

from tinynet.models import alexnet


def small_model(seed=0, init="he", dropout=0.5):
    return alexnet(num_classes=4, input_size=67, width=0.25, init=init, seed=seed, dropout=dropout)
