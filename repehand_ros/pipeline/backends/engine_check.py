"""The millimetre check of an engine: its hands against the fp32 network's on MANO.

Every engine is checked against the network in fp32 when it is built, in millimetres on
the MANO joints (`check_engine`), and refused above `MAX_JOINT_DEVIATION_MM`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from repehand_ros.model.outputs import OUTPUT_NAMES

if TYPE_CHECKING:
    from repehand_ros.mano.layer import ManoPair

MAX_JOINT_DEVIATION_MM = 2.0
"""The most an engine may move any MANO joint (and the two wrists' offset) from the fp32
network, millimetres. A quarter of the network's own error (7.94 mm MPJPE on
InterHand2.6M) and well under the raw frame-to-frame jitter on footage (5.8 mm RMS), so
an engine within it changes nothing a user can see; a numerical fault (a 16-bit overflow
in a normalisation or a softmax, a layer TensorRT got wrong) moves joints by centimetres,
and is refused."""

ENGINE_CHECK_FILE = "repehand-check.json"
"""In an ONNX Runtime TensorRT cache folder: the check of the engine built there."""


@dataclass(frozen=True)
class EngineCheck:
    """How far an engine's hands are from the fp32 network's on the same crops.

    Attributes:
        what: the engine, e.g. "tensorrt-fp16".
        reference: what it was compared with, e.g. "PyTorch fp32 (CPU)".
        batches: the batch sizes run (each engine takes 1 and 2 crops).
        max_joint_mm: the largest distance of any of the 21 MANO joints of either hand
            (wrist-relative, as the network's pose and shape give them), millimetres.
        mean_joint_mm: the mean of those distances.
        max_relative_translation_mm: the largest change of the left wrist's offset from
            the right one (the network's relative translation), millimetres.
        bound_mm: the most either maximum may be.
        output_differences: the largest absolute difference of each raw output.
    """

    what: str
    reference: str
    batches: tuple[int, ...]
    max_joint_mm: float
    mean_joint_mm: float
    max_relative_translation_mm: float
    bound_mm: float
    output_differences: dict[str, float]

    @property
    def passed(self) -> bool:
        worst = max(self.max_joint_mm, self.max_relative_translation_mm)
        return math.isfinite(worst) and worst <= self.bound_mm

    def describe(self) -> str:
        return (
            f"{self.what} against {self.reference}: MANO joints within {self.max_joint_mm:.3f} "
            f"mm (mean {self.mean_joint_mm:.3f} mm), relative translation within "
            f"{self.max_relative_translation_mm:.3f} mm (bound {self.bound_mm:g} mm)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "batches": list(self.batches), "passed": self.passed}


def mano_joints(outputs: Mapping[str, np.ndarray], mano: ManoPair) -> np.ndarray:
    """(2, B, 21, 3) right then left hand's wrist-relative MANO joints, metres, from the
    network's pose and shape outputs."""
    import torch

    joints = []
    with torch.inference_mode():
        for hand in ("right", "left"):
            layer = getattr(mano, hand)
            mesh = layer(
                *(
                    torch.from_numpy(np.asarray(outputs[f"{hand}_{name}"], dtype=np.float32))
                    for name in ("root_pose", "hand_pose", "shape")
                )
            )
            joints.append(mesh.joints.double().numpy())
    return np.stack(joints)


def compare_on_mano(
    got: Mapping[str, np.ndarray],
    want: Mapping[str, np.ndarray],
    mano: ManoPair,
    what: str,
    reference: str,
    bound_mm: float = MAX_JOINT_DEVIATION_MM,
    batches: tuple[int, ...] = (),
) -> EngineCheck:
    """`got`'s hands against `want`'s (the network's outputs on the same crops) in millimetres."""
    distances = 1e3 * np.linalg.norm(mano_joints(got, mano) - mano_joints(want, mano), axis=-1)
    relative = 1e3 * np.linalg.norm(
        np.asarray(got["relative_translation"], np.float64)
        - np.asarray(want["relative_translation"], np.float64),
        axis=-1,
    )
    differences = {
        name: float(np.max(np.abs(np.asarray(got[name]) - np.asarray(want[name]))))
        for name in OUTPUT_NAMES
    }
    return EngineCheck(
        what=what,
        reference=reference,
        batches=batches,
        max_joint_mm=float(np.max(distances)),
        mean_joint_mm=float(np.mean(distances)),
        max_relative_translation_mm=float(np.max(relative)),
        bound_mm=bound_mm,
        output_differences=differences,
    )


def check_engine(
    run: Callable[[np.ndarray], Mapping[str, np.ndarray]],
    reference: Callable[[np.ndarray], Mapping[str, np.ndarray]],
    input_size: int,
    mano: ManoPair,
    what: str,
    reference_name: str,
    bound_mm: float = MAX_JOINT_DEVIATION_MM,
    batches: tuple[int, ...] = (2, 1),
) -> EngineCheck:
    """Runs an engine (`run`: crops to named outputs) and the fp32 `reference` on the same
    random crops, at each of `batches`, and compares their hands on MANO
    (`compare_on_mano`). Returns the check; ExportCheckError when it is above `bound_mm`."""
    from repehand_ros.model.onnx_export import ExportCheckError, check_images

    images = check_images(input_size, max(batches)).numpy()
    got: dict[str, list[np.ndarray]] = {name: [] for name in OUTPUT_NAMES}
    want: dict[str, list[np.ndarray]] = {name: [] for name in OUTPUT_NAMES}
    for batch in batches:
        crops = np.ascontiguousarray(images[:batch])
        for collected, outputs in ((got, run(crops)), (want, reference(crops))):
            for name in OUTPUT_NAMES:
                collected[name].append(np.asarray(outputs[name], dtype=np.float32))
    check = compare_on_mano(
        {name: np.concatenate(values) for name, values in got.items()},
        {name: np.concatenate(values) for name, values in want.items()},
        mano,
        what,
        reference_name,
        bound_mm,
        tuple(batches),
    )
    if not check.passed:
        raise ExportCheckError(f"{check.describe()}: above the bound, refused")
    return check
