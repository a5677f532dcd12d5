"""`repehand eval`: RepeHand on InterHand2.6M, scored by the official protocol or a corrected one.

The samples, crops and meshes are the official test pipeline's
(`repehand_ros.data.evaluation`); the scoring rules are the chosen protocol's
(`repehand_ros.data.protocols`): "official" reproduces the official
evaluate(), quirks included, and gives the numbers the paper's table compares.

Outputs in --out: results.json, per_joint_errors.png, pck_curve.png, each
written to a temporary name and renamed when complete. Ctrl-C stops the run,
writes the outputs for the samples finished so far (marked "complete":
false) and exits with status 130.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from repehand_ros.tools.command import CommandError, add_architecture_options

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    from repehand_ros.data.interhand_layout import ANNOTATION_SUBSETS, SPLITS
    from repehand_ros.data.protocols import DEFAULT_PROTOCOL, PROTOCOLS
    from repehand_ros.model.devices import DEVICE_CHOICES

    parser = subparsers.add_parser(
        "eval",
        help="evaluate on InterHand2.6M (MPJPE, MPVPE, F@5/15, PA, MRRPE)",
        description=(
            "Evaluate a RepeHand checkpoint on InterHand2.6M as released (images, the data, "
            "camera, joint_3d and MANO_NeuralAnnot annotation files, and the RootNet boxes "
            "in ROOT/rootnet/). Reports MPJPE, MPVPE, F@5, F@15, PA-MPJPE and PA-MPVPE for "
            "all, single-hand and interacting samples, and MRRPE (InterWild's convention). "
            "Protocols: "
            + "; ".join(f"{name}: {p.title}" for name, p in PROTOCOLS.items())
            + ". Writes results.json, per_joint_errors.png and pck_curve.png to --out and "
            "prints a table."
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="ROOT",
        help="InterHand2.6M root: the folder holding annotations/, images/ and rootnet/",
    )
    parser.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        default=DEFAULT_PROTOCOL,
        help="scoring rules; 'official' gives the numbers the paper's table compares "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--split", choices=SPLITS, default="test", help="dataset split (default: %(default)s)"
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
    add_architecture_options(parser)
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
        help="evaluate only the first N selected samples, in annotation order (default: all)",
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
        choices=DEVICE_CHOICES,
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


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from repehand_ros.data.evaluation import EvaluationError, evaluate, open_inputs, select_samples
    from repehand_ros.data.interhand_layout import InterHandLayoutError
    from repehand_ros.data.protocols import PROTOCOLS
    from repehand_ros.data.report import OUTPUT_NAMES, format_table, results_document, write_outputs
    from repehand_ros.mano.safe_pickle import ManoFileError
    from repehand_ros.model.checkpoint import CheckpointError
    from repehand_ros.model.devices import DeviceError, resolve_device

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder")
    protocol = PROTOCOLS[args.protocol]
    try:
        inputs = open_inputs(
            args.data,
            args.split,
            args.annotation_subset,
            args.checkpoint,
            args.mano_dir,
            resolve_device(args.device),
            args.variant,
            args.input_size,
        )
        selection = select_samples(inputs.dataset, args.limit)
        logger.info(
            "%d of %d annotations selected (skipped %s)",
            len(selection.indices),
            len(inputs.dataset),
            selection.describe_skipped(),
        )
        selection.check(inputs.boxes, f"{args.data} split {args.split!r}")
    except (
        DeviceError,
        InterHandLayoutError,
        FileNotFoundError,
        ManoFileError,
        CheckpointError,
        EvaluationError,
    ) as error:
        raise CommandError(str(error)) from error
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=len(selection.indices), unit="sample", desc="evaluating") as bar:
        try:
            scores, complete = evaluate(
                inputs.dataset,
                selection.indices,
                inputs.boxes,
                inputs.network,
                inputs.mano,
                protocol,
                args.batch_size,
                args.workers,
                on_batch=bar.update,
            )
        except InterHandLayoutError as error:
            raise CommandError(str(error)) from error
    if len(scores) == 0:
        raise KeyboardInterrupt  # stopped before the first batch finished: nothing to write
    summary = protocol.summarize(scores)
    architecture = inputs.network.architecture.describe()
    settings = {
        "data": args.data,
        "split": args.split,
        "annotation_subset": args.annotation_subset,
        "checkpoint": args.checkpoint,
        "architecture": architecture,
        "input_size": inputs.network.input_size,
        "crop": "RootNet boxes",
        "device": str(inputs.device),
        "limit": args.limit,
        "selected_samples": len(selection.indices),
        "annotations": len(inputs.dataset),
        "skipped": selection.skipped,
    }
    write_outputs(results_document(summary, scores, args.pck_max, complete, settings), out)
    state = "" if complete else f" (interrupted after {summary.samples} samples)"
    title = (
        f"RepeHand {architecture} on InterHand2.6M {args.split}: {summary.samples} samples "
        f"({summary.single_samples} single-hand, {summary.interacting_samples} interacting){state}"
    )
    print(format_table(summary, title))
    print(f"results in {out}/: {', '.join(OUTPUT_NAMES)}")
    if not complete:
        raise KeyboardInterrupt
    return 0
