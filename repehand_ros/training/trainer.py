"""Training RepeHand as the paper does, on one process or many (DDP under `torchrun`).

The paper's setup is the default `TrainConfig`: AdamW, lr 6e-4, decayed x0.1
at epochs 20, 30, ... (`lr_decay_epochs`), 80 epochs, batch 128, the L1
losses of `repehand_ros.training.losses` and the augmentation of
`repehand_ros.training.augmentation`.

Distributed training uses PyTorch's own engine: started by `torchrun
--nproc_per_node=N ...` (which sets RANK, WORLD_SIZE, LOCAL_RANK), every
process joins the process group (nccl on CUDA, gloo on CPU), wraps the
network in DistributedDataParallel and reads its share of the data through a
DistributedSampler. `batch_size` is the global batch: each process takes
batch_size / WORLD_SIZE samples a step. Only rank 0 writes logs, progress
bars and checkpoints.

As the official trainer: the training set is InterHand2.6M's train and val
splits (`repehand_ros.training.interhand_records`); the last partial batch of
an epoch is dropped (`drop_last=True`); a fresh run starts from ImageNet
TinyViT weights and the official head initialisation
(`repehand_ros.training.initialisation`). The network's input size is the
config's (`input_size`, 224 for the official networks); everything else
follows from it.

NaN. The official losses count a NaN loss element as zero (and it passes no
gradient); that is reproduced, and the number of such elements is logged
(`nan_elements`). The official trainer then steps whatever the gradients
are, so one non-finite gradient makes every weight NaN for good. Here a step
whose total loss or any gradient is not finite is not applied (the batch is
spent, the weights and the optimizer state stay), counted (`skipped_steps`)
and warned about; `max_consecutive_bad_steps` of them in a row stop the run
with TrainingDivergedError (the last checkpoint is the state to return to).

Checkpoints are the official layout (`repehand_ros.model.save_checkpoint`:
{'network': weights with official names, 'epoch', 'optimizer',
'torch_rng_state', 'numpy_rng_state', 'random_rng_state', 'dataloader_seed'},
as the official `save_model`) plus the scheduler, the step count and the
config, so `repehand eval`, the node and other RepeHand code load them, and
`--resume` continues exactly (read by the safe reader,
`repehand_ros.model.checkpoint.read_snapshot`). `epoch` is the last finished
epoch (0-based, -1 before the first), as in the official snapshots;
`epoch_samples` counts the samples of the next epoch already trained on
(non-zero only for a checkpoint saved mid-epoch on Ctrl-C). `dataloader_seed`
is None: this trainer's data order comes from `seed` and the epoch, which
the saved config holds. Every file is written to a temporary name and renamed
into place, so a file with a final name is always complete.

Ctrl-C (SIGINT) or SIGTERM: the step in progress finishes, `last.pth.tar` is
saved, and `KeyboardInterrupt` is raised; a second signal aborts at once
(the files already written stay complete).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from repehand_ros.data.interhand import SPLITS
from repehand_ros.mano.layer import ManoPair
from repehand_ros.model.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_snapshot,
    save_checkpoint,
)
from repehand_ros.model.network import RepeHandNet
from repehand_ros.model.variants import DEFAULT_INPUT_SIZE, VARIANTS, check_input_size
from repehand_ros.training.augmentation import (
    AugmentationConfig,
    TrainingRecord,
    make_training_sample,
    sample_augmentation,
)
from repehand_ros.training.initialisation import (
    TIMM_HUB,
    initialise_heads,
    load_imagenet_backbone,
)
from repehand_ros.training.interhand_records import DEFAULT_SPLITS, InterHandRecords
from repehand_ros.training.losses import LOSS_WEIGHTS, Losses, compute_losses

logger = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.pth.tar"
"""The most recent complete state of a run (every epoch end, and on Ctrl-C)."""

LOG_FILE = "train_log.csv"
CONFIG_FILE = "config.yaml"


def snapshot_name(epoch: int) -> str:
    """The official snapshot file name of a finished (0-based) epoch."""
    return f"snapshot_{epoch}.pth.tar"


class ConfigError(ValueError):
    """A training config that cannot be used: unreadable, unknown keys, or bad values."""


class TrainingStateError(ValueError):
    """A checkpoint that cannot resume this run (no training state, other config)."""


class TrainingDivergedError(FloatingPointError):
    """Too many steps in a row had a non-finite loss or gradient to go on."""


# --------------------------------------------------------------------------- config


@dataclass
class TrainConfig:
    """Everything a training run needs; the defaults are the paper's setup (TinyViT-5M).

    Attributes:
        variant: network size ("5m", "11m", "21m").
        input_size: side of the network's square input crop, pixels (a multiple of 32;
            the official networks: 224); the heatmap grid is a 32nd of it.
        data_root: the InterHand2.6M folder (holding annotations/ and images/).
        splits: the dataset splits trained on together (the official: train and val).
        mano_dir: the folder with MANO_RIGHT.pkl and MANO_LEFT.pkl.
        out_dir: where checkpoints, the CSV log and TensorBoard events go.
        epochs: total epochs of the run.
        batch_size: global batch size (all processes together).
        lr: AdamW learning rate at the start.
        weight_decay: AdamW weight decay (PyTorch's default).
        lr_decay_epochs: epochs (0-based) at whose start the lr is multiplied by lr_decay_factor.
        lr_decay_factor: the multiplier.
        loss_weights: overrides of the paper's loss weights (see losses.LOSS_WEIGHTS).
        augmentation: augmentation strengths (see augmentation.AugmentationConfig).
        num_workers: data-loading processes per training process.
        seed: seed of the initial weights, the data order and the augmentation.
        log_every: steps between CSV/TensorBoard rows.
        checkpoint_every: epochs between snapshot_<epoch>.pth.tar files (last.pth.tar: every).
        init_checkpoint: RepeHand weights to start from (official or this project's), or None.
        backbone_weights: where a fresh run's backbone starts: an ImageNet TinyViT weights
            file with timm's key names, "timm-hub" (timm downloads them), or None (random,
            not the paper's setup).
        reproduce_union_box_quirk: crop interacting hands with the official union-box quirk
            (see `repehand_ros.training.crop_box`); False crops the true union.
        max_consecutive_bad_steps: stop after this many steps in a row with a non-finite
            loss or gradient (each is skipped and counted).
        max_steps_per_epoch: cut every epoch short after this many steps (debugging), or None.
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    """

    variant: str = "5m"
    input_size: int = DEFAULT_INPUT_SIZE
    data_root: str | None = None
    splits: list[str] = field(default_factory=lambda: list(DEFAULT_SPLITS))
    mano_dir: str | None = None
    out_dir: str = "runs/repehand_5m"
    epochs: int = 80
    batch_size: int = 128
    lr: float = 6e-4
    weight_decay: float = 0.01
    lr_decay_epochs: list[int] = field(default_factory=lambda: [20, 30, 40, 50, 60, 70])
    lr_decay_factor: float = 0.1
    loss_weights: dict[str, float] = field(default_factory=lambda: dict(LOSS_WEIGHTS))
    augmentation: dict[str, Any] = field(
        default_factory=lambda: dataclasses.asdict(AugmentationConfig())
    )
    num_workers: int = 4
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1
    init_checkpoint: str | None = None
    backbone_weights: str | None = TIMM_HUB
    reproduce_union_box_quirk: bool = False
    max_consecutive_bad_steps: int = 100
    max_steps_per_epoch: int | None = None
    device: str = "auto"

    def validate(self) -> TrainConfig:
        """Returns self, or raises ConfigError naming the first bad value."""

        def positive_int(name: str, allow_none: bool = False, minimum: int = 1) -> None:
            value = getattr(self, name)
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")

        def number(name: str, minimum: float, inclusive: bool) -> None:
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = (
                ok and math.isfinite(value) and (value >= minimum if inclusive else value > minimum)
            )
            if not ok:
                relation = ">=" if inclusive else ">"
                raise ConfigError(f"{name} must be a number {relation} {minimum}, got {value!r}")

        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        try:
            check_input_size(self.input_size)
        except ValueError as error:
            raise ConfigError(f"input_size: {error}") from None
        splits = self.splits
        if (
            not isinstance(splits, list)
            or not splits
            or not all(isinstance(s, str) and s in SPLITS for s in splits)
            or len(set(splits)) != len(splits)
        ):
            raise ConfigError(
                f"splits must be a list of distinct splits among {', '.join(SPLITS)}, "
                f"got {splits!r}"
            )
        quirk = self.reproduce_union_box_quirk
        if not isinstance(quirk, bool):
            raise ConfigError(f"reproduce_union_box_quirk must be true or false, got {quirk!r}")
        for name in (
            "epochs",
            "batch_size",
            "log_every",
            "checkpoint_every",
            "max_consecutive_bad_steps",
        ):
            positive_int(name)
        positive_int("num_workers", minimum=0)
        positive_int("seed", minimum=0)
        positive_int("max_steps_per_epoch", allow_none=True)
        number("lr", 0.0, inclusive=False)
        number("weight_decay", 0.0, inclusive=True)
        number("lr_decay_factor", 0.0, inclusive=False)
        epochs = self.lr_decay_epochs
        if not isinstance(epochs, list) or not all(
            isinstance(e, int) and not isinstance(e, bool) and e > 0 for e in epochs
        ):
            raise ConfigError(
                f"lr_decay_epochs must be a list of positive integers, got {epochs!r}"
            )
        if epochs != sorted(set(epochs)):
            raise ConfigError(f"lr_decay_epochs must be increasing, got {epochs!r}")
        if not isinstance(self.loss_weights, dict):
            raise ConfigError(f"loss_weights must be a mapping, got {self.loss_weights!r}")
        unknown = sorted(set(self.loss_weights) - set(LOSS_WEIGHTS))
        if unknown:
            raise ConfigError(
                f"loss_weights: unknown terms {unknown}; the terms are {', '.join(LOSS_WEIGHTS)}"
            )
        for name, weight in self.loss_weights.items():
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
                raise ConfigError(f"loss_weights.{name} must be a number >= 0, got {weight!r}")
        self.augmentation_config()
        for name in ("data_root", "mano_dir", "init_checkpoint", "backbone_weights"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{name} must be a path (string) or null, got {value!r}")
        if not isinstance(self.out_dir, str) or not self.out_dir:
            raise ConfigError(f"out_dir must be a path, got {self.out_dir!r}")
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")
        ):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        return self

    def augmentation_config(self) -> AugmentationConfig:
        """The `augmentation` mapping as an AugmentationConfig (ConfigError if bad)."""
        if not isinstance(self.augmentation, dict):
            raise ConfigError(f"augmentation must be a mapping, got {self.augmentation!r}")
        known = {f.name for f in dataclasses.fields(AugmentationConfig)}
        unknown = sorted(set(self.augmentation) - known)
        if unknown:
            raise ConfigError(
                f"augmentation: unknown keys {unknown}; the keys are {', '.join(sorted(known))}"
            )
        try:
            return AugmentationConfig(**self.augmentation)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"augmentation: {error}") from error

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_from_mapping(values: Mapping[str, Any], source: str = "config") -> TrainConfig:
    """A validated TrainConfig from a mapping; missing keys keep the paper's defaults."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown keys {unknown}; the keys are {', '.join(sorted(known))}"
        )
    defaults = TrainConfig()
    merged = dict(values)
    for name in ("loss_weights", "augmentation"):
        if isinstance(values.get(name), Mapping):
            merged[name] = {**getattr(defaults, name), **values[name]}
    config = TrainConfig(**merged)
    try:
        return config.validate()
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def load_config(path: str | Path) -> TrainConfig:
    """The training config in a YAML or JSON file (JSON is YAML), or ConfigError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path} is not a readable YAML/JSON config: {error}") from error
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(
            f"{path}: expected a mapping of config keys, found {type(values).__name__}"
        )
    return config_from_mapping(values, source=str(path))


# --------------------------------------------------------------------------- data


class RecordSource(Protocol):
    """What the trainer needs from a dataset: a length and indexed `TrainingRecord`s."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> TrainingRecord: ...


class TrainingDataset(Dataset):
    """Augmented training samples (dicts of tensors) from a RecordSource.

    The augmentation of sample i in epoch e is drawn from a generator seeded
    with (seed, e, i): the same whatever the number of loader workers or
    processes, so a resumed run sees the data a continuous run would.
    """

    def __init__(
        self,
        records: RecordSource,
        input_size: int,
        augmentation: AugmentationConfig,
        seed: int = 0,
    ) -> None:
        self.records = records
        self.input_size = input_size
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        params = sample_augmentation(rng, self.augmentation)
        sample = make_training_sample(self.records[index], self.input_size, params)
        return {key: torch.from_numpy(value) for key, value in sample.items()}


class _SkipFirst(Sampler[int]):
    """The indices of `sampler` without its first `skip` (resuming in the middle of an epoch)."""

    def __init__(self, sampler: Sampler[int], skip: int) -> None:
        self.sampler = sampler
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        for position, index in enumerate(self.sampler):
            if position >= self.skip:
                yield index

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.skip)  # type: ignore[arg-type]


