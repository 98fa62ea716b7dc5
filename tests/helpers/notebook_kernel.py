"""What tests/notebooks/test_notebooks.py and tests/notebooks/test_exercises.py share: running a
notebook in a fresh kernel, and checking how it was committed."""

from __future__ import annotations

import json
import time
from pathlib import Path


def run_in_kernel(nb, workdir: Path, cell_timeout: int) -> float:
    """Execute the nbformat notebook ``nb`` in place in a fresh ``python3`` kernel whose working
    directory is ``workdir``; a cell that raises raises here. Returns the seconds it took."""
    import nbclient

    client = nbclient.NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def committed_code_cells(path: Path) -> list[dict]:
    """The code cells of the notebook file at ``path``, after asserting that they were executed
    top to bottom and that none holds an error."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: not executed top to bottom: {counts}"
    )
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: committed with an error: {errors[0].get('ename')}"
    return code
