"""The one comparison used by status, diff and checkout: two path -> oid maps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dvlite.core.oid import Oid


@dataclass(frozen=True, slots=True)
class Changes:
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.added or self.modified or self.deleted)


def compare(old: Mapping[str, Oid], new: Mapping[str, Oid]) -> Changes:
    added, modified, deleted, unchanged = [], [], [], []
    for path, oid in new.items():
        before = old.get(path)
        if before is None:
            added.append(path)
        elif before != oid:
            modified.append(path)
        else:
            unchanged.append(path)
    deleted = [p for p in old if p not in new]
    return Changes(
        tuple(sorted(added)), tuple(sorted(modified)), tuple(sorted(deleted)),
        tuple(sorted(unchanged)),
    )
