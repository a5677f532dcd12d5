"""`repehand demo` on real footage: well-formed outputs, clean interruption, clear errors.

The network is the real one with a plumbing checkpoint (random weights, hands
of plausible size) and fixture MANO files: the numbers mean nothing; the
tests check the files (PNG, OBJ, JSON, video) and the behaviour around them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
from fixtures.checkpoints import write_plumbing_checkpoint

from repehand_ros.io.files import PARTIAL_MARK
from repehand_ros.io.writers import VideoFile
from repehand_ros.tools import cli, demo

TEST = Path(__file__).resolve().parents[1]
HAND_KEYS = {
    "valid",
    "confidence",
    "wrist_position",
    "wrist_rotation",
    "wrist_axis_angle",
    "joints",
    "keypoints_2d",
    "mano_pose",
    "mano_shape",
    "mesh",
}


def _right04_rgb() -> np.ndarray:
    spec = importlib.util.spec_from_file_location("footage", TEST / "detection" / "footage.py")
    footage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(footage)
    return footage.right04_rgb()


def _write_rgb(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory, mano_dir) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("demo")
    image = _right04_rgb()
    video = directory / "moving.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for index in range(10):
        writer.write(cv2.cvtColor(np.roll(image, 4 * index, axis=1), cv2.COLOR_RGB2BGR))
    writer.release()
    return {
        "dir": directory,
        "image": _write_rgb(directory / "right04.png", image),
        "video": video,
        "checkpoint": write_plumbing_checkpoint(directory / "plumbing.pth"),
        "checkpoint_256": write_plumbing_checkpoint(directory / "plumbing_256.pth", input_size=256),
        "mano_dir": mano_dir,
    }


@pytest.fixture
def repehand(monkeypatch, files):
    """`repehand demo ...` in this process (the demo registered in the CLI); the exit status."""
    if "repehand_ros.tools.demo" not in cli.SUBCOMMAND_MODULES:
        modules = (*cli.SUBCOMMAND_MODULES, "repehand_ros.tools.demo")
        monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", modules)

    def main(*argv: str | Path, model: bool = True) -> int:
        options = ["--checkpoint", files["checkpoint"], "--mano-dir", files["mano_dir"]]
        options += ["--device", "cpu", "--min-confidence", "0"]
        return cli.main(["demo", *map(str, argv), *map(str, options if model else [])])

    return main


def _video_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def _no_partial_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if PARTIAL_MARK in p.name]


def _obj_counts(path: Path) -> tuple[int, int]:
    lines = path.read_text().splitlines()
    return sum(ln.startswith("v ") for ln in lines), sum(ln.startswith("f ") for ln in lines)


def test_every_option_has_help():
    parser = argparse.ArgumentParser(prog="repehand")
    subparsers = parser.add_subparsers(dest="command")
    demo.register(subparsers)
    for action in subparsers.choices["demo"]._actions:
        assert action.help, action.dest


def test_image_gives_drawn_png_obj_meshes_and_json(repehand, files, tmp_path):
    out = tmp_path / "out"
    assert repehand(files["image"], "--out", out, "--skeleton") == 0
    source = cv2.imread(str(files["image"]))
    drawn = cv2.imread(str(out / "right04.png"))
    assert drawn.shape == source.shape
    results = json.loads((out / "right04.json").read_text())
    assert results["complete"] is True and results["kind"] == "image"
    assert results["cameras"][0]["source"] == "default"
    assert results["cameras"][0]["k"][0][0] == 640.0  # PinholeCamera.default: max(w, h)
    (frame,) = results["frames"]
    assert frame["image"] == "right04.png"
    valid = {side: hand for side, hand in frame["hands"].items() if hand["valid"]}
    assert valid, "right04.jpg shows a hand: the plumbing network must place it"
    for side, hand in valid.items():
        assert set(hand) == HAND_KEYS
        assert np.array(hand["joints"]).shape == (21, 3)
        assert np.array(hand["wrist_rotation"]).shape == (3, 3)
        assert hand["mesh"] == f"right04_{side}.obj"
        assert _obj_counts(out / hand["mesh"]) == (778, 1538)
        # Drawn where the hand projects: pixels changed inside its keypoints' box.
        low = np.floor(np.min(hand["keypoints_2d"], axis=0)).astype(int)
        high = np.ceil(np.max(hand["keypoints_2d"], axis=0)).astype(int)
        region = (slice(low[1], high[1] + 1), slice(low[0], high[0] + 1))
        assert np.any(drawn[region] != source[region])
    for side, hand in frame["hands"].items():
        if not hand["valid"]:
            assert hand["reason"] and not (out / f"right04_{side}.obj").exists()
    _no_partial_files(out)


def test_without_weights_the_keypoint_backend_draws_the_joints(files, tmp_path, caplog):
    """No checkpoint and no MANO files: backend auto runs MediaPipe's keypoints, saying which
    files would switch on RepeHand; the hand's joints are found and drawn, and there is no
    mesh to write."""
    out = tmp_path / "out"
    argv = ["demo", str(files["image"]), "--out", str(out), "--renderer", "opencv"]
    argv += ["--mano-dir", str(tmp_path / "no_mano")]
    with caplog.at_level(logging.WARNING):
        assert cli.main(argv) == 0
    (fallback,) = [r.getMessage() for r in caplog.records if "keypoint backend" in r.getMessage()]
    assert "no checkpoint was named" in fallback
    assert str(tmp_path / "no_mano" / "MANO_RIGHT.pkl") in fallback and "mano.is.tue" in fallback
    results = json.loads((out / "right04.json").read_text())
    assert results["backend"] == "mediapipe-keypoints" and results["input_size"] is None
    (frame,) = results["frames"]
    left = frame["hands"]["left"]
    assert left["valid"] and not frame["hands"]["right"]["valid"]
    assert np.array(left["joints"]).shape == (21, 3) and left["mesh"] is None
    assert not list(out.glob("*.obj"))
    source = cv2.imread(str(files["image"]))
    drawn = cv2.imread(str(out / "right04.png"))
    low = np.floor(np.min(left["keypoints_2d"], axis=0)).astype(int)
    high = np.ceil(np.max(left["keypoints_2d"], axis=0)).astype(int)
    region = (slice(low[1], high[1] + 1), slice(low[0], high[0] + 1))
    assert np.any(drawn[region] != source[region]), "the skeleton is drawn on the hand"


def test_a_checkpoint_at_256_runs_on_256_pixel_crops(files, tmp_path):
    """An official-layout snapshot of another input size: the demo takes the file's size."""
    out = tmp_path / "out"
    options = ["--checkpoint", files["checkpoint_256"], "--mano-dir", files["mano_dir"]]
    options += ["--device", "cpu", "--min-confidence", "0", "--renderer", "opencv"]
    assert cli.main(["demo", str(files["image"]), "--out", str(out), *map(str, options)]) == 0
    results = json.loads((out / "right04.json").read_text())
    assert results["input_size"] == 256 and results["backend"] == "repehand-5m/torch-cpu"
    (frame,) = results["frames"]
    assert frame["hands"]["left"]["valid"], frame["hands"]["left"]
    assert np.array(frame["hands"]["left"]["joints"]).shape == (21, 3)
    wrong = ["--input-size", "224"]
    assert (
        cli.main(["demo", str(files["image"]), "--out", str(out), *map(str, options + wrong)]) == 2
    )


