"""The package's shape, read from its source (nothing of it is imported): an import graph without
cycles whose edges point down the layers, deferred imports that say why, no private modules of
other libraries, dependencies that are exactly what ``src/`` imports, and mypy and ruff clean."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src"
PACKAGE = "xlreport"

#: Each layer and the layers it may import (itself always allowed).  ``xlreport`` is the package's
#: ``__init__`` (its version); ``published`` is the published-report medium beside ``workbook``;
#: ``outputs`` writes every file, for the media and the workflows alike.
BASE = {"errors", "codes", "outputs", "root"}
LAYERS: dict[str, set[str]] = {
    "codes": set(),
    "errors": {"codes"},
    "outputs": {"errors", "codes"},
    "root": set(),
    "edition": BASE,
    "checks": {"edition", *BASE},
    "workbook": {"checks", "edition", *BASE},
    "published": {"checks", "edition", *BASE},
    "workflows": {"workbook", "published", "checks", "edition", *BASE},
    "cli": {"workflows", "workbook", "published", "checks", "edition", *BASE},
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a package's ``__init__`` for ``from pkg import name``)
    line: int
    in_function: bool
    type_only: bool


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        is_package = MODULES[module].name == "__init__.py"
        base = module.split(".")[: len(module.split(".")) - node.level + is_package]
        stem = ".".join([*base, *([node.module] if node.module else [])])
    else:
        stem = node.module or ""
    # ``from pkg import sub`` imports the module pkg.sub; ``from mod import name`` imports mod.
    return [f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem for a in node.names]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(module: str, node: ast.AST, in_function: bool, type_only: bool) -> list[Import]:
    found: list[Import] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            found += [
                Import(module, target, child.lineno, in_function, type_only)
                for target in _targets(module, child)
            ]
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found += _walk(module, child, True, type_only)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for part in child.body:
                found += _walk(module, ast.Module(body=[part], type_ignores=[]), in_function, True)
            for part in child.orelse:
                found += _walk(module, ast.Module(body=[part], type_ignores=[]), in_function,
                               type_only)
        else:
            found += _walk(module, child, in_function, type_only)
    return found


IMPORTS = [
    imp
    for module, path in MODULES.items()
    for imp in _walk(module, ast.parse(path.read_text("utf-8")), False, False)
]


def _internal(target: str) -> str | None:
    """The module of this package that ``target`` names, if any."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] in ("cli", "__main__"):
        return "cli"
    return parts[1]


def test_every_module_belongs_to_a_layer() -> None:
    assert {_layer(m) for m in MODULES} <= set(LAYERS), "a new package needs its place in LAYERS"


def test_the_import_graph_has_no_cycle() -> None:
    """Every import that runs counts, at module level or in a function; an import for type hints
    only (``if TYPE_CHECKING:``) does not run, so a spec and its rules may name each other."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.type_only:
            continue
        target = _internal(imp.target)
        if target is not None and target != imp.source:
            graph[imp.source].add(target)
    # Parents of an imported module are imported first (``import a.b.c`` runs a, a.b).
    for module in MODULES:
        for target in list(graph[module]):
            parts = target.split(".")
            graph[module].update(
                parent for i in range(1, len(parts))
                if (parent := ".".join(parts[:i])) in MODULES and parent != module
                and not module.startswith(parent + ".")
            )
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt):], nxt]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for imp in IMPORTS:
        target = _internal(imp.target)
        if target is None:
            continue
        source_layer, target_layer = _layer(imp.source), _layer(target)
        if target_layer != source_layer and target_layer not in LAYERS[source_layer]:
            wrong.append(f"{imp.source}:{imp.line} imports {target} ({source_layer} → {target_layer})")
    assert not wrong, "\n".join(wrong)


def test_every_function_level_import_says_why_it_is_deferred() -> None:
    undeclared: list[str] = []
    for imp in IMPORTS:
        if not imp.in_function or f"{imp.source}:{imp.line}" in " ".join(undeclared):
            continue
        lines = MODULES[imp.source].read_text("utf-8").splitlines()
        above = imp.line - 2  # the comment may also stand above a run of deferred imports
        while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
            above -= 1
        said = re.search(r"# deferred: \S", lines[imp.line - 1]) or (
            above >= 0 and re.fullmatch(r"\s*# deferred: \S.*", lines[above])
        )
        if not said:
            undeclared.append(f"{imp.source}:{imp.line} {imp.target}")
    assert not undeclared, "function-level imports without '# deferred: <reason>':\n" + "\n".join(
        undeclared
    )


def test_no_private_module_of_another_library_is_imported() -> None:
    private = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == PACKAGE or name == "__future__":
                    continue
                if any(part.startswith("_") and not part.startswith("__")
                       for part in name.split(".")):
                    private.append(f"{module}:{node.lineno} {name}")
    assert not private, "\n".join(private)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_runtime_dependencies_are_exactly_what_the_source_imports() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {_canonical(re.match(r"[A-Za-z0-9._-]+", d).group()) for d in project["dependencies"]}
    top = {
        imp.target.split(".")[0]
        for imp in IMPORTS
        if not imp.type_only and imp.target.split(".")[0] not in (PACKAGE, "__future__")
    }
    third_party = top - set(sys.stdlib_module_names)
    distributions = packages_distributions()
    unknown = sorted(name for name in third_party if name not in distributions)
    assert not unknown, f"imported but not installed: {unknown}"
    imported = {_canonical(dist) for name in third_party for dist in distributions[name]}
    assert declared == imported, (
        f"declared but not imported: {sorted(declared - imported)}; "
        f"imported but not declared: {sorted(imported - declared)}"
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "mypy", "src/xlreport"], id="mypy"),
        pytest.param([sys.executable, "-m", "ruff", "check", "src", "tests"], id="ruff"),
    ],
)
def test_the_source_passes_its_checkers(command: list[str]) -> None:
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
