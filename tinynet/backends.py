"""Which code the layers run: the readable NumPy reference or the fast engine.

    import tinynet
    tinynet.set_backend("reference")          # from now on, in this process
    with tinynet.backend("reference"):        # only inside the block
        loss = loss_fn(model.forward(x), labels)

``"reference"`` runs every layer on its plain NumPy code (``tinynet/reference/``: convolution
as im2col + GEMM + col2im, pooling and LRN as short NumPy loops, SGD as the paper's two lines):
the specification, the code to read first. ``"fast"`` (the default) runs the same layers on
Numba kernels, Winograd convolution, fused epilogues and reused scratch buffers; the tests hold
it to the reference. Both give the same results up to floating-point rounding.

The choice is read when a layer runs, so it applies to every model, already built or not. A new
process starts with ``$TINYNET_BACKEND`` if set (so an ``mpirun`` of several processes, or a
script, can choose without a code change), else ``"fast"``. Processes forked after the choice
(data-loader workers) inherit it. A layer's backward runs the code its forward ran.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

#: The two backends.
BACKENDS = ("reference", "fast")
#: The environment variable a new process reads its backend from.
ENV = "TINYNET_BACKEND"


def _checked(name, where: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"{where}: backend must be 'reference' or 'fast', got {name!r}")
    return name


_current = _checked(os.environ.get(ENV, "fast"), f"${ENV}")


def get_backend() -> str:
    """The backend layers run on now: ``"reference"`` or ``"fast"``."""
    return _current


def set_backend(name: str) -> None:
    """Run every layer on ``name`` (``"reference"`` or ``"fast"``) from now on."""
    global _current
    _current = _checked(name, "set_backend")


@contextmanager
def backend(name: str):
    """``with tinynet.backend("reference"):`` runs the block on ``name``, then restores the
    backend that was in force (also when the block raises)."""
    global _current
    before, _current = _current, _checked(name, "backend")
    try:
        yield name
    finally:
        _current = before


def is_reference() -> bool:
    """True when layers run the readable reference code."""
    return _current == "reference"
