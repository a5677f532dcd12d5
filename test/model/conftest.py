"""Shared, session-scoped network fixtures: building and exporting the network is the slow part."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fixtures.checkpoints import (
    make_official_state,
    official_keys_path,
    read_official_keys,
    write_official_snapshot,
)

from repehand_ros.model.network import RepeHandNet


@pytest.fixture(scope="session")
def official_keys() -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    path = official_keys_path()
    if not path.is_file():
        pytest.skip(f"official key list not found at {path} (set REPEHAND_OFFICIAL_KEYS)")
    return read_official_keys(path)


@pytest.fixture(scope="session")
def official_state(official_keys) -> dict[str, torch.Tensor]:
    return make_official_state(official_keys, seed=0)


@pytest.fixture(scope="session")
def official_snapshot(tmp_path_factory, official_state) -> Path:
    path = tmp_path_factory.mktemp("checkpoints") / "snapshot_79.pth.tar"
    return write_official_snapshot(path, official_state)


@pytest.fixture(scope="session")
def network() -> RepeHandNet:
    """A 5m network with random weights in eval mode; tests must not modify it."""
    torch.manual_seed(0)
    return RepeHandNet("5m").eval()


@pytest.fixture(scope="session")
def images() -> torch.Tensor:
    return torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
