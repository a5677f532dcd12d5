"""The package's imports follow its map (shared/design/architecture.md): one way, no cycles.

Every import of every module counts, also the ones inside functions (a lazy
import is still a dependency). Each folder may import only the floors below
it; nothing outside `ros/` and `tools/` imports ROS; no two modules import
each other, directly or around a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "repehand_ros"

MAY_IMPORT: dict[str, set[str]] = {
    "hands": set(),
    "resources": set(),
    "image_limits": set(),
    "numpy_compat": set(),
    "mano": {"hands", "numpy_compat"},
    "model": {"hands", "numpy_compat"},
    "geometry": {"hands"},
    "detection": {"hands", "geometry", "resources"},
    "pipeline": {"hands", "geometry", "mano", "model", "detection", "resources", "io"},
    "io": {"hands", "geometry", "image_limits"},
    "data": {"hands", "geometry", "mano", "model", "io"},
    "training": {"hands", "geometry", "mano", "model", "data", "io"},
    "visualization": {"hands", "geometry", "mano", "pipeline", "resources", "io"},
    "teleop": {"hands", "pipeline"},
    "ros": {
        "hands",
        "resources",
        "image_limits",
        "mano",
        "model",
        "geometry",
        "detection",
        "pipeline",
        "io",
        "teleop",
        "msg",
    },
    "tools": {
        "hands",
        "resources",
        "image_limits",
        "mano",
        "model",
        "geometry",
        "detection",
        "pipeline",
        "io",
        "data",
        "training",
        "visualization",
        "teleop",
        "ros",
        "msg",
        "",
    },
    # The package's own __init__: the OpenCV limits, and the lazy HandReconstructor.
    "": {"image_limits", "pipeline"},
}
"""For each floor (a folder, or a module at the top), the floors it may import."""

ROS_PACKAGES = ("rclpy", "rosidl", "builtin_interfaces", "std_msgs", "sensor_msgs", "tf2_msgs")
ROS_FLOORS = {"ros", "tools"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every module name an import statement in `path` names (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {target for target in _imports(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def test_every_floor_is_on_the_map():
    floors = {_floor(name) for name in _modules()}
    assert floors - {"msg"} <= set(MAY_IMPORT), f"floors missing from MAY_IMPORT: {floors}"


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if _floor(target) != _floor(module) and _floor(target) not in MAY_IMPORT[_floor(module)]
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other around a loop (Tarjan's strongly
    connected components with more than one member)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return found


def test_no_import_runs_up_a_floor():
    assert upward_imports(_graph()) == []


def test_only_ros_and_tools_import_ros():
    leaks = sorted(
        f"{name} imports {target}"
        for name, path in _modules().items()
        if _floor(name) not in ROS_FLOORS
        for target in _imports(path)
        if target.split(".")[0] in ROS_PACKAGES or target.startswith("repehand_ros.msg")
    )
    assert leaks == []


def test_no_two_modules_import_each_other_even_around_a_loop():
    assert cycles(_graph()) == []


def test_the_checks_catch_what_they_should():
    """A made-up upward import and a made-up loop of three are found."""
    graph = {
        "repehand_ros.hands": {"repehand_ros.pipeline.results"},
        "repehand_ros.pipeline.results": {"repehand_ros.pipeline.a"},
        "repehand_ros.pipeline.a": {"repehand_ros.hands"},
    }
    assert upward_imports(graph) == ["repehand_ros.hands imports repehand_ros.pipeline.results"]
    assert cycles(graph) == [sorted(graph)]
