"""`repehand train`: trains RepeHand with the paper's setup from a config file.

For several GPUs or machines, start it under PyTorch's launcher, e.g.
`torchrun --nproc_per_node=4 -m repehand_ros.tools.cli train --config CFG.yaml`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from repehand_ros.tools.command import CommandError

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "config/train_repehand_5m.yaml"

EPILOG = """\
The config file (YAML or JSON) holds the run's settings; keys it leaves out keep
the official values (InterHand2.6M train + val; AdamW, lr 6e-4 decayed x0.1 at
epochs 20, 30, ...; 80 epochs; global batch 128, the last partial batch
dropped; the eight official L1 losses and augmentation; a 224-pixel input; the
backbone from timm's ImageNet TinyViT weights). See
config/train_repehand_5m.yaml for every key.

The backbone: --backbone-weights FILE names an ImageNet TinyViT weights file
with timm's key names (e.g. the model.safetensors of timm's
tiny_vit_5m_224.dist_in22k_ft_in1k); the default, timm-hub, lets timm download
it (needs the internet).

Steps whose loss or gradients are not finite are skipped and counted
(train_log.csv: skipped_steps; NaN loss elements, counted as zero as the
official losses do: nan_elements); max_consecutive_bad_steps of them in a row
stop the run.

Outputs in the output folder: last.pth.tar (updated after every epoch and on
Ctrl-C), snapshot_<epoch>.pth.tar per finished epoch (0-based, official
naming and layout, readable by `repehand eval`, `repehand export` and the
node), train_log.csv (and TensorBoard events when tensorboard is installed),
config.yaml (the settings used).

Ctrl-C finishes the current step, saves last.pth.tar and exits with status 130;
continue with --resume OUT/last.pth.tar. A second Ctrl-C aborts at once.

Several processes: torchrun --nproc_per_node=N -m repehand_ros.tools.cli train ...
(gloo on CPU, nccl on CUDA; the batch is split between the processes; rank 0
writes the outputs).
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the network (paper setup, resumable, DDP under torchrun)",
        description="Train RepeHand on InterHand2.6M with the paper's losses, augmentation and "
        "AdamW schedule, read from a config file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        metavar="CFG",
        help=f"YAML or JSON training config (the paper's setup: {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="ROOT",
        help="InterHand2.6M folder holding annotations/ and images/ (overrides data_root)",
    )
    parser.add_argument(
        "--mano-dir",
        type=Path,
        metavar="DIR",
        help="folder with MANO_RIGHT.pkl and MANO_LEFT.pkl (overrides mano_dir)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder for checkpoints and logs (overrides out_dir)",
    )
    parser.add_argument(
        "--backbone-weights",
        metavar="FILE",
        help="ImageNet TinyViT weights (timm key names) to start the backbone from, or "
        "timm-hub to download timm's (overrides backbone_weights)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="CKPT",
        help="continue the run saved in CKPT (a last.pth.tar or snapshot_<epoch>.pth.tar "
        "written by this command): weights, optimizer, lr schedule and position in the epoch",
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help="total number of epochs of the run (overrides epochs; the paper: 80)",
    )
    parser.add_argument(
        "--device",
        metavar="DEV",
        help="auto (CUDA when available), cpu, cuda or cuda:N (overrides device; under "
        "torchrun each process takes the GPU of its local rank)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="do not show progress bars (e.g. in batch jobs)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.data.interhand_layout import InterHandLayoutError
    from repehand_ros.mano.layer import ManoFileNotFoundError
    from repehand_ros.mano.safe_pickle import ManoFileError
    from repehand_ros.model.checkpoint import CheckpointError
    from repehand_ros.model.devices import DeviceError
    from repehand_ros.training.checkpoints import LAST_CHECKPOINT, TrainingStateError, epochs_left
    from repehand_ros.training.config import ConfigError, config_from_mapping, load_config
    from repehand_ros.training.initialisation import BackboneWeightsError
    from repehand_ros.training.trainer import TrainingDivergedError, train

    try:
        values = load_config(args.config).to_dict()
        overrides = {
            "data_root": args.data,
            "mano_dir": args.mano_dir,
            "out_dir": args.out,
            "epochs": args.epochs,
            "device": args.device,
            "backbone_weights": args.backbone_weights,
        }
        values.update({k: str(v) if isinstance(v, Path) else v for k, v in overrides.items() if v})
        config = config_from_mapping(values, source="options")
        out_dir = Path(config.out_dir).expanduser()
        if args.resume is None and (out_dir / LAST_CHECKPOINT).exists():
            raise CommandError(
                f"{out_dir} already holds a training run ({LAST_CHECKPOINT}): continue it with "
                f"--resume {out_dir / LAST_CHECKPOINT}, or choose another --out"
            )
        for name, value in (("dataset", config.data_root), ("MANO", config.mano_dir)):
            if value is not None and not Path(value).expanduser().is_dir():
                raise CommandError(f"{name} folder not found: {value}")
        if epochs_left(config.epochs, args.resume) == 0:
            logger.info(
                "%s already finished all %d epochs: nothing to do", args.resume, config.epochs
            )
            return 0
        result = train(config, resume=args.resume, progress=not args.no_progress)
    except (
        ConfigError,
        DeviceError,
        TrainingStateError,
        TrainingDivergedError,
        BackboneWeightsError,
        CheckpointError,
        InterHandLayoutError,
        ManoFileNotFoundError,
        ManoFileError,
    ) as error:
        raise CommandError(str(error)) from error
    if result.checkpoint is not None:  # rank 0 reports; the other ranks of a torchrun job do not
        logger.info(
            "finished %d epochs (%d steps, %d skipped); last checkpoint %s",
            result.last_epoch + 1,
            result.global_step,
            result.skipped_steps,
            result.checkpoint,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m repehand_ros.tools.train ...`: this command alone (also under torchrun)."""
    import sys

    parser = argparse.ArgumentParser(prog="repehand")
    register(parser.add_subparsers(dest="command", required=True))
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["train"]:
        argv = ["train", *argv]
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except CommandError as error:
        print(f"repehand train: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("repehand train: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
