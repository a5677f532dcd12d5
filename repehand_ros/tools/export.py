"""`repehand export`: writes the RepeHand network as an ONNX file for ONNX Runtime / TensorRT."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from repehand_ros.tools.cli import CommandError

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    from repehand_ros.model.onnx_export import DEFAULT_OPSET
    from repehand_ros.model.variants import DEFAULT_VARIANT, VARIANTS

    parser = subparsers.add_parser(
        "export",
        help="export the network to ONNX",
        description=(
            "Export the RepeHand network to one self-contained ONNX file with a dynamic batch "
            "size: input 'images' (batch, 3, 224, 224) float32 RGB in [0, 1], one output per "
            "predicted quantity (right_joints_hm, ..., relative_translation)."
        ),
    )
    parser.add_argument(
        "--onnx", type=Path, required=True, metavar="OUT", help="path of the ONNX file to write"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="PATH",
        help="official RepeHand snapshot or a checkpoint saved by this project "
        "(default: random weights, for testing the toolchain only)",
    )
    parser.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        default=DEFAULT_VARIANT,
        help="network size the checkpoint was trained with (default: %(default)s)",
    )
    parser.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        help="ONNX opset version to target (default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it already exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.model.checkpoint import CheckpointError, load_model
    from repehand_ros.model.onnx_export import export_onnx

    out: Path = args.onnx
    if out.exists() and not args.force:
        raise CommandError(f"{out} already exists (use --force to overwrite it)")
    if not out.parent.is_dir():
        raise CommandError(f"folder {out.parent} does not exist")
    try:
        network = load_model(args.checkpoint, variant=args.variant)
    except CheckpointError as error:
        raise CommandError(str(error)) from error
    export_onnx(network, out, opset=args.opset)
    logger.info("wrote %s", out)
    return 0
