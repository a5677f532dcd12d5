"""launch/hands.launch.py refers only to things that exist (launch itself is not installable here).

The file is read as Python source: every launch argument it uses is declared,
the executable and files it names are installed by the package, and the
parameters it sets are parameters the node declares. The RViz configuration it
writes (launch/rviz_config.py) names the launch's topics and frame, and the
file runs with a stand-in for launch that records what it would start.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

import ament_index_python.packages
import pytest
import yaml

from repehand_ros.ros.parameters import BY_NAME

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch" / "hands.launch.py"
TEMPLATE = REPO / "config" / "hands.rviz"


def load(path: Path, name: str) -> types.ModuleType:
    """A file of launch/ as a module, as hands.launch.py loads rviz_config.py."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rviz_config = load(REPO / "launch" / "rviz_config.py", "repehand_ros_rviz_config")


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == name
    ]


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_every_launch_argument_used_is_declared():
    tree = ast.parse(LAUNCH.read_text())
    declared = {call.args[0].value for call in calls(tree, "DeclareLaunchArgument")}
    used = {call.args[0].value for call in calls(tree, "LaunchConfiguration")}
    assert used <= declared, f"undeclared launch arguments: {used - declared}"
    assert {
        "params_file",
        "namespace",
        "image",
        "camera_info",
        "autostart",
        "camera_frame",
        "rviz",
    } <= declared


def test_the_node_it_starts_is_installed_with_the_parameters_it_sets():
    tree = ast.parse(LAUNCH.read_text())
    (node,) = calls(tree, "LifecycleNode")
    assert keyword(node, "package").value == "repehand_ros"
    executable = keyword(node, "executable").value
    assert (REPO / "scripts" / executable).is_file()
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert re.search(
        rf"install\(PROGRAMS[^)]*scripts/{executable}[^)]*lib/\$\{{PROJECT_NAME\}}", cmake
    )
    for dictionary in (n for n in ast.walk(keyword(node, "parameters")) if isinstance(n, ast.Dict)):
        for key in dictionary.keys:
            assert key.value in BY_NAME, f"launch sets undeclared parameter {key.value}"
    remapped = {pair.elts[0].value for pair in keyword(node, "remappings").elts}
    assert remapped == {
        BY_NAME["image_topic"].default,
        BY_NAME["image_topic"].default + "/compressed",
        BY_NAME["camera_info_topic"].default,
    }


def test_files_it_names_are_shipped_and_installed():
    source = LAUNCH.read_text()
    for name in re.findall(r'"config"\s*/\s*"([^"]+)"', source):
        assert (REPO / "config" / name).is_file(), name
    assert (
        "install(DIRECTORY launch config DESTINATION share/${PROJECT_NAME}"
        in (REPO / "CMakeLists.txt").read_text()
    )


def displayed(config: dict) -> tuple[str, str, str]:
    """(image topic, marker topic, fixed frame) of an RViz configuration."""
    manager = config["Visualization Manager"]
    topics = {d["Class"]: d.get("Topic", {}).get("Value") for d in manager["Displays"]}
    return (
        topics["rviz_default_plugins/Image"],
        topics["rviz_default_plugins/MarkerArray"],
        manager["Global Options"]["Fixed Frame"],
    )


def test_the_template_shows_the_defaults_of_the_launch_arguments():
    template = TEMPLATE.read_text()
    assert displayed(yaml.safe_load(template)) == (
        "/image",
        "/hands/markers",
        "camera_color_optical_frame",
    )
    config = rviz_config.rviz_config(template, "image", "", rviz_config.fixed_frame(template))
    assert config == yaml.safe_load(template)


