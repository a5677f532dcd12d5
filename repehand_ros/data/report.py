"""An evaluation's outputs: results.json, a printed table, per-joint and PCK plots.

Every file is written to a temporary name and renamed when complete
(`repehand_ros.io.files`, flushed to the disk), so a reader (or an
interrupted run, or a crash) never sees half a file.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.data.metrics import pck_auc, pck_curve
from repehand_ros.data.protocols import PROTOCOLS
from repehand_ros.data.scores import JOINT_LABELS, ProtocolSummary, SampleScores, SubsetMetric
from repehand_ros.io.files import write_atomically

RESULTS_NAME = "results.json"
PER_JOINT_PLOT_NAME = "per_joint_errors.png"
PCK_PLOT_NAME = "pck_curve.png"
OUTPUT_NAMES: tuple[str, ...] = (RESULTS_NAME, PER_JOINT_PLOT_NAME, PCK_PLOT_NAME)

METRIC_ROWS: tuple[tuple[str, str], ...] = (
    ("mpjpe_mm", "MPJPE (mm)"),
    ("mpvpe_mm", "MPVPE (mm)"),
    ("f5_percent", "F@5 (%)"),
    ("f15_percent", "F@15 (%)"),
    ("pa_mpjpe_mm", "PA-MPJPE (mm)"),
    ("pa_mpvpe_mm", "PA-MPVPE (mm)"),
)
"""The numbers of the official `print_eval_result`, as `ProtocolSummary` fields and titles."""

SUBSETS: tuple[str, ...] = tuple(f.name for f in fields(SubsetMetric))


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def pck_table(scores: SampleScores, pck_max_mm: float, steps: int = 101) -> dict[str, Any]:
    """PCK curves (fraction of scored joints within each threshold) and their AUC, for the
    single-hand, interacting and all samples."""
    thresholds = np.linspace(0.0, pck_max_mm, steps)
    rows = {
        "single": scores.single,
        "interacting": ~scores.single,
        "all": np.ones_like(scores.single),
    }
    table: dict[str, Any] = {"thresholds_mm": thresholds.tolist()}
    for name, mask in rows.items():
        curve = pck_curve(scores.joint_errors[mask], thresholds, scores.joint_scored[mask])
        table[name] = {"pck": curve.tolist(), "auc": pck_auc(thresholds, curve)}
    return table


def results_document(
    summary: ProtocolSummary,
    scores: SampleScores,
    pck_max_mm: float,
    complete: bool,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The content of results.json: NaN written as null, absent metrics as null."""
    metrics: dict[str, Any] = {}
    for name, _ in METRIC_ROWS:
        value = getattr(summary, name)
        metrics[name] = None if value is None else {s: getattr(value, s) for s in SUBSETS}
    document = {
        "protocol": summary.protocol,
        "protocol_title": PROTOCOLS[summary.protocol].title,
        "complete": complete,
        "counts": {
            "samples": summary.samples,
            "single": summary.single_samples,
            "interacting": summary.interacting_samples,
        },
        "metrics": metrics,
        "mrrpe_interwild_convention": {"mm": summary.mrrpe_mm, "samples": summary.mrrpe_samples},
        "per_joint_mpjpe_mm": {
            "joints": list(JOINT_LABELS),
            "single": summary.per_joint_mpjpe_single_mm.tolist(),
            "interacting": summary.per_joint_mpjpe_interacting_mm.tolist(),
        },
        "pck": pck_table(scores, pck_max_mm),
        "settings": settings,
    }
    return _json_ready(document)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return _finite_or_none(float(value))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def format_table(summary: ProtocolSummary, title: str) -> str:
    """The official print_eval_result numbers as a table: one row per metric, one column
    per subset ("-" where a subset averages nothing or the protocol has no such metric),
    then MRRPE."""

    def cell(value: float | None) -> str:
        return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"

    label_width = max(len(label) for _, label in METRIC_ROWS) + 2
    lines = [
        title,
        f"protocol {summary.protocol}: {PROTOCOLS[summary.protocol].title}",
        f"{'':<{label_width}}" + "".join(f"{name:>13}" for name in SUBSETS),
    ]
    for name, label in METRIC_ROWS:
        value: SubsetMetric | None = getattr(summary, name)
        cells = [cell(None if value is None else getattr(value, s)) for s in SUBSETS]
        lines.append(f"{label:<{label_width}}" + "".join(f"{c:>13}" for c in cells))
    lines.append(
        f"MRRPE (mm, InterWild convention): {cell(summary.mrrpe_mm)} "
        f"over {summary.mrrpe_samples} samples with both wrists valid"
    )
    return "\n".join(lines)


def _save_figure(figure: Any, path: Path) -> None:
    from matplotlib import pyplot as plt

    try:
        figure.tight_layout()
        write_atomically(path, lambda p: figure.savefig(p, format="png", dpi=100))
    finally:
        plt.close(figure)


def plot_per_joint(document: dict[str, Any], path: Path) -> None:
    """Grouped bars: each of the 42 joints' mean error, single-hand and interacting samples."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    per_joint = document["per_joint_mpjpe_mm"]
    positions = np.arange(len(per_joint["joints"]))
    figure, axes = plt.subplots(figsize=(16, 4.5))
    for offset, subset in ((-0.2, "single"), (0.2, "interacting")):
        values = np.array([np.nan if v is None else v for v in per_joint[subset]], dtype=float)
        axes.bar(positions + offset, np.nan_to_num(values), 0.4, label=subset)
    axes.set_xticks(positions, per_joint["joints"], rotation=75, ha="right", fontsize=7)
    axes.set_ylabel("mean error (mm)")
    axes.set_title(f"Per-joint error, protocol {document['protocol']}")
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    _save_figure(figure, path)


def plot_pck(document: dict[str, Any], path: Path) -> None:
    """The PCK curves of the scored joints, AUC in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    pck = document["pck"]
    thresholds = np.array(pck["thresholds_mm"])
    figure, axes = plt.subplots(figsize=(6, 4.5))
    for subset in ("all", "single", "interacting"):
        auc = pck[subset]["auc"]
        values = np.array([np.nan if v is None else v for v in pck[subset]["pck"]], dtype=float)
        label = f"{subset}, AUC " + ("-" if auc is None else f"{auc:.3f}")
        axes.plot(thresholds, values, label=label)
    axes.set_xlabel("threshold (mm)")
    axes.set_ylabel("fraction of joints within threshold")
    axes.set_ylim(0.0, 1.0)
    axes.set_xlim(thresholds[0], thresholds[-1])
    axes.set_title(f"3D PCK, protocol {document['protocol']}")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    _save_figure(figure, path)


def write_outputs(document: dict[str, Any], out: Path) -> list[Path]:
    """results.json and both plots in `out`, each complete or absent."""
    paths = [out / name for name in OUTPUT_NAMES]
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    write_atomically(paths[0], lambda p: p.write_text(text, encoding="utf-8"))
    plot_per_joint(document, paths[1])
    plot_pck(document, paths[2])
    return paths
