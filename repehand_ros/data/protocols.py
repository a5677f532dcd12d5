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

Joints are 42: the right hand then the left, each in RepeHand order (wrist,
thumb_1..4, index, middle, ring, pinky), the order of the evaluation
regressor's output. Lengths in millimetres.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from repehand_ros.data.interhand import (
    HANDS,
    INTERHAND_JOINTS_PER_HAND,
    INTERHAND_WRIST,
    interhand_to_repehand,
)
from repehand_ros.data.metrics import (
    WRIST,
    align_scale_at_joint,
    apply_similarity,
    per_joint_error,
    point_errors,
    procrustes_transform,
)
from repehand_ros.hands import JOINT_NAMES, NUM_JOINTS

TWO_HAND_JOINTS = 2 * NUM_JOINTS
JOINT_LABELS: tuple[str, ...] = tuple(f"{hand}_{name}" for hand in HANDS for name in JOINT_NAMES)
"""The 42 scored joints, as the per-joint results list them."""

SINGLE_HAND_TYPES: tuple[str, ...] = ("right", "left")
F_SCORE_THRESHOLDS_MM: tuple[float, float] = (5.0, 15.0)
MIN_RIGID_FIT_JOINTS = 3
"""PA needs at least this many valid joints in a fit, as the official code requires."""

_INTERHAND_WRISTS = (INTERHAND_WRIST, INTERHAND_JOINTS_PER_HAND + INTERHAND_WRIST)


# --------------------------------------------------------------------------- inputs and scores


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


# --------------------------------------------------------------------------- the official rules


def regress_evaluation_joints(vertices: np.ndarray, regressors: np.ndarray) -> np.ndarray:
    """Rule 1, the evaluation regressor (official `Jr`): joints (B, 2, 21, 3) = R_hand @ mesh.

    `regressors` (2, 21, V) is each hand's MANO J_regressor plus fingertip
    vertices 745, 317, 444, 556, 673 in RepeHand order
    (`repehand_ros.mano.layer.EVALUATION_FINGERTIP_VERTICES`): the middle tip
    is vertex 444 here, where training used 445.
    """
    return np.einsum("hjv,bhvc->bhjc", regressors, np.asarray(vertices, dtype=np.float64))


