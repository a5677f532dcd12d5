"""launch/hands.launch.py refers only to things that exist (launch itself is not installable here).

The file is read as Python source: every launch argument it uses is declared,
the executable and files it names are installed by the package, and the
parameters it sets are parameters the node declares.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from repehand_ros.ros.parameters import BY_NAME

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch" / "hands.launch.py"


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
    assert {"params_file", "namespace", "image", "camera_info", "autostart", "rviz"} <= declared


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
