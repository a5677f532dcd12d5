"""RepeHand run over InterHand2.6M for evaluation: which samples, what the network sees, what
is scored. The scoring rules themselves are `repehand_ros.data.protocols`.

As the official test pipeline (`InterHand26M.load_data` and `__getitem__`):

- Samples (`select_samples`): every annotation of `_data.json`, in order,
  except those whose joint_trunc (`_data.json` joint_valid, each hand gated
  by its wrist) or whose `_joint_3d.json` joint_valid (gated alike) is all
  zero. There is no hand_type_valid filter, and hands without a MANO fit
  stay in (their ground truth is all zeros, see the protocols).
- Crop (`network_input`): the annotation's RootNet box (`data.rootnet`)
  warped to the network's own input size, centre to centre and each side
  stretched to the crop side, bilinear on the float image, black outside,
  then scaled to [0, 1] as every network input is (`model.inputs`).
- Meshes (`evaluation_batch`): the predicted MANO meshes, and the NeuralAnnot
  fits posed with their world root rotation turned into the camera frame
  (the official `process_human_model_output`: only relative geometry matters
  once the protocols subtract joint 9 or the wrist).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from repehand_ros.data.interhand import InterHandDataset, InterHandSample
from repehand_ros.data.interhand_joints import HANDS, repehand_to_interhand
from repehand_ros.data.interhand_layout import InterHandLayoutError, locate_files
from repehand_ros.data.protocols import Protocol
from repehand_ros.data.rootnet import read_rootnet_boxes
from repehand_ros.data.scores import EvaluationBatch, SampleScores
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import CropTransform
from repehand_ros.model.inputs import normalise_crops

if TYPE_CHECKING:
    from pathlib import Path

    import torch

    from repehand_ros.mano.layer import ManoPair
    from repehand_ros.model.network import RepeHandNet
    from repehand_ros.model.outputs import RepeHandOutput

logger = logging.getLogger(__name__)

SKIP_REASONS: tuple[str, ...] = ("no_valid_joint_in_image", "no_valid_3d_joint")
"""Why `select_samples` leaves an annotation out: the two official test filters."""


class EvaluationError(ValueError):
    """Nothing to evaluate: no usable sample, or selected samples without a RootNet box."""


@dataclass
class EvaluationInputs:
    """What an evaluation reads before its first sample (`open_inputs`).

    Attributes:
        dataset: the split's annotations.
        boxes: annotation id -> RootNet box, image pixels.
        network: the network in eval mode, on `device`.
        mano: both MANO layers, on `device`.
        device: where the network and MANO run.
    """

    dataset: InterHandDataset
    boxes: dict[int, Box]
    network: RepeHandNet
    mano: ManoPair
    device: torch.device


def open_inputs(
    data_root: str | Path,
    split: str,
    subset: str | None,
    checkpoint: str | Path,
    mano_dir: str | Path,
    device: torch.device,
    variant: str | None = None,
    input_size: int | None = None,
) -> EvaluationInputs:
    """Dataset, RootNet boxes, network and MANO, quick checks first: the layout (no reading),
    the boxes, MANO and the checkpoint, then the annotation files (slow to read).

    Raises InterHandLayoutError, FileNotFoundError (MANO), ManoFileError or
    CheckpointError naming what is wrong.
    """
    from repehand_ros.mano.layer import ManoPair
    from repehand_ros.model.checkpoint import load_model

    locate_files(data_root, split, subset)
    boxes = read_rootnet_boxes(data_root, split)
    mano = ManoPair.from_dir(mano_dir)
    network = load_model(checkpoint, variant, device, input_size)
    logger.info("reading InterHand2.6M %s annotations from %s", split, data_root)
    dataset = InterHandDataset(data_root, split, subset)
    dataset.check_first_image()
    return EvaluationInputs(dataset, boxes, network, mano.to(device).eval(), device)


@dataclass
class Selection:
    """The annotations to evaluate (dataset indices and their annotation ids), and how
    many each filter left out."""

    indices: list[int] = field(default_factory=list)
    annotation_ids: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))

    def describe_skipped(self) -> str:
        """E.g. "no_valid_3d_joint: 2", or "none"."""
        return ", ".join(f"{k}: {v}" for k, v in self.skipped.items() if v) or "none"

    def check(self, boxes: Mapping[int, Box], where: str) -> None:
        """EvaluationError when nothing was selected from `where` (e.g. "ROOT split 'test'")
        or a selected annotation has no RootNet box."""
        if not self.indices:
            raise EvaluationError(
                f"no usable samples in {where} (skipped {self.describe_skipped()})"
            )
        missing = [i for i in self.annotation_ids if i not in boxes]
        if missing:
            raise EvaluationError(
                f"the RootNet output of {where} has no box for {len(missing)} selected "
                f"annotations (first: {missing[0]})"
            )


def select_samples(dataset: InterHandDataset, limit: int | None = None) -> Selection:
    """The official test-split selection, in annotation order; at most `limit` samples."""
    selection = Selection()
    for index in range(len(dataset)):
        if limit is not None and len(selection.indices) >= limit:
            break
        sample = dataset[index]
        if not sample.joint_valid.any():
            selection.skipped["no_valid_joint_in_image"] += 1
        elif not sample.joint_valid_3d.any():
            selection.skipped["no_valid_3d_joint"] += 1
        else:
            selection.indices.append(index)
            selection.annotation_ids.append(sample.annotation_id)
    return selection


def network_input(image: np.ndarray, box: Box, size: int) -> np.ndarray:
    """What the network sees of `image` (H, W, 3 uint8 RGB) in `box`: (3, size, size) float32
    in [0, 1].

    The official `generate_patch_image` without augmentation: the same affine
    map as `CropTransform` (a rectangular box stretched), applied to the image
    as float32, so the crop's pixel values are not rounded to integers.
    """
    transform = CropTransform(box, size)
    patch = cv2.warpAffine(
        image.astype(np.float32),
        np.asarray(transform.matrix),
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0, 0.0, 0.0),
    )
    return normalise_crops(patch)


def crop_box_for(sample: InterHandSample, boxes: Mapping[int, Box]) -> Box:
    """The RootNet box of `sample`'s annotation, or InterHandLayoutError naming it."""
    box = boxes.get(sample.annotation_id)
    if box is None:
        raise InterHandLayoutError(
            f"the RootNet output has no box for annotation {sample.annotation_id} "
            f"({sample.image_path.name}); it must list every annotation of the split"
        )
    return box


