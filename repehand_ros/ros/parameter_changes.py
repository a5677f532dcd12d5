"""Parameters set while the node runs: which are refused (they take effect on configure or
at start-up), and the live ones, handed from the executor's thread to the model thread."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from repehand_ros.ros import parameters


def plain(value: Any) -> Any:
    """Parameter arrays come back as array.array or tuples: make them lists."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return list(value)


def refusal(name: str, value: Any, current: Any, lifecycle_state: str) -> str | None:
    """Why parameter `name` cannot take `value` now, or None: a parameter read at configure
    cannot change while the node is configured (`lifecycle_state` inactive or active), nor one
    read at start-up after it. An unchanged value is never refused."""
    parameter = parameters.BY_NAME[name]
    if parameter.applies == parameters.LIVE or value == current:
        return None
    if parameter.applies == parameters.AT_START_UP:
        return (
            f"parameter {name!r} is read once, at start-up: give it in the parameter file "
            f"or as --ros-args -p {name}:=VALUE"
        )
    if lifecycle_state == "active":
        steps = "deactivate and clean up the node, set it, then configure and activate again"
    elif lifecycle_state == "inactive":
        steps = "clean up the node, set it, then configure again"
    else:
        return None
    return (
        f"parameter {name!r} takes effect on configure ({parameter.why}) and the node is "
        f"{lifecycle_state}: {steps}"
    )


class LiveChanges:
    """The live parameters set since the model thread last took them, by name; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: dict[str, Any] = {}

    def add(self, values: Mapping[str, Any]) -> None:
        """Keeps the values of `values` that are live parameters of this node."""
        live = {
            name: value
            for name, value in values.items()
            if name in parameters.BY_NAME and parameters.BY_NAME[name].applies == parameters.LIVE
        }
        if live:
            with self._lock:
                self._changes.update(live)

    def take(self) -> dict[str, Any]:
        """The changes since the last call (and forgets them)."""
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes
