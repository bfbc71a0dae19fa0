"""Dataframe libraries read tracked data through `dvlite://` as users write it: pandas
(`read_csv`, `read_parquet` with `storage_options`), pyarrow datasets over a tracked folder
of Parquet parts, and Dask on a real `distributed.LocalCluster` whose worker processes
read a fresh clone's data from the folder remote. Each reads an older revision than the
workspace holds, so the bytes must come from that commit's pointers."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dask.dataframe as dd
import distributed
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import xxhash

from tests.helpers import gen, git, run, snapshot


def frame(seed: int, rows: int = 40) -> pd.DataFrame:
    """A small deterministic table (ints, floats, strings), different for each seed."""
    return pd.DataFrame({
        "id": [seed * 1000 + i for i in range(rows)],
        "x": [round((seed * 31 + i * 7) % 97 / 7, 4) for i in range(rows)],
        "label": [f"s{seed}-r{i % 5}" for i in range(rows)],
    })


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, row_group_size=10)
    return buf.getvalue()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


def normal(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by id; strings as pandas' default string type (pyarrow's differs in its NA)."""
    return df.astype({"label": str}).sort_values("id").reset_index(drop=True)


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


@pytest.fixture
def tables(repo: Path, tmp_path: Path) -> str:
    """`data/table.csv` and `data/table.parquet` tracked at v1 (returned) and changed at
    v2 (HEAD and the workspace); both versions are on the folder remote `store`."""
    assert run("remote", "add", "store", str(tmp_path / "store"), "--default").exit_code == 0
    gen(repo, {"data": {"table.csv": csv_bytes(frame(1)),
                        "table.parquet": parquet_bytes(frame(1))}})
    assert run("add", "data/table.csv", "data/table.parquet").exit_code == 0
    v1 = commit_all(repo, "v1")
    gen(repo, {"data": {"table.csv": csv_bytes(frame(2)),
                        "table.parquet": parquet_bytes(frame(2))}})
    assert run("add", "data/table.csv", "data/table.parquet").exit_code == 0
    commit_all(repo, "v2")
    assert run("push", "--all-commits").exit_code == 0
    return v1


def test_pandas_read_csv_at_an_older_revision(repo: Path, tables: str) -> None:
    before = snapshot(repo)
    opts = {"repo": str(repo), "rev": tables}
    old = pd.read_csv("dvlite://data/table.csv", storage_options=opts)
    pd.testing.assert_frame_equal(old, frame(1))
    new = pd.read_csv("dvlite://data/table.csv", storage_options={"repo": str(repo)})
    pd.testing.assert_frame_equal(new, frame(2))
    assert snapshot(repo) == before  # reading never touches the workspace


@pytest.mark.parametrize("source", ["cache", "remote"])
def test_pandas_read_parquet_at_an_older_revision(repo: Path, tables: str,
                                                  source: str) -> None:
    if source == "remote":  # only the folder remote has the bytes: ranged reads go there
        shutil.rmtree(repo / ".dvlite" / "cache")
    before = snapshot(repo)
    opts = {"repo": str(repo), "rev": tables}
    old = pd.read_parquet("dvlite://data/table.parquet", storage_options=opts)
    pd.testing.assert_frame_equal(old, frame(1))
    some = pd.read_parquet("dvlite://data/table.parquet", storage_options=opts,
                           columns=["label"], filters=[("id", ">=", 1030)])
    assert some["label"].tolist() == frame(1)["label"].tolist()[30:]
    assert snapshot(repo) == before


@pytest.fixture
def parts(repo: Path) -> str:
    """`data/parts/` (a tracked folder) holds 4 Parquet parts at v1 (returned); v2 rewrites
    one part and adds a fifth."""
    gen(repo, {"data": {"parts": {f"part-{i}.parquet": parquet_bytes(frame(10 + i))
                                  for i in range(4)}}})
    assert run("add", "data/parts").exit_code == 0
    v1 = commit_all(repo, "parts v1")
    gen(repo, {"data": {"parts": {"part-0.parquet": parquet_bytes(frame(20)),
                                  "part-4.parquet": parquet_bytes(frame(14))}}})
    assert run("add", "data/parts").exit_code == 0
    commit_all(repo, "parts v2")
    return v1