def iterate_batches(
    dataset: InterHandDataset,
    indices: Sequence[int],
    boxes: Mapping[int, Box],
    size: int,
    batch_size: int,
    workers: int,
) -> Iterator[tuple[list[InterHandSample], np.ndarray]]:
    """(samples, network inputs (B, 3, size, size)) batches, the next read while this one runs."""
    chunks = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="interhand-read")

    def prepare(index: int) -> tuple[InterHandSample, np.ndarray]:
        sample = dataset[index]
        return sample, network_input(sample.load_image(), crop_box_for(sample, boxes), size)

    def submit(chunk: Sequence[int]) -> list[Future]:
        return [pool.submit(prepare, index) for index in chunk]

    try:
        pending = submit(chunks[0]) if chunks else []
        for k in range(len(chunks)):
            current = pending
            pending = submit(chunks[k + 1]) if k + 1 < len(chunks) else []
            prepared = [future.result() for future in current]
            yield [s for s, _ in prepared], np.stack([c for _, c in prepared])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def evaluation_regressors(mano: ManoPair) -> np.ndarray:
    """(2, 21, 778): each hand's official evaluation regressor (`Jr`), from its own file."""
    from repehand_ros.mano.layer import EVALUATION_FINGERTIP_VERTICES, joint_regressor

    return np.stack(
        [
            joint_regressor(getattr(mano, hand).mano_regressor, EVALUATION_FINGERTIP_VERTICES)
            for hand in HANDS
        ]
    )


