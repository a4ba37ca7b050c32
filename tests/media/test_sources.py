"""Tests for formcheck.media.sources: order, timing, threads, errors, rotation, folders, camera, realtime.

Test videos are written with cv2.VideoWriter; each frame carries its number as a row of black and
white blocks (survives lossy compression), so order and loss can be checked exactly. Timing
asserts use ranges: these run on a busy 2-core machine.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.errors import InputError, SourceLostError
from formcheck.media.sources import (
    CameraSource,
    Frame,
    ImageFolderSource,
    RealtimeSource,
    VideoFileSource,
    natural_key,
    open_source,
)

# Tests that run against the clock share one xdist worker (`--dist loadgroup`), so the CPU
# burners of one never load another.
pytestmark = pytest.mark.xdist_group("realtime")

BITS = 8
BLOCK = 16
W, H = BITS * BLOCK, 32


def encode(n: int, size: tuple[int, int] = (W, H)) -> np.ndarray:
    """A BGR frame whose top band spells n in binary (white block = 1)."""
    w, h = size
    image = np.full((h, w, 3), 64, np.uint8)
    for bit in range(BITS):
        if n >> bit & 1:
            image[: H // 2, bit * BLOCK : (bit + 1) * BLOCK] = 255
        else:
            image[: H // 2, bit * BLOCK : (bit + 1) * BLOCK] = 0
    return image


def decode(image: np.ndarray) -> int:
    """The number `encode` drew, read back from the block means."""
    band = image[2 : H // 2 - 2].astype(float).mean(axis=(0, 2))
    return sum(1 << bit for bit in range(BITS) if band[bit * BLOCK + 3 : (bit + 1) * BLOCK - 3].mean() > 128)


def write_video(path: Path, n: int, fps: float = 20.0, fourcc: str = "mp4v") -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened(), f"cannot write {fourcc} to {path}"
    for i in range(n):
        writer.write(encode(i))
    writer.release()
    return path


def source_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("formcheck-")]


def wait_no_threads(timeout: float = 2.0) -> list[threading.Thread]:
    deadline = time.monotonic() + timeout
    while source_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return source_threads()


# ---- MP4 atom surgery, to make rotated, variable-frame-rate and fast-start files ----------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


def _parse(data: bytes) -> list[list]:
    atoms, off = [], 0
    while off < len(data):
        size, kind = struct.unpack(">I4s", data[off : off + 8])
        body = data[off + 8 : off + size]
        atoms.append([kind, _parse(body) if kind in _CONTAINERS else body])
        off += size
    return atoms


def _build(atoms: list[list]) -> bytes:
    out = b""
    for kind, body in atoms:
        raw = _build(body) if isinstance(body, list) else body
        out += struct.pack(">I4s", len(raw) + 8, kind) + raw
    return out


def _find(atoms: list[list], kind: bytes) -> list:
    for atom in atoms:
        if atom[0] == kind:
            return atom
        if isinstance(atom[1], list):
            found = _find(atom[1], kind)
            if found:
                return found
    return []


def rotate_mp4(path: Path, out: Path) -> Path:
    """Copy of an mp4 whose track matrix says: display rotated 90 degrees clockwise."""
    atoms = _parse(path.read_bytes())
    tkhd = _find(atoms, b"tkhd")
    body = bytearray(tkhd[1])
    v = body[0]
    at = 4 + (16 if v == 0 else 24) + (4 if v == 0 else 8) + 16
    matrix = list(struct.unpack(">9i", body[at : at + 36]))
    matrix[0], matrix[1], matrix[3], matrix[4] = 0, 1 << 16, -(1 << 16), 0
    body[at : at + 36] = struct.pack(">9i", *matrix)
    tkhd[1] = bytes(body)
    out.write_bytes(_build(atoms))
    return out


def retime_mp4(path: Path, out: Path, deltas: list[int]) -> Path:
    """Copy of an mp4 (moov after mdat) whose frame durations are `deltas` in track time units."""
    atoms = _parse(path.read_bytes())
    assert [a[0] for a in atoms].index(b"mdat") < [a[0] for a in atoms].index(b"moov")
    stts = _find(atoms, b"stts")
    stts[1] = struct.pack(">II", 0, len(deltas)) + b"".join(struct.pack(">II", 1, d) for d in deltas)
    out.write_bytes(_build(atoms))
    return out


def timescale(path: Path) -> int:
    body = _find(_parse(path.read_bytes()), b"mdhd")[1]
    return struct.unpack(">I", body[12:16] if body[0] == 0 else body[20:24])[0]


def faststart_mp4(path: Path, out: Path) -> Path:
    """Copy of an mp4 with the index (moov) moved before the media data, as streaming files have."""
    atoms = _parse(path.read_bytes())
    moov = next(a for a in atoms if a[0] == b"moov")
    rest = [a for a in atoms if a[0] != b"moov"]
    moov_size = len(_build([moov]))
    stco = _find([moov], b"stco")
    n = struct.unpack(">I", stco[1][4:8])[0]
    offsets = struct.unpack(f">{n}I", stco[1][8 : 8 + 4 * n])
    stco[1] = stco[1][:8] + struct.pack(f">{n}I", *(o + moov_size for o in offsets))
    out.write_bytes(_build(rest[:1] + [moov] + rest[1:]))
    return out


# ---- video files -----------------------------------------------------------------------------


def test_video_order_count_and_info(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", 40, fps=20)
    with open_source(path) as source:
        assert isinstance(source, VideoFileSource)
        info = source.info
        assert (info.kind, info.name, info.fps, info.frame_count) == ("file", str(path), 20.0, 40)
        assert (info.width, info.height) == (W, H)
        assert info.duration_s == pytest.approx(2.0)
        frames = list(source)
    assert [f.index for f in frames] == list(range(40))
    assert [decode(f.image) for f in frames] == list(range(40))
    assert all(f.image.dtype == np.uint8 and f.image.shape == (H, W, 3) for f in frames)
    assert source.decoded == 40 and source.truncated is False and source.dropped == 0
    assert not wait_no_threads()


@pytest.mark.parametrize(("suffix", "fourcc"), [(".avi", "MJPG"), (".mkv", "MJPG"), (".mov", "mp4v")])
def test_other_containers(tmp_path: Path, suffix: str, fourcc: str) -> None:
    path = write_video(tmp_path / f"clip{suffix}", 12, fps=10, fourcc=fourcc)
    with open_source(path) as source:
        assert [decode(f.image) for f in source] == list(range(12))


def test_timestamps_increase_and_match_index_over_fps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", 30, fps=25)
    with open_source(path) as source:
        times = [f.t_s for f in source]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert times == pytest.approx([i / 25 for i in range(30)], abs=1e-3)


def test_variable_frame_rate_uses_container_times(tmp_path: Path) -> None:
    plain = write_video(tmp_path / "plain.mp4", 6, fps=10)
    scale = timescale(plain)
    # durations 10 ms, 100 ms, 200 ms, 50 ms, 100 ms, 100 ms
    deltas = [scale // 100, scale // 10, scale // 5, scale // 20, scale // 10, scale // 10]
    vfr = retime_mp4(plain, tmp_path / "vfr.mp4", deltas)
    with open_source(vfr) as source:
        frames = list(source)
    assert [decode(f.image) for f in frames] == list(range(6))
    assert [f.t_s for f in frames] == pytest.approx([0.0, 0.01, 0.11, 0.31, 0.36, 0.46], abs=2e-3)


class ScriptedCapture:
    """Fake cv2.VideoCapture: plays `images` with the POS_MSEC values in `msec`, then fails."""

    def __init__(
        self,
        images: list[np.ndarray],
        msec: list[float] | None = None,
        fps: float = 10.0,
        opened: bool = True,
        raise_at: int | None = None,
    ) -> None:
        self.images, self.msec, self.fps, self.opened = images, msec, fps, opened
        self.raise_at = raise_at
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened and not self.released

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.raise_at is not None and self.reads == self.raise_at:
            raise RuntimeError("decoder exploded")
        self.reads += 1
        if self.reads > len(self.images):
            return False, None
        return True, self.images[self.reads - 1]

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_POS_MSEC:
            return self.msec[self.reads - 1] if self.msec else 0.0
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(len(self.images))
        return 0.0

    def set(self, prop: int, value: float) -> bool:
        return True

    def release(self) -> None:
        self.released = True


def scripted_file(tmp_path: Path, capture: ScriptedCapture) -> VideoFileSource:
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"not read: the capture is fake")
    return VideoFileSource(path, capture_factory=lambda _: capture)


def test_timestamps_forced_strictly_increasing(tmp_path: Path) -> None:
    images = [encode(i) for i in range(6)]
    capture = ScriptedCapture(images, msec=[0.0, 40.0, 40.0, 30.0, 80.0, 120.0])
    with scripted_file(tmp_path, capture) as source:
        times = [f.t_s for f in source]
    assert times == pytest.approx([0.0, 0.04, 0.041, 0.042, 0.08, 0.12])
    assert capture.released


def test_timestamps_fall_back_to_index_over_fps(tmp_path: Path) -> None:
    capture = ScriptedCapture([encode(i) for i in range(5)], msec=None, fps=10.0)
    with scripted_file(tmp_path, capture) as source:
        assert [f.t_s for f in source] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_reader_exception_reaches_consumer(tmp_path: Path) -> None:
    capture = ScriptedCapture([encode(i) for i in range(20)], raise_at=5)
    source = scripted_file(tmp_path, capture)
    seen = []
    with pytest.raises(RuntimeError, match="decoder exploded"):
        for frame in source:
            seen.append(frame.index)
    assert seen == list(range(5))  # the constructor read frame 0, the thread reads 1-4, then raises
    assert not wait_no_threads()
    assert capture.released


def test_early_break_stops_decoder_thread(tmp_path: Path) -> None:
    path = write_video(tmp_path / "long.mp4", 200, fps=30)
    source = open_source(path)
    for frame in source:
        if frame.index == 2:
            break
    # The reader was blocked on a full queue; breaking must have stopped and joined it.
    assert not wait_no_threads(timeout=0.5)
    assert source.truncated is None  # the end was never reached


def test_stopping_is_not_truncation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # close() arriving while the reader is between frames must not read as a cut-off file.
    class StoppedMidway(ScriptedCapture):
        def read(self) -> tuple[bool, np.ndarray | None]:
            if self.reads == 3:
                source._stop.set()
                return False, None
            return super().read()

    source = scripted_file(tmp_path, StoppedMidway([encode(i) for i in range(20)]))
    with caplog.at_level(logging.WARNING, logger="formcheck.media.sources"):
        assert len(list(source)) <= 3
    assert source.truncated is None and "truncated" not in caplog.text


def test_close_midway_stops_decoder_thread(tmp_path: Path) -> None:
    path = write_video(tmp_path / "long.mp4", 200, fps=30)
    source = open_source(path)
    frames = iter(source)
    next(frames)
    time.sleep(0.2)  # let the reader fill the queue and block
    assert source_threads()
    source.close()
    assert not source_threads()
    assert list(frames) == []
    source.close()  # idempotent


def test_no_thread_until_first_frame_is_asked_for(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", 5)
    for realtime in (False, True):
        source = open_source(path, realtime=realtime)
        frames = iter(source)
        assert not source_threads()
        source.close()
        assert list(frames) == [] and not source_threads()


def test_source_iterates_once(tmp_path: Path) -> None:
    with open_source(write_video(tmp_path / "clip.mp4", 3)) as source:
        list(source)
        with pytest.raises(RuntimeError):
            iter(source)


# ---- errors ------------------------------------------------------------------------------------


def expect_input_error(make: Callable[[], object], *words: str) -> None:
    """`make()` must raise InputError (exit code 2) with one line naming the problem and the fix."""
    with pytest.raises(InputError) as excinfo:
        make()
    message = str(excinfo.value)
    assert excinfo.value.exit_code == 2
    assert "\n" not in message and ": " in message  # one line: what, then what to do
    for word in words:
        assert word in message


def test_missing_file(tmp_path: Path) -> None:
    expect_input_error(lambda: open_source(tmp_path / "nope.mp4"), "not found", "nope.mp4")


def test_directory_given_to_video_source(tmp_path: Path) -> None:
    folder = tmp_path / "clip.mp4"
    folder.mkdir()
    expect_input_error(lambda: VideoFileSource(folder), "is a folder")


@pytest.mark.parametrize(
    ("content", "words"), [(b"this is not a video\n", ("cannot read", "as a video")), (b"", ("empty",))]
)
def test_not_a_video(tmp_path: Path, content: bytes, words: tuple[str, ...]) -> None:
    path = tmp_path / "notes.mp4"
    path.write_bytes(content)
    expect_input_error(lambda: open_source(path), *words)


def test_video_without_frames(tmp_path: Path) -> None:
    # An AVI cut right after its headers opens (it announces 5 frames) but decodes nothing.
    full = write_video(tmp_path / "five.avi", 5, fourcc="MJPG").read_bytes()
    path = tmp_path / "empty.avi"
    path.write_bytes(full[: full.find(b"movi") + 4])
    expect_input_error(lambda: open_source(path), "no decodable frames", "empty")


def test_no_thread_left_after_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.mp4").write_text("x")
    with pytest.raises(InputError):
        open_source(tmp_path / "bad.mp4")
    assert not source_threads()


# ---- truncated files ---------------------------------------------------------------------------


def test_truncated_avi_decodes_what_is_there(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    full = write_video(tmp_path / "full.avi", 60, fourcc="MJPG").read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(full[: len(full) // 2])
    with caplog.at_level(logging.WARNING, logger="formcheck.media.sources"), open_source(path) as source:
        assert source.info.frame_count == 60  # the header still says 60
        frames = list(source)
    assert 10 < len(frames) < 60
    assert source.truncated is True and source.decoded == len(frames)
    assert [f.index for f in frames] == list(range(len(frames)))
    assert [decode(f.image) for f in frames[:-2]] == list(range(len(frames) - 2))  # last may be damaged
    assert "truncated" in caplog.text


def test_truncated_faststart_mp4_decodes_what_is_there(tmp_path: Path) -> None:
    fast = faststart_mp4(write_video(tmp_path / "full.mp4", 60), tmp_path / "fast.mp4").read_bytes()
    mdat = len(_build([a for a in _parse(fast) if a[0] == b"mdat"]))
    path = tmp_path / "cut.mp4"
    path.write_bytes(fast[: len(fast) - mdat // 2])  # the index survives, half the frames do not
    with open_source(path) as source:
        frames = list(source)
    assert 5 < len(frames) < 60 and source.truncated is True
    assert [decode(f.image) for f in frames[:5]] == list(range(5))


def test_truncated_mp4_with_index_at_end_is_unreadable(tmp_path: Path) -> None:
    # Phones and cv2.VideoWriter write the index (moov) last: a cut file has none and cannot open.
    full = write_video(tmp_path / "full.mp4", 60).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(full[: len(full) // 2])
    expect_input_error(lambda: open_source(path), "cannot read", "unfinished recording")


# ---- rotation ----------------------------------------------------------------------------------


def test_rotation_metadata_applied(tmp_path: Path) -> None:
    rotated = rotate_mp4(write_video(tmp_path / "land.mp4", 5), tmp_path / "rotated.mp4")
    with open_source(rotated) as source:
        assert (source.info.width, source.info.height) == (H, W)
        frames = list(source)
    # 90 degrees clockwise: the number band (top rows) is now the right-hand columns.
    for i, frame in enumerate(frames):
        assert frame.image.shape == (W, H, 3)
        assert decode(cv2.rotate(frame.image, cv2.ROTATE_90_COUNTERCLOCKWISE)) == i


def media_dir() -> Path | None:
    env = os.environ.get("FORMCHECK_MEDIA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / ".." / "shared" / "media")
    return next((c for c in candidates if c.is_dir()), None)


def test_portrait_phone_mov_is_upright() -> None:
    folder = media_dir()
    clip = folder / "squat_front_01.mov" if folder else None
    if clip is None or not clip.exists():
        pytest.skip("squat_front_01.mov not found (set FORMCHECK_MEDIA to the media folder)")
    with open_source(clip) as source:
        info = source.info
        assert (info.width, info.height) == (1080, 1920)
        assert info.fps == pytest.approx(30.4, abs=0.1) and info.frame_count == 72
        frames = list(source)
    assert len(frames) == 72 and source.truncated is False
    assert all(f.image.shape == (1920, 1080, 3) for f in frames[::10])
    times = [f.t_s for f in frames]
    assert all(b > a for a, b in zip(times, times[1:]))
    # The iPhone file's first frame lasts 1/600 s: container times, not index/fps.
    assert times[1] < 0.01 and times[-1] == pytest.approx(2.335, abs=0.01)


# ---- image folders -----------------------------------------------------------------------------


def test_natural_key() -> None:
    names = ["img10.png", "img2.png", "IMG1.png", "img2b.png", "img01.png"]
    assert sorted(names, key=natural_key) == ["IMG1.png", "img01.png", "img2.png", "img2b.png", "img10.png"]


def test_image_folder_natural_order_and_skips(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for n in (1, 2, 3, 10, 11):
        cv2.imwrite(str(tmp_path / f"img{n}.png"), encode(n))
    cv2.imwrite(str(tmp_path / "img12.jpg"), encode(12))
    (tmp_path / "img5.png").write_text("not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.WARNING, logger="formcheck.media.sources"), open_source(tmp_path, fps=10) as source:
        assert isinstance(source, ImageFolderSource)
        assert (source.info.kind, source.info.fps, source.info.frame_count) == ("images", 10.0, 7)
        assert (source.info.width, source.info.height) == (W, H)
        frames = list(source)
    assert [decode(f.image) for f in frames] == [1, 2, 3, 10, 11, 12]
    assert [f.index for f in frames] == list(range(6))
    # t_s = position in the sorted folder / fps; the unreadable img5 (position 3) leaves a gap.
    assert [f.t_s for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.4, 0.5, 0.6])
    assert source.skipped == 1 and "img5.png" in caplog.text


def test_image_folder_resizes_odd_sizes(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a1.png"), encode(1))
    cv2.imwrite(str(tmp_path / "a2.png"), cv2.resize(encode(2), (W * 2, H * 2), interpolation=cv2.INTER_NEAREST))
    with ImageFolderSource(tmp_path) as source:
        frames = list(source)
    assert [f.image.shape for f in frames] == [(H, W, 3)] * 2 and decode(frames[1].image) == 2


def test_empty_image_folder(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    expect_input_error(lambda: open_source(tmp_path), "no images")


def test_image_folder_all_unreadable(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_text("x")
    expect_input_error(lambda: ImageFolderSource(tmp_path), "could be read")


# ---- camera ------------------------------------------------------------------------------------


class FakeClock:
    """Monotonic clock that only moves when the code under test sleeps (or a read takes time)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeCamera(ScriptedCapture):
    """A camera that gives `images` (one per 1/30 s of fake time), `hiccups` failed reads first."""

    def __init__(self, images: list[np.ndarray], clock: FakeClock, hiccup_at: int = -1, hiccups: int = 0) -> None:
        super().__init__(images, fps=30.0)
        self.clock = clock
        self.hiccup_at, self.hiccups = hiccup_at, hiccups

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.clock.now += 1 / 30
        if self.reads == self.hiccup_at and self.hiccups > 0:
            self.hiccups -= 1
            return False, None
        return super().read()