def _init_worker(_: int) -> None:
    # Ctrl-C goes to the whole process group: the main process handles it, workers go on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Each worker builds MANO meshes one sample at a time: one thread each, not one per core.
    torch.set_num_threads(1)


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the run: rank, world size and device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The torch device for a config/CLI name; ConfigError if CUDA is asked for and absent."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available here")
        if name == "cuda":
            return torch.device("cuda", local_rank)
        index = int(name.split(":", 1)[1]) if name.split(":", 1)[1].isdigit() else -1
        if not 0 <= index < torch.cuda.device_count():
            raise ConfigError(
                f"device {name!r}: there are {torch.cuda.device_count()} CUDA devices here"
            )
        return torch.device("cuda", index)
    if name != "cpu":
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
    return torch.device("cpu")


def setup_distributed(device_name: str) -> DistributedContext:
    """Joins the torchrun process group when WORLD_SIZE > 1; else a single-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world_size > 1:
        if device.type == "cuda":
            # One GPU per process under torchrun: the local rank picks it.
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(rank, world_size, local_rank, device)


def _atomic_write(path: Path, write: Callable[[Path], Any]) -> Path:
    """Writes through `write(temporary)` then renames onto `path`: `path` is never half-written."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(temporary)
        with open(temporary, "rb") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def save_training_checkpoint(path: Path, network: RepeHandNet, **state: Any) -> Path:
    """The official-layout checkpoint of `network` plus training `state`, written atomically."""
    return _atomic_write(path, lambda tmp: save_checkpoint(network, tmp, **state))


