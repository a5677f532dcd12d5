"""The one place that decides what runs: RepeHand (on PyTorch, ONNX Runtime or TensorRT) or
MediaPipe's keypoints, and says why.

RepeHand needs two things a script cannot download: the authors' checkpoint and
the MANO files. Backend "auto" runs RepeHand when both are there and the
keypoint backend otherwise, naming the files that would switch RepeHand on;
an explicit RepeHand backend without them is an error naming them. Callers
(the node, the commands) phrase the files' settings their own way (a node
parameter, a command option): `MissingFile.setting` is the config field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from repehand_ros.pipeline.config import (
    AUTO_BACKEND,
    KEYPOINT_BACKEND,
    NETWORK_BACKENDS,
    ReconstructorConfig,
)

MANO_URL = "https://mano.is.tue.mpg.de"
WHERE_TO_GET_THEM = (
    "get the RepeHand checkpoint as weights/README.md describes (the RepeHand authors' "
    f"published snapshots) and MANO_RIGHT.pkl and MANO_LEFT.pkl from {MANO_URL} (free "
    "registration, 'Models & Code')"
)
MANO_FILE_NAMES: tuple[str, str] = ("MANO_RIGHT.pkl", "MANO_LEFT.pkl")
ONNX_BACKENDS: tuple[str, ...] = ("onnxruntime", "tensorrt")
"""The backends that can run an exported network file instead of a checkpoint."""


@dataclass(frozen=True)
class MissingFile:
    """A file RepeHand needs that is not there.

    Attributes:
        setting: the ReconstructorConfig field that names it ("checkpoint", "onnx_file" or
            "mano_dir").
        path: where it was looked for; None for a checkpoint that was not named at all.
    """

    setting: str
    path: Path | None


@dataclass(frozen=True)
class BackendChoice:
    """What runs, what it gives, and why.

    Attributes:
        backend: one of NETWORK_BACKENDS or KEYPOINT_BACKEND.
        gives_mesh: True for RepeHand (the MANO mesh and its faces, and MANO parameters);
            False for keypoints (21 joints per hand, no mesh).
        reason: one sentence, for the log.
        missing: for the keypoint fallback of "auto", the files that would switch on RepeHand.
    """

    backend: str
    gives_mesh: bool
    reason: str
    missing: tuple[MissingFile, ...] = ()

    def applied_to(self, config: ReconstructorConfig) -> ReconstructorConfig:
        """`config` with this choice's backend in place of "auto"."""
        return replace(config, backend=self.backend)


class MissingModelFilesError(FileNotFoundError):
    """A RepeHand backend was asked for, but its checkpoint or MANO files are not there."""

    def __init__(self, missing: tuple[MissingFile, ...]) -> None:
        listed = "; ".join(describe(file) for file in missing)
        if any(file.path is None for file in missing):
            listed += " (or allow random weights, which only test the plumbing)"
        super().__init__(f"RepeHand's files are missing: {listed}; {WHERE_TO_GET_THEM}")
        self.missing = missing


def describe(file: MissingFile) -> str:
    """One line for a missing file, without the setting's name (callers add theirs)."""
    if file.path is None:
        return "no checkpoint was named"
    if file.setting == "checkpoint":
        return f"checkpoint file not found: {file.path}"
    if file.setting == "onnx_file":
        return f"ONNX file not found: {file.path} (write one with repehand export)"
    return f"MANO model file not found: {file.path}"


def missing_files(config: ReconstructorConfig) -> tuple[MissingFile, ...]:
    """RepeHand's files that are not where `config` says (an unnamed checkpoint counts as
    missing unless random weights are allowed; an ONNX Runtime backend given an exported
    network needs that file instead of a checkpoint)."""
    missing = []
    if config.backend in ONNX_BACKENDS and config.onnx_file is not None:
        # The network comes from the exported file: no checkpoint is read.
        if not config.onnx_file.is_file():
            missing.append(MissingFile("onnx_file", config.onnx_file.absolute()))
    elif config.checkpoint is not None:
        if not config.checkpoint.is_file():
            missing.append(MissingFile("checkpoint", config.checkpoint.absolute()))
    elif not config.allow_random_weights:
        missing.append(MissingFile("checkpoint", None))
    mano_dir = config.mano_dir.absolute()
    missing += [
        MissingFile("mano_dir", mano_dir / name)
        for name in MANO_FILE_NAMES
        if not (mano_dir / name).is_file()
    ]
    return tuple(missing)


def explain_fallback(choice: BackendChoice) -> str:
    """The log line for "auto" falling back to keypoints: what runs, what is missing and
    where to get it."""
    listed = "; ".join(describe(file) for file in choice.missing)
    return f"{choice.reason}. Missing: {listed}. To run RepeHand, {WHERE_TO_GET_THEM}"


def choose_backend(config: ReconstructorConfig) -> BackendChoice:
    """The backend `config` runs; MissingModelFilesError for an explicit RepeHand backend
    whose files are not there (no checkpoint counts as missing unless random weights are
    allowed)."""
    if config.backend == KEYPOINT_BACKEND:
        return BackendChoice(
            KEYPOINT_BACKEND, False, "backend keypoints: MediaPipe's landmarks, no mesh"
        )
    missing = missing_files(config)
    if config.backend == AUTO_BACKEND:
        if missing:
            return BackendChoice(
                KEYPOINT_BACKEND,
                False,
                "RepeHand's files are missing, so the keypoint backend runs: MediaPipe's "
                "hand landmarks, 21 metric joints per hand, but no hand mesh",
                missing,
            )
        weights = "random weights" if config.checkpoint is None else str(config.checkpoint)
        return BackendChoice("torch", True, f"RepeHand on PyTorch ({weights})")
    assert config.backend in NETWORK_BACKENDS
    if missing:
        raise MissingModelFilesError(missing)
    return BackendChoice(config.backend, True, f"RepeHand on backend {config.backend}")