def camera(capture: ScriptedCapture, clock: FakeClock, index: int = 0) -> CameraSource:
    return CameraSource(index, capture_factory=lambda _: capture, clock=clock, sleep=clock.sleep)


def test_camera_unplugged_raises_source_lost() -> None:
    clock = FakeClock()
    fake = FakeCamera([encode(i) for i in range(10)], clock)
    source = camera(fake, clock)
    assert (source.info.kind, source.info.name, source.info.frame_count) == ("camera", "camera 0", None)
    assert (source.info.width, source.info.height, source.info.fps) == (W, H, 30.0)
    seen: list[Frame] = []
    started = None
    with pytest.raises(SourceLostError) as excinfo:
        for frame in source:
            seen.append(frame)
            started = clock.now
    assert [decode(f.image) for f in seen] == list(range(10))
    message = str(excinfo.value)
    assert "camera 0" in message and "\n" not in message and excinfo.value.exit_code == 1
    assert started is not None and 1.0 <= clock.now - started <= 1.5  # retried for about 1 s
    source.close()
    assert fake.released


def test_camera_timestamps_from_clock() -> None:
    clock = FakeClock()
    source = camera(FakeCamera([encode(i) for i in range(5)], clock), clock)
    frames = []
    with pytest.raises(SourceLostError):
        for frame in source:
            frames.append(frame)
    assert [f.t_s for f in frames] == pytest.approx([0.0, 1 / 30, 2 / 30, 3 / 30, 4 / 30])


