"""What every evaluation protocol takes and gives: a batch of meshes and joints in, each
sample's scores, then the reported numbers.

Joints are 42: the right hand then the left, each in RepeHand order (wrist,
thumb_1..4, index, middle, ring, pinky), the order of the evaluation
regressor's output. Lengths in millimetres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repehand_ros.data.interhand_joints import HANDS
from repehand_ros.hands import JOINT_NAMES, NUM_JOINTS

TWO_HAND_JOINTS = 2 * NUM_JOINTS
JOINT_LABELS: tuple[str, ...] = tuple(f"{hand}_{name}" for hand in HANDS for name in JOINT_NAMES)
"""The 42 scored joints, as the per-joint results list them."""

SINGLE_HAND_TYPES: tuple[str, ...] = ("right", "left")


@dataclass(frozen=True, eq=False)
class EvaluationBatch:
    """What B samples give the protocols; hands stacked (right, left), millimetres.

    Attributes:
        hand_type: (B,) "right", "left" or "interacting", as annotated.
        joint_trunc: (B, 42) bool, the `_data.json` joint validity times each
            hand's wrist validity, in InterHand2.6M's own order (right thumb
            tip .. right wrist, then the left hand): the official `joint_trunc`.
        mano_fitted: (B, 2) bool, the hand has a NeuralAnnot MANO fit.
        pred_vertices: (B, 2, V, 3) predicted meshes, any translation.
        gt_vertices: (B, 2, V, 3) NeuralAnnot meshes oriented in the camera
            frame, any translation; all zeros where `mano_fitted` is False
            (the official code's stand-in for a missing fit).
        pred_joints: (B, 2, 21, 3) the network's own joints (its training
            regressor, RepeHand order), any translation.
        annotated_joints: (B, 2, 21, 3) `_joint_3d.json` joints in the camera
            frame, RepeHand order.
        pred_relative_translation: (B, 3) predicted left wrist minus right wrist.
    """

    hand_type: np.ndarray
    joint_trunc: np.ndarray
    mano_fitted: np.ndarray
    pred_vertices: np.ndarray
    gt_vertices: np.ndarray
    pred_joints: np.ndarray
    annotated_joints: np.ndarray
    pred_relative_translation: np.ndarray

    @property
    def single(self) -> np.ndarray:
        """(B,) bool: a single-hand sample (the official "sh" lists); the rest are "ih"."""
        return np.isin(self.hand_type, SINGLE_HAND_TYPES)


@dataclass(eq=False)
class SampleScores:
    """Each sample's contribution under one protocol, before averaging (N samples).

    A value counts only where its `*_scored` mask is set; a scored value may be
    NaN (a degenerate fit), which the averaging rules then handle as the
    protocol does.

    Attributes:
        single: (N,) bool, single-hand sample (else interacting).
        joint_errors, joint_scored: (N, 42) mm and bool.
        vertex_errors, vertex_scored: (N, 2) mean vertex error of each hand, mm, and bool.
        pa_joint_errors, pa_joint_scored: (N, 42) after Procrustes alignment.
        pa_vertex_errors, pa_vertex_scored: (N, 2) after Procrustes alignment.
        mrrpe: (N,) mm, InterWild's relative-root error; NaN where it does not apply.
    """

    single: np.ndarray
    joint_errors: np.ndarray
    joint_scored: np.ndarray
    vertex_errors: np.ndarray
    vertex_scored: np.ndarray
    pa_joint_errors: np.ndarray
    pa_joint_scored: np.ndarray
    pa_vertex_errors: np.ndarray
    pa_vertex_scored: np.ndarray
    mrrpe: np.ndarray

    def __len__(self) -> int:
        return int(self.single.shape[0])

    @classmethod
    def empty(cls) -> SampleScores:
        joints, hands = (0, TWO_HAND_JOINTS), (0, 2)
        return cls(
            single=np.zeros(0, bool),
            joint_errors=np.zeros(joints),
            joint_scored=np.zeros(joints, bool),
            vertex_errors=np.zeros(hands),
            vertex_scored=np.zeros(hands, bool),
            pa_joint_errors=np.zeros(joints),
            pa_joint_scored=np.zeros(joints, bool),
            pa_vertex_errors=np.zeros(hands),
            pa_vertex_scored=np.zeros(hands, bool),
            mrrpe=np.zeros(0),
        )

    @classmethod
    def concatenate(cls, parts: Sequence[SampleScores]) -> SampleScores:
        parts = [cls.empty(), *parts]
        names = cls.__dataclass_fields__
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in names})


@dataclass(frozen=True)
class SubsetMetric:
    """One metric for all samples, the single-hand ones and the interacting ones."""

    all: float
    single: float
    interacting: float


@dataclass(frozen=True, eq=False)
class ProtocolSummary:
    """The reported numbers; NaN where a rule averages nothing, None where the protocol
    has no such metric.

    Attributes:
        protocol: the protocol's name.
        samples, single_samples, interacting_samples: how many were scored.
        mpjpe_mm, mpvpe_mm: mean joint and vertex errors.
        f5_percent, f15_percent: F@5 and F@15, percent of joints under 5 / 15 mm.
        pa_mpjpe_mm, pa_mpvpe_mm: the same after Procrustes alignment.
        per_joint_mpjpe_single_mm, per_joint_mpjpe_interacting_mm: (42,) each
            joint's mean error (`JOINT_LABELS` order), NaN where never scored.
        mrrpe_mm, mrrpe_samples: InterWild's MRRPE and how many samples it averages.
    """

    protocol: str
    samples: int
    single_samples: int
    interacting_samples: int
    mpjpe_mm: SubsetMetric
    mpvpe_mm: SubsetMetric
    f5_percent: SubsetMetric | None
    f15_percent: SubsetMetric | None
    pa_mpjpe_mm: SubsetMetric | None
    pa_mpvpe_mm: SubsetMetric | None
    per_joint_mpjpe_single_mm: np.ndarray
    per_joint_mpjpe_interacting_mm: np.ndarray
    mrrpe_mm: float
    mrrpe_samples: int


__all__ = [
    "JOINT_LABELS",
    "SINGLE_HAND_TYPES",
    "TWO_HAND_JOINTS",
    "EvaluationBatch",
    "ProtocolSummary",
    "SampleScores",
    "SubsetMetric",
]
