"""`repehand export`: writes the RepeHand network as an ONNX file for ONNX Runtime / TensorRT."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from repehand_ros.io.files import commit, partial_path
from repehand_ros.tools.command import CommandError, add_architecture_options

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    from repehand_ros.model.onnx_export import DEFAULT_OPSET

    parser = subparsers.add_parser(
        "export",
        help="export the network to ONNX",
        description=(
            "Export the RepeHand network to one self-contained ONNX file with a dynamic batch "
            "size: input 'images' (batch, 3, S, S) float32 RGB in [0, 1], S the network's input "
            "size (224 for the official TinyViT checkpoints; read from the checkpoint), one "
            "output per predicted quantity (right_joints_hm, ..., relative_translation)."
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
    add_architecture_options(parser)
    parser.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        help="ONNX opset version to target (default: %(default)s)",
    )
    parser.add_argument(
        "--tensorrt",
        type=Path,
        metavar="ENGINE",
        help="also build a TensorRT engine (needs the tensorrt package and a CUDA GPU, e.g. "
        "JetPack on a Jetson), checked against PyTorch on the GPU",
    )
    parser.add_argument("--fp16", action="store_true", help="build the TensorRT engine in fp16")
    parser.add_argument(
        "--atol",
        type=float,
        default=1e-3,
        help="largest difference from PyTorch accepted (default: %(default)s; fp16 engines "
        "need more, e.g. 5e-2)",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite OUT (and ENGINE) if they exist"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.model.checkpoint import CheckpointError, load_model
    from repehand_ros.model.onnx_export import (
        ExportCheckError,
        build_tensorrt_engine,
        check_onnx,
        check_tensorrt_engine,
        export_onnx,
    )

    outputs = [path for path in (args.onnx, args.tensorrt) if path is not None]
    for out in outputs:
        if out.exists() and not args.force:
            raise CommandError(f"{out} already exists (use --force to overwrite it)")
        if not out.parent.is_dir():
            raise CommandError(f"folder {out.parent} does not exist")
    try:
        network = load_model(args.checkpoint, variant=args.variant, input_size=args.input_size)
    except (CheckpointError, ValueError) as error:
        raise CommandError(str(error)) from error
    # Written under a temporary name and renamed only once checked: an interrupted or
    # failed export never leaves a file that looks finished.
    partial = partial_path(args.onnx)
    try:
        export_onnx(network, partial, opset=args.opset)
        difference = check_onnx(network, partial, atol=args.atol)
        commit(partial, args.onnx)
        logger.info("wrote %s (ONNX Runtime within %.2g of PyTorch)", args.onnx, difference)
        if args.tensorrt is not None:
            engine = partial_path(args.tensorrt)
            build_tensorrt_engine(args.onnx, engine, fp16=args.fp16)
            if args.fp16 and args.atol == 1e-3:
                logger.warning("an fp16 engine is checked with --atol 1e-3; pass a larger one")
            difference = check_tensorrt_engine(network.cuda(), engine, atol=args.atol)
            commit(engine, args.tensorrt)
            logger.info("wrote %s (TensorRT within %.2g of PyTorch)", args.tensorrt, difference)
    except ExportCheckError as error:
        raise CommandError(str(error)) from error
    finally:
        for leftover in map(partial_path, outputs):
            leftover.unlink(missing_ok=True)
    return 0