def test_camera_rides_out_short_hiccup() -> None:
    clock = FakeClock()
    fake = FakeCamera([encode(i) for i in range(6)], clock, hiccup_at=3, hiccups=5)
    frames = []
    with pytest.raises(SourceLostError):
        for frame in camera(fake, clock):
            frames.append(frame)
    assert [decode(f.image) for f in frames] == list(range(6))


def test_camera_not_there() -> None:
    clock = FakeClock()
    expect_input_error(lambda: camera(ScriptedCapture([], opened=False), clock, index=3), "no camera at index 3")


def test_camera_opens_but_gives_nothing() -> None:
    clock = FakeClock()
    fake = FakeCamera([], clock)
    expect_input_error(lambda: camera(fake, clock, index=1), "no camera at index 1")
    assert fake.released


def test_open_source_without_camera_hardware() -> None:
    # This machine has no camera; with one, index 97 is still very unlikely to exist.
    expect_input_error(lambda: open_source(97), "no camera at index 97")


def test_camera_loss_propagates_through_realtime_wrapper() -> None:
    clock = FakeClock()
    source = RealtimeSource(camera(FakeCamera([encode(i) for i in range(8)], clock), clock), pace=False)
    with pytest.raises(SourceLostError):
        for frame in source:
            time.sleep(0.001)
    assert not wait_no_threads()


