"""A training run's log: a row of loss means and counts every few steps, to CSV and TensorBoard.

Every rank feeds the steps it takes (`RunLog.add`); a row is the mean over
all ranks of the steps since the last one that were applied, with the
number of NaN loss elements (all ranks) and of skipped steps. Only rank 0
writes: `train_log.csv` one complete line at a time (an interrupted run
leaves whole rows), and TensorBoard events when tensorboard is installed.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from repehand_ros.io.files import write_atomically
from repehand_ros.training.distributed import DistributedContext, mean_over_ranks, sum_over_ranks
from repehand_ros.training.losses import LOSS_WEIGHTS, Losses

logger = logging.getLogger(__name__)

LOG_FILE = "train_log.csv"
TENSORBOARD_FOLDER = "tensorboard"

TERM_NAMES: tuple[str, ...] = (*LOSS_WEIGHTS, "total")
"""The loss columns of the log, in order."""


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

            def rewrite(temporary: Path) -> None:
                with temporary.open("w", newline="") as stream:
                    writer = csv.DictWriter(stream, self.COLUMNS)
                    writer.writeheader()
                    writer.writerows(rows)

            write_atomically(path, rewrite)
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


def _open_tensorboard(directory: Path) -> Any:
    """A TensorBoard SummaryWriter in `directory`/tensorboard, or None without tensorboard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        logger.info("tensorboard is not installed: logging to %s only", LOG_FILE)
        return None
    return SummaryWriter(log_dir=str(directory / TENSORBOARD_FOLDER))


class _Window:
    """The steps since the last row: loss means over the applied steps, counts of the rest."""

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
            means = mean_over_ranks(torch.stack(self.applied).mean(dim=0), context).tolist()
        else:
            means = [math.nan] * len(TERM_NAMES)
        nan_elements = torch.stack(self.nan_elements).sum().to(context.device, torch.float64)
        row = dict(zip(TERM_NAMES, means, strict=True))
        row.update(
            nan_elements=float(sum_over_ranks(nan_elements, context)),
            skipped_steps=float(self.skipped),
        )
        return row


class RunLog:
    """The log of one run on one rank: `add` every step, `write` when a row may be due.

    Every rank keeps a log (a row needs all ranks' numbers); `out_dir` is None
    on the ranks that write nothing.
    """

    def __init__(
        self,
        context: DistributedContext,
        every: int,
        batch_size: int,
        out_dir: Path | None,
        resume_step: int | None = None,
    ) -> None:
        """`every` steps a row; `batch_size` is the global batch (for samples_per_s);
        `resume_step` keeps the rows of a resumed run up to that step."""
        self.context = context
        self.every = every
        self.batch_size = batch_size
        self.nan_elements = 0
        """NaN loss elements of every row written so far, all ranks."""
        self._window = _Window()
        self._csv = CsvLog(out_dir / LOG_FILE, resume_step) if out_dir is not None else None
        self._tensorboard = _open_tensorboard(out_dir) if out_dir is not None else None

    def add(self, losses: Losses, applied: bool) -> None:
        """One step's losses, and whether its update was applied."""
        self._window.add(losses, applied)

    def write(self, epoch: int, global_step: int, lr: float, force: bool = False) -> None:
        """A row for the steps since the last one when `every` steps have gathered, or when
        `force`d (at least one step); every rank must call it alike."""
        window = self._window
        if not window.steps or not (force or window.steps >= self.every):
            return
        row = window.summary(self.context)
        self.nan_elements += int(row["nan_elements"])
        elapsed = max(time.monotonic() - window.started, 1e-9)
        row.update(
            epoch=epoch,
            global_step=global_step,
            lr=lr,
            samples_per_s=window.steps * self.batch_size / elapsed,
            wall_time=time.time(),
        )
        if self._csv is not None:
            self._csv.write(row)
        if self._tensorboard is not None:
            for name in TERM_NAMES:
                self._tensorboard.add_scalar(f"loss/{name}", row[name], global_step)
            for name in ("nan_elements", "skipped_steps"):
                self._tensorboard.add_scalar(f"steps/{name}", row[name], global_step)
            self._tensorboard.add_scalar("lr", row["lr"], global_step)
        self._window = _Window()

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None


__all__ = ["LOG_FILE", "TERM_NAMES", "CsvLog", "RunLog"]
