"""Forward, backward and a gradient check of a small network with every layer type.

    python examples/gradcheck_demo.py            # the check, in float64, about a second
    python examples/gradcheck_demo.py --eps 1e-5 # another finite-difference step

Prints the network's summary, then the relative error of each analytic gradient (the input's
and every parameter's) against centred finite differences; below 1e-6 is a correct backward.
Exit status 1 if any check fails.
"""

import argparse
import sys

import numpy as np

from tinynet import Sequential, gradcheck
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU
from tinynet.layers.loss import SoftmaxCrossEntropy


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and input")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
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
        model, SoftmaxCrossEntropy(), x, labels, eps=args.eps, before_forward=reseed
    )
    for name, err in errors.items():
        print(f"{name:<12} relative error {err:.2e}  {'ok' if err < 1e-6 else 'FAILED'}")
    return 0 if max(errors.values()) < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
