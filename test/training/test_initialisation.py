"""A fresh run's weights: ImageNet TinyViT backbone from a named file (or timm's hub), heads
as the official init_weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file
from torch import nn

from repehand_ros.model.checkpoint import save_checkpoint
from repehand_ros.model.network import RepeHandNet
from repehand_ros.training.initialisation import (
    TIMM_HUB,
    BackboneWeightsError,
    initialise_heads,
    load_imagenet_backbone,
)


def _imagenet_tinyvit(name: str = "tiny_vit_5m_224", seed: int = 1) -> dict[str, torch.Tensor]:
    """A TinyViT state dict with timm's key names and classifier head, as timm's files hold,
    every float tensor moved off timm's initial values (which are constants for norms)."""
    torch.manual_seed(seed)
    state = timm.create_model(name, pretrained=False).state_dict()
    return {
        k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v for k, v in state.items()
    }


@pytest.fixture(scope="module")
def imagenet_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "tiny_vit_5m_224.pth"
    torch.save(_imagenet_tinyvit(), path)
    return path


def _backbone_state(network: RepeHandNet) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in network.backbone.model.state_dict().items()}


def test_backbone_weights_come_from_the_named_file(imagenet_file) -> None:
    network = RepeHandNet("5m")
    before = _backbone_state(network)
    load_imagenet_backbone(network, str(imagenet_file))
    loaded = network.backbone.model.state_dict()
    expected = torch.load(imagenet_file, weights_only=True)
    assert set(loaded) == {k for k in expected if not k.startswith("head.")}
    for key, value in loaded.items():
        torch.testing.assert_close(value, expected[key], msg=key)
    floats = [k for k, v in loaded.items() if v.is_floating_point()]
    assert len(floats) > 200
    assert not [k for k in floats if torch.equal(loaded[k], before[k])]


def test_safetensors_and_wrapped_files_load_too(tmp_path) -> None:
    state = _imagenet_tinyvit(seed=2)
    save_file(state, tmp_path / "model.safetensors")
    torch.save({"model": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "wrapped.pth")
    for name in ("model.safetensors", "wrapped.pth"):
        network = RepeHandNet("5m")
        load_imagenet_backbone(network, str(tmp_path / name))
        key = "patch_embed.conv1.conv.weight"
        torch.testing.assert_close(network.backbone.model.state_dict()[key], state[key])


def test_backbone_weights_load_into_a_256_pixel_network(imagenet_file) -> None:
    network = RepeHandNet("5m", input_size=256)
    load_imagenet_backbone(network, str(imagenet_file))
    assert network(torch.rand(1, 3, 256, 256)).right.joints_hm.shape == (1, 21, 3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: None, "not found"),
        (lambda path: path.write_bytes(b"not a checkpoint"), "not a readable weights file"),
        (lambda path: torch.save(_imagenet_tinyvit("tiny_vit_11m_224"), path), "does not fit"),
        (
            lambda path: torch.save({"seq.0.c.weight": torch.zeros(3)}, path),
            "missing keys, e.g. patch_embed",
        ),
        (lambda path: save_checkpoint(RepeHandNet("5m"), path), "init_checkpoint"),
    ],
)
def test_a_wrong_file_is_one_clear_error(tmp_path, make, message) -> None:
    path = tmp_path / "weights.pth"
    make(path)
    with pytest.raises(BackboneWeightsError, match=message):
        load_imagenet_backbone(RepeHandNet("5m"), str(path))


def test_timm_hub_asks_timm_for_the_official_imagenet_weights(monkeypatch) -> None:
    asked: list[tuple[str, bool]] = []
    state = _imagenet_tinyvit(seed=3)

    def create_model(name: str, pretrained: bool = False, **kwargs):
        asked.append((name, pretrained))
        model = timm.models.create_model("tiny_vit_5m_224", pretrained=False, **kwargs)
        model.load_state_dict(state, strict=False)
        return model

    network = RepeHandNet("5m")
    monkeypatch.setattr(timm, "create_model", create_model)
    load_imagenet_backbone(network, TIMM_HUB)
    assert asked == [("tiny_vit_5m_224.dist_in22k_ft_in1k", True)]
    key = "stages.3.blocks.0.attn.qkv.weight"
    torch.testing.assert_close(network.backbone.model.state_dict()[key], state[key])


def test_timm_hub_offline_is_a_clear_error(monkeypatch) -> None:
    def offline(name: str, **kwargs):
        raise OSError("no network")

    network = RepeHandNet("5m")
    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(BackboneWeightsError, match="offline"):
        load_imagenet_backbone(network, TIMM_HUB)


def _weights(network: RepeHandNet, kind: type[nn.Module]) -> list[nn.Module]:
    return [
        module
        for name, module in network.named_modules()
        if type(module) is kind and not name.startswith("backbone.")
    ]


def test_heads_are_initialised_as_the_official_init_weights() -> None:
    torch.manual_seed(0)
    network = RepeHandNet("5m")
    backbone_before = _backbone_state(network)
    for module in _weights(network, nn.BatchNorm2d):  # make the BN check able to fail
        nn.init.normal_(module.weight)
        nn.init.normal_(module.bias)
    initialise_heads(network)
    convs, linears = _weights(network, nn.Conv2d), _weights(network, nn.Linear)
    conv_weights = torch.cat([m.weight.detach().flatten() for m in convs])
    linear_weights = torch.cat([m.weight.detach().flatten() for m in linears])
    assert float(conv_weights.std()) == pytest.approx(0.001, rel=0.02)
    assert float(linear_weights.std()) == pytest.approx(0.01, rel=0.02)
    assert abs(float(conv_weights.mean())) < 1e-5 and abs(float(linear_weights.mean())) < 1e-4
    for module in convs + linears:
        assert module.bias is None or not module.bias.any()
    for module in _weights(network, nn.BatchNorm2d):
        assert (module.weight == 1).all() and not module.bias.any()
    assert not network.ihpe.fuse_attention.self_attention.gamma.detach().any()
    for key, value in network.backbone.model.state_dict().items():
        assert torch.equal(value, backbone_before[key]), key
