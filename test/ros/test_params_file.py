"""One reader of the node's parameter files: flat dotted names, every value checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from repehand_ros.ros.parameters import PARAMETERS, read_params_file

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_file_gives_every_declared_parameter():
    values = read_params_file(REPO / "config" / "hands.yaml")
    assert set(values) == {p.name for p in PARAMETERS if p.default is not None}
    assert values["detection.mode"] == "detector"


def test_nested_and_dotted_names_alike_in_the_only_node_section(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(
        "/hands:\n  ros__parameters:\n    detection:\n      mode: roi\n"
        "      roi: [1.0, 2.0, 30.0, 40.0]\n    smoothing.beta: 5.0\n"
    )
    assert read_params_file(path) == {
        "detection.mode": "roi",
        "detection.roi": [1.0, 2.0, 30.0, 40.0],
        "smoothing.beta": 5.0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/**:\n  ros__parameters:\n    backend: nonsense\n", "'backend' must be one of"),
        ("/**:\n  ros__parameters:\n    no_such_thing: 1\n", "unknown parameter"),
        ("a: 1\nb: 2\n", "no '/\\*\\*' section"),
        ("/**: [1, 2\n", "not a parameter YAML file"),
    ],
)
def test_a_bad_file_is_refused_by_name(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as caught:
        read_params_file(path)
    assert str(path) in str(caught.value)
