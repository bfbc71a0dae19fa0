"""The shape of the package (docs/architecture.md): layers that import downwards only, no
import cycles, typer and rich only in the CLI, short modules, remote SDKs loaded lazily."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import dvlite

PKG = Path(dvlite.__file__).parent
ROOT = PKG.parent
MAX_LINES = 400

# Top to bottom; a module may import its own layer's modules and any layer below. A
# name stands for the module and everything under it; the longest matching name wins
# (`dvlite.storage.remote` sits above the rest of `dvlite.storage`).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("dvlite.__main__",),
    ("dvlite.cli",),
    ("dvlite.api", "dvlite.fs"),
    ("dvlite.repo",),
    ("dvlite.pipeline",),
    ("dvlite.workspace",),
    ("dvlite.scm", "dvlite.config", "dvlite.remote_config", "dvlite.settings"),
    ("dvlite.storage.remote",),
    ("dvlite.storage",),
    ("dvlite.core",),
    ("dvlite.errors", "dvlite._fault", "dvlite"),
)


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, Path]:
    return {_name(p): p for p in PKG.rglob("*.py")}


def _resolve(name: str) -> str:
    """The module `name` refers to: itself, or the closest package or module above it
    (`dvlite.core.oid.Oid` is `dvlite.core.oid`)."""
    mods = _sources()
    while name not in mods:
        name = name.rpartition(".")[0]
    return name


def _module_imports(name: str, path: Path) -> set[str]:
    """Every dvlite module that `name` imports, anywhere in the file: lazy imports inside
    functions and `TYPE_CHECKING` blocks count like the ones at the top."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(_resolve(a.name) for a in node.names if a.name.startswith("dvlite"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            if base == "dvlite" or base.startswith("dvlite."):
                # `from pkg import mod` names the module; `from mod import name` the module
                found.update(_resolve(f"{base}.{a.name}") for a in node.names)
    found.discard(name)
    return found


@cache
def _graph() -> dict[str, frozenset[str]]:
    return {m: frozenset(_module_imports(m, p)) for m, p in _sources().items()}


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None  # (layer, length of the matching name)
    for i, names in enumerate(LAYERS):
        for n in names:
            if (module == n or module.startswith(n + ".")) and (best is None or len(n) > best[1]):
                best = (i, len(n))
    assert best is not None, f"{module} is in no layer: add it to LAYERS and the docs"
    return best[0]


def upward_imports(graph: dict[str, frozenset[str]]) -> list[str]:
    return sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                  if layer_of(d) < layer_of(m))


def import_cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_every_module_has_a_layer() -> None:
    for module in _sources():
        layer_of(module)


def test_imports_point_down_the_layers() -> None:
    assert upward_imports(_graph()) == []


def test_storage_takes_typed_options_not_the_config() -> None:
    """The rule the layers imply that matters most: storage is handed typed records."""
    bad = {m: sorted(d for d in deps if d.startswith(("dvlite.config", "dvlite.settings",
                                                      "dvlite.workspace")))
           for m, deps in _graph().items() if m.startswith("dvlite.storage")}
    assert {m: v for m, v in bad.items() if v} == {}


def test_no_import_cycles_lazy_imports_included() -> None:
    assert import_cycles(_graph()) == []


def test_the_checks_catch_an_upward_import_and_a_cycle() -> None:
    """The two checks above fail on a graph with a deliberate upward import, and with a
    deliberate cycle."""
    graph = dict(_graph())
    graph["dvlite.storage.odb"] = graph["dvlite.storage.odb"] | {"dvlite.config"}
    assert upward_imports(graph) == ["dvlite.storage.odb -> dvlite.config"]
    graph["dvlite.core.oid"] = graph["dvlite.core.oid"] | {"dvlite.core.pointer"}
    assert ["dvlite.core.oid", "dvlite.core.pointer"] in import_cycles(graph)


def test_the_documented_layers_are_the_checked_ones() -> None:
    """docs/architecture.md's diagram names the layers in the order LAYERS checks."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    diagram = text.split("```")[1]
    shown = []
    for line in diagram.splitlines():
        if not line or line.startswith(" "):
            continue  # a description's second line, or the arrows
        column = re.split(r"\s{2,}", line)[0].split()  # the names, before the description
        shown.append(tuple(w.removesuffix("/").removesuffix(".py") for w in column))
    want = [tuple(n.removeprefix("dvlite.").replace(".", "/") for n in names)
            for names in LAYERS[1:-1]]  # __main__ above cli, and the root, are not drawn
    assert [s for s in shown if s != ("errors", "_fault")] == want
    assert ("errors", "_fault") in shown


def test_only_main_imports_command_modules() -> None:
    # cli/main.py puts every command module on the app: none registers another by
    # importing it, and none leans on another's helpers
    commands = {f"dvlite.cli.{p.stem}" for p in (PKG / "cli").glob("*_cmds.py")}
    bad = {m: sorted(deps & commands) for m, deps in _graph().items()
           if m != "dvlite.cli.main" and deps & commands}
    assert bad == {}


def test_typer_and_rich_only_under_cli() -> None:
    bad = {}
    for module, path in _sources().items():
        if module.startswith("dvlite.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            hits = [n for n in names if n.split(".")[0] in ("typer", "rich", "click")]
            if hits:
                bad[module] = hits
    assert bad == {}


def test_no_module_is_over_400_lines() -> None:
    long = {m: n for m, p in _sources().items()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_package_ships() -> None:
    """The wheel lists its packages (the hook scripts come from the top-level hooks/):
    a new sub-package must be listed too."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {_name(p) for p in PKG.rglob("__init__.py")} | {"dvlite.hooks"}
    assert set(config["packages"]) == on_disk
    assert config["package-dir"] == {"dvlite.hooks": "hooks"}


def test_remote_sdks_are_imported_lazily() -> None:
    code = ("import sys, dvlite.cli.main, dvlite.repo.add, dvlite.repo.checkout; "
            "print(sorted(m for m in ('boto3', 's3fs', 'botocore', 'aiobotocore') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