# ---- realtime ----------------------------------------------------------------------------------


def test_realtime_slow_consumer_gets_newest_frames(tmp_path: Path) -> None:
    fps, n = 20.0, 60
    path = write_video(tmp_path / "clip.mp4", n, fps=fps)
    source = open_source(path, realtime=True)
    assert isinstance(source, RealtimeSource)
    frames = []
    for frame in source:
        frames.append(frame)
        time.sleep(3 / fps)  # inference three times slower than the camera
    indices = [f.index for f in frames]
    assert all(b > a for a, b in zip(indices, indices[1:]))
    assert [decode(f.image) for f in frames] == indices
    assert source.dropped + len(frames) == n
    assert 0.5 <= source.dropped / n <= 0.8  # about 2/3
    assert indices[-1] == n - 1  # the last frame is still handed over
    assert not wait_no_threads()


def test_realtime_fast_consumer_drops_nothing_and_keeps_pace(tmp_path: Path) -> None:
    fps, n = 20.0, 40
    path = write_video(tmp_path / "clip.mp4", n, fps=fps)
    arrivals: list[tuple[float, Frame]] = []
    with open_source(path, realtime=True) as source:
        for frame in source:
            arrivals.append((time.monotonic(), frame))
    # A consumer that does nothing can only miss a frame if it is not scheduled for a whole period.
    assert source.dropped <= 1
    assert len(arrivals) + source.dropped == n
    start = arrivals[0][0]
    lags = [(wall - start) - frame.t_s for wall, frame in arrivals]
    assert min(lags) > -0.01  # never early: frames wait for their media time
    assert max(lags) < 0.3
    elapsed = arrivals[-1][0] - start
    assert (n - 1) / fps - 0.01 <= elapsed <= (n - 1) / fps + 0.3


def test_realtime_early_break_and_close(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_video(tmp_path / "clip.mp4", 100, fps=20)
    source = open_source(path, realtime=True)
    assert isinstance(source, RealtimeSource) and isinstance(source.inner, VideoFileSource)
    with caplog.at_level(logging.WARNING, logger="formcheck.media.sources"):
        for frame in source:
            if frame.index >= 2:
                break
        assert not wait_no_threads(timeout=1.0)
        source.close()
        source.close()
    assert source.inner.truncated is None and "truncated" not in caplog.text  # stopped, not cut off

    source = open_source(path, realtime=True)
    frames = iter(source)
    next(frames)
    source.close()
    assert not source_threads()


def test_realtime_image_folder(tmp_path: Path) -> None:
    for n in range(6):
        cv2.imwrite(str(tmp_path / f"f{n}.png"), encode(n))
    start = time.monotonic()
    with open_source(tmp_path, realtime=True, fps=20) as source:
        got = [decode(f.image) for f in source]
    assert got == list(range(6)) and source.dropped == 0
    assert 0.2 <= time.monotonic() - start <= 0.8
