"""repehand_ros: both hands as 3D MANO meshes from one camera image (RepeHand).

The library is ROS-free below `repehand_ros.ros`. The generated ROS messages
(`repehand_ros.msg`) may be installed in another directory than this source
tree (the project's .venv builds them with CMake; a colcon workspace installs
both together), so the package path is extended to every `repehand_ros`
folder on sys.path.
"""

from pkgutil import extend_path

from repehand_ros.image_limits import limit_opencv_decoders

# Before any module of the package loads OpenCV, which reads its limits only then.
limit_opencv_decoders()

__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"

_LAZY = {
    "HandReconstructor": "repehand_ros.pipeline.reconstructor",
    "ReconstructorConfig": "repehand_ros.pipeline.config",
}


def __getattr__(name: str):
    """`from repehand_ros import HandReconstructor` without loading torch for message users."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