def align_at_middle_knuckle(
    pred_joints: np.ndarray,
    gt_joints: np.ndarray,
    pred_vertices: np.ndarray,
    gt_vertices: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rule 2, per hand: subtract joint 9 (Middle_1), scale the prediction by
    |J9-J0|gt / |J9-J0|pred, joints and vertices alike.

    A hand without a MANO fit has an all-zero ground truth, so its ground-truth
    bone is 0 and the prediction is scaled to a point at the origin: its
    joints then score 0 mm wherever `joint_trunc` marks them valid (the
    official code does exactly this). A zero-length predicted bone, which no
    MANO mesh has, would give inf/NaN there; `metrics.scale_factor` gives 1.
    """
    pred_j, gt_j, pred_v, gt_v = align_scale_at_joint(
        pred_joints, gt_joints, pred_vertices, gt_vertices
    )
    assert pred_v is not None and gt_v is not None
    return pred_j, gt_j, pred_v, gt_v


def official_joint_mask(joint_trunc: np.ndarray) -> np.ndarray:
    """Rule 3, the order quirk: `joint_trunc` (InterHand2.6M order) used index by index on
    the 42 predicted joints (RepeHand order), without reordering.

    So predicted joint j counts when InterHand joint j is valid: the right
    wrist (RepeHand 0) by the right thumb tip's flag (InterHand 0), the right
    pinky tip (RepeHand 20) by the right wrist's (InterHand 20). The paper's
    numbers were computed so.
    """
    return np.asarray(joint_trunc, dtype=bool)


def official_vertex_mask(hand_type: np.ndarray, mano_fitted: np.ndarray) -> np.ndarray:
    """Which hands' vertex errors count, (B, 2): the annotated hand of a single-hand sample
    when it has a fit; both hands of an interacting sample when both have one."""
    hand_type = np.asarray(hand_type)
    fitted = np.asarray(mano_fitted, dtype=bool)
    both = (hand_type == "interacting") & fitted.all(axis=1)
    return np.stack(
        ((hand_type == "right") & fitted[:, 0] | both, (hand_type == "left") & fitted[:, 1] | both),
        axis=1,
    )


def official_rigid_transform(
    source: np.ndarray, target: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """The official `rigid_transform_3D(A, B)`: (c, R, t) for points (P, 3).

    Umeyama's fit with the covariance divided by P, a reflection flipped by
    negating the last singular vector, c = sum of the singular values over
    the summed per-axis variance of `source`, and t = mean(B) - c R mean(A):
    the translation includes the scale, although the caller applies only R
    and t. All-identical source points give c = NaN, and so NaN errors.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    covariance = (source - source_mean).T @ (target - target_mean) / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    flip = np.ones(3)
    if np.linalg.det(vt.T @ u.T) < 0:
        flip[-1] = -1.0
    rotation = vt.T @ np.diag(flip) @ u.T
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = float(np.sum(singular * flip) / source.var(axis=0).sum())
    translation = target_mean - scale * rotation @ source_mean
    return scale, rotation, translation


def official_procrustes(
    pred_joints: np.ndarray,
    gt_joints: np.ndarray,
    pred_vertices: np.ndarray,
    gt_vertices: np.ndarray,
    scored: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Rule 4, PA for one sample: one rigid transform for both hands, scale not applied.

    `official_rigid_transform` fitted on the scored joints of both hands
    together (42, 3), then x -> R x + t applied to all 42 joints and to both
    hands' vertices (2, V, 3). Returns (joint errors (42,), each hand's mean
    vertex error (2,)), or None with fewer than three scored joints (the
    official code then scores no PA joint and a NaN PA vertex error, dropped).
    Both hands' vertices count whatever the hand type and fits: the official
    PA-MPVPE is the mean over all 2 x 778 vertices.
    """
    scored = np.asarray(scored, dtype=bool)
    if scored.sum() < MIN_RIGID_FIT_JOINTS:
        return None
    _, rotation, translation = official_rigid_transform(pred_joints[scored], gt_joints[scored])
    with np.errstate(invalid="ignore"):
        joints = pred_joints @ rotation.T + translation
        vertices = pred_vertices @ rotation.T + translation
    return point_errors(joints, gt_joints), point_errors(vertices, gt_vertices).mean(axis=-1)


def interwild_mrrpe(batch: EvaluationBatch) -> np.ndarray:
    """MRRPE terms, InterWild's convention (not in RepeHand's official numbers): (B,) mm.

    || (left wrist - right wrist)_pred - (left wrist - right wrist)_annotated ||
    with the annotated `_joint_3d.json` wrists, for every sample whose two
    wrists `joint_trunc` marks valid, whatever its hand type; NaN elsewhere.
    """
    gt = batch.annotated_joints[:, 1, WRIST] - batch.annotated_joints[:, 0, WRIST]
    errors = np.linalg.norm(batch.pred_relative_translation - gt, axis=-1)
    applies = np.asarray(batch.joint_trunc, dtype=bool)[:, list(_INTERHAND_WRISTS)].all(axis=1)
    return np.where(applies, errors, np.nan)


def _aligned_evaluation_joints(
    batch: EvaluationBatch, regressors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rules 1 and 2: evaluation joints of both meshes, aligned at joint 9 and bone-scaled."""
    pred_joints = regress_evaluation_joints(batch.pred_vertices, regressors)
    gt_joints = regress_evaluation_joints(batch.gt_vertices, regressors)
    return align_at_middle_knuckle(pred_joints, gt_joints, batch.pred_vertices, batch.gt_vertices)


def official_scores(batch: EvaluationBatch, regressors: np.ndarray) -> SampleScores:
    """The official `evaluate()` on one batch, sample by sample (rules 1-4)."""
    pred_j, gt_j, pred_v, gt_v = _aligned_evaluation_joints(batch, regressors)
    count = len(batch.hand_type)
    pred_42 = pred_j.reshape(count, TWO_HAND_JOINTS, 3)
    gt_42 = gt_j.reshape(count, TWO_HAND_JOINTS, 3)
    joint_scored = official_joint_mask(batch.joint_trunc)
    pa_joint_errors = np.full((count, TWO_HAND_JOINTS), np.nan)
    pa_vertex_errors = np.full((count, 2), np.nan)
    pa_fitted = np.zeros(count, dtype=bool)
    for n in range(count):
        fit = official_procrustes(pred_42[n], gt_42[n], pred_v[n], gt_v[n], joint_scored[n])
        if fit is not None:
            pa_joint_errors[n], pa_vertex_errors[n] = fit
            pa_fitted[n] = True
    return SampleScores(
        single=batch.single,
        joint_errors=point_errors(pred_42, gt_42),
        joint_scored=joint_scored,
        vertex_errors=point_errors(pred_v, gt_v).mean(axis=-1),
        vertex_scored=official_vertex_mask(batch.hand_type, batch.mano_fitted),
        pa_joint_errors=pa_joint_errors,
        pa_joint_scored=joint_scored & pa_fitted[:, None],
        pa_vertex_errors=pa_vertex_errors,
        pa_vertex_scored=np.repeat(pa_fitted[:, None], 2, axis=1),
        mrrpe=interwild_mrrpe(batch),
    )


