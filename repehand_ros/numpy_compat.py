"""NumPy's internal modules under the name of the running NumPy: `numpy._core` since NumPy 2,
`numpy.core` before. Files pickled by either (MANO files, checkpoints' random states) name
one of them; readers allow exactly these objects."""

from __future__ import annotations

import importlib
from types import ModuleType


def numpy_core(name: str) -> ModuleType:
    """numpy._core.NAME (NumPy 2) or numpy.core.NAME (NumPy 1)."""
    try:
        return importlib.import_module(f"numpy._core.{name}")
    except ImportError:
        return importlib.import_module(f"numpy.core.{name}")
