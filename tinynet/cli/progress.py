"""tqdm progress bars for an epoch: loss, top-1, images/s and ETA."""
from __future__ import annotations

import time

from tqdm import tqdm


class EpochBar:
    """A bar over one pass; ``update(meter)`` is the ``on_batch`` callback of the train loop."""

    def __init__(self, total: int, desc: str, disable: bool = False, check=None):
        # disable=None: no bar when the output is not a terminal (logs, CI)
        self.bar = tqdm(total=total, desc=desc, unit="batch", leave=False,
                        disable=True if disable else None,
                        dynamic_ncols=True)
        self.start = time.perf_counter()
        self.check = check

    def update(self, meter) -> None:
        elapsed = time.perf_counter() - self.start
        self.bar.set_postfix(loss=f"{meter.loss:.4f}", top1=f"{meter.acc1:.3f}",
                             img_s=f"{meter.images / max(elapsed, 1e-9):.1f}", refresh=False)
        self.bar.update(1)
        if self.check is not None:
            self.check()

    def close(self) -> None:
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
