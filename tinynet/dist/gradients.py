"""Averaging gradients over the ranks, overlapped with backward, and sharing weights.

Every step each rank has the gradient of the mean loss over its own B/N samples. Weighted by
its sample count while it is copied into a preallocated flat buffer, summed over the ranks in
place (``IN_PLACE`` allreduces) and divided by the global count while it is copied back, it
becomes the gradient of the mean loss over the global batch of B samples, as one process
computing the whole batch would have it (up to float32 rounding). The sums run bucket by bucket
while backward computes the layers below (``tinynet.dist.buckets``), or as one allreduce after
it. The local loss and sample count are summed too, so every rank gets the global batch's loss
and size, on which they all agree whether training diverged.
"""

from __future__ import annotations

import numpy as np

from .buckets import BUCKET_BYTES, Buckets
from .comm import ProgressThread


class FlatBuffer:
    """Arrays of one dtype seen as consecutive slices of one contiguous 1-D buffer.

    ``pack()`` copies the arrays into ``flat``; ``unpack()`` copies ``flat`` back into them
    (the arrays themselves are never replaced, so others' references stay valid). Both can
    scale on the way (``factor``, ``divisor``) at the cost of the copy alone, and ``pack`` can
    copy arrays ``first:last`` only, into ``flat[offsets[first]:offsets[last]]``. ``extra``
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
        self.offsets = [0, *np.cumsum(sizes, dtype=np.int64).tolist()]
        self.views = [
            self.flat[a:b].reshape(arr.shape)
            for a, b, arr in zip(self.offsets[:-1], self.offsets[1:], self.arrays)
        ]

    def pack(self, factor=1, first: int = 0, last: int | None = None) -> np.ndarray:
        """Copy arrays ``first:last`` (all by default) times ``factor`` in; returns ``flat``."""
        for view, arr in zip(self.views[first:last], self.arrays[first:last]):
            if factor == 1:
                np.copyto(view, arr)
            else:
                np.multiply(arr, factor, out=view)
        return self.flat

    def unpack(self, divisor=1) -> None:
        """Copy every array's slice divided by ``divisor`` back into the array."""
        for view, arr in zip(self.views, self.arrays):
            if divisor == 1:
                np.copyto(arr, view)
            else:
                np.divide(view, divisor, out=arr)


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


#: How a bucket's sum is moved forward while backward computes (``GradientSync(progress=)``):
#: "test": MPI's Testall on the sums in flight after each layer's backward; "thread": a thread
#: calling it every millisecond (needs MPI_THREAD_MULTIPLE); "none": only MPI's own progress
#: (e.g. MPICH's ``MPIR_CVAR_ASYNC_PROGRESS=1``), else the sums run when ``average`` waits.
PROGRESS = ("test", "thread", "none")


class GradientSync:
    """Averages the gradients of ``named_parameters`` (``(name, param, grad)`` triples, e.g.
    ``model.named_parameters()``) over the ranks of ``comm``.

    Every step: ``begin(count)`` before backward, ``ready`` as the model's backward hook
    (``model.register_backward_hook(sync.ready)``), ``average(loss, count)`` between backward
    and the optimizer step. With ``overlap`` (the default) the gradients are summed in buckets
    of about ``bucket_bytes`` (``tinynet.dist.buckets``), each started (a non-blocking
    allreduce) as soon as backward has finished its parameters, and moved forward as
    ``progress`` says (``PROGRESS``); ``average`` starts what is left, waits for all and copies
    the means back. ``overlap=False``: one allreduce of every gradient in ``average``.
    ``average`` alone (no ``begin``, no hook) gives the same result in either mode.
    """

    def __init__(
        self,
        named_parameters,
        comm,
        *,
        overlap: bool = True,
        bucket_bytes: int = BUCKET_BYTES,
        progress: str = "test",
    ):
        if progress not in PROGRESS:
            raise ValueError(f"GradientSync: progress must be one of {PROGRESS}, got {progress!r}")
        self.comm, self.overlap, self.progress = comm, bool(overlap), progress
        triples = list(named_parameters)
        self.names = [name for name, _, _ in triples]
        self.params = [param for _, param, _ in triples]
        grads = [grad for _, _, grad in triples]
        self.buckets = None
        self._thread = None
        if self.overlap:
            self.buckets = Buckets(self.names, [g.nbytes for g in grads], bucket_bytes)
            self.buffer = FlatBuffer([grads[i] for i in self.buckets.order])
            self.totals = np.zeros(2, np.float64)  # loss * count, count: summed apart
            if progress == "thread":
                self._thread = ProgressThread(comm)
        else:
            self.buffer = FlatBuffer(grads, extra=2)  # + loss, count
        self._count: int | None = None  # this step's samples, from begin to average
        self._started = 0  # buckets started this step
        self._requests: list = []

    def begin(self, count: int) -> None:
        """A step of ``count`` local samples starts: ``ready`` may now send finished buckets."""
        if self._requests:
            raise RuntimeError("GradientSync.begin: the previous step's average() never ran")
        self._count, self._started = int(count), 0
        if self.buckets is not None:
            self.buckets.reset()

    def ready(self, name: str, layer=None) -> None:
        """The backward hook: layer ``name``'s gradients are final; start the buckets that are
        now complete (in order) and move the ones in flight forward. Outside a step: no-op."""
        if self.buckets is None or self._count is None:
            return
        self.buckets.ready(name)
        self._start(self.buckets.complete())
        if self.progress == "test" and self._requests:
            self.comm.test_all(self._requests)

    def _start(self, upto: int) -> None:
        """Pack buckets ``_started:upto`` (weighted by the step's count) and start their sums."""
        bounds, offsets = self.buckets.bounds, self.buffer.offsets
        while self._started < upto:
            first, last = bounds[self._started], bounds[self._started + 1]
            flat = self.buffer.pack(self._count, first, last)
            request = self.comm.iallreduce_sum(flat[offsets[first] : offsets[last]])
            self._requests.append(request)
            if self._thread is not None:
                self._thread.add(request)
            self._started += 1

    def average(self, loss: float, count: int) -> tuple[float, int]:
        """Replace every rank's gradients by the global batch's; return (its loss, its size).

        Each rank's gradient and loss are means over its own ``count`` samples; weighted by
        ``count`` and summed over the ranks they become the means over the whole global batch,
        also when the ranks' batches differ in size (an unreadable file) or one is empty
        (``count`` 0, gradients zero). The weighting is done in the copy into the buffer and
        the division by the global count in the copy back: no pass of its own. Collective:
        every rank must call it once per step.
        """
        if not self.overlap:
            flat = self.buffer.pack(count)
            flat[-2:] = loss * count, count
            self.comm.allreduce_sum(flat)
            total = int(flat[-1])
            self.buffer.unpack(total or 1)
            return float(flat[-2]) / (total or 1), total
        if self._count is None:
            self.begin(count)
        elif count != self._count:
            raise ValueError(f"GradientSync.average: count {count} but begin({self._count})")
        self._start(len(self.buckets))
        self.totals[:] = loss * count, count
        requests = self._requests + [self.comm.iallreduce_sum(self.totals)]
        if self._thread is not None:
            self._thread.take()  # from here on only this thread touches them
        self.comm.wait_all(requests)
        self._requests, self._count = [], None
        total = int(self.totals[1])
        self.buffer.unpack(total or 1)
        return float(self.totals[0]) / (total or 1), total

    def close(self) -> None:
        """Stop the progress thread, if any (it also ends with the process)."""
        if self._thread is not None:
            self._thread.close()

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
