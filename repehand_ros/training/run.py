"""A training run on one process: its network, optimizer and schedule, and one step of it.

A step is skipped, not applied, when its loss or any gradient is not finite
on any rank (the weights and the optimizer state stay); the trainer counts
the skipped steps in a row (`TrainingRun.bad_in_a_row`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from repehand_ros.mano.layer import ManoPair
from repehand_ros.model.network import RepeHandNet
from repehand_ros.training.checkpoints import (
    LAST_CHECKPOINT,
    RunPosition,
    TrainingStateError,
    restore_rng_states,
    rng_states,
    save_training_checkpoint,
)
from repehand_ros.training.config import TrainConfig
from repehand_ros.training.distributed import DistributedContext, any_rank
from repehand_ros.training.initialisation import start_network
from repehand_ros.training.losses import Losses, compute_losses

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class TrainingRun:
    """One run's moving parts on this process (network, optimizer, schedule, MANO), where it
    stands and what it has done; `start` makes one, `step` trains, `save` checkpoints."""

    config: TrainConfig
    context: DistributedContext
    network: RepeHandNet
    model: torch.nn.Module
    """The network, wrapped in DistributedDataParallel when there are several processes."""
    mano: ManoPair
    optimizer: torch.optim.AdamW
    scheduler: torch.optim.lr_scheduler.MultiStepLR
    position: RunPosition = field(default_factory=RunPosition)
    losses: list[float] = field(default_factory=list)
    skipped_steps: int = 0
    bad_in_a_row: int = 0
    saved: Path | None = None

    @classmethod
    def start(
        cls,
        config: TrainConfig,
        context: DistributedContext,
        resume: str | Path | None,
        state: dict[str, Any] | None,
        mano_dir: Path,
    ) -> TrainingRun:
        """The network, optimizer and schedule a run starts from: fresh, or as `resume`
        (whose training `state` has been read) left them."""
        weights = resume if resume is not None else config.init_checkpoint
        network = start_network(
            config.variant,
            config.input_size,
            config.seed,
            None if weights is None else Path(weights).expanduser(),
            config.backbone_weights,
        )
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
        run = cls(config, context, network, model, mano, optimizer, scheduler)
        if state is not None:
            run._restore(state, resume)
        return run

    def _restore(self, state: dict[str, Any], resume: str | Path | None) -> None:
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        except (ValueError, KeyError, RuntimeError) as error:
            raise TrainingStateError(
                f"{resume}: its optimizer state does not fit this network/config: {error}"
            ) from error
        restore_rng_states(state)
        self.position = RunPosition.of(state)
        position = self.position
        logger.info(
            "resuming %s after epoch %d, step %d%s",
            resume,
            position.last_epoch,
            position.global_step,
            f" ({position.epoch_samples} samples into epoch {position.last_epoch + 1})"
            if position.epoch_samples
            else "",
        )

    @property
    def out_dir(self) -> Path:
        return Path(self.config.out_dir).expanduser()

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, batch: dict[str, torch.Tensor]) -> tuple[Losses, bool]:
        """One optimisation step on `batch`; returns its losses and whether it was applied
        (not when the loss or a gradient is not finite on any rank)."""
        batch = {
            key: value.to(self.context.device, non_blocking=True) for key, value in batch.items()
        }
        output = self.model(batch["image"], validate=False)
        losses = compute_losses(output, batch, self.mano, self.config.loss_weights)
        self.optimizer.zero_grad(set_to_none=True)
        losses.total.backward()
        applied = _update_is_finite(losses.total, self.network, self.context)
        if applied:
            self.optimizer.step()
            self.bad_in_a_row = 0
        else:
            self.skipped_steps += 1
            self.bad_in_a_row += 1
            logger.warning(
                "step %d skipped: non-finite loss or gradient (loss %s)",
                self.position.global_step,
                {k: float(v.detach()) for k, v in losses.terms.items()},
            )
        self.position.global_step += 1
        self.position.epoch_samples += self.config.batch_size
        self.losses.append(float(losses.total.detach()))
        return losses, applied

    def save(self, finished_epoch: int, samples_into_next: int) -> Path:
        """`last.pth.tar` of the run as it stands (rank 0 only)."""
        self.saved = save_training_checkpoint(
            self.out_dir / LAST_CHECKPOINT,
            self.network,
            epoch=finished_epoch,
            optimizer=self.optimizer.state_dict(),
            **rng_states(),
            scheduler=self.scheduler.state_dict(),
            global_step=self.position.global_step,
            epoch_samples=samples_into_next,
            config=json.loads(json.dumps(self.config.to_dict())),
        )
        return self.saved


def _update_is_finite(
    total: torch.Tensor, network: torch.nn.Module, context: DistributedContext
) -> bool:
    """Whether this step's loss and every gradient are finite, on every rank.

    DDP has already averaged the gradients, so they agree across ranks; the
    loss is per rank, so the decision is shared to keep the ranks' weights equal.
    """
    norms = [torch.linalg.vector_norm(p.grad) for p in network.parameters() if p.grad is not None]
    finite = bool(torch.isfinite(total)) and bool(torch.isfinite(torch.stack(norms)).all())
    return not any_rank(not finite, context)


__all__ = ["TrainingRun"]
