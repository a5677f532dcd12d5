"""InterHand2.6M evaluation protocols: the official evaluate() exactly, and corrected variants.

Every protocol scores the same inputs (`EvaluationBatch`: predicted and
NeuralAnnot MANO meshes, the annotation's joint validity, its 3D joints),
first per sample (`SampleScores`), then into the numbers the official
`print_eval_result` prints (`ProtocolSummary`: MPJPE, MPVPE, F@5, F@15,
PA-MPJPE, PA-MPVPE for all, single-hand and interacting samples).

- "official": RepeHand's `InterHand26M.evaluate()` and `print_eval_result()`,
  quirks included. Its numbers are the ones the paper's table compares.
- "corrected": the same rules with the quirks fixed: the validity mask
  mapped to the joints it describes, hands without a MANO fit not scored, a
  similarity Procrustes per hand, joints without data left out of averages.
- "interwild": InterWild's `evaluate()`: the network's own joints against the
  annotated 3D joints, wrist-relative, no scaling; no F-score, no PA.

MRRPE is in none of RepeHand's official numbers; every protocol reports it
beside them, computed as InterWild does (`interwild_mrrpe`).

A protocol is two steps, each in its own module: the per-sample rules
(`repehand_ros.data.scoring_rules`), then the averaging
(`repehand_ros.data.summaries`); what they take and give is in
`repehand_ros.data.scores`. This module names the protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from repehand_ros.data.scores import EvaluationBatch, ProtocolSummary, SampleScores
from repehand_ros.data.scoring_rules import corrected_scores, interwild_scores, official_scores
from repehand_ros.data.summaries import (
    summarize_corrected,
    summarize_interwild,
    summarize_official,
)


@dataclass(frozen=True)
class Protocol:
    """One way of scoring: per-sample scores of a batch, then the reported numbers."""

    name: str
    title: str
    score: Callable[[EvaluationBatch, np.ndarray], SampleScores]
    summarize: Callable[[SampleScores], ProtocolSummary]


PROTOCOLS: dict[str, Protocol] = {
    protocol.name: protocol
    for protocol in (
        Protocol(
            "official",
            "official RepeHand evaluate(), quirks included (the paper's table)",
            official_scores,
            summarize_official,
        ),
        Protocol(
            "corrected",
            "official rules, quirks fixed (mask order, no-fit hands, PA per hand)",
            corrected_scores,
            summarize_corrected,
        ),
        Protocol(
            "interwild",
            "InterWild evaluate(): wrist-relative, annotated joints, no scaling",
            interwild_scores,
            summarize_interwild,
        ),
    )
}
DEFAULT_PROTOCOL = "official"


__all__ = ["DEFAULT_PROTOCOL", "PROTOCOLS", "Protocol"]
