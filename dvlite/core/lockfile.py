"""`dvlite.lock`: what each stage's last successful run used and produced.

Canonical bytes: stages sorted by name, one block per stage separated by a blank line
(so git merges of unrelated stages do not conflict), keys in a fixed order. Paths are
relative to the lock file's folder and are checked like pointer paths when read.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

import yaml

from dvlite.core import strictyaml
from dvlite.core.oid import Oid
from dvlite.core.paths import check_relpath
from dvlite.core.pointer import Pointer
from dvlite.errors import FormatError

LOCK_FILE = "dvlite.lock"
SCHEMA = 1


@dataclass(frozen=True, slots=True)
class HashInfo:
    path: str  # repository-relative
    oid: Oid
    size: int
    nfiles: int | None = None

    def to_pointer(self) -> Pointer:
        """The pointer a `.dvl` beside the output would hold."""
        kind = "dir" if self.nfiles is not None else "file"
        return Pointer(posixpath.basename(self.path), kind, self.oid, self.size, self.nfiles)

    def to_dict(self, base: str) -> dict[str, Any]:
        d: dict[str, Any] = {"path": _relative(self.path, base), "hash": str(self.oid),
                             "size": self.size}
        if self.nfiles is not None:
            d["nfiles"] = self.nfiles
        return d

    @classmethod
    def from_dict(cls, d: Any, base: str, source: str) -> HashInfo:
        if not isinstance(d, dict) or not {"path", "hash", "size"} <= set(d):
            raise FormatError(f"{source}: each dep/out needs path, hash and size")
        size, nfiles = d["size"], d.get("nfiles")
        if type(size) is not int or (nfiles is not None and type(nfiles) is not int):
            raise FormatError(f"{source}: size and nfiles must be integers")
        if not isinstance(d["path"], str) or not isinstance(d["hash"], str):
            raise FormatError(f"{source}: path and hash must be strings")
        full = posixpath.normpath(posixpath.join(base or ".", d["path"]))
        try:
            check_relpath(full, "lockfile path")
            oid = Oid.parse(d["hash"])
        except FormatError as exc:
            raise type(exc)(f"{source}: {exc.msg}") from None
        return cls(full, oid, size, nfiles)


@dataclass(frozen=True)
class LockEntry:
    name: str
    cmd: str
    deps: tuple[HashInfo, ...] = ()
    outs: tuple[HashInfo, ...] = ()
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # repo-relative file

    def to_dict(self, base: str) -> dict[str, Any]:
        d: dict[str, Any] = {"cmd": self.cmd}
        if self.deps:
            d["deps"] = [h.to_dict(base) for h in sorted(self.deps, key=lambda h: h.path)]
        if self.params:
            d["params"] = {_relative(f, base): dict(sorted(v.items()))
                           for f, v in sorted(self.params.items())}
        if self.outs:
            d["outs"] = [h.to_dict(base) for h in sorted(self.outs, key=lambda h: h.path)]
        return d


def _relative(path: str, base: str) -> str:
    return posixpath.relpath(path, base) if base else path


def lock_path_for(dvfile: str) -> str:
    return posixpath.join(posixpath.dirname(dvfile), LOCK_FILE)


def dumps(entries: dict[str, LockEntry], base: str) -> bytes:
    blocks = []
    for name in sorted(entries):
        text = yaml.safe_dump({name: entries[name].to_dict(base)}, sort_keys=False,
                              default_flow_style=False, allow_unicode=True, width=1 << 16)
        blocks.append("".join(f"  {line}\n" for line in text.splitlines()))
    return (f"schema: {SCHEMA}\nstages:\n" + "\n".join(blocks)).encode()


def loads(data: bytes, source: str) -> dict[str, LockEntry]:
    base = posixpath.dirname(source)
    doc = strictyaml.load(data, source)
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("stages") or {}, dict):
        raise FormatError(f"{source}: expected 'schema' and a 'stages' mapping")
    if doc.get("schema", SCHEMA) != SCHEMA:
        raise FormatError(f"{source}: unsupported schema {doc.get('schema')!r}",
                          hint="upgrade dvlite")
    entries = {}
    for name, body in (doc.get("stages") or {}).items():
        where = f"{source}: stage '{name}'"
        if not isinstance(body, dict) or not isinstance(body.get("cmd"), str):
            raise FormatError(f"{where}: needs a 'cmd'")
        params = body.get("params") or {}
        if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
            raise FormatError(f"{where}: 'params' must map files to {{key: value}}")
        entries[str(name)] = LockEntry(
            str(name), body["cmd"],
            tuple(HashInfo.from_dict(d, base, where) for d in _items(body, "deps", where)),
            tuple(HashInfo.from_dict(d, base, where) for d in _items(body, "outs", where)),
            {_param_file(base, f, where): v for f, v in params.items()},
        )
    return entries


def _param_file(base: str, name: object, where: str) -> str:
    if not isinstance(name, str):
        raise FormatError(f"{where}: params file names must be strings")
    full = posixpath.normpath(posixpath.join(base or ".", name))
    try:
        return check_relpath(full, "lockfile params path")
    except FormatError as exc:
        raise type(exc)(f"{where}: {exc.msg}") from None


def _items(body: dict[str, Any], key: str, where: str) -> list[Any]:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise FormatError(f"{where}: '{key}' must be a list")
    return value