# --------------------------------------------------------------------------- corrected variants


def corrected_joint_mask(joint_trunc: np.ndarray, mano_fitted: np.ndarray) -> np.ndarray:
    """`joint_trunc` moved to the joints it describes (RepeHand order), and only on hands
    with a MANO fit (a hand without one has no ground truth to score against): (B, 42)."""
    per_hand = interhand_to_repehand(np.asarray(joint_trunc, dtype=bool)[..., None])[..., 0]
    per_hand = per_hand & np.asarray(mano_fitted, dtype=bool)[:, :, None]
    return per_hand.reshape(len(per_hand), TWO_HAND_JOINTS)


def corrected_scores(batch: EvaluationBatch, regressors: np.ndarray) -> SampleScores:
    """The official rules with the mask mapped (`corrected_joint_mask`) and PA per hand:
    the similarity transform (scale applied) fitted on that hand's scored joints,
    applied to its joints and vertices; PA vertex errors where MPVPE counts them."""
    pred_j, gt_j, pred_v, gt_v = _aligned_evaluation_joints(batch, regressors)
    count = len(batch.hand_type)
    joint_scored = corrected_joint_mask(batch.joint_trunc, batch.mano_fitted)
    per_hand_scored = joint_scored.reshape(count, 2, NUM_JOINTS)
    transform = procrustes_transform(pred_j, gt_j, per_hand_scored)
    hand_fitted = per_hand_scored.sum(axis=-1) >= MIN_RIGID_FIT_JOINTS
    vertex_scored = official_vertex_mask(batch.hand_type, batch.mano_fitted)
    pa_joints = apply_similarity(pred_j, *transform)
    pa_vertices = apply_similarity(pred_v, *transform)
    return SampleScores(
        single=batch.single,
        joint_errors=point_errors(pred_j, gt_j).reshape(count, TWO_HAND_JOINTS),
        joint_scored=joint_scored,
        vertex_errors=point_errors(pred_v, gt_v).mean(axis=-1),
        vertex_scored=vertex_scored,
        pa_joint_errors=point_errors(pa_joints, gt_j).reshape(count, TWO_HAND_JOINTS),
        pa_joint_scored=(per_hand_scored & hand_fitted[..., None]).reshape(count, -1),
        pa_vertex_errors=point_errors(pa_vertices, gt_v).mean(axis=-1),
        pa_vertex_scored=vertex_scored & hand_fitted,
        mrrpe=interwild_mrrpe(batch),
    )


