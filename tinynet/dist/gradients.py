"""Averaging gradients over the ranks with one Allreduce per step, and sharing weights.

Every step each rank has the gradient of the mean loss over its own B/N samples. Packed into one
preallocated flat buffer, summed over the ranks in place (one ``Allreduce`` with ``IN_PLACE``)
and divided by N, it becomes the gradient of the mean loss over the global batch of B samples,
as one process computing the whole batch would have it (up to float32 rounding). The buffer
carries the local loss and sample count in two extra elements, so the same call also gives every
rank the global batch's loss and size, on which they all agree whether training diverged.
"""

from __future__ import annotations

import numpy as np


class FlatBuffer:
    """Arrays of one dtype seen as consecutive slices of one contiguous 1-D buffer.

    ``pack()`` copies the arrays into ``flat``; ``unpack()`` copies ``flat`` back into them
    (the arrays themselves are never replaced, so others' references stay valid). ``extra``
    elements after the arrays' slices are free for the caller (``flat[-extra:]``).
    """

    def __init__(self, arrays, extra: int = 0, dtype=None):
        self.arrays = list(arrays)
        if not self.arrays and not extra:
            raise ValueError("FlatBuffer: nothing to pack")
        dtypes = {a.dtype for a in self.arrays}
        if dtype is None:
            if len(dtypes) > 1:
                raise ValueError(
                    f"FlatBuffer: the arrays have several dtypes {sorted(map(str, dtypes))}"
                )
            dtype = dtypes.pop() if dtypes else np.float32
        self.dtype = np.dtype(dtype)
        sizes = [a.size for a in self.arrays]
        self.size = int(sum(sizes))
        self.flat = np.zeros(self.size + extra, dtype=self.dtype)
        bounds = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self.views = [
            self.flat[a:b].reshape(arr.shape)
            for a, b, arr in zip(bounds[:-1], bounds[1:], self.arrays)
        ]

    def pack(self) -> np.ndarray:
        for view, arr in zip(self.views, self.arrays):
            np.copyto(view, arr)
        return self.flat

    def unpack(self) -> None:
        for view, arr in zip(self.views, self.arrays):
            np.copyto(arr, view)


def broadcast_arrays(arrays, comm, root: int = 0) -> None:
    """Overwrite ``arrays`` on every rank with rank ``root``'s, in place (one Bcast per dtype)."""
    if comm.size == 1:
        return
    by_dtype: dict = {}
    for arr in arrays:
        by_dtype.setdefault(np.dtype(arr.dtype).str, []).append(arr)
    for key in sorted(by_dtype):
        buf = FlatBuffer(by_dtype[key])
        comm.bcast(buf.pack(), root=root)
        buf.unpack()


class GradientSync:
    """Averages the gradients of ``named_parameters`` (``(name, param, grad)`` triples, e.g.
    ``model.named_parameters()``) over the ranks of ``comm``; call ``average(loss)`` between the
    backward pass and the optimizer step.
    """

    def __init__(self, named_parameters, comm):
        self.comm = comm
        triples = list(named_parameters)
        self.names = [name for name, _, _ in triples]
        self.params = [param for _, param, _ in triples]
        self.buffer = FlatBuffer([grad for _, _, grad in triples], extra=2)  # + loss, count

    def average(self, loss: float, count: int) -> tuple[float, int]:
        """Replace every rank's gradients by the global batch's; return (its loss, its size).

        Each rank's gradient and loss are means over its own ``count`` samples; weighted by
        ``count`` and summed over the ranks they become the means over the whole global batch,
        also when the ranks' batches differ in size (an unreadable file) or one is empty
        (``count`` 0, gradients zero). Collective: every rank must call it once per step.
        """
        flat = self.buffer.pack()
        flat[:-2] *= count
        flat[-2:] = loss * count, count
        self.comm.allreduce_sum(flat)
        total = int(flat[-1])
        if total:
            flat[:-1] /= total
        self.buffer.unpack()
        return float(flat[-2]), total

    def broadcast_parameters(self, more=(), root: int = 0) -> None:
        """Give every rank rank ``root``'s parameters (and the ``more`` arrays, e.g. momenta)."""
        broadcast_arrays(self.params + list(more), self.comm, root)

    def max_divergence(self) -> float:
        """Largest difference of any weight between the ranks (0 when they agree); collective.

        A check for tests and debugging, not for every step: it reduces all the weights.
        """
        flat = FlatBuffer(self.params).pack().astype(np.float64)
        both = np.stack([flat, -flat])  # max over ranks of x and of -x
        self.comm.allreduce_max(both)
        return float(np.max(both[0] + both[1])) if flat.size else 0.0
