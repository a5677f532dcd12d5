"""`repehand train`: its help, and one clear line for a bad config, missing data or a run
already in the output folder. (Training itself: test/training/test_train_smoke.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fixtures.interhand import write_interhand_fixture

from repehand_ros.tools.train import main as train_main
from repehand_ros.training.checkpoints import LAST_CHECKPOINT


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Three training images in InterHand's layout (train and val, as the official set)."""
    root = tmp_path_factory.mktemp("interhand")
    write_interhand_fixture(
        root, split="train", captures=(0,), cameras=("400262",), frames_per_capture=2
    )
    write_interhand_fixture(
        root, split="val", seed=1, captures=(1,), cameras=("400263",), frames_per_capture=1
    )
    return root


def test_help_explains_every_option(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--config",
        "--data",
        "--mano-dir",
        "--out",
        "--resume",
        "--epochs",
        "--device",
        "--backbone-weights",
    ):
        assert option in text
    assert "torchrun" in text and "Ctrl-C" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "config file not found"),
        ("epochs: -3\n", "epochs must be an integer >= 1"),
        ("learning_rate: 0.1\n", "unknown keys ['learning_rate']"),
        ("augmentation: {scale: 2}\n", "augmentation"),
        ("- not a mapping\n", "expected a mapping"),
        ("batch_size: [\n", "not a readable YAML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path, capsys, content, message) -> None:
    path = tmp_path / "train.yaml"
    if content is not None:
        path.write_text(content)
    assert train_main(["--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("repehand train: error:") and message in error
    assert "Traceback" not in error


def test_missing_or_wrong_data_and_existing_runs_are_refused(
    tmp_path, data_root, mano_dir, capsys
) -> None:
    config = tmp_path / "train.yaml"
    config.write_text(
        yaml.safe_dump({"mano_dir": str(mano_dir), "num_workers": 0, "batch_size": 2})
    )
    out = ["--out", str(tmp_path / "out")]
    assert train_main(["--config", str(config), "--data", str(tmp_path / "nowhere"), *out]) == 2
    assert "dataset folder not found" in capsys.readouterr().err
    assert train_main(["--config", str(config), "--data", str(tmp_path), *out]) == 2
    assert "no annotations/ folder" in capsys.readouterr().err
    assert train_main(["--config", str(config), *out]) == 2
    assert "data_root is not set" in capsys.readouterr().err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / LAST_CHECKPOINT).write_bytes(b"")
    assert train_main(["--config", str(config), "--data", str(data_root), *out]) == 2
    assert "--resume" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["--config", str(config), "--epochs", "0"])
    assert "must be at least 1" in capsys.readouterr().err
    weights = ["--backbone-weights", str(tmp_path / "tiny_vit.pth")]
    out = ["--out", str(tmp_path / "fresh")]
    assert train_main(["--config", str(config), "--data", str(data_root), *weights, *out]) == 2
    assert "backbone weights file not found" in capsys.readouterr().err
