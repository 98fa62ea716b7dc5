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


def test_loading_the_thread_settings_loads_no_numpy():
    """``import tinynet`` sets the defaults before NumPy loads: perf/threads.py must not load it."""
    code = (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('t', {threads.__file__!r}); "
        "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
        "print('numpy' in sys.modules, 'numba' in sys.modules)"
    )
    assert run(code) == "False False"


LAYER = "import numba; print(numba.config.THREADING_LAYER)"


@pytest.mark.parametrize("imports", ["import tinynet.kernels", "import numba; import tinynet"])
def test_numba_runs_on_its_work_queue_whatever_the_import_order(imports):
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run(
        [sys.executable, "-c", f"{imports}; {LAYER}"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == threads.NUMBA_THREADING_LAYER == "workqueue"


def test_an_explicit_threading_layer_wins():
    assert run(f"import tinynet.kernels; {LAYER}", NUMBA_THREADING_LAYER="omp") == "omp"


@pytest.fixture
def numba_threads(monkeypatch):
    """The counts ``share_cores`` gives Numba, on a 4-core machine with nothing set."""
    import numba

    given = []
    monkeypatch.setattr(numba, "set_num_threads", given.append)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})  # 4 cores
    for name in ("NUMBA_NUM_THREADS", *threads.BLAS_COUNTS):
        monkeypatch.delenv(name, raising=False)
    return given


def test_share_cores_divides_the_cores(numba_threads):
    assert threads.share_cores(2) == 2 and threads.share_cores(8) == 1
    import numba

    assert numba_threads == [min(2, numba.config.NUMBA_NUM_THREADS), 1]


@pytest.mark.parametrize("name", threads.BLAS_COUNTS)
def test_an_explicit_blas_thread_count_wins(numba_threads, monkeypatch, name):
    monkeypatch.setenv(name, "3")
    assert threads.share_cores(2) is None and len(numba_threads) == 1


def test_an_explicit_numba_thread_count_wins(numba_threads, monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    assert threads.share_cores(2) == 2 and numba_threads == []


def test_cores_per_process_follows_the_affinity():
    """Pinned to one core (taskset, a launcher's binding), a process gets one core's share."""
    import os
    import subprocess
    import sys

    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs CPU affinity and 2 cores")
    core = min(os.sched_getaffinity(0))
    script = (
        f"import os; os.sched_setaffinity(0, {{{core}}}); "
        "from tinynet.perf.threads import cores_per_process; print(cores_per_process(1))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.strip() == "1", out.stderr
