"""What a HandReconstructor is built from, and the names of the backends it can run."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from repehand_ros.detection import DetectionConfig
from repehand_ros.geometry.depth_fusion import DepthFusionSettings
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

DEFAULT_DEPTH_HOLD_S = 0.5
"""How long a hand's last correction from depth is applied again while the fit falls back,
seconds: a few frames of flicker (a hand passing an edge, a frame without depth) do not
make the hand jump, and the hand is no longer where it was after half a second of moving."""


def check_depth_hold(hold_s: float) -> None:
    """ValueError unless `hold_s` (seconds) is a number >= 0."""
    if not (isinstance(hold_s, int | float) and math.isfinite(hold_s) and hold_s >= 0):
        raise ValueError(f"depth_hold_s must be a number of seconds >= 0, got {hold_s!r}")


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
    """Half precision: PyTorch on CUDA (autocast), or ONNX Runtime's TensorRT provider (an fp16
    engine, layer normalisation kept in fp32). A serialized engine's precision is its own."""
    cuda_graphs: bool = False
    """PyTorch on CUDA: replay the network as captured CUDA graphs (one per batch size). Off by
    default: whether it pays depends on the GPU and CPU (bench/gpu_check.sh measures it)."""
    torch_compile: bool = False
    """PyTorch: run the network through torch.compile, compiled for batches of 1 and 2 crops
    when the backend is made (minutes). Off by default, as cuda_graphs."""
    onnx_file: Path | None = None
    """An exported network for the ONNX Runtime backends; None: export once into cache_dir."""
    cache_dir: Path = DEFAULT_CACHE_DIR
    min_confidence: float = 0.3
    """Hands below this confidence are reported invalid."""
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    depth_fusion: DepthFusionSettings = field(default_factory=DepthFusionSettings)
    """How a registered depth image, when `reconstruct` is given one, corrects the hands."""
    depth_hold_s: float = DEFAULT_DEPTH_HOLD_S
    """Seconds a hand's last correction from depth is applied again on frames where the fit
    falls back (0: never); see pipeline.depth_hands."""

    def __post_init__(self) -> None:
        check_depth_hold(self.depth_hold_s)
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
    frames (`HandReconstructor.update_live_settings`): thresholds, tracking, mirroring,
    smoothing and depth fusion. The rest (files, backend, device, which finder runs) is
    chosen when the reconstructor is built and needs a new one. Checked when made:
    ValueError names a setting out of its range."""

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
    depth_fusion: DepthFusionSettings = field(default_factory=DepthFusionSettings)
    """ReconstructorConfig.depth_fusion."""
    depth_hold_s: float = DEFAULT_DEPTH_HOLD_S
    """ReconstructorConfig.depth_hold_s."""

    def __post_init__(self) -> None:
        check_depth_hold(self.depth_hold_s)
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
            depth_fusion=config.depth_fusion,
            depth_hold_s=config.depth_hold_s,
        )

    def applied_to(self, config: ReconstructorConfig) -> ReconstructorConfig:
        """`config` with these settings in place of its own (checked as a new config is)."""
        return dataclasses.replace(
            config,
            min_confidence=self.min_confidence,
            smoothing=self.smoothing,
            depth_fusion=self.depth_fusion,
            depth_hold_s=self.depth_hold_s,
            detection=dataclasses.replace(
                config.detection,
                mirrored=self.mirrored,
                tracking=self.tracking,
                redetect_interval=self.redetect_interval,
                min_detection_confidence=self.min_detection_confidence,
            ),
        )
