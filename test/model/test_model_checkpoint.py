from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from fixtures.checkpoints import (
    make_official_state,
    official_keys_at,
    write_official_snapshot,
)

from repehand_ros.model.checkpoint import (
    CheckpointError,
    convert_official_state,
    load_checkpoint,
    load_model,
    local_to_official,
    official_to_local,
    read_snapshot,
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
    with pytest.raises(CheckpointError, match=r"not a RepeHand network in the official layout"):
        load_model(_snapshot_with(tmp_path, state))
    with pytest.raises(CheckpointError, match=r"356 missing.*356 unexpected"):
        convert_official_state(state, RepeHandNet("5m"))


def test_the_architecture_is_read_from_the_file(official_snapshot):
    network = load_model(official_snapshot)
    assert network.variant.name == "5m" and network.input_size == 224
    assert network.heatmap_size == 7


def test_a_requested_variant_or_size_that_disagrees_with_the_file_names_both(official_snapshot):
    with pytest.raises(CheckpointError, match=r"holds RepeHand 5m at 224 px.*variant '11m'"):
        load_model(official_snapshot, variant="11m")
    with pytest.raises(CheckpointError, match=r"holds RepeHand 5m at 224 px.*input size 256"):
        load_model(official_snapshot, input_size=256)
    with pytest.raises(CheckpointError, match=r"5m at 224 px.*but the network is 5m at 256 px"):
        load_checkpoint(RepeHandNet("5m", input_size=256), official_snapshot)


@pytest.fixture(scope="module")
def snapshot_256(official_keys, tmp_path_factory):
    state = make_official_state(official_keys_at(official_keys, 256), seed=2)
    path = tmp_path_factory.mktemp("checkpoints") / "snapshot_256.pth.tar"
    return write_official_snapshot(path, state), state


def test_a_snapshot_at_256_loads_strictly_and_runs_on_256_crops(snapshot_256):
    path, state = snapshot_256
    assert state["module.hand_position_net.conv_r2.0.weight"].shape[0] == 168
    network = load_model(path)
    assert (network.input_size, network.heatmap_size) == (256, 8)
    local = network.state_dict()
    for key, value in state.items():
        assert torch.equal(local[official_to_local(key)], value), key
    with torch.no_grad():
        output = network(torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0)))
    joints = output.right.joints_hm
    assert joints.shape == (1, 21, 3)
    assert float(joints.min()) >= 0.0 and float(joints.max()) <= 7.0
    with pytest.raises(ValueError, match=r"\(B, 3, 256, 256\)"):
        network(torch.rand(1, 3, 224, 224))


def test_a_heatmap_head_that_gives_no_input_size_is_refused(official_keys, tmp_path):
    keys = dict(official_keys)
    for name in ("module.hand_position_net.conv_r2.0.weight",):
        shape, dtype = keys[name]
        keys[name] = ((150, *shape[1:]), dtype)
    path = _snapshot_with(tmp_path, make_official_state(keys))
    with pytest.raises(CheckpointError, match=r"150 heatmap channels are not 21 per depth cell"):
        load_model(path)


def test_the_official_trainers_extras_are_accepted_and_ignored(official_snapshot):
    snapshot = read_snapshot(official_snapshot)
    assert set(snapshot) == {
        "network",
        "epoch",
        "optimizer",
        "torch_rng_state",
        "numpy_rng_state",
        "random_rng_state",
        "dataloader_seed",
    }
    assert isinstance(snapshot["numpy_rng_state"][1], np.ndarray)
    assert snapshot["optimizer"]["state"][0]["exp_avg"].shape == (3,)
    assert "module.mano_layer_right.shapedirs" in snapshot["network"]


def _renamed_numpy_globals(source, target):
    """`source` re-written as NumPy 1 writes its globals (numpy.core, not numpy._core)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("data.pkl"):
                assert b"numpy._core.multiarray" in data
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            zout.writestr(item, data)
    return target


def test_a_snapshot_saved_by_numpy_1_loads(official_snapshot, tmp_path):
    path = _renamed_numpy_globals(official_snapshot, tmp_path / "numpy1.pth.tar")
    snapshot = read_snapshot(path)
    assert snapshot["numpy_rng_state"][0] == "MT19937"
    assert load_model(path).input_size == 224


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
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_runs_code_is_refused_unrun_with_the_global_named(official_state, tmp_path):
    """The numpy allowance opens nothing else: an official-looking snapshot with an
    os.system reduce beside the random states is refused, and the command never runs."""
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pth"
    snapshot = {
        "network": dict(official_state),
        "epoch": 1,
        "numpy_rng_state": np.random.get_state(),
        "dataloader_seed": _Payload(marker),
    }
    torch.save(snapshot, evil, pickle_module=pickle)
    with pytest.raises(CheckpointError, match=r"refused unread: it names posix\.system"):
        load_model(evil)
    with pytest.raises(CheckpointError, match=r"posix\.system"):
        read_snapshot(evil)
    assert not marker.exists()


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint file not found: .*nothing.pth"):
        load_model(tmp_path / "nothing.pth")
