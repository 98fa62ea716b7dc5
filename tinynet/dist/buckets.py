"""Buckets: the parameters grouped in the order backward finishes their gradients.

Backward runs the layers last to first, so the gradients of fc8 are final long before conv1's.
Grouped from the last parameter to the first into buckets of about ``bucket_bytes`` (PyTorch
DDP's idea; its default is 25 MB, tinynet's 100 MiB, measured), each bucket can be summed over
the ranks as soon as all its parameters are final, while backward computes the layers below.
A parameter is never split; one larger than ``bucket_bytes`` fills a bucket of its own (with
any smaller ones before it).
"""

from __future__ import annotations

#: The bucket size of data-parallel training in bytes (``--bucket-mb``'s default), chosen by
#: measurement (docs/distributed.md, 2 emulated hosts, paper AlexNet): 100 MiB gave the
#: shortest steps at 1 and 10 Gbit/s (0.66-0.82x the flat allreduce's at 1 Gbit/s, batch 64),
#: ahead of 50 MiB and 5 MiB; DDP's 25 MiB came last (0.87x: fc6 and fc8+fc7 in flight as two
#: allreduces at once).
BUCKET_BYTES = 100 * 2**20


def layer_of(name: str) -> str:
    """The layer of a parameter name: ``"fc8"`` for ``"fc8.weight"``."""
    return name.split(".", 1)[0]


def assign_buckets(nbytes, bucket_bytes: int) -> list[list[int]]:
    """Parameter indices (``nbytes``: their sizes in bytes, in forward order) in buckets, the
    last parameter first; a bucket closes once it holds ``bucket_bytes`` or more."""
    if bucket_bytes < 1:
        raise ValueError(f"assign_buckets: bucket_bytes must be at least 1, got {bucket_bytes}")
    buckets, current, held = [], [], 0
    for index in reversed(range(len(nbytes))):
        current.append(index)
        held += int(nbytes[index])
        if held >= bucket_bytes:
            buckets.append(current)
            current, held = [], 0
    if current:
        buckets.append(current)
    return buckets


class Buckets:
    """Which bucket each parameter is in, and, during a step, which buckets are complete.

    ``names``/``nbytes``: the parameters in forward order. ``order`` lists the parameter
    indices bucket after bucket (how a flat buffer lays them out) and ``bounds[b]:bounds[b+1]``
    are bucket ``b``'s positions in ``order``. ``reset()`` starts a step; ``ready(layer)``
    marks a layer's parameters final; ``complete()`` is how many buckets, from the first, have
    all theirs final (buckets start in order, the same on every rank).
    """

    def __init__(self, names, nbytes, bucket_bytes: int):
        self.names = list(names)
        self.groups = assign_buckets(nbytes, bucket_bytes)
        self.order = [index for group in self.groups for index in group]
        self.bounds = [0]
        for group in self.groups:
            self.bounds.append(self.bounds[-1] + len(group))
        self.of_layer: dict[str, list[int]] = {}  # layer -> the bucket of each of its parameters
        for bucket, group in enumerate(self.groups):
            for index in group:
                self.of_layer.setdefault(layer_of(self.names[index]), []).append(bucket)
        self.reset()

    def __len__(self) -> int:
        return len(self.groups)

    def reset(self) -> None:
        """A new step: no parameter is final."""
        self.waiting = [len(group) for group in self.groups]
        self.reported: set[str] = set()
        self._complete = 0

    def ready(self, layer: str) -> None:
        """The parameters of ``layer`` are final (a layer without any, or said twice: no-op)."""
        if layer in self.reported:
            return
        self.reported.add(layer)
        for bucket in self.of_layer.get(layer, ()):
            self.waiting[bucket] -= 1

    def complete(self) -> int:
        """How many buckets, counted from the first, have every parameter final."""
        while self._complete < len(self.groups) and not self.waiting[self._complete]:
            self._complete += 1
        return self._complete
