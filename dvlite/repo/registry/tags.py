"""`dvlite model register | assign | unassign | deprecate`: each writes one annotated tag in
GTO's format, or refuses (exit 1) and tags nothing."""

from __future__ import annotations

from dataclasses import dataclass

from dvlite.core.artifacts import Artifact, check_tracked
from dvlite.core.registry import (
    ASSIGN,
    DEPRECATE,
    DEREGISTER,
    REGISTER,
    STAGE_RE,
    UNASSIGN,
    ArtifactState,
    assign_tag,
    build,
    deprecate_tag,
    deregister_tag,
    message,
    register_tag,
)
from dvlite.core.semver import FIRST, SemVer
from dvlite.errors import DvliteError, UsageError
from dvlite.pipeline.load import load_at
from dvlite.scm import Git
from dvlite.workspace.outputs import outputs_at
from dvlite.workspace.repo import Repo

BUMPS = ("major", "minor", "patch")


@dataclass(frozen=True, slots=True)
class Tagged:
    tag: str
    artifact: str
    version: str
    commit: str
    stage: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"tag": self.tag, "artifact": self.artifact, "version": self.version,
                "commit": self.commit, "stage": self.stage}


def git_of(repo: Repo) -> Git:
    if repo.scm is None:
        raise UsageError("the model registry needs git; this repository was initialised "
                         "with --no-scm")
    return repo.scm


def declared_at(repo: Repo, name: str, commit: str, rev: str) -> Artifact:
    """The artifact `name` as `dvlite.yaml` declares it at `commit`, its path tracked there."""
    found = {a.name: a for a in load_at(repo, commit).artifacts}
    if name not in found:
        raise DvliteError(f"artifact '{name}' is not declared in dvlite.yaml at {rev}",
                          hint=f"declared: {', '.join(found) or '(none)'}")
    check_tracked(found[name], [o.rel for o in outputs_at(repo, commit)], rev)
    return found[name]


def _state(git: Git, name: str) -> ArtifactState:
    return build(git.registry_tags()).get(name) or ArtifactState(name)


def register(repo: Repo, name: str, rev: str = "HEAD", *, version: str | None = None,
             bump: str | None = None, msg: str | None = None) -> Tagged:
    if version and bump:
        raise UsageError("give --version or --bump, not both")
    if bump is not None and bump not in BUMPS:
        raise UsageError(f"--bump is one of {', '.join(BUMPS)}, not '{bump}'")
    git = git_of(repo)
    commit = git.resolve(rev)
    declared_at(repo, name, commit, rev)
    state = _state(git, name)
    there = state.at_commit(commit)
    if there is not None:
        raise DvliteError(f"{rev} is already version {there.version} of '{name}'",
                          hint="GTO allows one version per commit")
    latest = state.latest
    chosen = _version(state, version, bump, latest.semver if latest else None)
    tag = register_tag(name, chosen)
    git.create_tag(tag, commit, msg or message(REGISTER, name, chosen))
    return Tagged(tag, name, chosen, commit)


def _version(state: ArtifactState, version: str | None, bump: str | None,
             latest: SemVer | None) -> str:
    if version is None:
        return str(latest.bump(bump or "patch") if latest else FIRST)
    parsed = SemVer.parse(version)
    if parsed is None:
        raise UsageError(f"invalid version '{version}': use vMAJOR.MINOR.PATCH, like v1.0.0")
    if state.version(version) is not None:
        raise DvliteError(f"version {version} of '{state.name}' exists")
    if latest is not None and parsed.key() <= latest.key():
        raise DvliteError(f"version {version} is not greater than the latest, {latest}")
    return version


def _registered(state: ArtifactState, version: str | None) -> tuple[str, str]:
    """(version, commit): `version`, else the latest; it must be registered and active."""
    if version is None:
        latest = state.latest
        if latest is None:
            raise DvliteError(f"artifact '{state.name}' has no registered version",
                              hint=f"dvlite model register {state.name}")
        return latest.version, latest.commit
    found = state.version(version)
    if found is None or found.deregistered:
        raise DvliteError(f"artifact '{state.name}' has no active version {version}")
    return found.version, found.commit


def _stage(stage: str) -> str:
    if not STAGE_RE.fullmatch(stage):
        raise UsageError(f"invalid stage name '{stage}': letters, digits, '-', '_' and '/', "
                         "starting and ending with a letter or digit")
    return stage


def assign(repo: Repo, name: str, stage: str, version: str | None = None,
           msg: str | None = None) -> Tagged:
    git = git_of(repo)
    state = _state(git, name)
    chosen, commit = _registered(state, version)
    if state.stages.get(_stage(stage)) == chosen:
        raise DvliteError(f"version {chosen} of '{name}' is already in stage '{stage}'")
    tag = assign_tag(name, stage, state.next_counter)
    git.create_tag(tag, commit, msg or message(ASSIGN, name, chosen, stage))
    return Tagged(tag, name, chosen, commit, stage)


def unassign(repo: Repo, name: str, stage: str, msg: str | None = None) -> Tagged:
    git = git_of(repo)
    state = _state(git, name)
    held = state.stages.get(_stage(stage))
    if held is None:
        raise DvliteError(f"no version of '{name}' is in stage '{stage}'",
                          hint=f"stages: {', '.join(state.stages) or '(none)'}")
    found = state.version(held)
    assert found is not None
    tag = assign_tag(name, stage, state.next_counter, cancel=True)
    git.create_tag(tag, found.commit, msg or message(UNASSIGN, name, held, stage))
    return Tagged(tag, name, held, found.commit, stage)


def deprecate(repo: Repo, name: str, version: str | None = None,
              msg: str | None = None) -> Tagged:
    """`NAME@vX.Y.Z!` for one version, `NAME@deprecated` for the whole artifact."""
    git = git_of(repo)
    state = _state(git, name)
    if version is not None:
        chosen, commit = _registered(state, version)
        tag = deregister_tag(name, chosen)
        git.create_tag(tag, commit, msg or message(DEREGISTER, name, chosen))
        return Tagged(tag, name, chosen, commit)
    if not state.events:
        raise DvliteError(f"artifact '{name}' has no tags to deprecate")
    if state.deprecated:
        raise DvliteError(f"artifact '{name}' is deprecated already")
    commit = state.events[-1].record.commit  # GTO: the commit of the latest event
    tag = deprecate_tag(name)
    git.create_tag(tag, commit, msg or message(DEPRECATE, name))
    return Tagged(tag, name, "", commit)
