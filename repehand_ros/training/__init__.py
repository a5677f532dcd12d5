"""Training RepeHand as the official code does: losses, augmentation, initialisation, trainer."""

from repehand_ros.training.augmentation import (
    AugmentationConfig,
    TrainingRecord,
    make_training_sample,
    mirror_mano_pose,
)
from repehand_ros.training.checkpoints import TrainingStateError
from repehand_ros.training.config import ConfigError, TrainConfig, load_config
from repehand_ros.training.initialisation import (
    TIMM_HUB,
    BackboneWeightsError,
    initialise_heads,
    load_imagenet_backbone,
)
from repehand_ros.training.interhand_records import InterHandRecords, record_from_interhand
from repehand_ros.training.losses import LOSS_WEIGHTS, Losses, compute_losses
from repehand_ros.training.trainer import TrainingDivergedError, train

__all__ = [
    "LOSS_WEIGHTS",
    "TIMM_HUB",
    "AugmentationConfig",
    "BackboneWeightsError",
    "ConfigError",
    "InterHandRecords",
    "Losses",
    "TrainConfig",
    "TrainingDivergedError",
    "TrainingRecord",
    "TrainingStateError",
    "compute_losses",
    "initialise_heads",
    "load_config",
    "load_imagenet_backbone",
    "make_training_sample",
    "mirror_mano_pose",
    "record_from_interhand",
    "train",
]
