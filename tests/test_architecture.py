"""The package's layers, as docs/architecture.md draws them: who may import whom.

Read from the source (``ast``), so a forbidden import fails here even if no test runs it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinynet"

#: The part of the package each file belongs to, by its first path component.
ROOT_FILES = {
    "__init__": "core",
    "backends": "core",
    "layer": "core",
    "sequential": "core",
    "gradcheck": "core",
}
ENGINE = {"core", "validate", "perf", "reference", "kernels", "layers", "models", "optim"}
ALLOWED = {
    "validate": set(),
    "perf": {"perf"},
    "reference": {"reference", "validate"},
    "kernels": {"kernels", "reference", "validate"},
    "core": {"core", "validate", "perf"},
    "layers": {"layers", "core", "reference", "kernels", "validate", "perf"},
    "models": {"models", "layers", "core", "validate"},
    "optim": {"optim", "core", "validate"},
    "data": {"data", "validate"},
    "dist": {"dist"},
    "train": ENGINE | {"train", "dist"},
    "interop": ENGINE | {"interop", "data"},
    "cli": ENGINE | {"train", "dist", "data", "interop", "cli"},
}
#: Third-party packages the engine may use: the rest (tqdm, PIL, matplotlib, mpi4py) stay out.
ENGINE_THIRD_PARTY = {"numpy", "numba"}


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    if len(rel.parts) == 1:
        return ROOT_FILES.get(rel.name, rel.name)
    return rel.parts[0]


def imports_of(path: Path):
    """(module name, line) of every import in ``path``, relative ones made absolute."""
    package = ["tinynet", *path.relative_to(PACKAGE).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None:  # from . import x: x may be a module
                for alias in node.names:
                    yield f"{module}.{alias.name}", node.lineno
            else:
                yield module, node.lineno


def tinynet_part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "tinynet":
        return None
    if len(parts) == 1:
        return "core"
    first = parts[1]
    if (PACKAGE / first).is_dir():
        return first
    return ROOT_FILES.get(first, first)


FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_file_belongs_to_a_known_part():
    assert {part_of(p) for p in FILES} <= set(ALLOWED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    mine = part_of(path)
    for module, line in imports_of(path):
        target = tinynet_part(module)
        if target is not None:
            assert target in ALLOWED[mine], f"{path.name}:{line}: {mine} may not import {module}"
        elif mine in ENGINE:
            top = module.split(".")[0]
            stdlib = top in __import__("sys").stdlib_module_names or top == "__future__"
            assert stdlib or top in ENGINE_THIRD_PARTY, (
                f"{path.name}:{line}: the engine imports {top}"
            )
