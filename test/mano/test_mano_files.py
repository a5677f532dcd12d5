from __future__ import annotations

import pickle

import numpy as np
import pytest
from fixtures.mano_files import (
    official_style_bytes,
    official_style_content,
    write_cleaned_mano_file,
)

from repehand_ros.mano.layer import (
    MANO_URL,
    ManoFileNotFoundError,
    find_mano_file,
    read_mano_arrays,
)
from repehand_ros.mano.safe_pickle import ManoFileError, load_mano_pickle


def test_official_style_file_loads_without_chumpy(mano_dir, mano_arrays):
    arrays = read_mano_arrays(mano_dir / "MANO_RIGHT.pkl")
    for key, value in arrays.items():
        assert type(value) is np.ndarray, key
        np.testing.assert_array_equal(value, mano_arrays["right"][key], err_msg=key)


def test_official_style_file_keeps_its_other_entries(mano_dir):
    content = load_mano_pickle(mano_dir / "MANO_LEFT.pkl")
    assert content["bs_style"] == "lbs"
    assert content["J"].shape == (16, 3)


def test_cleaned_file_loads_the_same(tmp_path, mano_arrays):
    path = write_cleaned_mano_file(tmp_path / "MANO_RIGHT.pkl", mano_arrays["right"])
    arrays = read_mano_arrays(path)
    for key, value in arrays.items():
        np.testing.assert_array_equal(value, mano_arrays["right"][key], err_msg=key)


class _RunsCode:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__file__ + '.ran').touch()",))


def test_a_pickle_naming_any_other_class_is_refused_before_running(tmp_path):
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps({"v_template": _RunsCode()}, protocol=2))
    with pytest.raises(ManoFileError, match=r"refusing to load (__builtin__|builtins)\.exec"):
        load_mano_pickle(path)
    assert not list(tmp_path.glob("*.ran"))


def test_truncated_file_is_refused(tmp_path, mano_arrays):
    data = official_style_bytes(official_style_content(mano_arrays["right"]))
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ManoFileError, match="truncated"):
        load_mano_pickle(path)


def test_a_pickle_without_mano_arrays_is_refused(tmp_path, mano_arrays):
    arrays = dict(mano_arrays["right"])
    arrays["shapedirs"] = arrays["shapedirs"][..., :5]
    path = write_cleaned_mano_file(tmp_path / "MANO_RIGHT.pkl", arrays)
    with pytest.raises(ManoFileError, match=r"'shapedirs' has shape \(778, 3, 5\)"):
        read_mano_arrays(path)
    arrays["shapedirs"] = mano_arrays["right"]["shapedirs"]
    del arrays["posedirs"]
    write_cleaned_mano_file(path, arrays)
    with pytest.raises(ManoFileError, match="no 'posedirs'"):
        read_mano_arrays(path)


@pytest.mark.parametrize("make_dir", [True, False])
def test_missing_file_names_file_folder_and_where_to_get_it(tmp_path, make_dir):
    folder = tmp_path / "mano_models"
    if make_dir:
        folder.mkdir()
    with pytest.raises(ManoFileNotFoundError) as error:
        find_mano_file(folder, "left")
    message = str(error.value)
    assert "MANO_LEFT.pkl" in message
    assert str(folder / "MANO_LEFT.pkl") in message
    assert MANO_URL in message
    assert ("folder does not exist" in message) != make_dir
