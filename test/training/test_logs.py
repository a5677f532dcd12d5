"""The run's log: rows every few steps with loss means and counts; a resumed run keeps its rows."""

from __future__ import annotations

import csv

import torch

from repehand_ros.training.distributed import DistributedContext
from repehand_ros.training.logs import LOG_FILE, TERM_NAMES, CsvLog, RunLog
from repehand_ros.training.losses import LOSS_WEIGHTS, Losses


def _losses(value: float, nan_elements: int = 0) -> Losses:
    terms = {name: torch.tensor(value) for name in LOSS_WEIGHTS}
    total = torch.tensor(value * len(LOSS_WEIGHTS))
    return Losses(terms=terms, total=total, nan_elements=torch.tensor(nan_elements))


def _rows(path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_a_row_every_few_steps_means_of_the_applied_ones(tmp_path):
    log = RunLog(DistributedContext(), every=2, batch_size=4, out_dir=tmp_path)
    log.add(_losses(1.0, nan_elements=1), applied=True)
    log.write(epoch=0, global_step=1, lr=0.1)  # one step: no row yet
    log.add(_losses(float("inf")), applied=False)
    log.write(epoch=0, global_step=2, lr=0.1)
    log.add(_losses(3.0), applied=True)
    log.write(epoch=0, global_step=3, lr=0.1, force=True)  # the epoch's end
    log.close()
    rows = _rows(tmp_path / LOG_FILE)
    assert [r["global_step"] for r in rows] == ["2", "3"]
    assert float(rows[0]["rel_trans"]) == 1.0 and float(rows[0]["total"]) == len(LOSS_WEIGHTS)
    assert (rows[0]["skipped_steps"], rows[0]["nan_elements"]) == ("1", "1")
    assert float(rows[1]["rel_trans"]) == 3.0 and rows[1]["skipped_steps"] == "0"
    assert log.nan_elements == 1
    assert TERM_NAMES[-1] == "total"


def test_a_rank_that_writes_nothing_still_counts(tmp_path):
    log = RunLog(DistributedContext(), every=1, batch_size=4, out_dir=None)
    log.add(_losses(1.0, nan_elements=2), applied=True)
    log.write(epoch=0, global_step=1, lr=0.1)
    assert log.nan_elements == 2 and list(tmp_path.iterdir()) == []


def test_a_resumed_run_keeps_its_rows_up_to_the_saved_step(tmp_path):
    path = tmp_path / LOG_FILE
    log = CsvLog(path, resume_step=None)
    for step in (1, 2, 3):
        log.write({"epoch": 0, "global_step": step, "lr": 0.1})
    CsvLog(path, resume_step=2)
    assert [r["global_step"] for r in _rows(path)] == ["1", "2"]
    CsvLog(path, resume_step=None)  # a fresh run starts a fresh log
    assert _rows(path) == []
