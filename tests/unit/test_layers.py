"""Import directions (DESIGN.md): cli on top, core at the bottom, remote SDKs lazy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import dvlite

PKG = Path(dvlite.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement, anywhere in the file (lazy ones too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _modules() -> dict[str, set[str]]:
    return {p.relative_to(PKG).as_posix(): _imports(p) for p in PKG.rglob("*.py")}


def _top(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


def test_nothing_imports_cli_but_cli() -> None:
    # __main__ is the `python -m dvlite` entry point: it sits above cli
    bad = {m: sorted(i for i in imps if i.startswith("dvlite.cli"))
           for m, imps in _modules().items()
           if not m.startswith("cli/") and m != "__main__.py"}
    assert not {m: v for m, v in bad.items() if v}


def test_only_main_imports_command_modules() -> None:
    # cli/main.py puts every command module on the app: none registers another by
    # importing it, and none leans on another's helpers (an import cycle)
    commands = {f"dvlite.cli.{p.stem}" for p in (PKG / "cli").glob("*_cmds.py")}
    bad = {m: sorted(imps & commands) for m, imps in _modules().items() if m != "cli/main.py"}
    assert not {m: v for m, v in bad.items() if v}


def test_typer_and_rich_only_under_cli() -> None:
    bad = {m: sorted(i for i in imps if _top(i) in ("typer", "rich", "click"))
           for m, imps in _modules().items() if not m.startswith("cli/")}
    assert not {m: v for m, v in bad.items() if v}


def test_core_imports_nothing_from_storage_repo_or_above() -> None:
    above = ("dvlite.storage", "dvlite.repo", "dvlite.pipeline", "dvlite.cli", "dvlite.scm",
             "dvlite.config", "dvlite.remote")
    bad = {m: sorted(i for i in imps if i.startswith(above))
           for m, imps in _modules().items() if m.startswith("core/")}
    assert not {m: v for m, v in bad.items() if v}


def test_storage_imports_nothing_from_repo_pipeline_or_cli() -> None:
    above = ("dvlite.repo", "dvlite.pipeline", "dvlite.cli")
    bad = {m: sorted(i for i in imps if i.startswith(above))
           for m, imps in _modules().items() if m.startswith("storage/")}
    assert not {m: v for m, v in bad.items() if v}


def test_remote_sdks_are_imported_lazily() -> None:
    code = ("import sys, dvlite.cli.main, dvlite.repo.add, dvlite.repo.checkout; "
            "print(sorted(m for m in ('boto3', 's3fs', 'botocore', 'aiobotocore') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_storage_takes_typed_options_not_the_config() -> None:
    bad = {m: sorted(i for i in imps if i.startswith(("dvlite.config", "dvlite.workspace")))
           for m, imps in _modules().items() if m.startswith("storage/")}
    assert not {m: v for m, v in bad.items() if v}