def test_pyarrow_dataset_over_a_tracked_folder(repo: Path, parts: str) -> None:
    fs = fsspec.filesystem("dvlite", repo=str(repo), rev=parts)
    dataset = pads.dataset("data/parts", format="parquet",
                           filesystem=pafs.PyFileSystem(pafs.FSSpecHandler(fs)))
    assert sorted(Path(f).name for f in dataset.files) == [
        f"part-{i}.parquet" for i in range(4)]
    want = normal(pd.concat([frame(10 + i) for i in range(4)]))
    got = normal(dataset.to_table().to_pandas())
    pd.testing.assert_frame_equal(got, want)
    # A projected, filtered scan reads only parts of the files (footers, column chunks).
    picked = dataset.to_table(columns=["id"], filter=pads.field("x") > 10).to_pandas()
    assert sorted(picked["id"]) == sorted(want.loc[want["x"] > 10, "id"])
    # HEAD: the rewritten part and the added one.
    head = pads.dataset("data/parts", format="parquet",
                        filesystem=fsspec.filesystem("dvlite", repo=str(repo)))
    got = normal(head.to_table().to_pandas())
    pd.testing.assert_frame_equal(
        got, normal(pd.concat([frame(20), *(frame(10 + i) for i in range(1, 5))])))


# --- Dask on a LocalCluster: worker processes read a clone's data from the remote -----

@dataclass(frozen=True)
class Cluster:
    client: distributed.Client
    user_cache: Path  # the workers' per-user object cache


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One real cluster for the module: 2 worker processes, 1 thread each, with a per-user
    object cache of their own (they inherit the environment they start in). The
    scheduler's HTTP server takes a free port: 8787 may be another run's."""
    xdg = tmp_path_factory.mktemp("workers")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DVLITE_CACHE_DIR", raising=False)
        env.setenv("XDG_CACHE_HOME", str(xdg))
        local = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                         dashboard_address="127.0.0.1:0")
    client = distributed.Client(local)
    try:
        yield Cluster(client, xdg / "dvlite" / "objects")
    finally:
        client.close()
        local.close()


CSV_PARTS = 20


@pytest.fixture
def clone(repo: Path, tmp_path: Path) -> tuple[Path, str]:
    """A fresh clone, with an empty cache, of a project whose `data/csv/` (20 CSV parts)
    is on a folder remote, and v1's revision. The project's own cache and data are
    deleted, so the remote holds the only copy of the bytes."""
    assert run("remote", "add", "store", str(tmp_path / "store"), "--default").exit_code == 0
    gen(repo, {"data": {"csv": {f"part-{i:02d}.csv": csv_bytes(frame(100 + i, rows=25))
                                for i in range(CSV_PARTS)}}})
    assert run("add", "data/csv").exit_code == 0
    v1 = commit_all(repo, "csv v1")
    gen(repo, {"data": {"csv": {"part-00.csv": csv_bytes(frame(200, rows=25))}}})
    assert run("add", "data/csv").exit_code == 0
    commit_all(repo, "csv v2")
    assert run("push", "--all-commits").exit_code == 0
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))
    shutil.rmtree(repo / ".dvlite" / "cache")
    shutil.rmtree(repo / "data" / "csv")
    dest = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{origin}", str(dest))
    assert not (dest / ".dvlite" / "cache").exists() and not (dest / "data" / "csv").exists()
    return dest, v1


def test_dask_dataframe_on_a_local_cluster(cluster: Cluster, clone: tuple[Path, str]) -> None:
    dest, v1 = clone
    ddf = dd.read_csv("dvlite://data/csv/*.csv", storage_options={"repo": str(dest), "rev": v1})
    assert ddf.npartitions == CSV_PARTS
    with distributed.get_task_stream(cluster.client) as stream:
        got = ddf.compute()  # the client is the default scheduler
    workers = {task["worker"] for task in stream.data}
    assert len(stream.data) >= CSV_PARTS
    assert workers and workers <= set(cluster.client.scheduler_info()["workers"])
    want = pd.concat([frame(100 + i, rows=25) for i in range(CSV_PARTS)], ignore_index=True)
    pd.testing.assert_frame_equal(normal(got), normal(want))
    total = ddf.groupby("label")["x"].sum().compute().sort_index()
    pd.testing.assert_series_equal(total, want.groupby("label")["x"].sum().sort_index(),
                                   check_index_type=False)  # dask's strings are pyarrow's
    # The workers downloaded every part from the remote (the only copy), verified, into
    # their object cache; the clone's workspace and cache are left alone.
    stored = {p.name for p in cluster.user_cache.rglob("*") if p.is_file()}
    parts = {hash_bytes(csv_bytes(frame(100 + i, rows=25))) for i in range(CSV_PARTS)}
    assert parts <= stored
    assert not (dest / "data" / "csv").exists()
    assert not (dest / ".dvlite" / "cache").exists()
