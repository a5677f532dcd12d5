"""One long-lived thread for all of a model's work: loading, inference and closing.

PyTorch's CPU kernels run on OpenMP (libgomp), and every thread that calls a
kernel gets an OpenMP team of its own, as many threads as there are cores.
Once the teams together hold more threads than the machine has cores, libgomp
stops spin-waiting between parallel regions and puts its threads to sleep, so
each of the network's thousand small parallel regions pays a wake-up. On a
2-core machine the network run on a second thread took 62-67 ms against 42-46
ms on one thread, and the node's latency in bench/node.py fell from 1.51x to
1.07x the bare reconstructor's once all its model work moved to one thread. A
service that receives frames on one thread and computes on another therefore
hands every model call, the loading included, to one ModelThread, and never
calls the model anywhere else.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ModelThread:
    """Runs calls one after another on a single thread that lives until `close`.

    The thread is a daemon: a process that ends without closing it does not
    hang on a call still waiting (such as a loop waiting for frames).
    """

    def __init__(self, name: str = "model") -> None:
        self._calls: queue.SimpleQueue[tuple[Future, Callable, tuple, dict] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            future, function, args, kwargs = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result: Any = function(*args, **kwargs)
            except BaseException as error:  # handed to whoever waits on the future
                future.set_exception(error)
            else:
                future.set_result(result)

    def start(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Queues `function(*args, **kwargs)` on the thread; its future holds the result
        or the exception."""
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("this ModelThread is closed")
            self._calls.put((future, function, args, kwargs))
        return future

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`function(*args, **kwargs)` on the thread, waited for; its exception is raised here."""
        return self.start(function, *args, **kwargs).result()

    def close(self) -> None:
        """Finishes the queued calls and ends the thread; later calls raise RuntimeError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._calls.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()
