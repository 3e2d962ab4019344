"""The offline bundle, built once for every packaging test of the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.offline import build_bundle


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("bundle"))
