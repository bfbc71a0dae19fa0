"""The Vega bundle is built once per test session and copied into each repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plots.util import build_bundle, seed_bundle


@pytest.fixture(scope="session")
def built_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture
def plots_repo(repo: Path, built_bundle: Path) -> Path:
    seed_bundle(repo, built_bundle)
    return repo
