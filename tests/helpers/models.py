"""The AlexNet builder: geometry, parameter counts, init presets."""

import numpy as np

#: Digests of models built by alexnet() at commit 5d6b07c (before it was split into plan + build,
#: and before issue 21 made it build its layers directly again): every version builds the same.
BEFORE_THE_SPLIT = [
    (
        dict(num_classes=5, input_size=67, width=0.25, init="paper", seed=3),
        "84a96900af1c7154652ee3f51f58790722d4cf716c542d295f9215dc0217229c",
    ),
    (
        dict(num_classes=7, input_size=99, width=0.125, groups=1, lrn=False, dropout=0.0,
             init="he", seed=11),
        "b8e3cf8f3a43361b124a56e3d9421cb94c88b1217abbe4142096e87bed98121c",
    ),
    (
        dict(num_classes=3, input_size=67, width=0.2, init="caffe", dropout=0.3, seed=1,
             dtype=np.float64),
        "736eeeb71a1e4e4f5984559d1ccd764e8a702835e75e6a0ffc4a8d5e041e2e82",
    ),
]  # fmt: skip
