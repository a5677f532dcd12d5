"""Training RepeHand as the paper does: losses, augmentation, and the (DDP-capable) trainer."""

from repehand_ros.training.augmentation import (
    AugmentationConfig,
    TrainingRecord,
    flip_sample,
    make_training_sample,
    mirror_mano_pose,
)
from repehand_ros.training.losses import LOSS_WEIGHTS, compute_losses
from repehand_ros.training.trainer import (
    ConfigError,
    TrainConfig,
    TrainingStateError,
    load_config,
    train,
)

__all__ = [
    "LOSS_WEIGHTS",
    "AugmentationConfig",
    "ConfigError",
    "TrainConfig",
    "TrainingRecord",
    "TrainingStateError",
    "compute_losses",
    "flip_sample",
    "load_config",
    "make_training_sample",
    "mirror_mano_pose",
    "train",
]
