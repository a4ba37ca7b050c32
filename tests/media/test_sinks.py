"""The annotated video is H.264 in MP4 that other decoders read, with its index at the front."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from formcheck.media.sinks import VideoSink


def _frames(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    w, h = size
    out = []
    for i in range(n):
        img = np.full((h, w, 3), 40, np.uint8)
        cv2.circle(img, (20 + 4 * i, h // 2), 15, (0, 0, 255), -1)
        cv2.putText(img, str(i), (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        out.append(img)
    return out


@pytest.mark.parametrize("size", [(320, 240), (321, 181)])
def test_h264_that_opencv_decodes_frame_for_frame(tmp_path, size):
    path = tmp_path / "a.mp4"
    frames = _frames(40, size)
    with VideoSink(path, 29.97, size) as sink:
        for f in frames:
            sink.write(f)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.format.name == "yuv420p"
        assert float(stream.average_rate) == pytest.approx(29.97, abs=0.01)
    head = path.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat")), "faststart: index first"
    cap = cv2.VideoCapture(str(path))  # a second decoder: OpenCV's own FFmpeg build
    decoded = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        decoded.append(img)
    assert len(decoded) == len(frames)
    w, h = size[0] - size[0] % 2, size[1] - size[1] % 2
    for original, back in zip(frames, decoded):
        assert back.shape[:2] == (h, w)
        psnr = cv2.PSNR(original[:h, :w], back)
        assert psnr > 30, psnr


def test_it_plays_in_chromium(tmp_path):
    """Debian's Chromium (the browser of the dashboard tests) decodes and plays the file."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.e2e.test_web_e2e import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    with VideoSink(tmp_path / "a.mp4", 30.0, (320, 240)) as sink:
        for f in _frames(60, (320, 240)):
            sink.write(f)
    (tmp_path / "page.html").write_text('<video id="v" src="a.mp4" muted playsinline></video>')
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto((tmp_path / "page.html").as_uri())
            page.evaluate("document.getElementById('v').play()")
            page.wait_for_function("document.getElementById('v').currentTime > 0.5", timeout=20_000)
            state = page.evaluate("(() => { const v = document.getElementById('v'); return [v.videoWidth, v.videoHeight, v.duration, v.error && v.error.code]; })()")
        finally:
            browser.close()
    assert state[:2] == [320, 240] and state[2] == pytest.approx(2.0, abs=0.1) and state[3] is None
