"""The pure parts: the `artifacts:` section's validation (file, line and key in every
error), the tag grammar and the state the tags add up to."""

from __future__ import annotations

import pytest

from dvlite.core.artifacts import check_tracked
from dvlite.core.dag import parse_files
from dvlite.core.registry import TagRecord, build, parse_ref, parse_tag, resolve
from dvlite.core.semver import SemVer
from dvlite.errors import FormatError, ScmError, UnsafePathError

GOOD = b"""\
stages:
  train: {cmd: python t.py, outs: [models/m.pkl]}
artifacts:
  clf:
    path: models/m.pkl
    type: model
    desc: Digits classifier
    labels: [sklearn, digits]
  data/raw-set:
    path: data
    type: dataset
"""


def test_a_good_section() -> None:
    arts = parse_files({"dvlite.yaml": GOOD}).artifacts
    assert [(a.name, a.path, a.type, a.labels, a.line) for a in arts] == [
        ("clf", "models/m.pkl", "model", ("sklearn", "digits"), 4),
        ("data/raw-set", "data", "dataset", (), 9)]


def test_paths_are_relative_to_their_file() -> None:
    text = b"artifacts:\n  clf:\n    path: m.pkl\n"
    assert parse_files({"sub/dvlite.yaml": text}).artifacts[0].path == "sub/m.pkl"


@pytest.mark.parametrize(("body", "message"), [
    ("  clf:\n    pth: m.pkl\n", "dvlite.yaml:3: artifact 'clf': unknown key 'pth'; "
                               "did you mean 'path'?"),
    ("  clf:\n    type: model\n", "dvlite.yaml:2: artifact 'clf': 'path' is missing"),
    ("  clf:\n    path: m\n    type: weights\n", "dvlite.yaml:4: artifact 'clf': 'type' "
                                               "must be one of model, dataset"),
    ("  clf:\n    path: m\n    labels: tag\n", "dvlite.yaml:4: artifact 'clf': 'labels' "
                                              "must be a list of strings"),
    ("  clf:\n    path: m\n    desc: 3\n", "dvlite.yaml:4: artifact 'clf': 'desc' must be "
                                           "a string"),
    ("  clf:\n    path: 7\n", "dvlite.yaml:3: artifact 'clf': 'path' must be a non-empty "
                             "string"),
    ("  -bad:\n    path: m\n", "dvlite.yaml:2: invalid artifact name '-bad'"),
    ("  a@b:\n    path: m\n", "dvlite.yaml:2: invalid artifact name 'a@b'"),
    ("  clf: m.pkl\n", "dvlite.yaml:2: artifact 'clf' must be a mapping"),
])
def test_bad_sections_name_file_line_and_key(body: str, message: str) -> None:
    with pytest.raises(FormatError) as err:
        parse_files({"dvlite.yaml": ("artifacts:\n" + body).encode()})
    assert err.value.msg.startswith(message), err.value.msg


def test_unsafe_path_and_list_section() -> None:
    with pytest.raises(UnsafePathError):
        parse_files({"dvlite.yaml": b"artifacts:\n  clf:\n    path: ../m\n"})
    with pytest.raises(FormatError, match=r"dvlite\.yaml:1: .artifacts. must be a mapping"):
        parse_files({"dvlite.yaml": b"artifacts: [clf]\n"})
    with pytest.raises(FormatError, match=r"already declared at a/dvlite\.yaml:2"):
        parse_files({"a/dvlite.yaml": b"artifacts:\n  clf: {path: m}\n",
                     "b/dvlite.yaml": b"artifacts:\n  clf: {path: m}\n"})


def test_untracked_path_is_named() -> None:
    art = parse_files({"dvlite.yaml": GOOD}).artifacts[0]
    check_tracked(art, ["models/m.pkl"], "HEAD")
    check_tracked(art, ["models"], "HEAD")  # a file inside a tracked folder
    with pytest.raises(FormatError, match=r"dvlite.yaml:4: artifact 'clf': path "
                       r"'models/m.pkl' is not a tracked output at HEAD"):
        check_tracked(art, ["models/m.pk", "other"], "HEAD")


# GTO's documented tag shapes (gto/constants.py tag_re; README "Git tags format")
@pytest.mark.parametrize(("tag", "action", "fields"), [
    ("clf@v1.2.3", "register", {"version": "v1.2.3"}),
    ("clf@v1.0.0-rc.1+b5", "register", {"version": "v1.0.0-rc.1+b5"}),
    ("clf@v1.2.3!", "deregister", {"version": "v1.2.3"}),
    ("clf#prod#7", "assign", {"stage": "prod", "counter": 7}),
    ("clf#prod!#8", "unassign", {"stage": "prod", "counter": 8}),
    ("clf@deprecated", "deprecate", {}),
    ("nlp/clf#prod#1", "assign", {"stage": "prod", "counter": 1}),
    ("models=clf@v0.0.1", "register", {"version": "v0.0.1"}),
])
def test_tag_grammar(tag: str, action: str, fields: dict[str, object]) -> None:
    event = parse_tag(TagRecord(tag, "c" * 40))
    assert event is not None
    assert event.action == action
    for key, value in fields.items():
        assert getattr(event, key) == value


@pytest.mark.parametrize("tag", ["v1.0.0", "clf@1.0.0", "clf@v1.0", "clf#", "-x@v1.0.0",
                                 "clf#prod#", "clf@v01.0.0"])
def test_other_tags_are_not_registry_tags(tag: str) -> None:
    assert parse_tag(TagRecord(tag, "c" * 40)) is None


def test_refs_and_semver_order() -> None:
    assert str(parse_ref("clf#prod")) == "clf#prod"
    assert parse_ref("clf@latest") == parse_ref("clf@greatest")
    assert parse_ref("main") is None and parse_ref("HEAD~2") is None
    order = ["v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-beta", "v1.0.0-rc.1", "v1.0.0",
             "v1.0.1", "v1.10.0", "v2.0.0"]
    parsed = [SemVer.parse(v) for v in order]
    assert sorted(parsed, key=lambda s: s.key()) == parsed  # type: ignore[union-attr]


def _t(tag: str, commit: str, time: int) -> TagRecord:
    return TagRecord(tag, commit * 40, time)


def test_state_latest_stage_and_ties_by_counter() -> None:
    states = build([_t("m@v0.0.1", "a", 1), _t("m@v0.0.2", "b", 1), _t("m@v0.0.3", "c", 1),
                    _t("m#prod#1", "c", 5), _t("m#prod#2", "a", 5),  # one second: N orders
                    _t("m@v0.0.3!", "c", 6), _t("m#dev#3", "b", 6), _t("m#dev!#4", "b", 6)])
    m = states["m"]
    assert m.latest is not None and m.latest.version == "v0.0.2"  # v0.0.3 deregistered
    assert m.stages == {"prod": "v0.0.1"}
    assert m.next_counter == 5
    assert resolve(states, parse_ref("m#prod")).commit == "a" * 40  # type: ignore[arg-type]
    with pytest.raises(ScmError, match="no version of artifact 'm' is in stage 'dev'"):
        resolve(states, parse_ref("m#dev"))  # type: ignore[arg-type]
