"""Footage with the node's answers drawn over it: a video, and the frame with the best answer.

Each frame comes with the TwoHandMesh-shaped answer to it (anything with
`right`/`left` hands and a `backend`, as `overlay.draw_message` reads them),
or None when the node dropped it, which the frame then says. A frame stays
in the video as long as it was shown live (`period_s`), so that video time
follows footage time. ROS-free: the frames are any objects with the fields
of `AnsweredFrame`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from repehand_ros.io.writers import VideoFile, write_png
from repehand_ros.visualization.overlay import draw_message, draw_status, fit_into


class AnsweredFrame(Protocol):
    rgb: np.ndarray
    """H x W x 3 uint8 RGB."""
    period_s: float
    """How long it was shown."""
    label: str
    """The first status line (which frame this is)."""
    answer: Any
    """The TwoHandMesh-shaped result for this frame, or None: dropped."""


def score(answer: Any) -> tuple[int, float]:
    """(valid hands, their confidences' sum): the larger, the better the frame shows them."""
    hands = [h for h in (answer.right, answer.left) if h.valid]
    return len(hands), sum(float(h.confidence) for h in hands)


def draw_answer(rgb: np.ndarray, label: str, answer: Any) -> np.ndarray:
    """A copy of `rgb` with `answer`'s hands and two status lines drawn on it."""
    image = np.array(rgb, dtype=np.uint8, order="C", copy=True)
    status = [label]
    if answer is None:
        status.append("no result (the node dropped this frame)")
    else:
        draw_message(image, answer)
        sides = [n for n, h in (("right", answer.right), ("left", answer.left)) if h.valid]
        status.append(f"{answer.backend}: {', '.join(sides) or 'no hands'}")
    return draw_status(image, status)


def write_answered_video(
    frames: Iterable[AnsweredFrame],
    stem: Path,
    size: tuple[int, int],
    fps: float,
    best_png: Path,
) -> tuple[Path, Path | None]:
    """STEM.mp4 (or .avi) of `frames` drawn and fitted into `size` (width, height) at `fps`,
    and `best_png`, the frame whose answer scores best (none without a hand found); returns
    both paths (the PNG's None when not written)."""
    video = VideoFile(stem, fps, *size)
    best_score: tuple[int, float] = (0, 0.0)
    best_image: np.ndarray | None = None
    shown, written = 0.0, 0
    try:
        for frame in frames:
            fitted = fit_into(draw_answer(frame.rgb, frame.label, frame.answer), size)
            frame_score = score(frame.answer) if frame.answer is not None else (0, 0.0)
            if frame_score > best_score:
                best_score, best_image = frame_score, fitted
            # Each frame stays until the next is due.
            shown += frame.period_s
            target = max(written + 1, round(shown * fps))
            while written < target:
                video.write(fitted)
                written += 1
    finally:
        video.close()
    png = write_png(best_png, best_image) if best_image is not None else None
    return video.path, png