def read_training_state(path: str | Path) -> dict[str, Any]:
    """The training extras of a checkpoint saved by `train`, or TrainingStateError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise TrainingStateError(f"checkpoint to resume not found: {path}")
    try:
        snapshot = read_snapshot(path)
    except CheckpointError as error:
        raise TrainingStateError(str(error)) from error
    required = ("epoch", "optimizer", "scheduler", "global_step", "epoch_samples")
    missing = [key for key in required if key not in snapshot]
    if missing:
        raise TrainingStateError(
            f"{path} has no training state to resume (missing {', '.join(missing)}): it was not "
            f"saved by `repehand train`; to start from its weights set init_checkpoint instead"
        )
    return dict(snapshot)


def _rng_states() -> dict[str, Any]:
    """The random states the official `save_model` saves (its `dataloader_seed` is None
    without a loader generator, as here)."""
    return {
        "torch_rng_state": torch.get_rng_state(),
        "numpy_rng_state": np.random.get_state(),
        "random_rng_state": random.getstate(),
        "dataloader_seed": None,
    }


def _restore_rng_states(state: Mapping[str, Any]) -> None:
    """Sets the random states a checkpoint saved, as the official `load_model` does."""
    if "torch_rng_state" in state:
        torch.set_rng_state(state["torch_rng_state"])
        np.random.set_state(state["numpy_rng_state"])
        random.setstate(state["random_rng_state"])


def _open_tensorboard(directory: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        logger.info("tensorboard is not installed: logging to %s only", LOG_FILE)
        return None
    return SummaryWriter(log_dir=str(directory / "tensorboard"))


class CsvLog:
    """The run's CSV log: one row per logging window; rows past a resumed step are dropped."""

    COLUMNS: tuple[str, ...] = (
        "epoch",
        "global_step",
        "lr",
        "total",
        *LOSS_WEIGHTS,
        "nan_elements",
        "skipped_steps",
        "samples_per_s",
        "wall_time",
    )

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        if resume_step is not None and path.is_file():
            with path.open(newline="") as stream:
                rows = [r for r in csv.DictReader(stream) if int(r["global_step"]) <= resume_step]

            def rewrite(tmp: Path) -> None:
                with tmp.open("w", newline="") as stream:
                    writer = csv.DictWriter(stream, self.COLUMNS)
                    writer.writeheader()
                    writer.writerows(rows)

            _atomic_write(path, rewrite)
        elif path.exists():
            path.unlink()
        if not path.exists():
            with path.open("w", newline="") as stream:
                csv.DictWriter(stream, self.COLUMNS).writeheader()

    def write(self, row: Mapping[str, float]) -> None:
        # One complete line per write, flushed at once: an interrupted run leaves whole rows.
        line = ",".join(_csv_value(row.get(c, "")) for c in self.COLUMNS) + "\n"
        with self.path.open("a", newline="") as stream:
            stream.write(line)
            stream.flush()


