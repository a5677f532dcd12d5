"""Atomic writes keep the old file or the whole new one; a stop request waits for the step."""

from __future__ import annotations

import os
import signal

import pytest

from repehand_ros.io.files import PARTIAL_MARK, write_atomically, write_bytes_atomically
from repehand_ros.io.signals import StopOnSignal


def test_a_write_replaces_the_file_whole_and_syncs_it(tmp_path, monkeypatch):
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    path = tmp_path / "results.json"
    path.write_text("old")
    assert write_bytes_atomically(path, b"new") == path
    assert path.read_bytes() == b"new"
    assert len(synced) == 2  # the data, then the folder's entry
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")

    def fail(temporary):
        temporary.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, fail)
    assert path.read_text() == "old"
    assert not [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name]


def test_the_first_signal_asks_to_stop_the_second_stops_at_once():
    previous = signal.getsignal(signal.SIGINT)
    with StopOnSignal() as stop:
        assert not stop.requested
        signal.raise_signal(signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous
