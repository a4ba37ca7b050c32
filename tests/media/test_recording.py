"""The Recording (raw landmarks kept for the report pass) and the long-session plot envelope."""

from __future__ import annotations

import numpy as np

from formcheck.core.landmarks import NUM_LANDMARKS, Side
from formcheck.judging.cues import Cue
from formcheck.judging.verdict import Measure, Verdict
from formcheck.media.sources import Frame
from formcheck.pipeline.stages import Recording
from formcheck.reporting.report import min_max_envelope


def test_recording_keeps_every_frame_across_blocks() -> None:
    rng = np.random.default_rng(3)
    n = Recording.BLOCK * 2 + 37  # three blocks, the last one partly filled
    xy = rng.normal(500, 100, (n, NUM_LANDMARKS, 2))
    world = rng.normal(0, 0.5, (n, NUM_LANDMARKS, 3))
    vis = rng.uniform(0, 1, (n, NUM_LANDMARKS))
    rec = Recording()
    for i in range(n):
        rec.append(Frame(i + 5, i / 30, None), xy[i], world[i], vis[i], i % 3, [])
    assert len(rec) == n
    np.testing.assert_array_equal(rec.column("frame_index"), np.arange(n) + 5)
    np.testing.assert_allclose(rec.t_s, np.arange(n) / 30)
    np.testing.assert_allclose(rec.column("image_xy"), xy, rtol=1e-6)  # float32 storage
    np.testing.assert_allclose(rec.column("world_xyz"), world, atol=1e-6)
    np.testing.assert_allclose(rec.column("visibility"), vis, atol=1e-6)
    np.testing.assert_array_equal(rec.people, np.arange(n) % 3)
    assert rec.cue_text == [""] * n


def test_empty_recording_has_empty_columns() -> None:
    rec = Recording()
    assert len(rec) == 0
    assert rec.column("image_xy").shape == (0, NUM_LANDMARKS, 2)
    assert rec.t_s.shape == (0,)


def test_cues_are_kept_once_per_raise() -> None:
    rec = Recording()
    cue = Cue(Side.LEFT, Verdict(Measure.FPPA, 14.0, 10.0, True), raised_s=0.1, crossed_s=0.07)
    nan = np.full((NUM_LANDMARKS, 2), np.nan)
    for i, t in enumerate((0.0, 0.1, 0.2)):
        rec.append(Frame(i, t, None), nan, np.full((NUM_LANDMARKS, 3), np.nan), np.zeros(NUM_LANDMARKS), 1, [cue] if t > 0 else [])
    assert rec.cue_text == ["", cue.message, cue.message]
    assert rec.cue_events == [cue]


def test_envelope_keeps_peaks_gaps_and_order() -> None:
    n = 20_000
    t = np.arange(n) / 30.0
    y = np.sin(t)
    y[12_345] = 40.0  # a one-frame valgus spike
    y[15_000:15_500] = np.nan  # the person left the frame
    te, ye = min_max_envelope(t, y, max_points=1000)
    assert len(te) <= 1000
    assert np.all(np.diff(te) > 0)
    assert np.nanmax(ye) == 40.0 and t[12_345] in te
    assert np.nanmin(ye) == np.nanmin(y)
    gap = (te >= t[15_000]) & (te < t[15_500])
    assert gap.any() and np.isnan(ye[gap]).all()
    short_t, short_y = min_max_envelope(t[:500], y[:500], max_points=1000)
    np.testing.assert_array_equal(short_y, y[:500])  # short series are drawn as they are


def _fill(rec: Recording, n: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = rng.normal(500, 100, (n, NUM_LANDMARKS, 2))
    world = rng.normal(0, 0.5, (n, NUM_LANDMARKS, 3))
    for i in range(n):
        rec.append(Frame(i, i / 30, None), xy[i], world[i], np.ones(NUM_LANDMARKS), 1, [])
    return xy, world


def test_recording_on_disk_is_a_valid_npy_after_every_block(tmp_path) -> None:
    """A long session keeps one block in memory: the rest is in landmarks.npy, which numpy can
    load at any moment (a crash loses at most the last block)."""
    path = tmp_path / "landmarks.npy"
    rec = Recording(path)
    xy, _ = _fill(rec, Recording.BLOCK + 10)
    on_disk = np.load(path)
    assert on_disk.dtype == Recording.DTYPE and len(on_disk) == Recording.BLOCK  # the full block only
    np.testing.assert_allclose(on_disk["image_xy"], xy[: Recording.BLOCK], rtol=1e-6)
    rec.close()
    assert len(np.load(path)) == Recording.BLOCK + 10
    assert path.stat().st_size == 512 + (Recording.BLOCK + 10) * Recording.DTYPE.itemsize


def test_recording_reads_the_same_from_disk_and_memory(tmp_path) -> None:
    n = Recording.BLOCK * 2 + 5
    disk, memory = Recording(tmp_path / "landmarks.npy"), Recording()
    _fill(disk, n)
    _fill(memory, n)
    for lo, hi in ((0, n), (3, 1030), (Recording.BLOCK - 1, Recording.BLOCK + 1), (n - 2, n + 50), (7, 7)):
        a, b = disk.read(lo, hi), memory.read(lo, hi)
        assert len(a) == len(b) == max(0, min(hi, n) - lo)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(disk.column("world_xyz"), memory.column("world_xyz"))
    # Reading flushes what is buffered; recording can go on afterwards.
    disk.append(Frame(n, n / 30, None), np.zeros((NUM_LANDMARKS, 2)), np.zeros((NUM_LANDMARKS, 3)), np.zeros(NUM_LANDMARKS), 0, [])
    assert len(disk) == n + 1 and disk.read(n, n + 1)["frame_index"][0] == n


def test_envelope_fed_in_chunks_is_the_whole_series_envelope() -> None:
    """The report feeds each plotted series chunk by chunk, with cuts inside buckets."""
    from formcheck.reporting.report import MinMaxEnvelope

    rng = np.random.default_rng(5)
    n = 9_001
    t = np.arange(n) / 24.0
    y = rng.normal(0, 5, n)
    y[4_000:4_600] = np.nan
    y[7_777] = 99.0
    y[100] = y[101] = -30.0  # equal minima: the first is kept, as in one pass
    whole = min_max_envelope(t, y, max_points=500)
    env = MinMaxEnvelope(n, max_points=500)
    for lo in range(0, n, 137):
        env.add(lo, t[lo : lo + 137], y[lo : lo + 137])
    te, ye = env.result()
    np.testing.assert_array_equal(te, whole[0])
    np.testing.assert_array_equal(ye, whole[1])
    assert 99.0 in ye and t[100] in te and t[101] not in te