def _csv_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 1e6 else f"{value:.6g}"
    return str(value)


class _StopRequest:
    """Turns SIGINT/SIGTERM into a request honoured after the current step; a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logger.warning(
            "stop requested: finishing the current step and saving a checkpoint "
            "(press Ctrl-C again to abort without saving)"
        )

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    """What a run did: epochs finished, steps taken, loss of each step (rank 0), files.

    `losses` holds every step's total loss, NaN or infinite for a skipped step.
    """

    last_epoch: int
    global_step: int
    losses: list[float]
    checkpoint: Path | None
    skipped_steps: int = 0
    nan_elements: int = 0


TERM_NAMES: tuple[str, ...] = (*LOSS_WEIGHTS, "total")
"""The loss columns of the log, in order."""


class _LogWindow:
    """The steps since the last log row: loss means over the applied steps, counts of the rest."""

    def __init__(self) -> None:
        self.applied: list[torch.Tensor] = []
        self.nan_elements: list[torch.Tensor] = []
        self.steps = 0
        self.skipped = 0
        self.started = time.monotonic()

    def add(self, losses: Losses, applied: bool) -> None:
        self.steps += 1
        self.nan_elements.append(losses.nan_elements.detach())
        if applied:
            values = [losses.terms[name] for name in LOSS_WEIGHTS] + [losses.total]
            self.applied.append(torch.stack(values).detach())
        else:
            self.skipped += 1

    def summary(self, context: DistributedContext) -> dict[str, float]:
        """The row's loss means (all ranks), NaN-element count (all ranks) and skipped steps.

        Every rank takes the same steps and skips the same ones (the decision is
        shared), so the means are over the same steps on every rank.
        """
        if self.applied:
            means = _mean_over_ranks(torch.stack(self.applied).mean(dim=0), context).tolist()
        else:
            means = [math.nan] * len(TERM_NAMES)
        nan_elements = torch.stack(self.nan_elements).sum().to(context.device, torch.float64)
        if context.distributed:
            dist.all_reduce(nan_elements, op=dist.ReduceOp.SUM)
        row = dict(zip(TERM_NAMES, means, strict=True))
        row.update(nan_elements=float(nan_elements), skipped_steps=float(self.skipped))
        return row


def _batch_to(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def _any_rank(flag: bool, context: DistributedContext) -> bool:
    if not context.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def _mean_over_ranks(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    if context.distributed:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= context.world_size
    return values


def _update_is_finite(
    total: torch.Tensor, network: torch.nn.Module, context: DistributedContext
) -> bool:
    """Whether this step's loss and every gradient are finite, on every rank.

    DDP has already averaged the gradients, so they agree across ranks; the
    loss is per rank, so the decision is shared to keep the ranks' weights equal.
    """
    norms = [torch.linalg.vector_norm(p.grad) for p in network.parameters() if p.grad is not None]
    finite = bool(torch.isfinite(total)) and bool(torch.isfinite(torch.stack(norms)).all())
    return not _any_rank(not finite, context)


def _start_network(config: TrainConfig, resume: str | Path | None) -> RepeHandNet:
    """The network a run starts from: resumed, an init checkpoint, or fresh as the official
    (`repehand_ros.training.initialisation`)."""
    torch.manual_seed(config.seed)
    network = RepeHandNet(config.variant, config.input_size)
    if resume is not None:
        load_checkpoint(network, Path(resume).expanduser())
    elif config.init_checkpoint is not None:
        load_checkpoint(network, Path(config.init_checkpoint).expanduser())
    else:
        initialise_heads(network)
        if config.backbone_weights is not None:
            load_imagenet_backbone(network, config.backbone_weights)
        else:
            logger.warning(
                "the backbone starts from random weights (backbone_weights is null): the paper "
                "starts from ImageNet TinyViT weights (backbone_weights: %s or a file)",
                TIMM_HUB,
            )
    return network


def train(
    config: TrainConfig,
    resume: str | Path | None = None,
    records: RecordSource | None = None,
    progress: bool = True,
) -> TrainResult:
    """Trains per `config` (continuing from checkpoint `resume`); returns what was done.

    `records` replaces the InterHand2.6M reader (tests, other datasets).
    Raises ConfigError / TrainingStateError / BackboneWeightsError for unusable
    input, TrainingDivergedError when the loss stays non-finite, and
    KeyboardInterrupt after saving when stopped by Ctrl-C or SIGTERM.
    """
    config.validate()
    context = setup_distributed(config.device)
    try:
        return _train(config, context, resume, records, progress)
    finally:
        if context.distributed and dist.is_initialized():
            dist.destroy_process_group()


def _train(
    config: TrainConfig,
    context: DistributedContext,
    resume: str | Path | None,
    records: RecordSource | None,
    progress: bool,
) -> TrainResult:
    from tqdm import tqdm

    if config.batch_size % context.world_size:
        raise ConfigError(
            f"batch_size {config.batch_size} is not divisible by the {context.world_size} "
            f"processes (batch_size is the global batch)"
        )
    per_rank_batch = config.batch_size // context.world_size
    out_dir = Path(config.out_dir).expanduser()
    if config.mano_dir is None:
        raise ConfigError("mano_dir is not set: the folder with MANO_RIGHT.pkl and MANO_LEFT.pkl")
    mano_dir = Path(config.mano_dir).expanduser()
    if records is None:
        if config.data_root is None:
            raise ConfigError("data_root is not set: the InterHand2.6M folder to train on")
        records = InterHandRecords(
            config.data_root,
            ManoPair.from_dir(mano_dir),
            config.splits,
            config.reproduce_union_box_quirk,
        )
    per_rank_samples = math.ceil(len(records) / context.world_size)
    if per_rank_samples < per_rank_batch:
        raise ConfigError(
            f"the training set has {len(records)} samples, fewer than one batch of "
            f"{config.batch_size}: the last partial batch of an epoch is dropped, as the "
            f"official trainer does, so no step would be taken"
        )
    state = read_training_state(resume) if resume is not None else None

    network = _start_network(config, resume)
    network.to(context.device).train()
    mano = ManoPair.from_dir(mano_dir).to(context.device)
    model: torch.nn.Module = network
    if context.distributed:
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        model = DistributedDataParallel(network, device_ids=device_ids)

    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=config.lr_decay_epochs, gamma=config.lr_decay_factor
    )
    last_epoch, global_step, epoch_samples = -1, 0, 0
    if state is not None:
        try:
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
        except (ValueError, KeyError, RuntimeError) as error:
            raise TrainingStateError(
                f"{resume}: its optimizer state does not fit this network/config: {error}"
            ) from error
        _restore_rng_states(state)
        last_epoch = int(state["epoch"])
        global_step = int(state["global_step"])
        epoch_samples = int(state["epoch_samples"])
        logger.info(
            "resuming %s after epoch %d, step %d%s",
            resume,
            last_epoch,
            global_step,
            f" ({epoch_samples} samples into epoch {last_epoch + 1})" if epoch_samples else "",
        )

    dataset = TrainingDataset(
        records, config.input_size, config.augmentation_config(), seed=config.seed
    )
    log: CsvLog | None = None
    tensorboard = None
    if context.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(
            out_dir / CONFIG_FILE,
            lambda tmp: tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False)),
        )
        log = CsvLog(out_dir / LOG_FILE, resume_step=global_step if state is not None else None)
        tensorboard = _open_tensorboard(out_dir)

    def checkpoint(path: Path, finished_epoch: int, samples_into_next: int) -> Path:
        return save_training_checkpoint(
            path,
            network,
            epoch=finished_epoch,
            optimizer=optimizer.state_dict(),
            **_rng_states(),
            scheduler=scheduler.state_dict(),
            global_step=global_step,
            epoch_samples=samples_into_next,
            config=json.loads(json.dumps(config.to_dict())),
        )

    losses: list[float] = []
    saved: Path | None = None
    window = _LogWindow()
    skipped_total, nan_total, bad_in_a_row = 0, 0, 0

    def write_log(epoch: int, force: bool = False) -> None:
        nonlocal window, nan_total
        if not window.steps or not (force or window.steps >= config.log_every):
            return
        row: dict[str, float] = window.summary(context)
        nan_total += int(row["nan_elements"])
        elapsed = max(time.monotonic() - window.started, 1e-9)
        row.update(
            epoch=epoch,
            global_step=global_step,
            lr=optimizer.param_groups[0]["lr"],
            samples_per_s=window.steps * config.batch_size / elapsed,
            wall_time=time.time(),
        )
        if log is not None:
            log.write(row)
        if tensorboard is not None:
            for name in TERM_NAMES:
                tensorboard.add_scalar(f"loss/{name}", row[name], global_step)
            for name in ("nan_elements", "skipped_steps"):
                tensorboard.add_scalar(f"steps/{name}", row[name], global_step)
            tensorboard.add_scalar("lr", row["lr"], global_step)
        window = _LogWindow()

    with _StopRequest() as stop:
        for epoch in range(last_epoch + 1, config.epochs):
            dataset.epoch = epoch
            sampler = DistributedSampler(
                dataset,
                num_replicas=context.world_size,
                rank=context.rank,
                shuffle=True,
                seed=config.seed,
            )
            sampler.set_epoch(epoch)
            skip = epoch_samples // context.world_size
            loader = DataLoader(
                dataset,
                batch_size=per_rank_batch,
                sampler=_SkipFirst(sampler, skip) if skip else sampler,
                num_workers=config.num_workers,
                pin_memory=context.device.type == "cuda",
                drop_last=True,
                worker_init_fn=_init_worker if config.num_workers else None,
            )
            steps = len(loader)
            if config.max_steps_per_epoch is not None:
                done = epoch_samples // config.batch_size
                steps = max(0, min(steps, config.max_steps_per_epoch - done))
            bar = tqdm(
                total=steps,
                desc=f"epoch {epoch + 1}/{config.epochs}",
                unit="step",
                disable=not (progress and context.is_main),
                dynamic_ncols=True,
            )
            interrupted = False
            for step, batch in enumerate(loader):
                if step >= steps:
                    break
                batch = _batch_to(batch, context.device)
                output = model(batch["image"], validate=False)
                step_losses = compute_losses(output, batch, mano, config.loss_weights)
                optimizer.zero_grad(set_to_none=True)
                step_losses.total.backward()
                applied = _update_is_finite(step_losses.total, network, context)
                if applied:
                    optimizer.step()
                    bad_in_a_row = 0
                else:
                    skipped_total += 1
                    bad_in_a_row += 1
                    logger.warning(
                        "step %d skipped: non-finite loss or gradient (loss %s)",
                        global_step,
                        {k: float(v.detach()) for k, v in step_losses.terms.items()},
                    )
                global_step += 1
                epoch_samples += config.batch_size
                window.add(step_losses, applied)
                losses.append(float(step_losses.total.detach()))
                bar.update(1)
                bar.set_postfix(
                    loss=f"{losses[-1]:.4f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}"
                )
                write_log(epoch)
                if bad_in_a_row >= config.max_consecutive_bad_steps:
                    write_log(epoch, force=True)
                    bar.close()
                    raise TrainingDivergedError(
                        f"{bad_in_a_row} steps in a row had a non-finite loss or gradient "
                        f"(epoch {epoch}, step {global_step}); none was applied. Resume from "
                        f"{out_dir / LAST_CHECKPOINT} with a lower lr, or check the data"
                    )
                if _any_rank(stop.requested, context):
                    interrupted = True
                    break
            bar.close()
            if interrupted:
                write_log(epoch, force=True)
                if context.is_main:
                    saved = checkpoint(out_dir / LAST_CHECKPOINT, epoch - 1, epoch_samples)
                    logger.warning(
                        "interrupted at epoch %d, step %d: saved %s", epoch, global_step, saved
                    )
                raise KeyboardInterrupt
            write_log(epoch, force=True)
            scheduler.step()
            epoch_samples = 0
            if context.is_main:
                saved = checkpoint(out_dir / LAST_CHECKPOINT, epoch, 0)
                if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
                    saved = _atomic_write(
                        out_dir / snapshot_name(epoch),
                        lambda tmp: tmp.write_bytes((out_dir / LAST_CHECKPOINT).read_bytes()),
                    )
                logger.info("epoch %d done (step %d): %s", epoch, global_step, saved)
            last_epoch = epoch
    if tensorboard is not None:
        tensorboard.close()
    if skipped_total:
        logger.warning("%d steps were skipped for a non-finite loss or gradient", skipped_total)
    return TrainResult(last_epoch, global_step, losses, saved, skipped_total, nan_total)


def run_epochs_left(config: TrainConfig, resume: str | Path | None) -> int:
    """How many epochs a run with `config` resumed from `resume` still has to do."""
    if resume is None:
        return config.epochs
    return max(0, config.epochs - 1 - int(read_training_state(resume)["epoch"]))


__all__: Sequence[str] = (
    "CONFIG_FILE",
    "LAST_CHECKPOINT",
    "LOG_FILE",
    "TERM_NAMES",
    "ConfigError",
    "DistributedContext",
    "RecordSource",
    "TrainConfig",
    "TrainResult",
    "TrainingDataset",
    "TrainingDivergedError",
    "TrainingStateError",
    "config_from_mapping",
    "load_config",
    "read_training_state",
    "run_epochs_left",
    "save_training_checkpoint",
    "setup_distributed",
    "snapshot_name",
    "train",
)
