"""The teaching notebooks in notebooks/ run top to bottom without an error.

Each notebook is re-executed in a fresh ``python3`` kernel (nbclient) with notebooks/ as its working
directory; a cell that raises fails the test, and the time each notebook took is printed. The
notebooks are committed with their outputs, so that they read well unexecuted; this test never
writes them. To refresh the committed outputs after editing a notebook:

    python tests/notebooks/test_notebooks.py                    # every notebook
    python tests/notebooks/test_notebooks.py 02_convolution_im2col.ipynb

Needs nbclient, nbformat, ipykernel and matplotlib (the ``notebooks`` extra); skipped without them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    from ..helpers.notebook_kernel import committed_code_cells, run_in_kernel
except ImportError:  # run as a script: python tests/notebooks/test_notebooks.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
    from notebook_kernel import committed_code_cells, run_in_kernel
NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = tuple(sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")))
# seconds per cell: room for a slow AVX2 machine shared with another job (notebook 04 took over
# 300 s there)
CELL_TIMEOUT = 900


def execute(path: Path):
    """Run the notebook at ``path`` in a fresh kernel -> (executed notebook, seconds)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return nb, run_in_kernel(nb, NOTEBOOK_DIR, CELL_TIMEOUT)


def test_the_notebooks_are_found():
    assert len(NOTEBOOKS) >= 4, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_with_outputs(name):
    """Every code cell was executed, in order, and none holds an error."""
    committed_code_cells(NOTEBOOK_DIR / name)


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, capsys):
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    before = set(NOTEBOOK_DIR.iterdir())
    _, seconds = execute(NOTEBOOK_DIR / name)
    with capsys.disabled():
        print(f"\n{name}: executed in {seconds:.1f} s", end="")
    left = sorted(p.name for p in set(NOTEBOOK_DIR.iterdir()) - before)
    assert not left, f"{name} left files behind in notebooks/: {left}"


if __name__ == "__main__":
    import nbformat

    for name in sys.argv[1:] or NOTEBOOKS:
        nb, seconds = execute(NOTEBOOK_DIR / Path(name).name)
        nbformat.write(nb, NOTEBOOK_DIR / Path(name).name)
        print(f"{name}: executed and saved in {seconds:.1f} s")
