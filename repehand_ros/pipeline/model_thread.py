"""One long-lived thread for all of a model's work: loading, inference and closing.

PyTorch's CPU kernels run on OpenMP (libgomp), and every thread that calls a
kernel gets an OpenMP team of its own, as many threads as there are cores.
Once the teams together hold more threads than the machine has cores, libgomp
stops spin-waiting between parallel regions and puts its threads to sleep, so
each of the network's thousand small parallel regions pays a wake-up. On a
2-core machine a network loaded on one thread and run on another took 1.5x as
long as on one thread (bench/node.py). A service that receives frames on one
thread and computes on another therefore hands every model call, the loading
included, to one ModelThread, and never calls the model anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ModelThread:
    """Runs calls one after another on a single thread that lives until `close`."""

    def __init__(self, name: str = "model") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def start(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Queues `function(*args, **kwargs)` on the thread; its future holds the result
        or the exception."""
        return self._executor.submit(function, *args, **kwargs)

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`function(*args, **kwargs)` on the thread, waited for; its exception is raised here."""
        return self.start(function, *args, **kwargs).result()

    def close(self) -> None:
        """Finishes the queued calls and ends the thread; later calls raise RuntimeError."""
        self._executor.shutdown(wait=True)
