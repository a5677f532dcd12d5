"""The RepeHand network: construction, strict checkpoint loading, ONNX export."""

from repehand_ros.model.checkpoint import CheckpointError, load_model, save_checkpoint
from repehand_ros.model.network import ModelInputError, RepeHandNet
from repehand_ros.model.outputs import HandPrediction, RepeHandOutput

__all__ = [
    "CheckpointError",
    "HandPrediction",
    "ModelInputError",
    "RepeHandNet",
    "RepeHandOutput",
    "load_model",
    "save_checkpoint",
]
