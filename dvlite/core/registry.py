"""The model registry's tags, in GTO's formats, and the state they add up to (pure: tag
records in, artifact states out).

Tags (annotated; lightweight ones are ignored, as GTO does):

    NAME@vX.Y.Z      register a version          NAME@vX.Y.Z!   deregister it
    NAME#STAGE#N     assign the version at the tag's commit to STAGE
    NAME#STAGE!#N    unassign it                 NAME@deprecated  deprecate NAME

N counts per artifact (GTO: the highest N among NAME's tags, plus one), so it orders a
NAME's assignments even within one second and when only `git ls-remote` names them.
The grammar and the default messages are GTO's (`gto/constants.py`, `gto/registry.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dvlite.core.semver import SEMVER, SemVer
from dvlite.errors import ScmError

_NAME = r"[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_FULL_IN_TAG = rf"([a-zA-Z0-9\-_./]+=)?{_NAME}"  # GTO's `dirname:name`, ':' written '='
_SEMVER_UNNAMED = re.sub(r"\?P<[a-z]+>", "", SEMVER)
TAG_RE = re.compile(
    rf"(?P<artifact>{_FULL_IN_TAG})(((#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER_UNNAMED}))"
    r"(?P<cancel>!?))|@((?P<deprecated>deprecated)|(?P<created>created)))(#(?P<counter>[0-9]+))?")
REF_RE = re.compile(rf"(?P<artifact>{_FULL_IN_TAG.replace('=', ':')})"
                    rf"(#(?P<stage>{_NAME})|@(?P<version>latest|greatest|v{_SEMVER_UNNAMED}))")
STAGE_RE = re.compile(_NAME)

REGISTER, DEREGISTER, ASSIGN, UNASSIGN, DEPRECATE, CREATE = (
    "register", "deregister", "assign", "unassign", "deprecate", "create")


@dataclass(frozen=True, slots=True)
class TagRecord:
    """An annotated tag as git holds it (time, tagger and message empty when only
    `git ls-remote` named it)."""

    tag: str  # without refs/tags/
    commit: str  # the commit it points to (peeled)
    time: int = 0  # tagger date, seconds since the epoch
    tagger: str = ""
    email: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    action: str
    artifact: str
    record: TagRecord
    version: str = ""
    stage: str = ""
    counter: int = 0

    @property
    def order(self) -> tuple[int, int]:
        return (self.counter, self.record.time)


def parse_tag(record: TagRecord) -> Event | None:
    """The registry event a tag stands for; None for any other tag."""
    m = TAG_RE.fullmatch(record.tag)
    if m is None:
        return None
    name = m["artifact"].replace("=", ":")
    counter = int(m["counter"]) if m["counter"] else 0
    if m["version"]:
        return Event(DEREGISTER if m["cancel"] else REGISTER, name, record, m["version"],
                     counter=counter)
    if m["stage"]:
        return Event(UNASSIGN if m["cancel"] else ASSIGN, name, record, stage=m["stage"],
                     counter=counter)
    return Event(DEPRECATE if m["deprecated"] else CREATE, name, record, counter=counter)


def tag_name(artifact: str) -> str:
    return artifact.replace(":", "=")


def register_tag(artifact: str, version: str) -> str:
    return f"{tag_name(artifact)}@{version}"


def deregister_tag(artifact: str, version: str) -> str:
    return f"{tag_name(artifact)}@{version}!"


def assign_tag(artifact: str, stage: str, counter: int, cancel: bool = False) -> str:
    return f"{tag_name(artifact)}#{stage}{'!' if cancel else ''}#{counter}"


def deprecate_tag(artifact: str) -> str:
    return f"{tag_name(artifact)}@deprecated"


def message(action: str, artifact: str, version: str = "", stage: str = "") -> str:
    """GTO's default tag message for `action`."""
    return {
        REGISTER: f"Registering artifact {artifact} version {version}",
        DEREGISTER: f"Deregistering artifact {artifact} version {version}",
        ASSIGN: f"Assigning stage {stage} to artifact {artifact} version {version}",
        UNASSIGN: f"Unassigning stage '{stage}' to artifact '{artifact}' version '{version}'",
        DEPRECATE: f"Deprecating artifact '{artifact}'",
    }[action]


@dataclass(frozen=True, slots=True)
class Version:
    version: str
    commit: str
    record: TagRecord
    deregistered: bool = False

    @property
    def semver(self) -> SemVer | None:
        return SemVer.parse(self.version)


