"""Tracked outputs: `.dvl` pointers and the cached stage outputs `dvlite.lock` records,
found and resolved safely, at the workspace or at a revision, and user targets among them.

`tracked_outputs(repo)` and `outputs_at(repo, rev)` are the one source every command takes its
outputs from; only `add`, `remove` and `move`, which edit pointer files, look at
`pointer_outputs` alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dvlite.core.manifest import Manifest
from dvlite.core.oid import Oid
from dvlite.core.paths import check_parent_inside, check_relpath, is_within
from dvlite.core.pointer import MAX_POINTER_BYTES, POINTER_SUFFIX, Pointer
from dvlite.errors import (
    DvliteError,
    FormatError,
    MissingObjectsError,
    UsageError,
    storage_error,
)
from dvlite.workspace.lock_outputs import PIPELINE_NAMES, StageOut, is_pipeline_file, stage_outs
from dvlite.workspace.repo import DVLITE_DIR, Repo


@dataclass(frozen=True, slots=True)
class Output:
    pointer_file: Path  # for a stage output: the dvlite.lock that records it
    pointer: Pointer
    path: Path
    rel: str
    stage: str | None = None  # the stage whose lock entry records it (None: a .dvl)
    cached: bool = True  # False: a stage output the pipeline leaves to git (metrics)

    @property
    def is_dir(self) -> bool:
        return self.pointer.is_dir


@dataclass(frozen=True, slots=True)
class Target:
    """An output, or one file inside a tracked folder (`sub` relative to the folder)."""

    output: Output
    sub: str | None = None


def pointer_file_for(data_path: Path) -> Path:
    return data_path.with_name(data_path.name + POINTER_SUFFIX)


def parse_output(repo: Repo, pointer_file: Path, data: bytes) -> Output:
    source = repo.rel(pointer_file)
    pointer = Pointer.from_bytes(data, source)
    path = pointer_file.parent / pointer.path
    rel = repo.rel(path)
    try:
        check_relpath(rel, "pointer path")
    except FormatError as exc:
        raise type(exc)(f"{source}: {exc.msg}") from None
    check_parent_inside(repo.root, path)
    return Output(pointer_file, pointer, path, rel)


def _read_pointer_file(pointer_file: Path) -> bytes:
    try:
        fd = os.open(pointer_file, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise storage_error(exc, f"reading {pointer_file}") from exc
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def load_output(repo: Repo, pointer_file: Path) -> Output:
    return parse_output(repo, pointer_file, _read_pointer_file(pointer_file))


def pointer_files(repo: Repo) -> list[Path]:
    """Every pointer file in the workspace: with git, the `.dvl` files it tracks plus the
    untracked ones that are not data (git's listing skips ignored trees)."""
    if repo.scm is None:
        return _walk_pointers(repo.root)
    tracked, others = repo.scm.ls_files_split([f"*{POINTER_SUFFIX}"])
    found = _in_repo(repo, tracked)
    return sorted(found + _untracked_pointers(repo, _in_repo(repo, others), found))


def _in_repo(repo: Repo, git_paths: list[str]) -> list[Path]:
    assert repo.scm is not None
    paths = (repo.scm.root / p for p in git_paths)
    return [p for p in paths if is_within(p, repo.root) and p.is_file()]


def _untracked_pointers(repo: Repo, candidates: list[Path], known: list[Path]) -> list[Path]:
    """An untracked `.dvl` file is data, not a pointer, when it lies inside a tracked
    output, or when it is in a folder git tracks nothing in (say, one about to be added)
    and does not even claim to be a pointer. Beside tracked files it is a pointer, so a
    bad one there is an error, as is any bad pointer git tracks."""
    assert repo.scm is not None
    git_root = repo.scm.root
    folders = [p.with_name(p.name[: -len(POINTER_SUFFIX)]) for p in known]
    candidates = [p for p in candidates if not any(is_within(p, f) for f in folders)]
    fresh = repo.scm.untracked_dirs([os.path.relpath(p.parent, git_root) for p in candidates])
    return [p for p in candidates
            if os.path.relpath(p.parent, git_root) not in fresh or _claims_pointer(p)]


def _claims_pointer(pointer_file: Path) -> bool:
    """A small YAML mapping with a pointer's `path` or `hash` key, valid or not (an
    unsafe or broken pointer must still be refused, not taken for data)."""
    try:
        data = _read_pointer_file(pointer_file)
    except DvliteError:
        return True  # unreadable: loading it will say why
    if len(data) > MAX_POINTER_BYTES:
        return False
    from dvlite.core import strictyaml

    try:
        fields = strictyaml.load(data, str(pointer_file))
    except FormatError:
        return False
    return isinstance(fields, dict) and not {"path", "hash"}.isdisjoint(fields)


def _walk_pointers(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        names = [f for f in files if f.endswith(POINTER_SUFFIX)]
        tracked = {n[: -len(POINTER_SUFFIX)] for n in names}
        dirs[:] = sorted(d for d in dirs if d not in (".git", DVLITE_DIR) and d not in tracked)
        found.extend(Path(folder) / n for n in names)
    return sorted(found)


def pointer_outputs(repo: Repo) -> list[Output]:
    """The outputs of the workspace's `.dvl` files (not the pipeline's)."""
    outputs = []
    errors: list[FormatError] = []
    bad: list[str] = []
    for pf in pointer_files(repo):
        try:
            outputs.append(load_output(repo, pf))
        except FormatError as exc:
            errors.append(exc)
            bad.append(repo.rel(pf))
    if errors:
        # every bad pointer is named, so one run shows the user all there is to fix
        others = ", ".join(bad[1:6]) + (", ..." if len(bad) > 6 else "")
        more = f" (and {len(bad) - 1} more: {others})" if len(bad) > 1 else ""
        raise type(errors[0])(errors[0].msg + more, hint=errors[0].hint)
    check_overlaps(repo, outputs)
    return outputs


def check_overlaps(repo: Repo, outputs: list[Output]) -> None:
    """Two pointers must not track one path, or one inside the other: checkout would
    write both versions in turn."""
    # sorted by components, every path inside X comes right after X
    last: Output | None = None
    for out in sorted(outputs, key=lambda o: o.path.parts):
        if last is None or not is_within(out.path, last.path):
            last = out
            continue
        which = "also tracks it" if out.path == last.path else f"tracks '{last.rel}'"
        raise FormatError(
            f"{repo.rel(out.pointer_file)}: tracks '{out.rel}', but "
            f"{repo.rel(last.pointer_file)} {which}",
            hint="remove one of the two pointer files")


def tracked_outputs(repo: Repo) -> list[Output]:
    """Every tracked output of the workspace: pointers, and cached stage outputs."""
    found = pointer_outputs(repo) + [o for o in stage_outputs(repo) if o.cached]
    check_overlaps(repo, found)
    return found


def stage_outputs(repo: Repo, rev: str | None = None) -> list[Output]:
    """Every output the `dvlite.lock` files record (at the workspace, or at `rev`), the
    uncached ones too (`Output.cached` tells them apart)."""
    if rev is None:
        return _stage_outputs(repo, _workspace_pipeline_texts(repo), None)
    return _stage_outputs(repo, _texts_at(repo, rev, PIPELINE_NAMES), rev)


def stage_output(repo: Repo, rel: str, pointer: Pointer, *, stage: str | None = None,
                 lockfile: str | None = None, cached: bool = True) -> Output:
    """The output of a stage-recorded hash (`rel` checked safe, like pointer paths)."""
    path = repo.root / rel
    check_parent_inside(repo.root, path)
    pf = repo.root / lockfile if lockfile else pointer_file_for(path)
    return Output(pf, pointer, path, rel, stage, cached)


def _stage_outputs(repo: Repo, texts: dict[str, bytes], rev: str | None) -> list[Output]:
    try:
        found: list[StageOut] = stage_outs(texts, strict=rev is None)
        return [stage_output(repo, s.rel, s.pointer, stage=s.stage, lockfile=s.lockfile,
                             cached=s.cached) for s in found]
    except FormatError as exc:
        if rev is None:
            raise
        raise type(exc)(f"at {rev}: {exc.msg}", hint=exc.hint) from None


def _workspace_pipeline_texts(repo: Repo) -> dict[str, bytes]:
    if repo.scm is not None:
        names = repo.scm.ls_files([p for n in PIPELINE_NAMES for p in (n, f"*/{n}")])
        files = [repo.scm.root / n for n in names]
    else:
        files = []
        for folder, dirs, names in os.walk(repo.root):
            dirs[:] = sorted(d for d in dirs if d not in (".git", DVLITE_DIR))
            files.extend(Path(folder) / n for n in names if n in PIPELINE_NAMES)
    texts = {}
    for path in files:
        rel = repo.rel(path)
        if rel.startswith("../"):
            continue
        try:
            texts[rel] = path.read_bytes()
        except FileNotFoundError:
            continue  # deleted but still in git's index
        except OSError as exc:
            raise storage_error(exc, f"reading {rel}") from exc
    return texts


def collect_targets(repo: Repo, targets: list[str], cwd: Path | None = None) -> list[Target]:
    """Resolve user targets (data paths, pointer files, folders, files in tracked folders)
    among every tracked output."""
    found = tracked_outputs(repo)
    if not targets:
        return [Target(o) for o in found]
    base = Path(os.path.abspath(cwd or Path.cwd()))
    chosen: list[Target] = []
    for raw in targets:
        chosen.extend(_match(repo, found, Path(os.path.normpath(base / raw)), raw))
    return chosen


def _match(repo: Repo, outputs: list[Output], path: Path, raw: str) -> list[Target]:
    if path.name.endswith(POINTER_SUFFIX):
        path = path.with_name(path.name[: -len(POINTER_SUFFIX)])
    real = Path(os.path.realpath(path.parent)) / path.name
    for candidate in (path, real):
        for out in outputs:
            if candidate == out.path:
                return [Target(out)]
            if out.is_dir and is_within(candidate, out.path):
                return [Target(out, candidate.relative_to(out.path).as_posix())]
        inside = [Target(o) for o in outputs if is_within(o.path, candidate)]
        if inside:
            return inside
    if not is_within(real, repo.root):
        raise UsageError(f"'{raw}' is outside the repository")
    if not os.path.lexists(path):  # nothing there to add: a typo, or another folder
        raise UsageError(f"'{raw}' is not tracked by dvlite and does not exist",
                         hint="`dvlite ls` lists the tracked files and folders")
    raise UsageError(f"'{raw}' is not tracked by dvlite", hint=f"dvlite add {raw}")


def load_manifest(repo: Repo, oid: Oid, cache: dict[Oid, Manifest] | None = None) -> Manifest:
    if cache is not None and oid in cache:
        return cache[oid]
    try:
        data = repo.cache.read_bytes(oid)
    except MissingObjectsError:
        raise MissingObjectsError(f"folder manifest {oid} is not in the cache",
                                  hint="dvlite pull (or fetch) gets it from a remote") from None
    manifest = Manifest.from_bytes(data, f"manifest {oid}")
    if cache is not None:
        cache[oid] = manifest
    return manifest


def outputs_at(repo: Repo, rev: str) -> list[Output]:
    """The outputs that pointer files and `dvlite.lock` files at git revision `rev`
    describe (read from git, no checkout). Paths are resolved against the current
    workspace root."""
    texts = _texts_at(repo, rev, PIPELINE_NAMES, (POINTER_SUFFIX,))
    found = []
    for rel, data in texts.items():
        if is_pipeline_file(rel):
            continue
        try:
            found.append(parse_output(repo, repo.root / rel, data))
        except FormatError as exc:
            raise type(exc)(f"at {rev}: {exc.msg}", hint=exc.hint) from None
    pipeline = {rel: data for rel, data in texts.items() if is_pipeline_file(rel)}
    return found + [o for o in _stage_outputs(repo, pipeline, rev) if o.cached]


def _texts_at(repo: Repo, rev: str, names: tuple[str, ...],
              suffixes: tuple[str, ...] = ()) -> dict[str, bytes]:
    """{repository-relative path: bytes} of the files at `rev` inside the repository."""
    if repo.scm is None:
        raise UsageError("revisions need git; this repository was initialised with --no-scm")
    texts = {}
    for gpath, data in repo.scm.files_at(rev, suffixes=suffixes, names=names).items():
        full = repo.scm.root / gpath
        if is_within(full, repo.root):
            texts[repo.rel(full)] = data
    return texts
