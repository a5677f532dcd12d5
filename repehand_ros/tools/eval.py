"""`repehand eval`: RepeHand on InterHand2.6M, scored as the paper does (and as InterWild does).

For each annotation of the split: the ground-truth hand boxes (the valid
joints projected into the image) -> one square crop around the hands present
(`crop_box_around`, x1.25) -> `CropTransform` -> the network -> MANO meshes.
The ground truth is the NeuralAnnot MANO fit of each hand, posed in the
camera frame; joints of both meshes are regressed the same way (MANO's
regressor plus the fingertip vertices, RepeHand order).

Which samples count: those whose `hand_type_valid` is set, whose hands
(one for "right"/"left", both for "interacting") all have a MANO fit.
Per hand, MPJPE uses the joints the annotation marks valid (a hand whose
wrist is invalid has none); MPVPE uses all 778 vertices. MRRPE uses the
interacting samples: predicted relative translation (left wrist minus right
wrist) against the MANO fits' wrists.

Outputs in --out: results.json, per_joint_errors.png, pck_curve.png, each
written to a temporary name and renamed when complete. Ctrl-C stops the
run, writes the outputs for the samples finished so far (marked
"complete": false) and exits with status 130.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.tools.cli import CommandError

logger = logging.getLogger(__name__)

RESULTS_NAME = "results.json"
PER_JOINT_PLOT_NAME = "per_joint_errors.png"
PCK_PLOT_NAME = "pck_curve.png"
SUBSETS: tuple[str, ...] = ("single", "interacting", "all")


def register(subparsers: argparse._SubParsersAction) -> None:
    from repehand_ros.data.interhand import ANNOTATION_SUBSETS, SPLITS
    from repehand_ros.model.variants import DEFAULT_VARIANT, VARIANTS
    from repehand_ros.pipeline.backends import DEVICES

    parser = subparsers.add_parser(
        "eval",
        help="evaluate on InterHand2.6M (MPJPE, MPVPE, PA, MRRPE)",
        description=(
            "Evaluate a RepeHand checkpoint on InterHand2.6M as released (images and the "
            "data, camera, joint_3d and MANO_NeuralAnnot annotation files). Reports MPJPE and "
            "MPVPE for single-hand, interacting and all samples under the paper's protocol "
            "(hands aligned at joint 9 = Middle_1, prediction scaled by |J9-J0|gt/|J9-J0|pred), "
            "the InterWild protocol (wrist-relative, no scaling) and after Procrustes "
            "alignment, MRRPE, per-joint errors and PCK curves. Writes results.json, "
            "per_joint_errors.png and pck_curve.png to --out and prints a table."
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="ROOT",
        help="InterHand2.6M root: the folder holding annotations/ and images/",
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="dataset split to evaluate (default: %(default)s)",
    )
    parser.add_argument(
        "--annotation-subset",
        choices=ANNOTATION_SUBSETS,
        default=None,
        help="read annotations/SUBSET/ (the v0.0 release layout) instead of "
        "annotations/SPLIT/ (v1.0); default: the per-split folder, else annotations/all/",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        metavar="CKPT",
        help="official RepeHand snapshot or a checkpoint saved by this project",
    )
    parser.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        default=DEFAULT_VARIANT,
        help="network size the checkpoint was trained with (default: %(default)s)",
    )
    parser.add_argument(
        "--mano-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder with MANO_RIGHT.pkl and MANO_LEFT.pkl (from mano.is.tue.mpg.de)",
    )
    parser.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        metavar="N",
        help="evaluate only the first N usable samples, in annotation order (default: all)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=32,
        metavar="B",
        help="crops per network call (default: %(default)s)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the network and MANO run; auto = CUDA if available (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=2,
        metavar="W",
        help="threads reading and cropping images ahead of the network (default: %(default)s)",
    )
    parser.add_argument(
        "--pck-max",
        type=_positive_float,
        default=50.0,
        metavar="MM",
        help="largest threshold of the PCK curve, millimetres (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("repehand_eval"),
        metavar="DIR",
        help="folder for results.json and the plots; created if missing, files in it "
        "replaced (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


# --------------------------------------------------------------------------- samples


@dataclass
class Selection:
    """The samples to evaluate and why the others were left out."""

    indices: list[int]
    skipped: dict[str, int] = field(default_factory=dict)


def select_samples(dataset, limit: int | None = None) -> Selection:
    """Indices of the usable samples (valid hand type, MANO fit for every present hand)."""
    from repehand_ros.data.interhand import HAND_TYPES, HANDS

    selection = Selection(indices=[])
    reasons = {"hand_type_invalid": 0, "unknown_hand_type": 0, "no_mano_fit": 0}
    for index in range(len(dataset)):
        if limit is not None and len(selection.indices) >= limit:
            break
        hand_type, hand_type_valid = dataset.hand_type(index)
        if hand_type not in HAND_TYPES:
            reasons["unknown_hand_type"] += 1
        elif not hand_type_valid:
            reasons["hand_type_invalid"] += 1
        elif not all(
            dataset.has_mano(index, hand)
            for hand in (HANDS if hand_type == "interacting" else (hand_type,))
        ):
            reasons["no_mano_fit"] += 1
        else:
            selection.indices.append(index)
    selection.skipped = reasons
    return selection


def crop_for(sample) -> np.ndarray:
    """The network input for one sample: (3, 224, 224) float32 RGB in [0, 1], as in training."""
    from repehand_ros.geometry.boxes import Box
    from repehand_ros.geometry.crop import CropTransform, crop_box_around

    image = sample.load_image()
    boxes = list(sample.hand_boxes().values())
    if not boxes and sample.bbox.width > 0 and sample.bbox.height > 0:
        boxes = [sample.bbox]
    if not boxes:
        height, width = image.shape[:2]
        boxes = [Box(0.0, 0.0, float(width), float(height))]
    crop = CropTransform(crop_box_around(boxes)).warp(image)
    return np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=np.float32) / 255.0


def iterate_batches(
    dataset, indices: Sequence[int], batch_size: int, workers: int
) -> Iterator[tuple[list, np.ndarray]]:
    """(samples, crops (B, 3, 224, 224)) batches, the next batch read while this one is used."""
    chunks = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="interhand-read")

    def prepare(index: int) -> tuple[Any, np.ndarray]:
        sample = dataset[index]
        return sample, crop_for(sample)

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


# --------------------------------------------------------------------------- errors


@dataclass
class BatchErrors:
    """Errors of a batch of B samples, hands stacked (right, left); lengths in mm.

    Attributes:
        interacting: (B,) the sample is an interacting-hands one.
        hand_valid: (B, 2) the hand is present and evaluated.
        joint_valid: (B, 2, 21) joints that count (False for hands not evaluated).
        joint_errors: {protocol: (B, 2, 21)}.
        vertex_errors: {protocol: (B, 2)} mean over the 778 vertices of each hand.
        mrrpe: (B,) relative-root error; NaN where it does not apply.
    """

    interacting: np.ndarray
    hand_valid: np.ndarray
    joint_valid: np.ndarray
    joint_errors: dict[str, np.ndarray]
    vertex_errors: dict[str, np.ndarray]
    mrrpe: np.ndarray

    @classmethod
    def concatenate(cls, parts: Sequence[BatchErrors]) -> BatchErrors:
        from repehand_ros.data.metrics import PROTOCOLS

        if not parts:
            return cls(
                interacting=np.zeros(0, bool),
                hand_valid=np.zeros((0, 2), bool),
                joint_valid=np.zeros((0, 2, 21), bool),
                joint_errors={p: np.zeros((0, 2, 21)) for p in PROTOCOLS},
                vertex_errors={p: np.zeros((0, 2)) for p in PROTOCOLS},
                mrrpe=np.zeros(0),
            )
        return cls(
            interacting=np.concatenate([p.interacting for p in parts]),
            hand_valid=np.concatenate([p.hand_valid for p in parts]),
            joint_valid=np.concatenate([p.joint_valid for p in parts]),
            joint_errors={
                k: np.concatenate([p.joint_errors[k] for p in parts]) for k in parts[0].joint_errors
            },
            vertex_errors={
                k: np.concatenate([p.vertex_errors[k] for p in parts])
                for k in parts[0].vertex_errors
            },
            mrrpe=np.concatenate([p.mrrpe for p in parts]),
        )


def _mano_inputs(samples: Sequence, side: int) -> tuple[np.ndarray, ...]:
    """Stacked GT MANO parameters of one hand (zeros where a sample has no fit)."""
    count = len(samples)
    root, pose = np.zeros((count, 3)), np.zeros((count, 45))
    shape, trans = np.zeros((count, 10)), np.zeros((count, 3))
    for row, sample in enumerate(samples):
        fit = sample.mano[side]
        if fit is not None:
            root[row], pose[row] = fit.root_pose, fit.hand_pose
            shape[row], trans[row] = fit.shape, fit.translation
    return root, pose, shape, trans


def batch_errors(samples: Sequence, output, mano) -> BatchErrors:
    """Errors of predictions `output` (a RepeHandOutput, torch) against the samples' MANO fits.

    Only `root_pose`, `hand_pose`, `shape` of each hand and `relative_translation`
    are read. `mano` is a ManoPair on the device of `output`.
    """
    import torch

    from repehand_ros.data.interhand import HANDS
    from repehand_ros.data.metrics import PROTOCOLS, mrrpe, protocol_errors

    device = output.relative_translation.device
    count = len(samples)
    rotations = np.stack([s.camera.rotation for s in samples])  # world -> camera
    interacting = np.array([s.is_interacting for s in samples])
    hand_valid = np.array(
        [
            [hand in s.hands and s.mano[side] is not None for side, hand in enumerate(HANDS)]
            for s in samples
        ]
    )
    joint_valid = np.stack([s.joint_valid for s in samples]) & hand_valid[..., None]

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=torch.float32, device=device)

    pred_joints, gt_joints, pred_vertices, gt_vertices, gt_wrists = [], [], [], [], []
    with torch.no_grad():
        for side, hand in enumerate(HANDS):
            layer = getattr(mano, hand)
            predicted = getattr(output, hand)
            mesh = layer(
                predicted.root_pose.float(), predicted.hand_pose.float(), predicted.shape.float()
            )
            pred_joints.append(mesh.joints.double().cpu().numpy() * 1000.0)
            pred_vertices.append(mesh.vertices.double().cpu().numpy() * 1000.0)
            root, pose, shape, trans = _mano_inputs(samples, side)
            mesh = layer(tensor(root), tensor(pose), tensor(shape))
            # World-frame, wrist-relative metres -> camera frame millimetres: x_cam = R x_world.
            gt_joints.append(
                np.einsum("bij,bpj->bpi", rotations, mesh.joints.double().cpu().numpy()) * 1000.0
            )
            gt_vertices.append(
                np.einsum("bij,bpj->bpi", rotations, mesh.vertices.double().cpu().numpy()) * 1000.0
            )
            absolute = layer.layer(
                betas=tensor(shape),
                global_orient=tensor(root),
                hand_pose=tensor(pose),
                transl=tensor(trans),
            )
            gt_wrists.append(absolute.joints[:, 0].double().cpu().numpy() * 1000.0)
    pred_j, gt_j = np.stack(pred_joints, 1), np.stack(gt_joints, 1)  # (B, 2, 21, 3)
    pred_v, gt_v = np.stack(pred_vertices, 1), np.stack(gt_vertices, 1)
    joint_errors, vertex_errors = {}, {}
    for protocol in PROTOCOLS:
        joints, vertices = protocol_errors(protocol, pred_j, gt_j, pred_v, gt_v, joint_valid)
        joint_errors[protocol] = joints.astype(np.float32)
        vertex_errors[protocol] = vertices.mean(axis=-1).astype(np.float32)
    gt_relative = np.einsum("bij,bj->bi", rotations, gt_wrists[1] - gt_wrists[0])
    pred_relative = output.relative_translation.double().cpu().numpy() * 1000.0
    relative_error = mrrpe(pred_relative, gt_relative)
    both = interacting & hand_valid.all(axis=1)
    return BatchErrors(
        interacting=interacting,
        hand_valid=hand_valid,
        joint_valid=joint_valid,
        joint_errors=joint_errors,
        vertex_errors=vertex_errors,
        mrrpe=np.where(both, relative_error, np.nan).reshape(count),
    )


# --------------------------------------------------------------------------- summary


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summarize(errors: BatchErrors, pck_max: float = 50.0) -> dict[str, Any]:
    """Every reported number from the per-sample errors (NaN where a subset is empty)."""
    from repehand_ros.data.metrics import (
        PROTOCOLS,
        mpjpe,
        mpvpe,
        pck_auc,
        pck_curve,
        per_joint_error,
    )
    from repehand_ros.mano.joints import JOINT_NAMES

    rows = {
        "single": ~errors.interacting,
        "interacting": errors.interacting,
        "all": np.ones_like(errors.interacting),
    }
    thresholds = np.linspace(0.0, pck_max, 101)
    metrics: dict[str, Any] = {}
    per_joint: dict[str, Any] = {"joints": list(JOINT_NAMES)}
    pck: dict[str, Any] = {"thresholds_mm": thresholds.tolist()}
    for protocol in PROTOCOLS:
        joint_errors = errors.joint_errors[protocol]
        vertex_errors = errors.vertex_errors[protocol]
        metrics[protocol] = {
            "mpjpe": {
                name: mpjpe(joint_errors[mask], errors.joint_valid[mask])
                for name, mask in rows.items()
            },
            "mpvpe": {
                name: mpvpe(vertex_errors[mask][..., None], errors.hand_valid[mask])
                for name, mask in rows.items()
            },
        }
        per_joint[protocol] = per_joint_error(joint_errors, errors.joint_valid).tolist()
        curve = pck_curve(joint_errors, thresholds, errors.joint_valid)
        pck[protocol] = {"pck": curve.tolist(), "auc": pck_auc(thresholds, curve)}
    applicable = np.isfinite(errors.mrrpe)
    return {
        "counts": {
            "samples": int(errors.interacting.size),
            "single": int((~errors.interacting).sum()),
            "interacting": int(errors.interacting.sum()),
            "hands": int(errors.hand_valid.sum()),
            "joints": int(errors.joint_valid.sum()),
        },
        "metrics": metrics,
        "mrrpe": {
            "mm": float(errors.mrrpe[applicable].mean()) if applicable.any() else math.nan,
            "samples": int(applicable.sum()),
        },
        "per_joint": per_joint,
        "pck": pck,
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return _finite_or_none(float(value))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def format_table(summary: dict[str, Any], title: str) -> str:
    """The paper-shaped table: MPJPE / MPVPE per subset, one row per protocol, then MRRPE."""
    from repehand_ros.data.metrics import PROTOCOL_TITLES, PROTOCOLS

    def cell(value: float | None) -> str:
        return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"

    label_width = max(len(t) for t in PROTOCOL_TITLES.values()) + 2
    columns = "".join(f"{name:>13}" for name in SUBSETS)
    lines = [
        title,
        " " * label_width + f"{'MPJPE (mm)':^39}{'MPVPE (mm)':^39}",
        f"{'protocol':<{label_width}}{columns}{columns}",
    ]
    for protocol in PROTOCOLS:
        values = summary["metrics"][protocol]
        lines.append(
            f"{PROTOCOL_TITLES[protocol]:<{label_width}}"
            + "".join(f"{cell(values['mpjpe'][name]):>13}" for name in SUBSETS)
            + "".join(f"{cell(values['mpvpe'][name]):>13}" for name in SUBSETS)
        )
    mrrpe = summary["mrrpe"]
    lines.append(f"MRRPE (mm): {cell(mrrpe['mm'])}  over {mrrpe['samples']} interacting samples")
    return "\n".join(lines)


# --------------------------------------------------------------------------- outputs


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write(temporary path)`, then rename onto `path`: readers never see a partial file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        write(temporary_path)
        os.replace(temporary_path, path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise


def plot_per_joint(summary: dict[str, Any], path: Path) -> None:
    """Grouped bars: each joint's mean error under every protocol."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from repehand_ros.data.metrics import PROTOCOL_TITLES, PROTOCOLS

    names = summary["per_joint"]["joints"]
    positions = np.arange(len(names))
    width = 0.8 / len(PROTOCOLS)
    figure, axes = plt.subplots(figsize=(12, 4.5))
    try:
        for k, protocol in enumerate(PROTOCOLS):
            values = np.array(summary["per_joint"][protocol], dtype=float)
            axes.bar(
                positions + (k - 1) * width,
                np.nan_to_num(values),
                width,
                label=PROTOCOL_TITLES[protocol],
            )
        axes.set_xticks(positions, names, rotation=60, ha="right")
        axes.set_ylabel("mean error (mm)")
        axes.set_title(f"Per-joint error, both hands ({summary['counts']['samples']} samples)")
        axes.legend()
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        _write_atomically(path, lambda p: figure.savefig(p, format="png", dpi=100))
    finally:
        plt.close(figure)


