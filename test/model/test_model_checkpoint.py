from __future__ import annotations

import pickle

import pytest
import torch
from fixtures.checkpoints import write_official_snapshot

from repehand_ros.model.checkpoint import (
    CheckpointError,
    load_model,
    local_to_official,
    official_to_local,
    save_checkpoint,
)
from repehand_ros.model.network import RepeHandNet


def test_every_official_key_maps_to_exactly_one_network_key(network, official_keys):
    local = network.state_dict()
    mapped = {official_to_local(key) for key in official_keys}
    assert mapped == set(local)
    assert len(mapped) == len(official_keys) == 356
    for key, (shape, dtype) in official_keys.items():
        target = local[official_to_local(key)]
        assert tuple(target.shape) == shape and target.dtype == dtype, key
        assert local_to_official(official_to_local(key)) == key


@pytest.fixture(scope="module")
def loaded(official_snapshot) -> RepeHandNet:
    return load_model(official_snapshot, variant="5m")


def test_official_snapshot_loads_every_weight(loaded, official_state):
    assert not loaded.training
    local = loaded.state_dict()
    for key, value in official_state.items():
        assert torch.equal(local[official_to_local(key)], value), key


def test_official_left_stream_feeds_the_right_hand(loaded, official_state, images):
    """The official quirk: the stream the official code calls "left" drives the right hand."""
    key = "module.hand_position_net.EABlock.PEModule.left_stream.conv.weight"
    changed = RepeHandNet("5m").eval()
    changed.load_state_dict(loaded.state_dict())
    with torch.no_grad():
        changed.get_parameter(official_to_local(key)).mul_(-1.0)
        before, after = loaded(images), changed(images)
    assert not torch.allclose(before.right.shape, after.right.shape)
    torch.testing.assert_close(before.left.shape, after.left.shape)
    torch.testing.assert_close(before.left.joints_hm, after.left.joints_hm)


def test_saved_checkpoint_uses_the_official_layout_and_reloads(
    loaded, official_keys, tmp_path, images
):
    path = save_checkpoint(loaded, tmp_path / "mine.pth", epoch=3)
    snapshot = torch.load(path, weights_only=True)
    assert set(snapshot["network"]) == set(official_keys)
    assert snapshot["epoch"] == 3
    again = load_model(path)
    with torch.no_grad():
        torch.testing.assert_close(again(images).to_named(), loaded(images).to_named())


def _snapshot_with(tmp_path, state, name="broken.pth"):
    return write_official_snapshot(tmp_path / name, state, with_extras=False)


def test_missing_unexpected_and_misshapen_keys_are_named_in_one_error(official_state, tmp_path):
    state = dict(official_state)
    missing = "module.hand_rotation_net.rcam_out.0.bias"
    misshapen = "module.hand_rotation_net.lshape_out.0.bias"
    del state[missing]
    state["module.hand_rotation_net.extra_head.weight"] = torch.zeros(3)
    state[misshapen] = torch.zeros(11)
    with pytest.raises(CheckpointError) as error:
        load_model(_snapshot_with(tmp_path, state))
    message = str(error.value)
    assert f"1 missing: {missing}" in message
    assert "1 unexpected: module.hand_rotation_net.extra_head.weight" in message
    assert f"{misshapen} (11,) (expected (10,))" in message


def test_keys_without_the_dataparallel_prefix_are_refused(official_state, tmp_path):
    state = {key.removeprefix("module."): value for key, value in official_state.items()}
    with pytest.raises(CheckpointError, match=r"356 missing.*356 unexpected"):
        load_model(_snapshot_with(tmp_path, state))


def test_checkpoint_of_another_variant_says_which_variant_it_looks_like(official_snapshot):
    with pytest.raises(CheckpointError, match=r"looks like variant '5m'.*'11m'.*variant='5m'"):
        load_model(official_snapshot, variant="11m")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint at all\n", "not a readable PyTorch checkpoint"),
        (b"", "not a readable PyTorch checkpoint"),
    ],
)
def test_non_checkpoint_files_are_refused(tmp_path, content, message):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_model(path)


def test_truncated_checkpoint_is_refused(official_snapshot, tmp_path):
    path = tmp_path / "truncated.pth"
    path.write_bytes(official_snapshot.read_bytes()[:1_000_000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(path)


def test_a_file_without_network_weights_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model": {}}, path)
    with pytest.raises(CheckpointError, match=r"'network'.*found \['model'\]"):
        load_model(path)


class _Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__file__ + '.ran').touch()",))


def test_a_pickle_that_runs_code_is_refused_without_running_it(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"network": {"x": _Payload()}}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_model(path)
    assert not list(tmp_path.glob("*.ran"))


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint file not found: .*nothing.pth"):
        load_model(tmp_path / "nothing.pth")
