"""Colour frames paired with depth images by stamp: either order of arrival, out-of-order
stamps, missing and stale depth, a bounded buffer, and a bounded wait."""

from __future__ import annotations

import math
import random
import threading
import time

import pytest

from repehand_ros.io.stamp_pairing import (
    NONE,
    STALE,
    UNMATCHED,
    PairingSettings,
    StampPairing,
)

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000
PERIOD = 33 * MS  # 30 frames a second


def later(function, delay_s: float) -> threading.Thread:
    """Runs `function` on another thread after `delay_s` (a depth image arriving late)."""

    def run() -> None:
        time.sleep(delay_s)
        function()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_depth_that_came_first_is_paired_at_once():
    pairing: StampPairing[str] = StampPairing()
    for k in range(3):
        pairing.add(T0 + k * PERIOD, f"depth {k}")
    got = pairing.match(T0 + PERIOD + 2 * MS)
    assert got.matched and got.item == "depth 1"
    assert got.offset_s == pytest.approx(-0.002)
    assert got.age_s == pytest.approx(-(PERIOD - 2 * MS) / 1e9)  # depth is ahead
    assert got.waited_s < 0.01
    assert "-2.0 ms" in got.describe()


def test_only_a_depth_image_within_the_slop_is_paired_never_a_neighbour():
    pairing: StampPairing[int] = StampPairing(PairingSettings(max_offset_s=0.015))
    for k in range(5):
        pairing.add(T0 + k * PERIOD, k)
    assert pairing.match(T0 + 2 * PERIOD + 15 * MS).item == 2
    assert pairing.match(T0 + 2 * PERIOD + 18 * MS).item == 3  # nearer the next frame
    # Half-way between two frames: neither is within 15 ms (and the stream has passed it).
    far = pairing.match(T0 + 2 * PERIOD + 16 * MS + 500_000)
    assert far.status == UNMATCHED and far.item is None
    assert far.waited_s < 0.01
    assert math.isclose(abs(far.offset_s), 0.0165, abs_tol=1e-6)
    assert "no depth image within 15 ms" in far.describe()


def test_a_colour_frame_waits_for_its_depth_image_that_comes_after_it():
    pairing: StampPairing[str] = StampPairing(PairingSettings(wait_s=1.0))
    pairing.add(T0, "previous")
    stamp = T0 + PERIOD
    thread = later(lambda: pairing.add(stamp, "its own"), 0.05)
    got = pairing.match(stamp)
    thread.join()
    assert got.matched and got.item == "its own" and got.offset_s == 0.0
    assert 0.04 < got.waited_s < 0.5  # as long as the depth took, not the whole wait


def test_the_wait_ends_as_soon_as_the_depth_stream_has_passed_the_frame():
    """The frame's depth image was dropped: the next one shows it will not come."""
    pairing: StampPairing[str] = StampPairing(PairingSettings(wait_s=2.0))
    pairing.add(T0, "previous")
    thread = later(lambda: pairing.add(T0 + 2 * PERIOD, "next"), 0.05)
    got = pairing.match(T0 + PERIOD)
    thread.join()
    assert got.status == UNMATCHED and got.item is None
    assert got.waited_s < 1.0


def test_the_wait_is_bounded_and_can_be_switched_off():
    pairing: StampPairing[str] = StampPairing(PairingSettings(wait_s=0.08))
    pairing.add(T0, "previous")
    got = pairing.match(T0 + PERIOD)
    assert got.status == UNMATCHED and 0.07 < got.waited_s < 0.5
    quick = pairing.match(T0 + PERIOD, wait=False)
    assert quick.status == UNMATCHED and quick.waited_s < 0.01
    pairing.settings = PairingSettings(wait_s=0.0)
    assert pairing.match(T0 + PERIOD).waited_s < 0.01


