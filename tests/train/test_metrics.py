"""The training loop, evaluation, checkpoints and exact resume, on a small AlexNet."""

import numpy as np

from tinynet.train import topk_correct


def test_topk_correct():
    scores = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    assert topk_correct(scores, np.array([2, 0, 0]), ks=(1, 2, 5)) == {1: 1, 2: 2, 5: 3}