def interwild_scores(batch: EvaluationBatch, regressors: np.ndarray) -> SampleScores:
    """InterWild's `evaluate()`: the network's joints against the annotated joints, both
    wrist-relative, unscaled, with `joint_trunc` mapped to RepeHand order; meshes
    wrist-relative (wrist = MANO's regressed wrist). An interacting sample scores
    each hand's mesh that has a fit, separately. No PA."""
    count = len(batch.hand_type)
    pred = np.asarray(batch.pred_joints, dtype=np.float64)
    gt = np.asarray(batch.annotated_joints, dtype=np.float64)
    joint_errors = point_errors(pred - pred[:, :, :1], gt - gt[:, :, :1])
    joint_scored = interhand_to_repehand(np.asarray(batch.joint_trunc, dtype=bool)[..., None])
    pred_wrist = regress_evaluation_joints(batch.pred_vertices, regressors)[:, :, WRIST, None]
    gt_wrist = regress_evaluation_joints(batch.gt_vertices, regressors)[:, :, WRIST, None]
    vertex_errors = point_errors(batch.pred_vertices - pred_wrist, batch.gt_vertices - gt_wrist)
    hand_type = np.asarray(batch.hand_type)
    fitted = np.asarray(batch.mano_fitted, dtype=bool)
    annotated = np.stack((hand_type != "left", hand_type != "right"), axis=1)
    return SampleScores(
        single=batch.single,
        joint_errors=joint_errors.reshape(count, TWO_HAND_JOINTS),
        joint_scored=joint_scored[..., 0].reshape(count, TWO_HAND_JOINTS),
        vertex_errors=vertex_errors.mean(axis=-1),
        vertex_scored=annotated & fitted,
        pa_joint_errors=np.full((count, TWO_HAND_JOINTS), np.nan),
        pa_joint_scored=np.zeros((count, TWO_HAND_JOINTS), dtype=bool),
        pa_vertex_errors=np.full((count, 2), np.nan),
        pa_vertex_scored=np.zeros((count, 2), dtype=bool),
        mrrpe=interwild_mrrpe(batch),
    )


# --------------------------------------------------------------------------- averaging


