"""MANO fixtures: official-style MANO files generated into a temporary folder per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.mano_files import write_official_mano_dir


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mano")


@pytest.fixture(scope="session")
def mano_arrays(mano_dir) -> dict[str, dict[str, np.ndarray]]:
    return write_official_mano_dir(mano_dir)
