"""Reading official MANO pickles without chumpy and without running arbitrary code.

The official `MANO_RIGHT.pkl` / `MANO_LEFT.pkl` are Python 2 pickles holding
numpy arrays, a scipy sparse joint regressor and chumpy objects (`Ch` leaves
and a `Select` reordering for the shape directions). chumpy does not import
on Python 3.11 / NumPy 2, and a pickle is a program: a restricted unpickler
admits only the globals such files contain, maps chumpy and scipy classes to
inert stand-ins that merely record their state, and turns those into plain
numpy arrays afterwards. Already-cleaned files (plain arrays) load the same way.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.numpy_compat import numpy_core

# The official files name numpy.core (NumPy 1); NumPy 2 moved these to numpy._core.
_numpy_reconstruct = numpy_core("multiarray")._reconstruct
_numpy_scalar = numpy_core("multiarray").scalar
_numpy_frombuffer = numpy_core("numeric")._frombuffer


class ManoFileError(ValueError):
    """A MANO file that cannot be read or does not hold what a MANO model needs."""


class _PickledObject:
    """An inert record of a pickled chumpy or scipy object: its class and its state.

    Building one runs no code from the file: `__new__` is object's, and
    `__setstate__` only stores what the pickle hands over.
    """

    kind = "object"
    state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ChumpyLeaf(_PickledObject):
    kind = "chumpy.ch.Ch"


class _ChumpySelect(_PickledObject):
    kind = "chumpy.reordering.Select"


class _SparseMatrix(_PickledObject):
    kind = "scipy sparse matrix"
    compressed_columns = True


class _CscMatrix(_SparseMatrix):
    kind = "scipy.sparse.csc_matrix"


class _CsrMatrix(_SparseMatrix):
    kind = "scipy.sparse.csr_matrix"
    compressed_columns = False


def _reconstruct_object(cls: Any, base: Any, state: Any) -> _PickledObject:
    """copyreg._reconstructor (protocol 0/1 pickles), limited to the stand-in classes."""
    if base is not object or not (isinstance(cls, type) and issubclass(cls, _PickledObject)):
        raise pickle.UnpicklingError("MANO file rebuilds an object this reader does not allow")
    return cls()


_SPARSE_MODULES = ("scipy.sparse.csc", "scipy.sparse._csc", "scipy.sparse.csr", "scipy.sparse._csr")

_ALLOWED: dict[tuple[str, str], Any] = {
    ("chumpy.ch", "Ch"): _ChumpyLeaf,
    ("chumpy.reordering", "Select"): _ChumpySelect,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("_codecs", "encode"): codecs.encode,
    ("copy_reg", "_reconstructor"): _reconstruct_object,
    ("copyreg", "_reconstructor"): _reconstruct_object,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    **{(module, "csc_matrix"): _CscMatrix for module in _SPARSE_MODULES},
    **{(module, "csr_matrix"): _CsrMatrix for module in _SPARSE_MODULES},
}
"""Every global an official MANO file (Python 2, protocol 2) or a cleaned one may name."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits only the globals of official or cleaned MANO files; refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: MANO files contain only numpy arrays, "
                "scipy sparse matrices and chumpy arrays"
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("MANO files do not use persistent ids")


def _sparse_to_dense(matrix: _SparseMatrix, label: str) -> np.ndarray:
    state = matrix.state if isinstance(matrix.state, dict) else {}
    try:
        data = np.asarray(state["data"], dtype=np.float64)
        indices = np.asarray(state["indices"], dtype=np.int64)
        indptr = np.asarray(state["indptr"], dtype=np.int64)
        rows, cols = (int(n) for n in state.get("_shape") or state["shape"])
    except (KeyError, TypeError, ValueError) as error:
        raise ManoFileError(f"{label}: sparse matrix without data/indices/indptr/shape") from error
    major = cols if matrix.compressed_columns else rows
    if indptr.shape != (major + 1,) or indices.shape != data.shape or indptr[-1] != data.size:
        raise ManoFileError(f"{label}: inconsistent sparse matrix")
    dense = np.zeros((rows, cols), dtype=np.float64)
    counts = np.diff(indptr)
    outer = np.repeat(np.arange(major), counts)
    if matrix.compressed_columns:
        dense[indices, outer] = data
    else:
        dense[outer, indices] = data
    return dense


def _to_plain(value: Any, label: str) -> Any:
    """Replaces stand-ins by numpy arrays, recursively through dicts, lists and tuples."""
    if isinstance(value, _SparseMatrix):
        return _sparse_to_dense(value, label)
    if isinstance(value, _ChumpySelect):
        state = value.state if isinstance(value.state, dict) else {}
        if not {"a", "idxs", "preferred_shape"} <= state.keys():
            raise ManoFileError(f"{label}: chumpy Select without a, idxs, preferred_shape")
        base = np.asarray(_to_plain(state["a"], f"{label}.a")).reshape(-1)
        indices = np.asarray(state["idxs"], dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= base.size):
            raise ManoFileError(f"{label}: chumpy Select index out of range")
        shape = tuple(int(n) for n in np.asarray(state["preferred_shape"]).reshape(-1))
        return base[indices].reshape(shape)
    if isinstance(value, _ChumpyLeaf):
        state = value.state if isinstance(value.state, dict) else {}
        if "x" not in state:
            raise ManoFileError(f"{label}: chumpy array without its values ('x')")
        return np.asarray(state["x"])
    if isinstance(value, _PickledObject):
        raise ManoFileError(f"{label}: unsupported {value.kind} object")
    if isinstance(value, dict):
        return {key: _to_plain(item, f"{label}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_plain(item, f"{label}[{i}]") for i, item in enumerate(value))
    return value


def load_mano_pickle(path: str | Path) -> dict[str, Any]:
    """The contents of a MANO pickle (official or cleaned) as a dict of plain numpy arrays.

    Raises ManoFileError for a file that is not such a pickle, including one
    that names any class a MANO file does not contain.
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            # latin1 decodes Python 2 byte strings, as numpy needs for its arrays.
            content = _RestrictedUnpickler(file, encoding="latin1").load()
    except pickle.UnpicklingError as error:
        raise ManoFileError(f"{path} is not a safe MANO pickle: {error}") from error
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
        raise ManoFileError(
            f"{path} is not a MANO pickle (truncated or another format?): {error}"
        ) from error
    if not isinstance(content, dict):
        raise ManoFileError(f"{path} is not a MANO pickle: expected a dict, got {type(content)}")
    return _to_plain(content, path.name)
