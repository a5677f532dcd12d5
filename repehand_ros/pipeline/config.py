"""What a HandReconstructor is built from, and the names of the backends it can run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from repehand_ros.detection import DetectionConfig
from repehand_ros.model.variants import check_input_size, get_variant
from repehand_ros.pipeline.smoothing import SmoothingConfig, check_smoothing

AUTO_BACKEND = "auto"
"""RepeHand on PyTorch when its checkpoint and MANO files are there, otherwise keypoints."""
NETWORK_BACKENDS: tuple[str, ...] = ("torch", "onnxruntime", "tensorrt")
"""RepeHand on PyTorch, on ONNX Runtime, on ONNX Runtime's TensorRT provider."""
KEYPOINT_BACKEND = "keypoints"
"""MediaPipe's metric landmarks: joints, no mesh, no weights needed."""
BACKENDS: tuple[str, ...] = (AUTO_BACKEND, *NETWORK_BACKENDS, KEYPOINT_BACKEND)
"""Every value `ReconstructorConfig.backend` (and the commands' --backend) takes."""

DEFAULT_CACHE_DIR = Path("~/.cache/repehand_ros").expanduser()


@dataclass(frozen=True)
class ReconstructorConfig:
    """Everything a HandReconstructor is built from (node parameters map onto it)."""

    mano_dir: Path = Path("weights/mano")
    """Folder holding MANO_RIGHT.pkl and MANO_LEFT.pkl."""
    checkpoint: Path | None = None
    """RepeHand checkpoint (official snapshot or this project's); None: random weights, if
    allowed."""
    allow_random_weights: bool = False
    """Without a checkpoint, whether RepeHand may run on random weights (for testing the
    plumbing only: the hands are meaningless); otherwise a missing checkpoint is an error
    (or, with backend "auto", the keypoint backend runs)."""
    variant: str | None = None
    """Network size; None: the checkpoint's (5m with random weights). A value that
    disagrees with the checkpoint is an error."""
    input_size: int | None = None
    """Crop size in pixels; None: the checkpoint's (224 with random weights). A value that
    disagrees with the checkpoint is an error."""
    device: str = "auto"
    """"auto" (CUDA when available), "cpu" or "cuda"."""
    backend: str = "torch"
    """One of BACKENDS: "torch", "onnxruntime" or "tensorrt" (ONNX Runtime's TensorRT
    provider); "keypoints": MediaPipe's landmarks, no network and no MANO (mano_dir,
    checkpoint, variant, device, fp16 and onnx_file are then unused); "auto": the pipeline
    chooses (`repehand_ros.pipeline.choice.choose_backend`)."""
    fp16: bool = False
    """Half precision, PyTorch on CUDA only."""
    onnx_file: Path | None = None
    """An exported network for the ONNX Runtime backends; None: export once into cache_dir."""
    cache_dir: Path = DEFAULT_CACHE_DIR
    min_confidence: float = 0.3
    """Hands below this confidence are reported invalid."""
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.variant is not None:
            get_variant(self.variant)
        if self.input_size is not None:
            check_input_size(self.input_size)
        for name in ("mano_dir", "checkpoint", "onnx_file", "cache_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).expanduser())


@dataclass(frozen=True)
class LiveSettings:
    """The part of a ReconstructorConfig that a running HandReconstructor changes between
    frames (`HandReconstructor.update_live_settings`): thresholds, tracking, mirroring and
    smoothing. The rest (files, backend, device, which finder runs) is chosen when the
    reconstructor is built and needs a new one. Checked when made: ValueError names a
    setting out of its range."""

    min_confidence: float = 0.3
    """Hands below this confidence are reported invalid."""
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    mirrored: bool = False
    """DetectionConfig.mirrored: which hand is which for the detector."""
    tracking: bool = True
    """DetectionConfig.tracking."""
    redetect_interval: int = 30
    """DetectionConfig.redetect_interval."""
    min_detection_confidence: float = 0.5
    """DetectionConfig.min_detection_confidence: the detector's threshold."""

    def __post_init__(self) -> None:
        for name in ("min_confidence", "min_detection_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.redetect_interval < 1:
            raise ValueError(f"redetect_interval must be at least 1, got {self.redetect_interval}")
        check_smoothing(self.smoothing)

    @classmethod
    def of(cls, config: ReconstructorConfig) -> LiveSettings:
        """The live settings `config` holds."""
        detection = config.detection
        return cls(
            min_confidence=config.min_confidence,
            smoothing=config.smoothing,
            mirrored=detection.mirrored,
            tracking=detection.tracking,
            redetect_interval=detection.redetect_interval,
            min_detection_confidence=detection.min_detection_confidence,
        )

    def applied_to(self, config: ReconstructorConfig) -> ReconstructorConfig:
        """`config` with these settings in place of its own (checked as a new config is)."""
        return dataclasses.replace(
            config,
            min_confidence=self.min_confidence,
            smoothing=self.smoothing,
            detection=dataclasses.replace(
                config.detection,
                mirrored=self.mirrored,
                tracking=self.tracking,
                redetect_interval=self.redetect_interval,
                min_detection_confidence=self.min_detection_confidence,
            ),
        )