def per_joint_means(values: np.ndarray, scored: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """Each joint's mean over the samples that score it, (N, J) -> (J,); `empty` for a
    joint no sample scores. A NaN among a joint's values makes its mean NaN."""
    scored = np.asarray(scored, dtype=bool)
    return np.where(scored.sum(axis=0) > 0, per_joint_error(values, scored), empty)


def _mean(values: np.ndarray) -> float:
    """np.mean, NaN for no values (as np.mean of an empty list, without its warning)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if values.size else float("nan")


def _mean_or_zero(values: np.ndarray) -> float:
    """The official PA fallback: 0.0 when nothing is left to average."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if values.size else 0.0


def _finite(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _sample_means(errors: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Each sample's mean over its scored hands, (N, 2) -> (N,); NaN where none is scored."""
    counts = scored.sum(axis=1)
    sums = np.where(scored, errors, 0.0).sum(axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _subsets(
    single: np.ndarray, reduce_lists: Callable[[np.ndarray], np.ndarray], finish: Callable
) -> SubsetMetric:
    """`finish` over the single list, the interacting list and both lists concatenated."""
    single_list, interacting_list = reduce_lists(single), reduce_lists(~single)
    return SubsetMetric(
        all=finish(np.concatenate((single_list, interacting_list))),
        single=finish(single_list),
        interacting=finish(interacting_list),
    )


def _summary(
    name: str,
    scores: SampleScores,
    mpjpe: SubsetMetric,
    mpvpe: SubsetMetric,
    f_scores: tuple[SubsetMetric, SubsetMetric] | None,
    pa: tuple[SubsetMetric, SubsetMetric] | None,
) -> ProtocolSummary:
    single = scores.single
    applicable = ~np.isnan(scores.mrrpe)
    return ProtocolSummary(
        protocol=name,
        samples=len(scores),
        single_samples=int(single.sum()),
        interacting_samples=int((~single).sum()),
        mpjpe_mm=mpjpe,
        mpvpe_mm=mpvpe,
        f5_percent=None if f_scores is None else f_scores[0],
        f15_percent=None if f_scores is None else f_scores[1],
        pa_mpjpe_mm=None if pa is None else pa[0],
        pa_mpvpe_mm=None if pa is None else pa[1],
        per_joint_mpjpe_single_mm=per_joint_means(
            scores.joint_errors[single], scores.joint_scored[single]
        ),
        per_joint_mpjpe_interacting_mm=per_joint_means(
            scores.joint_errors[~single], scores.joint_scored[~single]
        ),
        mrrpe_mm=_mean(scores.mrrpe[applicable]),
        mrrpe_samples=int(applicable.sum()),
    )


def _f_score_hits(errors: np.ndarray, threshold: float) -> np.ndarray:
    """1.0 where the error is under `threshold` (strictly; NaN is not), else 0.0."""
    with np.errstate(invalid="ignore"):
        return (errors < threshold).astype(np.float64)


def summarize_official(scores: SampleScores) -> ProtocolSummary:
    """The official `print_eval_result()`, averaging rules included:

    - MPJPE: per joint index (42), the mean over the samples scoring it; the
      number is the plain mean of those 42 means ("all": the 84 of both
      lists). A joint no sample scores has mean NaN (np.mean of an empty
      list), and so has the number.
    - F@5 / F@15: the same with 1.0 / 0.0 per error (< 5 / < 15 mm), but a
      joint no sample scores counts 0.0; percent.
    - MPVPE: one value per sample (see `official_vertex_mask`), the
      interacting ones the mean of both hands' means; plain means of the lists.
    - PA-MPJPE: per-joint means too; joints without values, or with a NaN
      mean, are left out, and no values at all gives 0.0.
    - PA-MPVPE: one value per sample with a fit, NaN left out; 0.0 when none.
    """
    single, errors, scored = scores.single, scores.joint_errors, scores.joint_scored

    def joint_lists(values: np.ndarray, mask: np.ndarray, empty: float) -> Callable:
        return lambda rows: per_joint_means(values[rows], mask[rows], empty)

    vertex = _sample_means(scores.vertex_errors, scores.vertex_scored)
    has_vertex = scores.vertex_scored.any(axis=1)
    pa_vertex = _sample_means(scores.pa_vertex_errors, scores.pa_vertex_scored)
    f5, f15 = (
        _subsets(
            single,
            joint_lists(_f_score_hits(errors, threshold), scored, 0.0),
            lambda values: 100.0 * _mean(values),
        )
        for threshold in F_SCORE_THRESHOLDS_MM
    )
    return _summary(
        "official",
        scores,
        mpjpe=_subsets(single, joint_lists(errors, scored, np.nan), _mean),
        mpvpe=_subsets(single, lambda rows: vertex[rows & has_vertex], _mean),
        f_scores=(f5, f15),
        pa=(
            _subsets(
                single,
                joint_lists(scores.pa_joint_errors, scores.pa_joint_scored, np.nan),
                lambda values: _mean_or_zero(_finite(values)),
            ),
            _subsets(single, lambda rows: _finite(pa_vertex[rows]), _mean_or_zero),
        ),
    )


def summarize_corrected(scores: SampleScores) -> ProtocolSummary:
    """Per-joint means as the official rules, but joints no sample scores are left out
    of every average (not NaN, not 0.0); per-sample MPVPE and PA-MPVPE alike;
    NaN only where nothing at all is scored."""
    single = scores.single

    def joint_metric(values: np.ndarray, mask: np.ndarray, percent: bool = False) -> SubsetMetric:
        factor = 100.0 if percent else 1.0
        return _subsets(
            single,
            lambda rows: per_joint_means(values[rows], mask[rows]),
            lambda means: factor * _mean(_finite(means)),
        )

    def vertex_metric(errors: np.ndarray, mask: np.ndarray) -> SubsetMetric:
        per_sample = _sample_means(errors, mask)
        return _subsets(single, lambda rows: per_sample[rows & mask.any(axis=1)], _mean)

    errors, scored = scores.joint_errors, scores.joint_scored
    return _summary(
        "corrected",
        scores,
        mpjpe=joint_metric(errors, scored),
        mpvpe=vertex_metric(scores.vertex_errors, scores.vertex_scored),
        f_scores=(
            joint_metric(_f_score_hits(errors, F_SCORE_THRESHOLDS_MM[0]), scored, percent=True),
            joint_metric(_f_score_hits(errors, F_SCORE_THRESHOLDS_MM[1]), scored, percent=True),
        ),
        pa=(
            joint_metric(scores.pa_joint_errors, scores.pa_joint_scored),
            vertex_metric(scores.pa_vertex_errors, scores.pa_vertex_scored),
        ),
    )


def summarize_interwild(scores: SampleScores) -> ProtocolSummary:
    """InterWild's `print_eval_result()`: MPJPE as the official one (per-joint means, NaN for
    a joint never scored); MPVPE the plain mean over every scored hand (an interacting
    sample gives two values); no F-score, no PA."""
    single, errors, scored = scores.single, scores.joint_errors, scores.joint_scored
    return _summary(
        "interwild",
        scores,
        mpjpe=_subsets(single, lambda rows: per_joint_means(errors[rows], scored[rows]), _mean),
        mpvpe=_subsets(
            single, lambda rows: scores.vertex_errors[rows][scores.vertex_scored[rows]], _mean
        ),
        f_scores=None,
        pa=None,
    )


# --------------------------------------------------------------------------- the registry


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
