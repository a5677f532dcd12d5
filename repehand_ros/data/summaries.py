"""Each evaluation protocol's averaging: from every sample's scores to the reported numbers.

The official rules are `print_eval_result()`'s, quirks included (a joint no
sample scores makes MPJPE NaN but counts 0.0 in the F-scores; PA falls back to
0.0); the corrected ones leave out what nothing scores; InterWild's average
every scored hand's mesh. The per-sample rules: `repehand_ros.data.scoring_rules`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from repehand_ros.data.metrics import per_joint_error
from repehand_ros.data.scores import ProtocolSummary, SampleScores, SubsetMetric

F_SCORE_THRESHOLDS_MM: tuple[float, float] = (5.0, 15.0)


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


__all__ = [
    "F_SCORE_THRESHOLDS_MM",
    "per_joint_means",
    "summarize_corrected",
    "summarize_interwild",
    "summarize_official",
]
