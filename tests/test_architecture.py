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
    "files": "files",
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
    "files": set(),
    "data": {"data", "validate", "files"},
    "dist": {"dist"},
    "train": ENGINE | {"train", "dist", "files"},
    "interop": ENGINE | {"interop", "data", "files"},
    "cli": ENGINE | {"train", "dist", "data", "interop", "cli", "files"},
}
#: Third-party packages the engine may use: the rest (tqdm, PIL, matplotlib, mpi4py) stay out.
ENGINE_THIRD_PARTY = {"numpy", "numba"}


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    if len(rel.parts) == 1:
        return ROOT_FILES.get(rel.name, rel.name)
    return rel.parts[0]


def imports_of(path: Path, root: Path = PACKAGE):
    """(module name, line) of every import in ``path`` (below ``root``, the package folder),
    relative ones made absolute."""
    package = ["tinynet", *path.relative_to(root).parent.parts]
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


def module_name(path: Path, root: Path) -> str:
    parts = ["tinynet", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_cycles(root: Path) -> list[list[str]]:
    """Groups of modules that import each other in a loop (imports inside functions count: a
    loop hidden by a local import is still one). A package importing its own submodules, and a
    submodule its package, are not loops."""
    modules = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph = {}
    for name, path in modules.items():
        found = set()
        for module, _ in imports_of(path, root):
            for candidate in (module, module.rsplit(".", 1)[0]):
                if candidate in modules:
                    found.add(candidate)
                    break
        graph[name] = {
            m for m in found if not (m.startswith(name + ".") or name.startswith(m + "."))
        }
    cycles, index, low, stack, counter = [], {}, {}, [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


def test_no_module_imports_itself_in_a_loop(tmp_path):
    assert import_cycles(PACKAGE) == []
    # the check finds a loop that a function-local import hides
    pkg = tmp_path / "tinynet" / "cli"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g\n")
    assert import_cycles(tmp_path / "tinynet") == [["tinynet.cli.a", "tinynet.cli.b"]]
