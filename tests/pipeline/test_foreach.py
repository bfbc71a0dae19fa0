"""`foreach`/`do` stages."""

from __future__ import annotations

from pathlib import Path

from dvlite.core.stages import parse_pipeline
from tests.helpers import run
from tests.pipeline.util import lock, ran, setup_steps, step


def test_foreach_list_generates_stages(repo: Path) -> None:
    setup_steps(repo, f"""\
stages:
  clean:
    foreach: [a, b]
    do:
      cmd: {step("clean-${item}", "clean/${item}.txt", "raw/${item}.txt")}
      deps:
        - raw/${{item}}.txt
      outs:
        - clean/${{item}}.txt
""", {"raw": {"a.txt": "A\n", "b.txt": "B\n"}})
    assert run("repro").exit_code == 0
    assert sorted(ran(repo)) == ["clean-a", "clean-b"]
    assert sorted(lock(repo)) == ["clean@a", "clean@b"]
    assert (repo / "clean" / "b.txt").read_text() == "B\nclean-b\n"
    (repo / "raw" / "b.txt").write_text("B2\n")
    assert run("repro").exit_code == 0
    assert ran(repo) == ["clean-b"]
    assert run("repro", "clean@a", "--force").exit_code == 0
    assert ran(repo) == ["clean-a"]
    dag = run("dag")
    assert "clean@a" in dag.stdout and "clean@b" in dag.stdout


def test_foreach_mapping_with_fields() -> None:
    text = """\
stages:
  train:
    foreach:
      small: {epochs: 1, lr: 0.1}
      big: {epochs: 10, lr: 0.01}
    do:
      cmd: python train.py --name ${key} --epochs ${item.epochs}
      params:
        - models.${key}.lr
      outs:
        - models/${key}.bin
"""
    stages = {s.name: s for s in parse_pipeline(text, "dvlite.yaml")}
    assert sorted(stages) == ["train@big", "train@small"]
    big = stages["train@big"]
    assert big.cmd == "python train.py --name big --epochs 10"
    assert [o.path for o in big.outs] == ["models/big.bin"]
    assert [p.key for p in big.params] == ["models.big.lr"]
    assert big.line == 6  # the `do` key


def test_foreach_list_of_mappings_uses_index_names() -> None:
    text = """\
stages:
  s:
    foreach:
      - {n: 1}
      - {n: 2}
    do:
      cmd: echo ${item.n}
"""
    stages = parse_pipeline(text, "sub/dvlite.yaml")
    assert [(s.name, s.cmd, s.dvfile) for s in stages] == [
        ("s@0", "echo 1", "sub/dvlite.yaml"), ("s@1", "echo 2", "sub/dvlite.yaml")]
