"""Writing a file so that nobody ever reads half of it, even after a crash."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PARTIAL_MARK = ".partial"
"""In the name of a file still being written (and removed if writing fails)."""


def write_atomically(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Calls `write(temporary)` for a temporary file beside `path`, then renames it onto `path`.

    The temporary file is flushed to the disk (fsync) before the rename and the
    folder after it, so that after a crash or power loss `path` is either the old
    file or the whole new one, never a truncated one (a rename alone can reach the
    disk before the data it names). A failure or interruption removes the
    temporary file and leaves `path` as it was. Returns `path`.
    """
    path = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL_MARK, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        commit(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_bytes_atomically(path: str | Path, data: bytes) -> Path:
    """`data` to `path` with `write_atomically`."""
    return write_atomically(path, lambda temporary: temporary.write_bytes(data))


def partial_path(path: str | Path) -> Path:
    """Where `path` is written, over time, before `commit` puts it in place: beside it,
    hidden, marked partial, with the same suffix (for writers that choose a format by it,
    such as OpenCV's video writer)."""
    path = Path(path)
    return path.with_name(f".{path.stem}{PARTIAL_MARK}{path.suffix}")


def commit(temporary: str | Path, path: str | Path) -> Path:
    """Flushes the finished `temporary` to the disk and renames it onto `path`, then flushes
    the folder: after a crash `path` is the old file or the whole new one. Returns `path`."""
    temporary, path = Path(temporary), Path(path)
    with open(temporary, "rb") as stream:
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened (some filesystems): the data is synced
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
