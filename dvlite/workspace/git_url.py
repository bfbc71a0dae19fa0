"""A git URL's commit, fetched alone: `git ls-remote` names the commit, then `git fetch
--depth 1` brings that one commit (its tree and blobs, no history) into a bare
repository in this process's work folder, kept there, one per (url, commit), until the
process exits.

Revisions `ls-remote` can name are the commit of HEAD, a branch, a tag (peeled), an
experiment (`refs/exps/NAME`), any full ref, and a full commit id. Anything else (an
abbreviated id, `main~2`) needs history: the URL is then cloned without blobs
(`--filter=blob:none`, where the server allows filters; file contents are fetched as
they are read) and the revision resolved there.

Git never prompts: credentials come from the user's git setup or the read fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

from dvlite.core.registry import ArtifactState, TagRecord, build, parse_ref
from dvlite.core.registry import resolve as resolve_ref
from dvlite.errors import GitMissingError, ScmError
from dvlite.scm import Git
from dvlite.storage.workdir import ProcessFolder
from dvlite.workspace.source import Source

_FOLDER = ProcessFolder("dvlite-src-")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SCP_LIKE = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:")  # git@host:org/repo.git
LOCAL_REF = "refs/heads/dvlite-source"
PEELED = "peeled:"  # ls_remote's key prefix for annotated tags

_lock = threading.Lock()
_fetched: dict[tuple[str, str], Path] = {}
_key_locks: dict[tuple[str, str], threading.Lock] = {}
_serial = [0]


def _forget() -> None:
    """In a forked child: the parent removes its repositories when it exits."""
    global _lock
    _lock = threading.Lock()
    _fetched.clear()
    _key_locks.clear()


os.register_at_fork(after_in_child=_forget)


def is_url(repo: str) -> bool:
    """Whether `repo` names a git URL (`scheme://...` or scp-like `user@host:path`)."""
    return "://" in repo or _SCP_LIKE.match(repo) is not None


def _git(*args: str, cwd: Path | None = None, what: str) -> bytes:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"  # fail rather than ask
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitMissingError from exc
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode(errors="replace").splitlines()
                 if line.strip() and not line.startswith("hint:")]
        # git's first fatal line names the cause; the last is often advice
        fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
        cause = (fatal or lines or [f"git exit {proc.returncode}"])[0 if fatal else -1]
        raise ScmError(f"{what}: {cause}")
    return proc.stdout


def ls_remote(url: str) -> dict[str, str]:
    """{ref name: commit id} of every ref at `url` (annotated tags peeled); each
    annotated tag is also under `peeled:refs/tags/NAME`, so the registry can tell them
    from lightweight ones."""
    out = _git("ls-remote", "--", url, what=f"cannot read git repository '{url}'")
    refs: dict[str, str] = {}
    for line in out.decode(errors="replace").splitlines():
        sha, _, name = line.partition("\t")
        if name.endswith("^{}"):
            refs[PEELED + name[:-3]] = sha  # marks an annotated tag (GTO reads only those)
        if name.endswith("^{}"):
            refs[name[:-3]] = sha  # the peeled commit wins over the tag object
        else:
            refs.setdefault(name, sha)
    return refs


def pick(refs: dict[str, str], rev: str | None) -> tuple[str, str | None] | None:
    """(commit id, ref name) of `rev` among `refs`, in git's order of precedence; a full
    commit id stands for itself. None: `ls-remote` cannot name it."""
    if rev is None or rev == "HEAD":
        if "HEAD" not in refs:
            raise ScmError("the repository has no HEAD (is it empty?)",
                           hint="pass rev= a branch or tag")
        return refs["HEAD"], "HEAD"
    for name in (rev, f"refs/{rev}", f"refs/tags/{rev}", f"refs/heads/{rev}",
                 f"refs/remotes/{rev}", f"refs/exps/{rev}"):
        if name.startswith("refs/") and name in refs:
            return refs[name], name
    if _SHA.fullmatch(rev):
        return rev, None
    ref = parse_ref(rev)
    if ref is not None:
        return resolve_ref(registry_states(refs), ref).commit, None
    return None


def registry_states(refs: dict[str, str]) -> dict[str, ArtifactState]:
    """The registry as `ls-remote` shows it: annotated tags only, ordered by their
    counters (no tag dates without fetching the tag objects)."""
    tags = [TagRecord(name[len(PEELED) + len("refs/tags/"):], sha)
            for name, sha in refs.items() if name.startswith(PEELED + "refs/tags/")]
    return build(tags)


def resolve_registry(url: str, rev: str) -> tuple[str, dict[str, ArtifactState]] | None:
    """(commit, registry) of a registry ref at `url`, from one `git ls-remote`; None when
    `rev` is not a registry ref or a ref of that name exists."""
    ref = parse_ref(rev)
    if ref is None:
        return None
    refs = ls_remote(url)
    if any(n in refs for n in (f"refs/tags/{rev}", f"refs/heads/{rev}")):
        found = pick(refs, rev)
        assert found is not None
        return found[0], registry_states(refs)
    states = registry_states(refs)
    return resolve_ref(states, ref).commit, states


def fetch(url: str, rev: str | None) -> tuple[Source, str]:
    """The source at `url` holding `rev`, and the commit id it resolved to."""
    if rev is not None and rev.startswith("-"):
        raise ScmError(f"invalid revision '{rev}'")
    # a full commit id needs no ls-remote (what a pickled filesystem pins for a worker)
    found = (rev, None) if rev is not None and _SHA.fullmatch(rev) else \
        pick(ls_remote(url), rev)
    if found is None:
        return _blobless(url, str(rev))
    sha, ref = found
    key = (url, sha)
    with _lock:
        if key in _fetched:
            return _source(url, _fetched[key]), sha
        held = _key_locks.setdefault(key, threading.Lock())
    with held:  # one fetch per (url, commit), however many threads ask
        with _lock:
            if key in _fetched:
                return _source(url, _fetched[key]), sha
        dest = _new_repo()
        try:
            sha = _fetch_one(url, dest, sha, ref)
        except ScmError:
            if ref is not None:
                raise
            return _blobless(url, sha)  # a server that sends no commit by its id alone
        with _lock:
            _fetched[(url, sha)] = _fetched[key] = dest
    return _source(url, dest), sha


def _fetch_one(url: str, dest: Path, sha: str, ref: str | None) -> str:
    what = f"cannot fetch {ref or sha} from '{url}'"
    try:
        _git("fetch", "--quiet", "--depth", "1", "--no-tags", "--", url,
             f"{sha}:{LOCAL_REF}", cwd=dest, what=what)
        return sha
    except ScmError:
        if ref is None:
            raise
    # An old server may send only what a ref names; the ref may have moved meanwhile,
    # and the commit read is then the one it names now.
    _git("fetch", "--quiet", "--depth", "1", "--no-tags", "--", url, f"+{ref}:{LOCAL_REF}",
         cwd=dest, what=what)
    return Git(dest).resolve(LOCAL_REF)


def _blobless(url: str, rev: str) -> tuple[Source, str]:
    dest = _FOLDER.path() / f"{_next()}.git"
    _git("clone", "--quiet", "--bare", "--filter=blob:none", "--", url, str(dest),
         what=f"cannot clone '{url}'")
    return _source(url, dest), Git(dest).resolve(rev)


def _new_repo() -> Path:
    dest = _FOLDER.path() / f"{_next()}.git"
    _git("init", "--quiet", "--bare", str(dest), what="cannot make a temporary repository")
    return dest


def _next() -> int:
    with _lock:
        _serial[0] += 1
        return _serial[0]


def _source(url: str, git_dir: Path) -> Source:
    # a relative folder remote in a file:// repository's config points from that folder
    base = Path(url[len("file://"):]) if url.startswith("file://") else None
    return Source(Git(git_dir), None, base)


def scratch() -> Path:
    """A fresh folder in this process's work folder (removed at exit)."""
    path = _FOLDER.path() / f"s{_next()}"
    path.mkdir()
    return path
