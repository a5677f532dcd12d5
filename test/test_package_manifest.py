"""package.xml is a valid format-3 manifest whose dependencies match the code."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from catkin_pkg.package import parse_package

REPO = Path(__file__).resolve().parents[1]

# Python modules with a rosdep key of a different name.
ROSDEP_KEYS = {
    "numpy": "python3-numpy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "tf_transformations": "tf_transformations",
    "cv_bridge": "cv_bridge",
}
# Optional, imported only where used and provided by the platform, not by rosdep or the
# lock: TensorRT comes with NVIDIA's JetPack (`repehand export --tensorrt`).
PLATFORM_PROVIDED = {"tensorrt"}
# Dependencies needed by the messages or at run time without being imported by name.
NOT_IMPORTED = {"std_msgs", "geometry_msgs", "rosidl_default_runtime"}


def imported_modules() -> set[str]:
    """Top-level names of every module the library imports, anywhere in a file."""
    names: set[str] = set()
    for path in (REPO / "repehand_ros").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"repehand_ros"}


def is_ros_package(name: str) -> bool:
    prefixes = [sys.prefix, *filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(":"))]
    return any(Path(prefix, "share", name, "package.xml").is_file() for prefix in prefixes)


def pip_requirements() -> set[str]:
    lines = (REPO / "requirements" / "requirements.in").read_text().splitlines()
    names = {line.split("#")[0].strip().split("==")[0].split("[")[0] for line in lines}
    return {name.lower().replace("-", "_") for name in names if name}


def test_package_xml_is_valid_format_3_with_ament_cmake():
    package = parse_package(str(REPO / "package.xml"))
    package.validate()
    assert package.package_format == 3
    assert package.name == "repehand_ros"
    assert package.get_build_type() == "ament_cmake"
    assert "rosidl_interface_packages" in [group.name for group in package.member_of_groups]


def test_every_import_is_declared_and_every_declaration_is_used():
    package = parse_package(str(REPO / "package.xml"))
    declared = {dep.name for dep in package.exec_depends + package.build_export_depends}
    needed: set[str] = set()
    undeclared = []
    for module in sorted(imported_modules()):
        if is_ros_package(module):
            needed.add(module)
        elif module in ROSDEP_KEYS:
            needed.add(ROSDEP_KEYS[module])
        elif module.lower() not in pip_requirements() | PLATFORM_PROVIDED:
            undeclared.append(module)
    assert undeclared == [], (
        f"imported but declared nowhere: {undeclared}; add a rosdep key to package.xml "
        "or the PyPI package to requirements/requirements.in"
    )
    assert needed - declared == set(), "imported but missing from package.xml"
    assert declared - needed - NOT_IMPORTED == set(), "declared in package.xml but never imported"