def test_no_depth_yet_and_stale_depth_are_not_waited_for():
    pairing: StampPairing[str] = StampPairing(PairingSettings(wait_s=2.0, timeout_s=1.0))
    none = pairing.match(T0)
    assert none.status == NONE and none.waited_s < 0.01 and math.isnan(none.offset_s)
    assert none.describe() == "no depth image received yet"
    pairing.add(T0, "old")
    stale = pairing.match(T0 + 1_500 * MS)
    assert stale.status == STALE and stale.item is None and stale.waited_s < 0.01
    assert stale.age_s == pytest.approx(1.5)
    assert "1.50 s older than the image" in stale.describe()
    # Within the timeout it is merely unmatched (depth may be at a lower rate).
    assert pairing.match(T0 + 900 * MS, wait=False).status == UNMATCHED


def test_out_of_order_depth_images_are_kept_by_stamp():
    pairing: StampPairing[int] = StampPairing()
    order = [3, 0, 4, 1, 2]
    for k in order:
        pairing.add(T0 + k * PERIOD, k)
    assert len(pairing) == 5 and pairing.newest_stamp_ns == T0 + 4 * PERIOD
    # Colour frames matched in any order find their own.
    for k in [2, 4, 0, 3, 1]:
        assert pairing.match(T0 + k * PERIOD + MS).item == k
    # The same stamp again replaces the image.
    pairing.add(T0 + 2 * PERIOD, 20)
    assert len(pairing) == 5 and pairing.match(T0 + 2 * PERIOD).item == 20


def test_the_buffer_is_bounded_oldest_first():
    pairing: StampPairing[int] = StampPairing(PairingSettings(capacity=4))
    for k in range(10):
        pairing.add(T0 + k * PERIOD, k)
    assert len(pairing) == 4
    assert pairing.match(T0 + 6 * PERIOD).item == 6
    assert pairing.match(T0 + 2 * PERIOD, wait=False).status == UNMATCHED
    # A late image older than every kept one is dropped at once.
    pairing.add(T0 + 1 * PERIOD, 1)
    assert len(pairing) == 4 and pairing.match(T0 + PERIOD, wait=False).item is None
    pairing.settings = PairingSettings(capacity=2)
    assert len(pairing) == 2 and pairing.match(T0 + 9 * PERIOD).item == 9
    pairing.clear()
    assert len(pairing) == 0 and pairing.newest_stamp_ns is None


def test_a_clock_that_starts_again_starts_the_buffer_afresh():
    """A bag played again, or a simulation restarted: stamps far older than the newest."""
    pairing: StampPairing[str] = StampPairing(PairingSettings(timeout_s=1.0))
    for k in range(5):
        pairing.add(T0 + 100 * 10**9 + k * PERIOD, "first run")
    pairing.add(T0, "second run")
    assert pairing.restarts == 1 and len(pairing) == 1
    assert pairing.match(T0 + MS).item == "second run"


def test_a_depth_stream_in_either_order_pairs_every_frame():
    """Thirty frames a second, the depth image of each before or after its colour frame by
    a few milliseconds, in a random order, from another thread: every frame pairs."""
    rng = random.Random(5)
    pairing: StampPairing[int] = StampPairing(PairingSettings(wait_s=0.5))
    frames = 60
    depth_late = [rng.random() < 0.5 for _ in range(frames)]
    results: list = []

    def camera() -> None:
        for k in range(frames):
            if not depth_late[k]:
                pairing.add(T0 + k * PERIOD + rng.randint(-3, 3) * MS, k)
            colour_ready.release()
            time.sleep(0.002)
            if depth_late[k]:
                pairing.add(T0 + k * PERIOD + rng.randint(-3, 3) * MS, k)
            time.sleep(0.003)

    colour_ready = threading.Semaphore(0)
    thread = threading.Thread(target=camera)
    thread.start()
    for k in range(frames):
        colour_ready.acquire()
        results.append(pairing.match(T0 + k * PERIOD))
    thread.join()
    assert [r.item for r in results] == list(range(frames))
    assert max(r.waited_s for r in results) < 0.4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_offset_s": -0.01}, "max_offset_s must be a number of seconds >= 0"),
        ({"wait_s": float("nan")}, "wait_s must be"),
        ({"timeout_s": float("inf")}, "timeout_s must be"),
        ({"capacity": 0}, "capacity must be at least 1"),
        ({"capacity": 2.5}, "capacity must be an integer"),
    ],
)
def test_settings_are_checked(settings, message):
    with pytest.raises(ValueError, match=message):
        PairingSettings(**settings)
