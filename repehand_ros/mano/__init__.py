"""MANO hand model: reading MANO files safely, the MANO layer, the 21 joints."""

from repehand_ros.mano.layer import (
    MANO_URL,
    ManoFileNotFoundError,
    ManoHand,
    ManoHandOutput,
    ManoPair,
    find_mano_file,
    read_mano_arrays,
)
from repehand_ros.mano.safe_pickle import ManoFileError, load_mano_pickle

__all__ = [
    "MANO_URL",
    "ManoFileError",
    "ManoFileNotFoundError",
    "ManoHand",
    "ManoHandOutput",
    "ManoPair",
    "find_mano_file",
    "load_mano_pickle",
    "read_mano_arrays",
]
