"""The `--remote` side of `status`, `fsck` and `ls`: what the remote holds of the data the
workspace, the cache or a revision tracks."""

from __future__ import annotations

from typing import Any

import typer

from dvlite.cli.ui import emit_json, human_size, out, progress
from dvlite.errors import IntegrityError
from dvlite.workspace.repo import Repo


def status_remote(targets: list[str], remote: str | None, as_json: bool,
                  exit_code: bool) -> None:
    from dvlite.repo.sync.check import remote_status

    report = remote_status(Repo.find(), targets, remote)
    if as_json:
        emit_json(report.to_dict())
    elif report.clean:
        out(f"Everything is on remote '{report.remote}'.")
    else:
        for path, count in sorted(report.not_pushed.items()):
            out(f"  not on remote: {path} ({count} objects)")
        out(f"run `dvlite push` to upload them to '{report.remote}'")
    if exit_code and not report.clean:
        raise typer.Exit(1)


def fsck_remote(remote: str | None, as_json: bool, repair: bool) -> None:
    from dvlite.repo.fsck import fsck as local_fsck
    from dvlite.repo.sync.check import remote_fsck

    repo = Repo.find()
    local = local_fsck(repo, progress=progress())
    result = remote_fsck(repo, remote, progress=progress(), repair=repair)
    if as_json:
        emit_json({"cache": local.to_dict(), **result.to_dict()})
    else:
        for oid in local.corrupt:
            out(f"corrupt in cache: {oid} (moved to the cache's bad/ folder)")
        out(f"checked {local.checked} cache objects: {len(local.corrupt)} corrupt")
        for label, items in (("missing on remote", result.missing),
                             ("wrong size on remote", result.wrong_size),
                             ("corrupt on remote", result.corrupt),
                             ("bad copy on remote (an intact one remains)", result.bad_copies),
                             ("unreadable pack index", result.unreadable),
                             ("wrong size in pointer (the object is intact)",
                              result.bad_pointers)):
            for item in items:
                out(f"{label}: {item}")
        out(f"checked {result.checked} objects on '{result.remote}': "
            f"{len(result.missing)} missing, {len(result.wrong_size)} wrong size, "
            f"{len(result.corrupt)} corrupt")
        if result.removed or result.removed_indexes:
            out(f"removed bad copies of {len(result.removed)} objects and "
                f"{len(result.removed_indexes)} unusable indexes from '{result.remote}': "
                "push again from a machine that has the data")
        if result.bad_pointers:
            out("a pointer that is wrong about a size is fixed in the pointer (restore it "
                "from git history, or `dvlite add` the file again), never on the remote")
    if local.corrupt or not result.ok:
        raise typer.Exit(IntegrityError.exit_code)


def ls_remote(rev: str | None, remote: str | None, as_json: bool) -> None:
    from dvlite.repo.ls import ls as do_ls
    from dvlite.repo.ls import object_closure
    from dvlite.repo.sync.check import on_remote
    from dvlite.workspace.outputs import outputs_at, tracked_outputs

    repo = Repo.find()
    items = do_ls(repo, rev)
    found = outputs_at(repo, rev) if rev else tracked_outputs(repo)
    manifests: dict[Any, Any] = {}
    closures = {o.rel: object_closure(repo, o, manifests) for o in found}
    there = on_remote(repo, remote, closures)
    if as_json:
        emit_json([{**i.to_dict(), "on_remote": there.get(i.path, False)} for i in items])
        return
    for i in items:
        cached = "cached" if i.cached else "not cached"
        pushed = "on remote" if there.get(i.path) else "not on remote"
        out(f"{i.path}\t{i.type}\t{i.oid}\t{human_size(i.size)}\t{cached}\t{pushed}")
