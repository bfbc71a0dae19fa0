"""Git adapter: staging, revisions, and reading pointer files at any revision.

Bulk reads use one `git ls-tree -r -z` plus one `git cat-file --batch`, never a call per
file; bulk staging uses `git add`, not gitpython's slower in-Python index.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dvlite.core.registry import TagRecord, build, parse_ref
from dvlite.core.registry import resolve as resolve_ref
from dvlite.errors import GitMissingError, ScmError

if TYPE_CHECKING:
    import git

POINTER_SUFFIX = ".dvl"
EXP_REFS = "refs/exps/"  # `refs/exps/<NAME>`: an experiment, a commit on its baseline
_ARGV_CHUNK = 500
# the registry's tags: `NAME@...` and `NAME#...` (fnmatch: '*' also matches '/')
REGISTRY_PATTERNS = ("refs/tags/*@*", "refs/tags/*#*")
_TAG_FIELDS = ("%(refname:strip=2)", "%(objecttype)", "%(*objectname)", "%(*objecttype)",
               "%(taggerdate:unix)", "%(taggername)", "%(taggeremail:trim)", "%(contents)")
SHALLOW_HINT = "this clone is shallow: `git fetch --unshallow` gets the older commits"


def find_git_root(start: Path) -> Path | None:
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


class Git:
    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def repo(self) -> git.Repo:
        import git

        try:
            return git.Repo(self.root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise ScmError(f"not a git repository: {self.root}") from exc

    def run(self, *args: str, input_bytes: bytes | None = None,
            env: dict[str, str] | None = None) -> bytes:
        """Run git in the repository root; failures become `ScmError` with git's message."""
        try:
            proc = subprocess.run(
                ["git", *args], cwd=self.root, input=input_bytes,
                capture_output=True, check=False, env=env,
            )
        except FileNotFoundError as exc:
            raise GitMissingError from exc
        if proc.returncode != 0:
            # git's first line says what went wrong; `hint:` lines and the rest elaborate
            msg = [line for line in proc.stderr.decode(errors="replace").splitlines()
                   if line.strip() and not line.startswith("hint:")]
            raise ScmError(f"git {args[0]} failed: {msg[0] if msg else proc.returncode}")
        return proc.stdout

    def check_index_unlocked(self) -> None:
        """Fail before a command changes anything when git's index is locked (a git
        command running, or one killed): staging would fail after the workspace changed."""
        lock = self.root / self.run("rev-parse", "--git-path", "index.lock").decode().strip()
        if lock.exists():
            raise ScmError(f"git's index is locked: {lock} exists",
                           hint="another git command is running; if none is, delete that file")

    def _rel(self, paths: Iterable[Path]) -> list[str]:
        return sorted({os.path.relpath(p, self.root) for p in paths})

    def add(self, paths: Iterable[Path]) -> None:
        """Stage `paths` (absolute)."""
        items = self._rel(paths)
        for i in range(0, len(items), _ARGV_CHUNK):
            self.run("add", "--", *items[i : i + _ARGV_CHUNK])

    def rm_cached(self, paths: Iterable[Path]) -> None:
        items = self._rel(paths)
        for i in range(0, len(items), _ARGV_CHUNK):
            chunk = items[i : i + _ARGV_CHUNK]
            self.run("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *chunk)

    def resolve(self, rev: str) -> str:
        """The commit `rev` names: what git resolves (branch, tag, commit, `HEAD~2`), else
        the experiment of that name (`refs/exps/<rev>`), else a model registry ref
        (`NAME@vX.Y.Z`, `NAME@latest`, `NAME#STAGE`) — the one place experiment names and
        registry refs become revisions, for every command that takes one."""
        if rev.startswith("-"):
            raise ScmError(f"invalid revision '{rev}'")
        for candidate in (rev, EXP_REFS + rev):
            try:
                out = self.run("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
                return out.decode().strip()
            except GitMissingError:
                raise
            except ScmError:
                continue
        ref = parse_ref(rev)
        if ref is not None:
            return resolve_ref(build(self.registry_tags()), ref).commit
        hint = SHALLOW_HINT if self.is_shallow() else None
        raise ScmError(f"unknown revision '{rev}'", hint=hint) from None

    def registry_tags(self) -> list[TagRecord]:
        """The annotated tags of the registry's shapes, in one `git for-each-ref`."""
        out = self.run("for-each-ref", "--format=" + "%00".join(_TAG_FIELDS) + "%00",
                       *REGISTRY_PATTERNS)
        fields = out.decode("utf-8", "replace").split("\0")
        found = []
        width = len(_TAG_FIELDS)
        for i in range(0, len(fields) - width + 1, width):
            name, kind, target, target_kind, when, who, email, msg = fields[i : i + width]
            if kind == "tag" and target_kind == "commit":  # GTO ignores lightweight tags
                found.append(TagRecord(name.lstrip("\n"), target, int(when or 0), who,
                                       email, msg.strip()))
        return found

    def create_tag(self, name: str, commit: str, message: str) -> None:
        """An annotated tag; git refuses a name that exists."""
        self.run("tag", "-a", "-m", message, name, commit)

    def commit_paths(self, paths: Sequence[str], message: str, parent: str) -> str:
        """A new commit (returned, on no ref) whose parent is `parent`: its tree with
        `paths` (relative to the git root) as they are in the working tree. Built in a
        temporary index, so HEAD, every branch and the user's index stay as they are."""
        with tempfile.TemporaryDirectory(prefix="dvlite-index-") as tmp:
            env = {**os.environ, "GIT_INDEX_FILE": os.path.join(tmp, "index")}
            self.run("read-tree", parent, env=env)
            items = sorted(set(paths))
            for i in range(0, len(items), _ARGV_CHUNK):
                self.run("add", "-f", "--", *items[i : i + _ARGV_CHUNK], env=env)
            tree = self.run("write-tree", env=env).decode().strip()
        return self.run("commit-tree", tree, "-p", parent, "-m", message).decode().strip()

    def commit_files(self, files: dict[str, bytes], message: str, parent: str) -> str:
        """A new commit (returned, on no ref) whose parent is `parent`: its tree with
        `files` (git-root-relative path: content) written as blobs; no working tree,
        index or ref is touched."""
        with tempfile.TemporaryDirectory(prefix="dvlite-index-") as tmp:
            env = {**os.environ, "GIT_INDEX_FILE": os.path.join(tmp, "index")}
            self.run("read-tree", parent, env=env)
            for path, data in sorted(files.items()):
                oid = self.run("hash-object", "-w", "--stdin", input_bytes=data)
                self.run("update-index", "--add", "--cacheinfo",
                         f"100644,{oid.decode().strip()},{path}", env=env)
            tree = self.run("write-tree", env=env).decode().strip()
        return self.run("commit-tree", tree, "-p", parent, "-m", message).decode().strip()

    def cat_paths(self, specs: Sequence[str]) -> list[bytes | None]:
        """Blobs named `<commit>:<path>`, in one `git cat-file --batch`; None for a path
        that is missing at that commit or no file."""
        if not specs:
            return []
        out = self.run("cat-file", "--batch", input_bytes=("\n".join(specs) + "\n").encode())
        blobs: list[bytes | None] = []
        pos = 0
        for _ in specs:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split()
            if len(header) != 3 or not header[2].isdigit():  # `<spec> missing`, ambiguous
                blobs.append(None)
                pos = nl + 1
                continue
            size = int(header[2])
            blobs.append(out[nl + 1 : nl + 1 + size] if header[1] == b"blob" else None)
            pos = nl + 1 + size + 1
        return blobs

    def is_shallow(self) -> bool:
        """A `git clone --depth N`: older commits (and often other branches) are missing."""
        try:
            return self.run("rev-parse", "--is-shallow-repository").strip() == b"true"
        except GitMissingError:
            raise
        except ScmError:
            return False

    def has_commits(self) -> bool:
        try:
            self.run("rev-parse", "--verify", "--quiet", "HEAD")
        except GitMissingError:
            raise
        except ScmError:
            return False
        return True

    def files_at(self, rev: str, suffixes: Sequence[str] = (POINTER_SUFFIX,),
                 names: Sequence[str] = ()) -> dict[str, bytes]:
        """Contents of files at `rev` whose name ends with one of `suffixes` or is in `names`."""
        sha = self.resolve(rev)
        listing = self.run("ls-tree", "-r", "-z", "--full-tree", sha)
        wanted: list[tuple[str, str]] = []
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            parts = meta.split()
            if len(parts) != 3 or parts[1] != b"blob":
                continue
            path = raw_path.decode("utf-8", "surrogateescape")
            base = path.rsplit("/", 1)[-1]
            if path.endswith(tuple(suffixes)) or base in names or path in names:
                wanted.append((path, parts[2].decode()))
        blobs = self.cat_blobs([sha for _, sha in wanted])
        return dict(zip([path for path, _ in wanted], blobs, strict=True))

    def cat_blobs(self, shas: Sequence[str]) -> list[bytes]:
        if not shas:
            return []
        out = self.run("cat-file", "--batch", input_bytes=("\n".join(shas) + "\n").encode())
        blobs = []
        pos = 0
        for _ in shas:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split()
            if len(header) != 3:
                raise ScmError(f"git cat-file: unexpected reply {out[pos:nl]!r}")
            size = int(header[2])
            blobs.append(out[nl + 1 : nl + 1 + size])
            pos = nl + 1 + size + 1
        return blobs

    def ls_files(self, patterns: Sequence[str]) -> list[str]:
        """Tracked and untracked-but-not-ignored files matching `patterns`."""
        out = self.run("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                       *patterns)
        return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})

    def ls_files_split(self, patterns: Sequence[str]) -> tuple[list[str], list[str]]:
        """Files matching `patterns`: (tracked, untracked-but-not-ignored)."""
        out = self.run("ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard",
                       "--", *patterns)
        tracked: set[str] = set()
        others: set[str] = set()
        for record in out.split(b"\0"):
            tag, _, raw = record.partition(b" ")
            if raw:
                (others if tag == b"?" else tracked).add(raw.decode("utf-8", "surrogateescape"))
        return sorted(tracked), sorted(others - tracked)

    def untracked_dirs(self, folders: Sequence[str]) -> set[str]:
        """Which of `folders` (relative to the root) hold no file git tracks."""
        asked = {f for f in folders if f not in ("", ".")}
        # only the top-most: git lists what is below them, each wholly untracked folder
        # as one `dir/` entry (asking for a folder and its parent at once hides that)
        tops = sorted(f for f in asked if not any(a != f and _under(f, a) for a in asked))
        dirs: set[str] = set()
        for i in range(0, len(tops), _ARGV_CHUNK):
            specs = [f":(literal){f}" for f in tops[i : i + _ARGV_CHUNK]]
            out = self.run("ls-files", "-z", "--others", "--directory", "--exclude-standard",
                           "--", *specs)
            dirs.update(p.decode("utf-8", "surrogateescape").rstrip("/")
                        for p in out.split(b"\0") if p.endswith(b"/"))
        return {f for f in asked if any(_under(f, d) for d in dirs)}

    def refs(self) -> list[str]:
        """Commit shas of every branch and tag tip."""
        out = self.run("for-each-ref", "--format=%(objectname) %(objecttype) %(*objecttype)",
                       "refs/heads", "refs/tags", "refs/remotes")
        shas = []
        for line in out.decode().splitlines():
            sha, kind, peeled = ([*line.split(), ""])[:3]
            if kind == "commit" or peeled == "commit":
                shas.append(sha)
        return sorted(set(shas))

    def all_commits(self) -> list[str]:
        out = self.run("rev-list", "--all")
        return out.decode().split()

    def tracked(self, paths: Iterable[Path]) -> list[str]:
        """Which of `paths` (files or folders) git already tracks."""
        items = self._rel(paths)
        if not items:
            return []
        out = self.run("ls-files", "-z", "--cached", "--", *items)
        return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})