@pytest.mark.parametrize(
    ("image", "namespace", "frame", "expected"),
    [
        (
            "/camera/color/image_raw",
            "",
            "camera_color_optical_frame",
            ("/camera/color/image_raw", "/hands/markers", "camera_color_optical_frame"),
        ),
        (
            "/camera/color/image_raw/",
            "/robot/",
            "/head_camera_optical",
            ("/camera/color/image_raw", "/robot/hands/markers", "head_camera_optical"),
        ),
        ("image", "robot", "cam", ("/robot/image", "/robot/hands/markers", "cam")),
        (
            "camera/image_raw",
            "robot/left/",
            "left_cam_optical",
            ("/robot/left/camera/image_raw", "/robot/left/hands/markers", "left_cam_optical"),
        ),
        ("~/image", "/", "cam", ("/hands/image", "/hands/markers", "cam")),
        ("~/image", "ns", "cam", ("/ns/hands/image", "/ns/hands/markers", "cam")),
    ],
)
def test_rviz_shows_the_launch_image_the_namespaced_markers_and_the_camera_frame(
    image, namespace, frame, expected, tmp_path
):
    path = rviz_config.write_rviz_config(TEMPLATE, image, namespace, frame, directory=tmp_path)
    assert path.parent == tmp_path and path.suffix == ".rviz"
    config = yaml.safe_load(path.read_text())
    assert displayed(config) == expected
    # Everything else is the template's.
    template = yaml.safe_load(TEMPLATE.read_text())
    image_topic, marker_topic, fixed_frame = displayed(template)
    restore = {
        "rviz_default_plugins/Image": image_topic,
        "rviz_default_plugins/MarkerArray": marker_topic,
    }
    manager = config["Visualization Manager"]
    for display in manager["Displays"]:
        if display["Class"] in restore:
            display["Topic"]["Value"] = restore[display["Class"]]
    manager["Global Options"]["Fixed Frame"] = fixed_frame
    assert config == template


@pytest.mark.parametrize(("image", "frame"), [("", "cam"), ("/", "cam"), ("image", " / ")])
def test_no_topic_or_no_frame_is_refused(image, frame):
    with pytest.raises(ValueError):
        rviz_config.rviz_config(TEMPLATE.read_text(), image, "", frame)


class Recorded:
    """A stand-in for a launch class: keeps what it was given."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


class StandInLaunchConfiguration(Recorded):
    def perform(self, context: types.SimpleNamespace) -> str:
        return context.launch_configurations[self.args[0]]


def stand_in_launch(monkeypatch) -> None:
    """`launch` and `launch_ros` as modules whose classes only record their arguments."""
    classes = {
        "launch": ["LaunchContext", "LaunchDescription"],
        "launch.actions": ["DeclareLaunchArgument", "OpaqueFunction"],
        "launch.conditions": ["IfCondition"],
        "launch.substitutions": [],
        "launch_ros": [],
        "launch_ros.actions": ["LifecycleNode", "Node"],
        "launch_ros.parameter_descriptions": ["ParameterValue"],
    }
    for module_name, names in classes.items():
        module = types.ModuleType(module_name)
        for name in names:
            setattr(module, name, type(name, (Recorded,), {}))
        monkeypatch.setitem(sys.modules, module_name, module)
    sys.modules["launch.substitutions"].LaunchConfiguration = StandInLaunchConfiguration
    # The source tree's launch/ and config/ as the installed share/repehand_ros.
    monkeypatch.setattr(ament_index_python.packages, "get_package_share_directory", lambda _: REPO)


def test_with_a_stand_in_for_launch_rviz_opens_the_config_of_the_launch_arguments(
    monkeypatch, tmp_path
):
    stand_in_launch(monkeypatch)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    description = load(LAUNCH, "hands_launch").generate_launch_description()
    (entities,) = description.args
    defaults = {
        entity.args[0]: entity.kwargs["default_value"]
        for entity in entities
        if type(entity).__name__ == "DeclareLaunchArgument"
    }
    assert defaults["camera_frame"] == "camera_color_optical_frame"
    (rviz,) = [entity for entity in entities if type(entity).__name__ == "OpaqueFunction"]
    assert rviz.kwargs["condition"].args[0].args == ("rviz",)
    given = {"image": "/camera/color/image_raw", "namespace": "left", "camera_frame": "cam"}
    context = types.SimpleNamespace(launch_configurations={**defaults, **given})
    (node,) = rviz.kwargs["function"](context, *rviz.kwargs["args"])
    assert (node.kwargs["package"], node.kwargs["executable"]) == ("rviz2", "rviz2")
    option, path = node.kwargs["arguments"]
    assert option == "-d" and Path(path).parent == tmp_path
    config = yaml.safe_load(Path(path).read_text())
    assert displayed(config) == ("/camera/color/image_raw", "/left/hands/markers", "cam")