def test_folder_of_images_and_an_unreadable_one(repehand, files, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    image = _right04_rgb()
    _write_rgb(folder / "a.jpg", image)
    _write_rgb(folder / "c.png", np.ascontiguousarray(image[:, ::-1]))
    (folder / "b.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    assert repehand(folder, "--out", out, "--renderer", "opencv") == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("repehand demo: error: 1 of 3 images could not be processed")
    assert "b.jpg" in error
    results = json.loads((out / "photos.json").read_text())
    assert [frame["source"] for frame in results["frames"]] == ["a.jpg", "c.png"]
    assert results["renderer"] == "opencv" and results["complete"] is True
    for name in ("a.png", "c.png"):
        assert cv2.imread(str(out / name)).shape == (480, 640, 3)
    assert not (out / "b.png").exists()


def test_video_gives_a_video_with_every_frame(repehand, files, tmp_path):
    out = tmp_path / "out"
    status = repehand(files["video"], "--out", out, "--intrinsics", "600,600,319.5,239.5")
    assert status == 0
    (video,) = [p for p in out.iterdir() if p.suffix in (".mp4", ".avi")]
    assert video.stem == "moving"
    assert _video_frames(video) == 10
    results = json.loads((out / "moving.json").read_text())
    assert len(results["frames"]) == 10 and results["complete"] is True
    assert results["cameras"][0]["source"] == "intrinsics"
    assert results["frames"][3]["time"] == pytest.approx(0.3)
    meshes = sorted((out / "moving_meshes").glob("*.obj"))
    assert meshes and all(_obj_counts(path) == (778, 1538) for path in meshes[:2])
    _no_partial_files(out)


def test_ctrl_c_keeps_a_finished_video_of_the_frames_done(repehand, files, tmp_path, monkeypatch):
    written = []
    original = VideoFile.write

    def write_then_interrupt(self, image):
        original(self, image)
        written.append(1)
        if len(written) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C during frame 3

    monkeypatch.setattr(VideoFile, "write", write_then_interrupt)
    out = tmp_path / "out"
    assert repehand(files["video"], "--out", out, "--renderer", "opencv", "--no-meshes") == 130
    results = json.loads((out / "moving.json").read_text())
    assert results["complete"] is False
    (video,) = [p for p in out.iterdir() if p.suffix in (".mp4", ".avi")]
    assert _video_frames(video) == len(results["frames"]) == len(written) == 3
    assert not (out / "moving_meshes").exists()
    _no_partial_files(out)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize(
    ("make_argv", "message"),
    [
        (lambda f, t: [t / "missing.jpg"], "input not found"),
        (lambda f, t: [_bytes(t / "broken.jpg", b"\xff\xd8 not really")], "cannot read image"),
        (lambda f, t: [_bytes(t / "broken.mp4", b"\x00" * 64)], "cannot read video"),
        (lambda f, t: [_bytes(t / "notes.dat", b"hello")], "neither an image nor a video"),
        (lambda f, t: [t], "no images in folder"),
        (lambda f, t: [f["image"], "--intrinsics", "600,600"], "four numbers"),
        (lambda f, t: [f["image"], "--camera-info", t / "none.yaml"], "file not found"),
        (lambda f, t: [f["image"], "--camera-info", _small_camera(t)], "is for 320x240"),
        (lambda f, t: [f["image"], "--checkpoint", t / "none.pth"], "checkpoint file not found"),
        (lambda f, t: [f["image"], "--variant", "11m"], "5m at 224 px, but variant '11m'"),
        # RepeHand asked for by name: missing MANO files are an error (auto would fall back).
        (lambda f, t: [f["image"], "--backend", "torch", "--mano-dir", t / "nomano"], "MANO"),
    ],
    ids=[
        "missing",
        "bad-image",
        "bad-video",
        "unknown-file",
        "empty-folder",
        "bad-intrinsics",
        "missing-camera-info",
        "camera-info-size",
        "missing-checkpoint",
        "other-variant",
        "missing-mano",
    ],
)
def test_bad_input_is_one_clear_line_and_exit_status_2(
    repehand, files, tmp_path, capsys, make_argv, message
):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    argv = make_argv(files, inputs)
    extra = argv[1:]
    status = cli.main(
        [
            "demo",
            *map(str, argv[:1]),
            "--out",
            str(tmp_path / "out"),
            "--device",
            "cpu",
            *(["--checkpoint", str(files["checkpoint"])] if "--checkpoint" not in extra else []),
            *(["--mano-dir", str(files["mano_dir"])] if "--mano-dir" not in extra else []),
            *map(str, extra),
        ]
    )
    assert status == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("repehand demo: error: ")
    assert message in error
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _small_camera(folder: Path) -> Path:
    path = folder / "small.yaml"
    path.write_text("width: 320\nheight: 240\nk: [300, 0, 160, 0, 300, 120, 0, 0, 1]\n")
    return path
