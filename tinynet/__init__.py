"""tinynet: a deep-learning engine from scratch in NumPy and Numba.

    from tinynet import Sequential
    from tinynet.layers import Conv2D, ReLU, MaxPool2D, Flatten, Linear, SoftmaxCrossEntropy

The engine is ``Layer``, ``Sequential``, ``layers``, ``kernels``, ``models``, ``optim`` and
``gradcheck``; ``train``, ``data`` and ``dist`` build training on it, and ``cli`` is the command
line of ``examples/alexnet.py``. ``docs/architecture.md`` draws the map.

``tinynet.set_backend("reference")`` (or ``with tinynet.backend("reference"):``) runs every
layer on its readable NumPy code in ``tinynet/reference/``; ``"fast"``, the default, on the
Numba kernels (``tinynet/backends.py``).
"""

from .perf.threads import quiet_blas_threads, set_thread_defaults

set_thread_defaults()  # for libraries not loaded yet; see tinynet/perf/threads.py
import numpy  # noqa: E402,F401  (loads OpenBLAS, if NumPy was not imported before tinynet)

quiet_blas_threads()  # also when NumPy was imported first: import order does not matter

from . import gradcheck  # noqa: E402
from .backends import backend, get_backend, set_backend  # noqa: E402
from .layer import Layer  # noqa: E402
from .sequential import Sequential  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "Layer",
    "Sequential",
    "backend",
    "get_backend",
    "gradcheck",
    "set_backend",
    "__version__",
]
