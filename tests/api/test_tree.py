"""The tree of a repository: git's files and tracked data as one, manifests read late."""

from __future__ import annotations

import threading
import time

import pytest

from dvlite.core.manifest import Manifest, ManifestEntry
from dvlite.core.oid import Oid, hash_bytes
from dvlite.core.pointer import Pointer
from dvlite.workspace.tree import DIRECTORY, FILE, Node, Tree


def _oid(text: str) -> Oid:
    return hash_bytes("xxh128", text.encode())


FOLDER = Manifest.build("xxh128", [ManifestEntry("a.txt", _oid("a"), 1),
                                   ManifestEntry("sub/b.txt", _oid("b"), 2, True)])


def _tree(reads: list[Oid]) -> Tree:
    def manifest(oid: Oid) -> Manifest:
        reads.append(oid)
        time.sleep(0.01)  # long enough for other threads to ask meanwhile
        return FOLDER

    files = [Node("README", FILE, 5, blob="1" * 40), Node("data/old.txt", FILE, 3),
             Node("model.bin", FILE, 9), Node("src/x.py", FILE, 4)]
    outputs = [("data", Pointer("data", "dir", _oid("m"), 3, 2)),
               ("data/inner", Pointer("inner", "file", _oid("i"), 1)),  # inside: ignored
               ("model.bin", Pointer("model.bin", "file", _oid("v"), 2))]
    return Tree(files, outputs, manifest)


def test_tracked_data_hides_git_files_and_manifests_are_read_when_asked():
    reads: list[Oid] = []
    tree = _tree(reads)
    assert [n.name for n in tree.listdir("")] == ["README", "data", "model.bin", "src"]
    assert tree.info("model.bin") == Node("model.bin", FILE, 2, _oid("v"), tracked=True)
    assert tree.info("README").blob == "1" * 40 and not tree.info("README").tracked
    assert tree.info("data").type == DIRECTORY and tree.info("data").size == 3
    assert not reads  # nothing below a tracked folder was asked for yet
    b = tree.info("data/sub/b.txt")
    assert (b.size, b.isexec, b.tracked, b.oid) == (2, True, True, _oid("b"))
    assert [n.path for n in tree.listdir("data")] == ["data/a.txt", "data/sub"]
    assert reads == [_oid("m")]
    for gone in ("data/old.txt", "data/inner"):
        with pytest.raises(FileNotFoundError):
            tree.info(gone)
    with pytest.raises(NotADirectoryError):
        tree.listdir("README")
    assert [n.path for n in tree.files_under("")] == [
        "README", "data/a.txt", "data/sub/b.txt", "model.bin", "src/x.py"]


def test_threads_read_a_manifest_once():
    reads: list[Oid] = []
    tree = _tree(reads)
    found: list[str] = []
    threads = [threading.Thread(target=lambda: found.append(tree.info("data/a.txt").path))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == ["data/a.txt"] * 8
    assert reads == [_oid("m")]


def test_the_folders_above_an_output_are_plain_and_those_inside_a_tracked_folder_are_not():
    tree = Tree([Node("models/README", FILE, 5)],
                [("models/clf.bin", Pointer("clf.bin", "file", _oid("c"), 1)),
                 ("data", Pointer("data", "dir", _oid("m"), 3, 2))], lambda _: FOLDER)
    assert not tree.info("models").tracked  # a plain folder that holds an output
    assert tree.info("models/clf.bin").tracked
    assert tree.info("data").tracked and tree.info("data/sub").tracked
