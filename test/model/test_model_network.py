from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from repehand_ros.model.network import ModelInputError, RepeHandNet, validate_images
from repehand_ros.model.outputs import OUTPUT_NAMES, RepeHandOutput


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_5m_parameter_count_matches_the_paper_part_by_part(network):
    assert _count(network.backbone) == 5_071_124
    assert _count(network.ihpe) == 962_003
    assert _count(network.joint_localizer) == 94_374
    regressors = network.right_hand_head, network.left_hand_head, network.relative_translation
    assert sum(_count(m) for m in regressors) == 872_157
    assert _count(network) == 6_999_658


def test_backbone_has_no_classifier_head(network):
    assert not any(name.startswith("backbone.model.head") for name in network.state_dict())


@pytest.fixture(scope="module")
def output(network, images) -> RepeHandOutput:
    with torch.inference_mode():
        return network(images)


def test_output_shapes(output):
    expected = {
        "joints_hm": (2, 21, 3),
        "root_rotmat": (2, 3, 3),
        "pose_rotmat": (2, 15, 3, 3),
        "root_pose": (2, 3),
        "hand_pose": (2, 45),
        "shape": (2, 10),
        "cam": (2, 3),
    }
    for hand in (output.right, output.left):
        for field, shape in expected.items():
            assert tuple(getattr(hand, field).shape) == shape, field
    assert tuple(output.relative_translation.shape) == (2, 3)
    assert list(output.to_named()) == list(OUTPUT_NAMES)


def test_rotations_are_proper_and_axis_angles_agree_with_them(output):
    for hand in (output.right, output.left):
        rotmats = torch.cat((hand.root_rotmat[:, None], hand.pose_rotmat), dim=1).reshape(-1, 3, 3)
        identity = torch.eye(3).expand_as(rotmats)
        assert torch.allclose(rotmats @ rotmats.transpose(1, 2), identity, atol=1e-5)
        assert torch.allclose(torch.linalg.det(rotmats), torch.ones(len(rotmats)), atol=1e-5)
        axis_angle = torch.cat((hand.root_pose, hand.hand_pose), dim=1).reshape(-1, 3)
        from_axis_angle = Rotation.from_rotvec(axis_angle.double().numpy()).as_matrix()
        np.testing.assert_allclose(from_axis_angle, rotmats.double().numpy(), atol=1e-4)


def test_joints_lie_inside_the_heatmap_grid(output):
    for hand in (output.right, output.left):
        assert hand.joints_hm.min() >= 0 and hand.joints_hm.max() <= 6


def test_batch_items_are_independent(network, images):
    with torch.inference_mode():
        both = network(images).right.shape
        first = network(images[:1]).right.shape
    torch.testing.assert_close(both[:1], first, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.rand(3, 224, 224), "images\\[None\\]"),
        (torch.rand(1, 3, 112, 112), "shape \\(1, 3, 112, 112\\)"),
        (torch.rand(1, 224, 224, 3), "shape"),
        ((torch.rand(1, 3, 224, 224) * 255).to(torch.uint8), "divide uint8 images by 255"),
        (torch.rand(1, 3, 224, 224) * 255, "looks like 0..255"),
        (torch.full((1, 3, 224, 224), -0.5), "values in \\[-0.5"),
        (torch.full((1, 3, 224, 224), float("nan")), "NaN"),
        (np.zeros((1, 3, 224, 224), np.float32), "got ndarray"),
        (torch.rand(0, 3, 224, 224), "empty batch"),
    ],
)
def test_bad_input_is_refused_with_what_was_expected(bad, message):
    with pytest.raises(ModelInputError, match=message) as error:
        validate_images(bad)
    assert "(B, 3, 224, 224)" in str(error.value)


def test_network_validates_by_default_and_can_skip_it(network):
    bad = torch.full((1, 3, 224, 224), 2.0)
    with pytest.raises(ModelInputError), torch.inference_mode():
        network(bad)
    with torch.inference_mode():
        network(bad, validate=False)


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(ValueError, match="5m, 11m, 21m"):
        RepeHandNet("7m")
