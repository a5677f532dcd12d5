"""ModelThread: every call on the same one thread, in order, exceptions carried back."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from repehand_ros.pipeline.model_thread import ModelThread


def test_every_call_runs_on_one_thread_other_than_the_callers():
    model_thread = ModelThread("test-model")
    try:
        idents = {model_thread.run(threading.get_ident) for _ in range(5)}
        idents.add(model_thread.start(threading.get_ident).result())
        assert len(idents) == 1
        assert idents != {threading.get_ident()}
        assert model_thread.run(lambda: threading.current_thread().name).startswith("test-model")
    finally:
        model_thread.close()


def test_calls_run_in_the_order_they_were_given():
    model_thread = ModelThread()
    order: list[int] = []
    try:
        futures = [model_thread.start(order.append, number) for number in range(20)]
        for future in futures:
            future.result()
        assert order == list(range(20))
    finally:
        model_thread.close()


def test_an_exception_reaches_the_caller_and_the_thread_goes_on():
    model_thread = ModelThread()

    def fail() -> None:
        raise ValueError("bad weights")

    try:
        with pytest.raises(ValueError, match="bad weights"):
            model_thread.run(fail)
        assert model_thread.run(lambda: 42) == 42
    finally:
        model_thread.close()


def test_close_finishes_queued_calls_then_refuses_more():
    model_thread = ModelThread()
    release = threading.Event()
    done: list[str] = []
    model_thread.start(release.wait)
    model_thread.start(done.append, "queued")
    release.set()
    model_thread.close()
    assert done == ["queued"]
    with pytest.raises(RuntimeError):
        model_thread.run(lambda: None)


def test_a_process_that_never_closes_it_still_exits():
    """A call still waiting (like the node's frame loop) must not hold the process at exit."""
    program = (
        "import threading\n"
        "from repehand_ros.pipeline.model_thread import ModelThread\n"
        "ModelThread().start(threading.Event().wait)\n"
    )
    finished = subprocess.run([sys.executable, "-c", program], timeout=60, capture_output=True)
    assert finished.returncode == 0, finished.stderr.decode()
