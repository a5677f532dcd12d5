"""The README stays true: its map names every package folder, its tables every parameter."""

from __future__ import annotations

from pathlib import Path

from repehand_ros.ros.parameters import PARAMETERS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_layout_names_every_package_folder():
    folders = [p.name for p in (REPO / "repehand_ros").iterdir() if (p / "__init__.py").exists()]
    missing = [name for name in folders if f"`repehand_ros/{name}/`" not in README]
    assert missing == []


def test_every_node_parameter_is_in_the_readme():
    assert [p.name for p in PARAMETERS if f"`{p.name}`" not in README] == []


def test_the_two_commands_are_the_ones_ci_runs():
    assert "./run.sh" in README and "./test.sh" in README
    assert "exec ./test.sh" in (REPO / ".ci" / "run").read_text()


def test_the_readme_says_when_each_node_parameter_takes_effect():
    applies = {}
    for line in README.splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if len(cells) == 4 and cells[0].strip("`") in {p.name for p in PARAMETERS}:
            applies[cells[0].strip("`")] = cells[2]
    assert applies == {p.name: p.applies for p in PARAMETERS}
