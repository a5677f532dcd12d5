"""The RViz configuration hands.launch.py opens: config/hands.rviz with the launch's names.

The template's image display, marker display and fixed frame are set to the image topic,
the hands node's marker topic and the camera frame the launch was started with; everything
else is kept as the template has it.

This module sits beside the launch file, which loads it from there, instead of in the
repehand_ros library: `ros2 launch` runs in the Python of the ROS 2 installation, which is
not always the one the library is installed for (the project's .venv). It needs PyYAML
only, which launch needs as well.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

# The hands node's name (hands.launch.py) and the topic its markers go out on (~/markers).
NODE_NAME = "hands"
MARKERS = "markers"
IMAGE_DISPLAY = "rviz_default_plugins/Image"
MARKER_DISPLAY = "rviz_default_plugins/MarkerArray"


def namespace_path(namespace: str) -> str:
    """A namespace as an absolute name: "", "/" -> "/"; "robot/", "/robot" -> "/robot"."""
    parts = [part for part in namespace.strip().split("/") if part]
    return "/" + "/".join(parts)


def join_names(*names: str) -> str:
    """Absolute names joined without doubled or trailing slashes: ("/", "a/") -> "/a"."""
    return namespace_path("/".join(names))


def resolve_topic(topic: str, namespace: str) -> str:
    """`topic` as the hands node in `namespace` resolves it (its remapping target).

    An absolute topic stays as it is, a relative one is in the namespace, and a private
    one (`~/name`) under the node.
    """
    topic = topic.strip()
    if topic in ("", "/", "~", "~/"):
        raise ValueError(f"'{topic}' is no topic name")
    if topic.startswith("/"):
        return join_names(topic)
    if topic.startswith("~"):
        return join_names(namespace, NODE_NAME, topic[1:])
    return join_names(namespace, topic)


def marker_topic(namespace: str) -> str:
    """The hands node's marker topic: /hands/markers, or /<namespace>/hands/markers."""
    return join_names(namespace, NODE_NAME, MARKERS)


def frame_id(frame: str) -> str:
    """A TF frame id as tf2 takes it: no leading slash (`/camera_link` -> `camera_link`)."""
    name = frame.strip().strip("/")
    if not name:
        raise ValueError("the camera frame is empty: give the frame_id of the camera's images")
    return name


def _display(displays: list[dict], class_name: str) -> dict:
    for display in displays:
        if display.get("Class") == class_name:
            return display
    raise ValueError(f"the RViz template has no {class_name} display")


def fixed_frame(template: str) -> str:
    """The fixed frame of the RViz configuration `template` (YAML text)."""
    return yaml.safe_load(template)["Visualization Manager"]["Global Options"]["Fixed Frame"]


def rviz_config(template: str, image_topic: str, namespace: str, camera_frame: str) -> dict:
    """The RViz configuration `template` (YAML text) with the launch's topics and frame.

    `image_topic` and `namespace` are the launch arguments `image` and `namespace`; the
    image display shows the topic the node subscribes to, the marker display the node's
    `~/markers`, and the fixed frame is `camera_frame`.
    """
    config = yaml.safe_load(template)
    manager = config["Visualization Manager"]
    _display(manager["Displays"], IMAGE_DISPLAY)["Topic"]["Value"] = resolve_topic(
        image_topic, namespace
    )
    _display(manager["Displays"], MARKER_DISPLAY)["Topic"]["Value"] = marker_topic(namespace)
    manager["Global Options"]["Fixed Frame"] = frame_id(camera_frame)
    return config


def write_rviz_config(
    template: Path,
    image_topic: str,
    namespace: str,
    camera_frame: str,
    directory: Path | None = None,
) -> Path:
    """Writes rviz_config() of the template file to a new file in `directory` (default: the
    temporary folder) and returns its path."""
    config = rviz_config(template.read_text(), image_topic, namespace, camera_frame)
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    handle, path = tempfile.mkstemp(prefix="repehand_ros-hands-", suffix=".rviz", dir=directory)
    with os.fdopen(handle, "w") as stream:
        stream.write(f"# Written by hands.launch.py from {template}.\n")
        stream.write(text)
    return Path(path)
