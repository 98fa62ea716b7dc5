"""Forward, backward and a gradient check of a small network with every layer type."""

import numpy as np

from tinynet import Sequential, gradcheck
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU
from tinynet.layers.loss import SoftmaxCrossEntropy


def main():
    rng = np.random.default_rng(0)
    drop = Dropout(0.5)
    model = Sequential(
        [
            ("conv", Conv2D(4, 6, 3, padding=1, groups=2, dtype=np.float64, rng=rng)),
            ("relu", ReLU()),
            ("norm", LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0)),
            ("pool", MaxPool2D(3, stride=2)),
            ("flat", Flatten()),
            ("fc", Linear(6 * 3 * 3, 5, dtype=np.float64, rng=rng)),
            ("drop", drop),
        ]
    )
    x, labels = rng.standard_normal((2, 4, 7, 7)), np.array([1, 4])
    print(model.summary(x.shape))

    def reseed():  # the same dropout mask every pass
        drop.rng = np.random.default_rng(1)

    errors = gradcheck.check_model_with_loss(
        model, SoftmaxCrossEntropy(), x, labels, before_forward=reseed
    )
    for name, err in errors.items():
        print(f"{name:<12} relative error {err:.2e}  {'ok' if err < 1e-6 else 'FAILED'}")


if __name__ == "__main__":
    main()
