"""Training RepeHand as the paper does, on one process or many (DDP under `torchrun`).

The paper's setup is the default `TrainConfig` (`repehand_ros.training.config`):
AdamW, lr 6e-4, decayed x0.1 at epochs 20, 30, ... (`lr_decay_epochs`), 80
epochs, batch 128, the L1 losses of `repehand_ros.training.losses` and the
augmentation of `repehand_ros.training.augmentation`.

Distributed training uses PyTorch's own engine (`repehand_ros.training.distributed`):
every process wraps the network in DistributedDataParallel and reads its
share of the data through a DistributedSampler
(`repehand_ros.training.dataset`). `batch_size` is the global batch: each
process takes batch_size / WORLD_SIZE samples a step. Only rank 0 writes
logs (`repehand_ros.training.logs`), progress bars and checkpoints
(`repehand_ros.training.checkpoints`).

As the official trainer: the training set is InterHand2.6M's train and val
splits (`repehand_ros.training.interhand_records`); the last partial batch of
an epoch is dropped; a fresh run starts from ImageNet TinyViT weights and
the official head initialisation (`repehand_ros.training.initialisation`).
The network's input size is the config's (`input_size`, 224 for the official
networks); everything else follows from it.

NaN. The official losses count a NaN loss element as zero (and it passes no
gradient); that is reproduced, and the number of such elements is logged
(`nan_elements`). The official trainer then steps whatever the gradients
are, so one non-finite gradient makes every weight NaN for good. Here a step
whose total loss or any gradient is not finite is not applied (the batch is
spent, the weights and the optimizer state stay), counted (`skipped_steps`)
and warned about; `max_consecutive_bad_steps` of them in a row stop the run
with TrainingDivergedError (the last checkpoint is the state to return to).

Ctrl-C (SIGINT) or SIGTERM: the step in progress finishes, `last.pth.tar` is
saved, and `KeyboardInterrupt` is raised; a second signal aborts at once
(the files already written stay complete).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from repehand_ros.io.signals import StopOnSignal
from repehand_ros.mano.layer import ManoPair
from repehand_ros.training.checkpoints import (
    LAST_CHECKPOINT,
    copy_as_snapshot,
    read_training_state,
)
from repehand_ros.training.config import CONFIG_FILE, ConfigError, TrainConfig, save_config
from repehand_ros.training.dataset import RecordSource, TrainingDataset, epoch_loader
from repehand_ros.training.distributed import (
    DistributedContext,
    any_rank,
    leave_distributed,
    setup_distributed,
)
from repehand_ros.training.interhand_records import InterHandRecords
from repehand_ros.training.logs import RunLog
from repehand_ros.training.run import TrainingRun

logger = logging.getLogger(__name__)


class TrainingDivergedError(FloatingPointError):
    """Too many steps in a row had a non-finite loss or gradient to go on."""


@dataclass
class TrainResult:
    """What a run did: epochs finished, steps taken, loss of each step (rank 0), files.

    `losses` holds every step's total loss, NaN or infinite for a skipped step;
    `checkpoint` is the last file saved (None on ranks other than 0).
    """

    last_epoch: int
    global_step: int
    losses: list[float]
    checkpoint: Path | None
    skipped_steps: int = 0
    nan_elements: int = 0


def train(
    config: TrainConfig,
    resume: str | Path | None = None,
    records: RecordSource | None = None,
    progress: bool = True,
) -> TrainResult:
    """Trains per `config` (continuing from checkpoint `resume`); returns what was done.

    `records` replaces the InterHand2.6M reader (tests, other datasets).
    Raises ConfigError / TrainingStateError / BackboneWeightsError / DeviceError
    for unusable input, TrainingDivergedError when the loss stays non-finite,
    and KeyboardInterrupt after saving when stopped by Ctrl-C or SIGTERM.
    """
    config.validate()
    context = setup_distributed(config.device)
    try:
        return _train(config, context, resume, records, progress)
    finally:
        leave_distributed(context)


def _train(
    config: TrainConfig,
    context: DistributedContext,
    resume: str | Path | None,
    records: RecordSource | None,
    progress: bool,
) -> TrainResult:
    per_rank_batch = _per_rank_batch(config, context)
    mano_dir = _mano_dir(config)
    records = _checked_records(config, context, records, mano_dir, per_rank_batch)
    state = read_training_state(resume) if resume is not None else None
    run = TrainingRun.start(config, context, resume, state, mano_dir)
    dataset = TrainingDataset(
        records, config.input_size, config.augmentation_config(), seed=config.seed
    )
    if context.is_main:
        run.out_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run.out_dir / CONFIG_FILE)
    resume_step = run.position.global_step if state is not None else None
    log = RunLog(
        context,
        config.log_every,
        config.batch_size,
        run.out_dir if context.is_main else None,
        resume_step,
    )
    try:
        with StopOnSignal("finishing the current step and saving a checkpoint") as stop:
            for epoch in range(run.position.last_epoch + 1, config.epochs):
                if not _train_epoch(run, dataset, epoch, per_rank_batch, log, stop, progress):
                    _save_interrupted(run, epoch, log)
                    raise KeyboardInterrupt
                _finish_epoch(run, epoch, log)
    finally:
        log.close()
    if run.skipped_steps:
        logger.warning("%d steps were skipped for a non-finite loss or gradient", run.skipped_steps)
    position = run.position
    return TrainResult(
        position.last_epoch,
        position.global_step,
        run.losses,
        run.saved,
        run.skipped_steps,
        log.nan_elements,
    )


def _per_rank_batch(config: TrainConfig, context: DistributedContext) -> int:
    if config.batch_size % context.world_size:
        raise ConfigError(
            f"batch_size {config.batch_size} is not divisible by the {context.world_size} "
            f"processes (batch_size is the global batch)"
        )
    return config.batch_size // context.world_size


def _mano_dir(config: TrainConfig) -> Path:
    if config.mano_dir is None:
        raise ConfigError("mano_dir is not set: the folder with MANO_RIGHT.pkl and MANO_LEFT.pkl")
    return Path(config.mano_dir).expanduser()


def _checked_records(
    config: TrainConfig,
    context: DistributedContext,
    records: RecordSource | None,
    mano_dir: Path,
    per_rank_batch: int,
) -> RecordSource:
    """`records`, or the InterHand2.6M training set of `config`; ConfigError when an epoch
    would not have a single (whole) batch."""
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
    return records


def _train_epoch(
    run: TrainingRun,
    dataset: TrainingDataset,
    epoch: int,
    per_rank_batch: int,
    log: RunLog,
    stop: StopOnSignal,
    progress: bool,
) -> bool:
    """Trains epoch `epoch` from where the run stands in it; False when a stop was requested
    (on any rank) and the epoch is unfinished. TrainingDivergedError after too many
    non-finite steps in a row."""
    from tqdm import tqdm

    config, context = run.config, run.context
    skip = run.position.epoch_samples
    loader = epoch_loader(dataset, epoch, context, per_rank_batch, config.num_workers, skip)
    steps = len(loader)
    if config.max_steps_per_epoch is not None:
        steps = max(0, min(steps, config.max_steps_per_epoch - skip // config.batch_size))
    bar = tqdm(
        total=steps,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        unit="step",
        disable=not (progress and context.is_main),
        dynamic_ncols=True,
    )
    with bar:
        for step, batch in enumerate(loader):
            if step >= steps:
                break
            losses, applied = run.step(batch)
            log.add(losses, applied)
            bar.update(1)
            bar.set_postfix(loss=f"{run.losses[-1]:.4f}", lr=f"{run.lr:.2e}")
            log.write(epoch, run.position.global_step, run.lr)
            if run.bad_in_a_row >= config.max_consecutive_bad_steps:
                log.write(epoch, run.position.global_step, run.lr, force=True)
                raise TrainingDivergedError(
                    f"{run.bad_in_a_row} steps in a row had a non-finite loss or gradient "
                    f"(epoch {epoch}, step {run.position.global_step}); none was applied. "
                    f"Resume from {run.out_dir / LAST_CHECKPOINT} with a lower lr, or check "
                    f"the data"
                )
            if any_rank(stop.requested, context):
                return False
    return True


def _save_interrupted(run: TrainingRun, epoch: int, log: RunLog) -> None:
    """After a stop request in `epoch`: the last row, and `last.pth.tar` saved mid-epoch."""
    log.write(epoch, run.position.global_step, run.lr, force=True)
    if run.context.is_main:
        saved = run.save(epoch - 1, run.position.epoch_samples)
        logger.warning(
            "interrupted at epoch %d, step %d: saved %s", epoch, run.position.global_step, saved
        )


def _finish_epoch(run: TrainingRun, epoch: int, log: RunLog) -> None:
    """After `epoch`: its last row, the lr schedule's step, `last.pth.tar` and, every
    `checkpoint_every` epochs and at the end, the epoch's snapshot."""
    config = run.config
    log.write(epoch, run.position.global_step, run.lr, force=True)
    run.scheduler.step()
    run.position.epoch_samples = 0
    if run.context.is_main:
        last = run.save(epoch, 0)
        if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
            run.saved = copy_as_snapshot(last, epoch)
        logger.info("epoch %d done (step %d): %s", epoch, run.position.global_step, run.saved)
    run.position.last_epoch = epoch


__all__ = ["TrainResult", "TrainingDivergedError", "train"]
