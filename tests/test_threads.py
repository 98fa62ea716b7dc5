"""OpenBLAS's threads sleep after their work whatever the import order (tinynet/perf/threads.py).

Each case runs in a fresh interpreter, since OpenBLAS starts its threads once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tinynet.perf import threads

PROBE = "from tinynet.perf.threads import _openblas; print(_openblas().openblas_thread_timeout())"


def run(code: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


needs_openblas = pytest.mark.skipif(
    threads._openblas() is None, reason="NumPy's BLAS here is not a loadable OpenBLAS"
)


@needs_openblas
@pytest.mark.parametrize(
    "imports",
    [
        "import numpy; import tinynet",
        "import tinynet; import numpy",
        "import numpy; import tinynet.layers",
    ],
)
def test_short_spin_whatever_the_import_order(imports):
    assert run(f"{imports}; {PROBE}") == str(threads.SPIN)


@needs_openblas
def test_short_spin_even_with_another_value_in_the_environment():
    """A long spin set for other programs would halve tinynet's Numba kernels' cores."""
    assert run(f"import numpy; import tinynet; {PROBE}", OPENBLAS_THREAD_TIMEOUT="28") == "4"


@needs_openblas
def test_numpy_still_computes_and_keeps_its_thread_count_after_the_restart():
    code = (
        "import numpy as np; a = np.arange(40000, dtype=np.float32).reshape(200, 200) / 4e4; "
        "before = a @ a; import tinynet; from threadpoolctl import threadpool_limits, "
        "threadpool_info; after = a @ a; print(bool((before == after).all()), "
        "threadpool_info()[0]['num_threads'])"
    )
    pytest.importorskip("threadpoolctl")
    same, count = run(code, OPENBLAS_NUM_THREADS="1").split()
    assert same == "True" and count == "1"


def test_report_names_both_pools():
    text = threads.report()
    assert "BLAS" in text and "Numba" in text


def test_numpys_openblas_is_found_when_scipys_is_mapped_first(monkeypatch):
    """Numba loads SciPy, whose OpenBLAS may come first in /proc/self/maps: NumPy's is meant."""
    import io

    maps = (
        "7f00-7f01 r-xp 0 08:01 1 /site-packages/scipy.libs/libscipy_openblas-1.so\n"
        "7f02-7f03 r-xp 0 08:01 2 /site-packages/numpy.libs/libscipy_openblas64_-2.so\n"
    )
    monkeypatch.setattr(threads, "open", lambda *_: io.StringIO(maps), raising=False)
    assert threads._loaded_openblas() == "/site-packages/numpy.libs/libscipy_openblas64_-2.so"
    only = "7f00-7f01 r-xp 0 08:01 1 /usr/lib/libopenblas.so.0\n"
    monkeypatch.setattr(threads, "open", lambda *_: io.StringIO(only), raising=False)
    assert threads._loaded_openblas() == "/usr/lib/libopenblas.so.0"
