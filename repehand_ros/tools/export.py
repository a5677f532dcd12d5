"""`repehand export`: writes the RepeHand network as an ONNX file for ONNX Runtime / TensorRT,
and optionally a TensorRT engine, each checked against PyTorch before it is kept."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from repehand_ros.io.files import commit, partial_path, write_bytes_atomically
from repehand_ros.tools.command import CommandError, add_architecture_options

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    from repehand_ros.model.onnx_export import DEFAULT_OPSET
    from repehand_ros.pipeline.backends import MAX_JOINT_DEVIATION_MM

    parser = subparsers.add_parser(
        "export",
        help="export the network to ONNX (and a TensorRT engine)",
        description=(
            "Export the RepeHand network to one self-contained ONNX file with a dynamic batch "
            "size: input 'images' (batch, 3, S, S) float32 RGB in [0, 1], S the network's input "
            "size (224 for the official TinyViT checkpoints; read from the checkpoint), one "
            "output per predicted quantity (right_joints_hm, ..., relative_translation). With "
            "--tensorrt, also a TensorRT engine for this GPU (batches of 1 and 2 crops), "
            "checked against PyTorch in millimetres on the MANO joints, with its check record "
            "written beside it as ENGINE.json (the tensorrt backend refuses an engine without "
            "one)."
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
        help="ONNX opset version to target (default: %(default)s; 16 writes layer "
        "normalisation as Pow + ReduceMean, which ONNX Runtime's TensorRT provider keeps in "
        "fp32 in fp16 engines)",
    )
    parser.add_argument(
        "--tensorrt",
        type=Path,
        metavar="ENGINE",
        help="also build a TensorRT engine (ENGINE.engine or .plan; needs the tensorrt package "
        "and a CUDA GPU, e.g. JetPack on a Jetson), checked against PyTorch",
    )
    parser.add_argument(
        "--fp16",
        action="store_true",
        help="build the TensorRT engine in fp16 (normalisation, softmax and reductions stay "
        "in fp32)",
    )
    parser.add_argument(
        "--mano-dir",
        type=Path,
        default=Path("weights/mano"),
        metavar="DIR",
        help="MANO_RIGHT.pkl and MANO_LEFT.pkl, for checking the TensorRT engine on the MANO "
        "joints (default: %(default)s)",
    )
    parser.add_argument(
        "--atol",
        type=float,
        default=1e-3,
        help="largest difference of any raw output of the ONNX file from PyTorch accepted "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-joint-mm",
        type=float,
        default=MAX_JOINT_DEVIATION_MM,
        metavar="MM",
        help="largest distance of any MANO joint of the engine's hands from PyTorch's accepted, "
        "millimetres (default: %(default)s: a quarter of the network's own error)",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite OUT (and ENGINE) if they exist"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.model.checkpoint import CheckpointError, load_model
    from repehand_ros.model.onnx_export import ExportCheckError, check_onnx, export_onnx

    outputs = [path for path in (args.onnx, args.tensorrt) if path is not None]
    for out in outputs:
        if out.exists() and not args.force:
            raise CommandError(f"{out} already exists (use --force to overwrite it)")
        if not out.parent.is_dir():
            raise CommandError(f"folder {out.parent} does not exist")
    if args.tensorrt is not None:
        from repehand_ros.pipeline.backends import ENGINE_SUFFIXES

        if args.tensorrt.suffix.lower() not in ENGINE_SUFFIXES:
            raise CommandError(
                f"name the engine with one of {', '.join(ENGINE_SUFFIXES)}: the tensorrt "
                f"backend tells an engine from an ONNX file by it (got {args.tensorrt})"
            )
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
            _export_engine(args, network)
    except ExportCheckError as error:
        raise CommandError(str(error)) from error
    finally:
        for leftover in map(partial_path, outputs):
            leftover.unlink(missing_ok=True)
    return 0


def _export_engine(args: argparse.Namespace, network) -> None:
    """Builds the engine from the written ONNX file, checks it on the GPU against PyTorch fp32
    on the CPU, then puts it and its record in place (ExportCheckError otherwise)."""
    import torch

    from repehand_ros.mano.layer import ManoFileNotFoundError, ManoPair
    from repehand_ros.model.devices import DeviceError, cuda_device_identity
    from repehand_ros.model.onnx_export import (
        ExportCheckError,
        build_tensorrt_engine,
        engine_record,
        engine_record_path,
        reference_outputs,
    )
    from repehand_ros.pipeline.backends import (
        ENGINE_BATCHES,
        BackendError,
        TensorRTBackend,
        check_engine,
        import_tensorrt,
    )

    try:
        trt = import_tensorrt()
    except BackendError:
        raise ExportCheckError(
            "TensorRT engines need the tensorrt Python package (JetPack on a Jetson, or "
            "pip install tensorrt on a CUDA machine); the ONNX file works with ONNX Runtime"
        ) from None
    try:
        mano = ManoPair.from_dir(args.mano_dir).eval()
    except ManoFileNotFoundError as error:
        raise ExportCheckError(f"checking the engine needs MANO's files: {error}") from error
    if not torch.cuda.is_available():
        raise ExportCheckError("building a TensorRT engine needs a CUDA GPU that PyTorch sees")
    try:
        gpu = cuda_device_identity(0)
    except DeviceError as error:
        raise ExportCheckError(str(error)) from error
    engine = partial_path(args.tensorrt)
    build_s = build_tensorrt_engine(args.onnx, engine, fp16=args.fp16, batches=ENGINE_BATCHES)
    try:
        backend = TensorRTBackend(engine, torch.device("cuda", 0), require_record=False)
    except BackendError as error:
        raise ExportCheckError(str(error)) from error
    network = network.cpu()
    check = check_engine(
        lambda crops: backend(crops).to_named(),
        lambda crops: reference_outputs(network, torch.from_numpy(crops)),
        backend.input_size,
        mano,
        what="tensorrt-fp16" if args.fp16 else "tensorrt",
        reference_name="PyTorch fp32 (CPU)",
        bound_mm=args.max_joint_mm,
    )
    record = engine_record(
        check.to_dict(), trt.__version__, gpu, args.fp16, network.variant.name, build_s
    )
    # The old record goes first: a crash in between leaves an engine without one, which the
    # backend refuses, never a new engine with an old engine's record.
    engine_record_path(args.tensorrt).unlink(missing_ok=True)
    commit(engine, args.tensorrt)
    write_bytes_atomically(engine_record_path(args.tensorrt), json.dumps(record, indent=2).encode())
    logger.info("wrote %s (%s)", args.tensorrt, check.describe())
