"""The exercise notebooks in notebooks/exercises/ check themselves, in both directions.

Each exercise is a stub cell (tagged ``exercise``, its metadata ``exercise`` naming the functions
it defines) followed by a check cell (tagged ``check``) that prints ``PASS name: ...`` or
``FAIL name: <diagnosis>``. This file runs every notebook twice in a fresh kernel (nbclient):

(a) as shipped: every check must print ``FAIL ...: not implemented yet``;
(b) with each stub cell's source replaced by the source of the same functions in
    notebooks/exercises/solutions/: every check must print ``PASS``;

and (c) feeds every check deliberately wrong implementations, in-process, each of which must be
rejected with the diagnosis it was written to provoke. The notebooks are committed with the
outputs of (a); to refresh them after editing a notebook:

    python tests/notebooks/test_exercises.py

(a) and (b) need nbclient, nbformat and ipykernel (the ``notebooks`` extra); skipped without them.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path

import pytest

EXERCISE_DIR = Path(__file__).resolve().parents[2] / "notebooks" / "exercises"
NOTEBOOKS = {  # notebook -> its solutions module
    "1_backward_passes.ipynb": "backward_passes",
    "2_convolution_pooling_lrn.ipynb": "convolution_pooling_lrn",
    "3_winograd.ipynb": "winograd",
    "4_training_and_saliency.ipynb": "training_and_saliency",
}
CELL_TIMEOUT = 600  # seconds per cell (room for a slow, shared machine)

sys.path.insert(0, str(EXERCISE_DIR))
checks = importlib.import_module("checks")
solutions = {m: importlib.import_module(f"solutions.{m}") for m in NOTEBOOKS.values()}
try:
    from ..helpers.exercise_mistakes import WRONG
    from ..helpers.notebook_kernel import committed_code_cells, run_in_kernel
except ImportError:  # run as a script: python tests/notebooks/test_exercises.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
    from exercise_mistakes import WRONG
    from notebook_kernel import committed_code_cells, run_in_kernel


def execute(nb):
    """Run the notebook ``nb`` in place in a fresh kernel -> seconds it took."""
    return run_in_kernel(nb, EXERCISE_DIR, CELL_TIMEOUT)


def read(name: str):
    import nbformat

    return nbformat.read(EXERCISE_DIR / name, as_version=4)


def tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def check_lines(nb) -> list[str]:
    """The PASS/FAIL lines the check cells printed, in order."""
    lines = []
    for cell in tagged(nb, "check"):
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            lines += [s for s in text.splitlines() if s.startswith(("PASS ", "FAIL "))]
    return lines


def with_solutions(nb, module: str):
    """``nb`` with each exercise cell's source replaced by the solution functions' source."""
    for cell in tagged(nb, "exercise"):
        names = cell.metadata["exercise"]
        cell.source = "\n\n".join(inspect.getsource(getattr(solutions[module], n)) for n in names)
    return nb


def skip_without_jupyter():
    for name in ("nbformat", "nbclient", "ipykernel"):
        pytest.importorskip(name)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_with_the_stubs_outputs(name):
    """Executed top to bottom, no error, every check showing 'not implemented yet'."""
    code = committed_code_cells(EXERCISE_DIR / name)
    checks_ = [c for c in code if "check" in c.get("metadata", {}).get("tags", [])]
    # one text per check cell (a kernel may split one printed line into several stream outputs)
    printed = ["".join("".join(o.get("text", "")) for o in c.get("outputs", [])) for c in checks_]
    assert len(printed) == len(checks_) and all("not implemented yet" in p for p in printed)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_exercise_has_a_stub_a_check_and_a_solution(name):
    nb = json.loads((EXERCISE_DIR / name).read_text(encoding="utf-8"))
    stubs = [c for c in nb["cells"] if "exercise" in c.get("metadata", {}).get("tags", [])]
    assert len(stubs) == len([c for c in nb["cells"] if "check" in c["metadata"].get("tags", [])])
    for cell in stubs:
        for function in cell["metadata"]["exercise"]:
            assert f"def {function}(" in "".join(cell["source"])
            assert callable(getattr(solutions[NOTEBOOKS[name]], function))


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_shipped_stubs_fail_every_check(name, capsys):
    skip_without_jupyter()
    nb = read(name)
    seconds = execute(nb)
    with capsys.disabled():
        print(f"\n{name} (stubs): executed in {seconds:.1f} s", end="")
    lines = check_lines(nb)
    assert len(lines) == len(tagged(nb, "check")), lines
    assert all(s.startswith("FAIL ") and s.endswith(": not implemented yet") for s in lines), lines


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_pass_every_check(name, capsys):
    skip_without_jupyter()
    nb = with_solutions(read(name), NOTEBOOKS[name])
    seconds = execute(nb)
    with capsys.disabled():
        print(f"\n{name} (solutions): executed in {seconds:.1f} s", end="")
    lines = check_lines(nb)
    assert len(lines) == len(tagged(nb, "check")), lines
    assert all(s.startswith("PASS ") for s in lines), lines


def test_the_engine_does_not_import_the_exercises():
    engine = Path(__file__).resolve().parents[2] / "tinynet"
    for path in engine.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "exercises" not in text and "import checks" not in text, path


# -- (c) deliberately wrong implementations, each with the diagnosis it must provoke -------------


@pytest.mark.parametrize(
    ("name", "wrong", "diagnosis"), WRONG, ids=[f"{n}-{d[:30]}" for n, _, d in WRONG]
)
def test_wrong_answer_is_diagnosed(name, wrong, diagnosis, capsys):
    result = getattr(checks, f"check_{name}")(*(wrong if isinstance(wrong, tuple) else (wrong,)))
    printed = capsys.readouterr().out.strip()
    assert not result and printed == str(result) and printed.startswith(f"FAIL {name}: ")
    assert diagnosis in result.message, result.message


def test_every_check_is_exercised_by_a_wrong_answer():
    names = {n.removeprefix("check_") for n in checks.__all__ if n.startswith("check_")}
    assert names == {n for n, _, _ in WRONG}


if __name__ == "__main__":
    import nbformat

    for name in sys.argv[1:] or NOTEBOOKS:
        nb = read(Path(name).name)
        seconds = execute(nb)
        nbformat.write(nb, EXERCISE_DIR / Path(name).name)
        print(f"{name}: executed and saved in {seconds:.1f} s")