def _fit_parameters(
    samples: Sequence[InterHandSample], side: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stacked NeuralAnnot root pose, hand pose, shape of one hand (zeros where no fit), and
    which samples have a fit."""
    count = len(samples)
    root, pose, shape = np.zeros((count, 3)), np.zeros((count, 45)), np.zeros((count, 10))
    fitted = np.zeros(count, dtype=bool)
    for row, sample in enumerate(samples):
        fit = sample.mano[side]
        if fit is not None:
            root[row], pose[row], shape[row] = fit.root_pose, fit.hand_pose, fit.shape
            fitted[row] = True
    return root, pose, shape, fitted


def evaluation_batch(
    samples: Sequence[InterHandSample], output: RepeHandOutput, mano: ManoPair
) -> EvaluationBatch:
    """The protocols' inputs for `samples` and the network's `output` on them (torch).

    `mano` is on the device of `output`. Ground truth: the NeuralAnnot mesh of
    each hand with a fit, turned from the world into the camera frame
    (x_cam = R x_world; the translation is irrelevant to every protocol),
    and all zeros where a hand has no fit, as the official code has it.
    """
    import torch

    device = output.relative_translation.device
    rotations = np.stack([s.camera.rotation for s in samples])  # world -> camera

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=torch.float32, device=device)

    def millimetres(points: torch.Tensor) -> np.ndarray:
        return points.double().cpu().numpy() * 1000.0

    pred_vertices, pred_joints, gt_vertices, fitted = [], [], [], []
    with torch.no_grad():
        for side, hand in enumerate(HANDS):
            layer = getattr(mano, hand)
            predicted = getattr(output, hand)
            mesh = layer(
                predicted.root_pose.float(), predicted.hand_pose.float(), predicted.shape.float()
            )
            pred_vertices.append(millimetres(mesh.vertices))
            pred_joints.append(millimetres(mesh.joints))
            root, pose, shape, has_fit = _fit_parameters(samples, side)
            world = millimetres(layer(tensor(root), tensor(pose), tensor(shape)).vertices)
            camera = np.einsum("bij,bvj->bvi", rotations, world)
            gt_vertices.append(np.where(has_fit[:, None, None], camera, 0.0))
            fitted.append(has_fit)
    joint_valid = np.stack([s.joint_valid for s in samples])  # (B, 2, 21) RepeHand order
    return EvaluationBatch(
        hand_type=np.array([s.hand_type for s in samples]),
        joint_trunc=repehand_to_interhand(joint_valid[..., None])[..., 0],
        mano_fitted=np.stack(fitted, axis=1),
        pred_vertices=np.stack(pred_vertices, axis=1),
        gt_vertices=np.stack(gt_vertices, axis=1),
        pred_joints=np.stack(pred_joints, axis=1),
        annotated_joints=np.stack([s.joints_camera for s in samples]),
        pred_relative_translation=output.relative_translation.double().cpu().numpy() * 1000.0,
    )


def evaluate(
    dataset: InterHandDataset,
    indices: Sequence[int],
    boxes: Mapping[int, Box],
    network: RepeHandNet,
    mano: ManoPair,
    protocol: Protocol,
    batch_size: int,
    workers: int = 2,
    on_batch: Callable[[int], object] | None = None,
) -> tuple[SampleScores, bool]:
    """`protocol`'s per-sample scores of `network` on `indices`, and whether every batch
    finished (False after Ctrl-C: the scores of the finished batches are kept).

    The crops take the network's own input size; `on_batch(n)` follows progress.
    """
    import torch

    device = next(network.parameters()).device
    regressors = evaluation_regressors(mano)
    parts: list[SampleScores] = []
    batches = iterate_batches(dataset, indices, boxes, network.input_size, batch_size, workers)
    try:
        for samples, crops in batches:
            with torch.inference_mode():
                output = network(torch.from_numpy(crops).to(device))
            parts.append(protocol.score(evaluation_batch(samples, output, mano), regressors))
            if on_batch is not None:
                on_batch(len(samples))
    except KeyboardInterrupt:
        logger.info("interrupted after %d samples", sum(len(p) for p in parts))
        return SampleScores.concatenate(parts), False
    return SampleScores.concatenate(parts), True