def plot_pck(summary: dict[str, Any], path: Path) -> None:
    """The PCK curve of the joints under every protocol, AUC in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from repehand_ros.data.metrics import PROTOCOL_TITLES, PROTOCOLS

    thresholds = np.array(summary["pck"]["thresholds_mm"])
    figure, axes = plt.subplots(figsize=(6, 4.5))
    try:
        for protocol in PROTOCOLS:
            entry = summary["pck"][protocol]
            auc = entry["auc"]
            label = f"{PROTOCOL_TITLES[protocol]}, AUC " + (
                f"{auc:.3f}" if auc is not None and math.isfinite(auc) else "-"
            )
            axes.plot(thresholds, np.array(entry["pck"], dtype=float), label=label)
        axes.set_xlabel("threshold (mm)")
        axes.set_ylabel("fraction of joints within threshold")
        axes.set_ylim(0.0, 1.0)
        axes.set_xlim(thresholds[0], thresholds[-1])
        axes.set_title("3D PCK")
        axes.legend(loc="lower right")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        _write_atomically(path, lambda p: figure.savefig(p, format="png", dpi=100))
    finally:
        plt.close(figure)


def write_outputs(summary: dict[str, Any], out: Path) -> list[Path]:
    """results.json and both plots in `out`, each complete or absent."""
    results = out / RESULTS_NAME
    text = json.dumps(_json_ready(summary), indent=2, allow_nan=False) + "\n"
    _write_atomically(results, lambda p: p.write_text(text, encoding="utf-8"))
    plot_per_joint(summary, out / PER_JOINT_PLOT_NAME)
    plot_pck(summary, out / PCK_PLOT_NAME)
    return [results, out / PER_JOINT_PLOT_NAME, out / PCK_PLOT_NAME]


# --------------------------------------------------------------------------- the command


def _open_inputs(args: argparse.Namespace):
    """Dataset, network, MANO and device, or CommandError; quick checks before slow loading."""
    from repehand_ros.data.interhand import InterHandDataset, InterHandLayoutError, locate_files
    from repehand_ros.mano.layer import ManoPair
    from repehand_ros.mano.safe_pickle import ManoFileError
    from repehand_ros.model.checkpoint import CheckpointError, load_model
    from repehand_ros.pipeline.backends import BackendError, resolve_device

    try:
        device = resolve_device(args.device)
        # The layout first: it needs no reading; the annotation files are read last (slow).
        locate_files(args.data, args.split, args.annotation_subset)
        mano = ManoPair.from_dir(args.mano_dir)
        network = load_model(args.checkpoint, variant=args.variant, device=device)
        logger.info("reading InterHand2.6M %s annotations from %s", args.split, args.data)
        dataset = InterHandDataset(args.data, args.split, args.annotation_subset)
        dataset.check_first_image()
    except (
        BackendError,
        InterHandLayoutError,
        FileNotFoundError,
        ManoFileError,
        CheckpointError,
    ) as error:
        raise CommandError(str(error)) from error
    return dataset, network, mano.to(device).eval(), device


def evaluate(
    dataset,
    indices: Sequence[int],
    network,
    mano,
    batch_size: int,
    workers: int = 2,
    progress: bool = True,
) -> tuple[BatchErrors, bool]:
    """Runs the network over `indices`; returns the errors of the finished batches and
    whether every batch finished (False after Ctrl-C)."""
    import torch
    from tqdm import tqdm

    from repehand_ros.data.interhand import InterHandLayoutError

    device = next(network.parameters()).device
    parts: list[BatchErrors] = []
    complete = True
    bar = tqdm(total=len(indices), unit="sample", desc="evaluating", disable=not progress)
    try:
        for samples, crops in iterate_batches(dataset, indices, batch_size, workers):
            with torch.inference_mode():
                output = network(torch.from_numpy(crops).to(device))
            parts.append(batch_errors(samples, output, mano))
            bar.update(len(samples))
    except KeyboardInterrupt:
        complete = False
    except InterHandLayoutError as error:
        raise CommandError(str(error)) from error
    finally:
        bar.close()
    return BatchErrors.concatenate(parts), complete


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder")
    dataset, network, mano, device = _open_inputs(args)
    selection = select_samples(dataset, args.limit)
    skipped = ", ".join(f"{k}: {v}" for k, v in selection.skipped.items() if v) or "none"
    logger.info(
        "%d of %d annotations to evaluate (skipped %s)",
        len(selection.indices),
        len(dataset),
        skipped,
    )
    if not selection.indices:
        raise CommandError(
            f"no usable samples in {args.data} split {args.split!r} "
            f"({len(dataset)} annotations; skipped {skipped})"
        )
    out.mkdir(parents=True, exist_ok=True)
    errors, complete = evaluate(
        dataset, selection.indices, network, mano, args.batch_size, args.workers
    )
    summary = summarize(errors, args.pck_max)
    summary["complete"] = complete
    summary["settings"] = {
        "data": str(args.data),
        "split": args.split,
        "annotation_subset": args.annotation_subset,
        "checkpoint": str(args.checkpoint),
        "variant": args.variant,
        "device": device,
        "limit": args.limit,
        "selected_samples": len(selection.indices),
        "annotations": len(dataset),
        "skipped": selection.skipped,
    }
    if summary["counts"]["samples"] == 0:
        raise KeyboardInterrupt  # stopped before the first batch finished: nothing to write
    write_outputs(summary, out)
    state = "" if complete else f" (interrupted after {summary['counts']['samples']} samples)"
    title = (
        f"RepeHand {args.variant} on InterHand2.6M {args.split}: {summary['counts']['samples']} "
        f"samples ({summary['counts']['single']} single-hand, "
        f"{summary['counts']['interacting']} interacting){state}"
    )
    print(format_table(summary, title))
    print(f"results in {out}/: {RESULTS_NAME}, {PER_JOINT_PLOT_NAME}, {PCK_PLOT_NAME}")
    if not complete:
        raise KeyboardInterrupt
    return 0
