"""A base for objects that hold resources (models, graphs, sessions) and free them in close()."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

_Resource = TypeVar("_Resource", bound="Closeable")


class Closeable:
    """`with obj:` closes `obj` at the end of the block; subclasses implement `close()`."""

    def close(self) -> None:
        """Free what the object holds; safe to call twice."""

    def __enter__(self: _Resource) -> _Resource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
