"""`dvlite install` / `uninstall`: put dvlite's git hooks in place and register the merge
driver, without ever losing a hook that was there before.

A foreign hook (the user's own, git-lfs's, ...) is renamed to `NAME.dvlite-chained` and
dvlite's script runs it first; `uninstall` puts it back. The hooks folder is the one git
uses (`git rev-parse --git-path hooks`), so `core.hooksPath` is respected. Both commands
are idempotent. Neither ever changes a file git tracks (a committed hooks folder is
shared with everyone: editing it is the team's change to make, not a side effect), so
both refuse, changing nothing, when a hook they would write, rename or remove is tracked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dvlite.errors import GitMissingError, ScmError, storage_error
from dvlite.scm import Git, find_git_root
from dvlite.storage.atomic import atomic_write
from dvlite.workspace.repo import DVLITE_DIR, Repo

HOOK_NAMES = ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite")
MARKER = b"# dvlite-hook:"
CHAINED_SUFFIX = ".dvlite-chained"
DRIVER = "dvlite merge-driver %O %A %B %P"
ATTRIBUTES = ("*.dvl merge=dvlite", "dvlite.lock merge=dvlite")


@dataclass
class HookReport:
    installed: list[str] = field(default_factory=list)  # written or updated
    unchanged: list[str] = field(default_factory=list)
    chained: list[str] = field(default_factory=list)  # a foreign hook kept and chained
    restored: list[str] = field(default_factory=list)  # a chained hook put back (uninstall)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # explanations; nothing was touched
    attributes_added: list[str] = field(default_factory=list)
    hooks_dir: Path | None = None

    def to_dict(self) -> dict[str, object]:
        return {"hooks_dir": str(self.hooks_dir), "installed": self.installed,
                "unchanged": self.unchanged, "chained": self.chained,
                "restored": self.restored, "removed": self.removed, "skipped": self.skipped,
                "attributes_added": self.attributes_added}


def script(name: str) -> bytes:
    """The packaged hook script `name` (the top-level `hooks/` folder, shipped in the
    wheel as the package `dvlite.hooks`)."""
    return (resources.files("dvlite.hooks") / name).read_bytes()


def _git(repo: Repo) -> Git:
    if repo.scm is None:
        raise ScmError("git hooks need git; this repository was initialised with --no-scm")
    return repo.scm


def hooks_dir(git: Git) -> Path:
    raw = git.run("rev-parse", "--git-path", "hooks").decode().strip()
    return (git.root / raw).resolve()


def hook_roots(cwd: Path) -> list[Path]:
    """The dvlite repositories a hook run in `cwd` (git runs hooks at the work tree's
    top) concerns: the one `cwd` is in, else every one in the work tree's subfolders
    (a monorepo), found by their committed `.dvlite/config`."""
    from dvlite.repo.init import enclosing_repo

    here = Path(os.path.realpath(cwd))
    git_root = find_git_root(here)
    if git_root is None:
        return []
    inside = enclosing_repo(here)  # not looking past the git work tree's top
    if inside is not None:
        return [inside]
    try:
        found = Git(git_root).ls_files([f"*/{DVLITE_DIR}/config"])
    except ScmError:
        return []
    roots = {(git_root / p).parent.parent for p in found}
    return sorted(r for r in roots if (r / DVLITE_DIR).is_dir())


def is_dvlite_hook(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return MARKER in head


def _refuse_tracked(folder: Path, action: str) -> None:
    """Raise before any change if git tracks a hook file this command would touch (in
    this repository, or in another one that holds a shared hooks folder)."""
    names = [n for name in HOOK_NAMES for n in (name, name + CHAINED_SUFFIX)
             if os.path.lexists(folder / n)]
    if not names:
        return
    try:  # run in the folder: git finds whichever work tree holds it
        out = Git(folder).run("ls-files", "-z", "--cached", "--", *names)
    except GitMissingError:
        raise
    except ScmError:
        return  # in no work tree (e.g. .git/hooks itself)
    tracked = sorted(p.decode(errors="replace") for p in out.split(b"\0") if p)
    if tracked:
        raise ScmError(
            f"cannot {action} hooks in {folder}: git tracks {', '.join(tracked)} there, "
            "and dvlite never changes a committed file",
            hint="have each committed hook call `dvlite hook NAME \"$@\"` (see the "
            "scripts in dvlite's hooks/ folder), or point core.hooksPath at an untracked folder")


def install(repo: Repo) -> HookReport:
    git = _git(repo)
    folder = hooks_dir(git)
    _refuse_tracked(folder, "install")
    report = HookReport(hooks_dir=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in HOOK_NAMES:
            _install_one(folder, name, report)
    except OSError as exc:
        raise storage_error(exc, f"installing hooks in {folder}") from exc
    _register_driver(repo, git, report)
    return report


def _install_one(folder: Path, name: str, report: HookReport) -> None:
    path = folder / name
    chained = folder / (name + CHAINED_SUFFIX)
    wanted = script(name)
    present = os.path.lexists(path)
    if present and is_dvlite_hook(path):
        if path.read_bytes() == wanted and os.access(path, os.X_OK):
            report.unchanged.append(name)
            return
        atomic_write(path, wanted, mode=0o755)  # an older dvlite's script: update it
        report.installed.append(name)
        return
    if present:
        if os.path.lexists(chained):
            report.skipped.append(
                f"{name}: both {path} and {chained} exist; move one away and re-run install")
            return
        os.rename(path, chained)  # keeps its mode, content, or symlink target
        report.chained.append(name)
    atomic_write(path, wanted, mode=0o755)
    report.installed.append(name)


def _register_driver(repo: Repo, git: Git, report: HookReport) -> None:
    git.run("config", "merge.dvlite.name", "dvlite pointer and lockfile merge")
    git.run("config", "merge.dvlite.driver", DRIVER)
    attrs = git.root / ".gitattributes"
    try:
        text = attrs.read_text() if attrs.exists() else ""
    except OSError as exc:
        raise storage_error(exc, f"reading {attrs}") from exc
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in ATTRIBUTES if line not in present]
    if not missing:
        return
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write(attrs, (text + "\n".join(missing) + "\n").encode())
    report.attributes_added = missing
    if repo.config.core.autostage:
        git.add([attrs])


def uninstall(repo: Repo) -> HookReport:
    """Remove dvlite's hooks (restoring chained ones) and the merge driver's git config.

    `.gitattributes` is shared through git and harmless without the driver, so it stays.
    """
    git = _git(repo)
    folder = hooks_dir(git)
    _refuse_tracked(folder, "uninstall")
    report = HookReport(hooks_dir=folder)
    try:
        for name in HOOK_NAMES:
            _uninstall_one(folder, name, report)
    except OSError as exc:
        raise storage_error(exc, f"removing hooks from {folder}") from exc
    for key in ("merge.dvlite.name", "merge.dvlite.driver"):
        try:
            git.run("config", "--unset", key)
        except ScmError:  # already unset
            continue
    return report


def _uninstall_one(folder: Path, name: str, report: HookReport) -> None:
    path = folder / name
    chained = folder / (name + CHAINED_SUFFIX)
    if not os.path.lexists(path):
        if os.path.lexists(chained):
            os.rename(chained, path)
            report.restored.append(name)
        return
    if not is_dvlite_hook(path):
        report.unchanged.append(name)  # someone else's hook: never touched
        return
    os.unlink(path)
    report.removed.append(name)
    if os.path.lexists(chained):
        os.rename(chained, path)
        report.restored.append(name)