@dataclass
class ArtifactState:
    name: str
    versions: list[Version] = field(default_factory=list)  # by semver, oldest first
    stages: dict[str, str] = field(default_factory=dict)  # stage -> version now in it
    events: list[Event] = field(default_factory=list)  # in tag order
    deprecated: bool = False

    @property
    def active(self) -> list[Version]:
        return [v for v in self.versions if not v.deregistered]

    @property
    def latest(self) -> Version | None:
        active = self.active
        return active[-1] if active else None

    def version(self, name: str) -> Version | None:
        return next((v for v in self.versions if v.version == name), None)

    def at_commit(self, commit: str) -> Version | None:
        return next((v for v in self.active if v.commit == commit), None)

    def stages_of(self, version: str) -> list[str]:
        return sorted(s for s, v in self.stages.items() if v == version)

    @property
    def next_counter(self) -> int:
        return max((e.counter for e in self.events), default=0) + 1

    def history(self, stage: str) -> list[Event]:
        return [e for e in self.events if e.stage == stage]


def build(records: Iterable[TagRecord]) -> dict[str, ArtifactState]:
    """Every artifact the tags name, with its versions and its stages."""
    states: dict[str, ArtifactState] = {}
    for event in filter(None, map(parse_tag, records)):
        states.setdefault(event.artifact, ArtifactState(event.artifact)).events.append(event)
    for state in states.values():
        state.events.sort(key=lambda e: (e.order, e.record.tag))
        _versions(state)
        _stages(state)
        _deprecation(state)
    return dict(sorted(states.items()))


def _versions(state: ArtifactState) -> None:
    dropped = {e.version for e in state.events if e.action == DEREGISTER}
    found = [Version(e.version, e.record.commit, e.record, e.version in dropped)
             for e in state.events if e.action == REGISTER and SemVer.parse(e.version)]
    state.versions = sorted(found, key=lambda v: SemVer.parse(v.version).key())  # type: ignore[union-attr]


def _stages(state: ArtifactState) -> None:
    """A stage holds the active version whose last event in that stage is an assignment,
    the latest such assignment winning (GTO's stage view, sorted by time)."""
    last: dict[tuple[str, str], Event] = {}
    for e in state.events:
        if e.action in (ASSIGN, UNASSIGN):
            at = state.at_commit(e.record.commit)
            if at is not None:
                last[(e.stage, at.version)] = e
    winners: dict[str, tuple[tuple[int, int], str]] = {}
    for (stage, held), e in last.items():
        if e.action == ASSIGN and (stage not in winners or e.order > winners[stage][0]):
            winners[stage] = (e.order, held)
    state.stages = {s: v for s, (_, v) in sorted(winners.items())}


def _deprecation(state: ArtifactState) -> None:
    deprecations = [e for e in state.events if e.action == DEPRECATE]
    if deprecations:
        when = max(e.record.time for e in deprecations)
        others = [e.record.time for e in state.events if e.action in (REGISTER, ASSIGN)]
        state.deprecated = not others or when >= max(others)


@dataclass(frozen=True, slots=True)
class Ref:
    """`NAME@vX.Y.Z`, `NAME@latest` (or `@greatest`) or `NAME#STAGE` given as a revision."""

    artifact: str
    version: str = ""  # "" for latest or a stage
    stage: str = ""

    def __str__(self) -> str:
        tail = f"#{self.stage}" if self.stage else f"@{self.version or 'latest'}"
        return f"{self.artifact}{tail}"


def parse_ref(text: str) -> Ref | None:
    m = REF_RE.fullmatch(text)
    if m is None:
        return None
    version = m["version"] or ""
    return Ref(m["artifact"], "" if version in ("latest", "greatest") else version,
               m["stage"] or "")


def resolve(states: dict[str, ArtifactState], ref: Ref) -> Version:
    """The version `ref` names; `ScmError` naming what is missing."""
    state = states.get(ref.artifact)
    if state is None or not state.versions:
        raise ScmError(f"no version of artifact '{ref.artifact}' is registered",
                       hint="register one with `dvlite model register NAME`")
    if ref.stage:
        held = state.stages.get(ref.stage)
        if held is None:
            raise ScmError(f"no version of artifact '{ref.artifact}' is in stage "
                           f"'{ref.stage}'", hint=f"stages: {', '.join(state.stages) or '(none)'}")
        found = state.version(held)
    elif ref.version:
        found = state.version(ref.version)
        if found is None:
            raise ScmError(f"artifact '{ref.artifact}' has no version {ref.version}")
    else:
        found = state.latest
        if found is None:
            raise ScmError(f"artifact '{ref.artifact}' has no active version")
    assert found is not None
    return found
