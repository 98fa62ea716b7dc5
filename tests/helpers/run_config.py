"""tinynet.train.RunConfig: one run configuration for Python and the command line."""

from __future__ import annotations

#: A value other than the default for each setting, as typed and as parsed.
OTHER = dict(
    arch="alexnet-plain", image_size=99, width=0.5, groups=1, no_lrn=True, init="caffe",
    epochs=7, start_epoch=3, batch_size=16, lr=0.05, momentum=0.5, weight_decay=1e-3,
    schedule="cosine", patience=4, step_size=9, warmup=2, seed=11, freeze=2,
)  # fmt: skip
