"""Every dvlite command the documentation shows exists as written: its subcommands and
options are the CLI's own (README.md, docs/*.md, remotes/README.md, hooks/README.md),
and the setup lines a user copies work outside this machine."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main
from packaging.requirements import Requirement

from dvlite.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "remotes" / "README.md",
                ROOT / "hooks" / "README.md", *(ROOT / "docs").glob("*.md")])
_FENCE = re.compile(r"```(sh|bash|console|yaml|groovy|dockerfile)\n(.*?)```", re.S)
_SPAN = re.compile(r"`(dvlite [^`]+)`")
# First lines of dvlite's own file formats (docs/format.md), not commands.
_FILE_HEADERS = ("dvlite remote layout ", "dvlite pack index ", "dvlite fresh ")
_COMMAND = re.compile(r"(?:^|[\s'\"(])(dvlite [^'\"`\n]*)")


def _snippets(text: str) -> Iterator[str]:
    """Command lines in code blocks (a shell's, a console's `$` lines, CI files) and
    inline code spans."""
    for lang, block in _FENCE.findall(text):
        for line in block.splitlines():
            if lang == "console" and not line.startswith("$ "):
                continue  # output, not a command
            code = re.sub(r"(^|\s)#\s.*", "", line.removeprefix("$ "))
            yield from _COMMAND.findall(code)
    yield from _SPAN.findall(re.sub(r"```.*?```", "", text, flags=re.S))


def _pieces(snippet: str) -> Iterator[str]:
    """One command per piece: tables write `dvlite a · dvlite b` and `&&` chains."""
    for piece in re.split(r"\s(?:·|&&|\|\||;)\s", snippet):
        if piece.startswith("dvlite @ "):  # a pip requirement, not a command
            continue
        if piece.strip().startswith("dvlite ") and not piece.startswith(_FILE_HEADERS):
            yield piece.strip()


def _words(piece: str) -> list[str]:
    try:
        return shlex.split(piece, comments=True)
    except ValueError:  # an unbalanced quote in prose: the plain words still count
        return piece.split()


def _problem(root: Any, piece: str) -> str | None:
    words = [w.strip("[](){}|,.") for w in _words(piece)[1:]]
    words = [w for w in words if w not in ("-q", "--quiet", "-v", "--verbose")]
    cmd = root  # typer's own click: groups are the commands with subcommands
    while words and hasattr(cmd, "commands") and words[0] in cmd.commands:
        cmd = cmd.commands[words.pop(0)]
    if cmd is root:
        fine = ("--version", "--help", "--install-completion", "--show-completion")
        return None if not words or words[0] in fine else f"no command {words[0]!r}"
    if hasattr(cmd, "commands"):  # `dvlite remote` alone, in prose, is fine
        sub = words[0] if words else ""
        return f"{cmd.name} has no command {sub!r}" if re.fullmatch(r"[a-z-]+", sub) else None
    known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}
    for w in words:
        if w == "--":
            break
        name = w.split("=", 1)[0]
        if re.fullmatch(r"--?[A-Za-z][\w-]*", name) and name not in known:
            return f"{cmd.name} has no option {name}"
    return None


def test_every_documented_command_and_option_exists() -> None:
    root = typer.main.get_command(app)
    seen, wrong = 0, []
    for page in PAGES:
        for snippet in _snippets(page.read_text()):
            for piece in _pieces(snippet):
                seen += 1
                problem = _problem(root, piece)
                if problem:
                    wrong.append(f"{page.relative_to(ROOT)}: `{piece}`: {problem}")
    assert seen > 120  # the scan found the documentation's commands
    assert wrong == [], "\n".join(wrong)


def _lines(page: Path) -> Iterator[str]:
    text = page.read_text()
    for _, block in _FENCE.findall(text):
        yield from block.splitlines()
    yield from re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def test_install_lines_name_a_source_pip_can_reach() -> None:
    """dvlite is not on PyPI: a bare `pip install dvlite` fails for every reader."""
    installs = [(page, line) for page in PAGES for line in _lines(page)
                if "pip install" in line and "scikit-learn" not in line]
    assert len(installs) >= 3
    for page, line in installs:
        words = shlex.split(line.split("pip install", 1)[1].split("#")[0])
        args = [w for i, w in enumerate(words) if not w.startswith("-")
                and not (i and words[i - 1] in ("-c", "--constraint"))]
        if not args:
            continue  # `pip install` named in prose
        for arg in args:
            assert arg != "dvlite", f"{page.relative_to(ROOT)}: {line}"
            if arg.startswith("dvlite"):
                req = Requirement(arg)
                assert req.name == "dvlite" and req.url is not None, (page, line)
                assert req.url.startswith("git+") and "@v" in req.url.split("//", 1)[1], line
            else:
                assert arg == "." or arg.endswith(".whl"), (page, line)


def test_repository_scripts_run_with_the_project_python() -> None:
    """remotes/s3_server.py needs moto, a test extra: the system Python lacks it."""
    scripts = [line for page in PAGES for line in _lines(page) if "remotes/s3_server.py" in line
               and not line.startswith("make ")]
    assert scripts
    for line in scripts:
        assert line.split()[0] == ".venv/bin/python", line
