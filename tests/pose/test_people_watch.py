"""Looking for a second person: the policy on plain numbers, then the real model on real frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from formcheck.pose.landmarker import LOOK_LAG_FRAMES, PoseEstimator
from formcheck.pose.people_watch import PeopleWatch
from tests.e2e.test_bad_input import read_frames


def test_looks_on_the_first_frame_then_every_interval_while_alone():
    watch = PeopleWatch(check_every_s=2.0, alone_s=3.0)
    looks = []
    for i in range(300):  # 10 s at 30 fps, one person throughout
        t = i / 30
        if watch.check_due(t):
            looks.append(round(t, 2))
            watch.checked(t, 1)
        watch.tracked(t, 1)
    assert looks == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert watch.tracking == 1


def test_tracks_two_from_a_look_that_sees_two_and_one_again_after_alone_s():
    watch = PeopleWatch(check_every_s=2.0, alone_s=3.0)
    tracking, looks = [], []
    for i in range(600):  # a second person from 3 s to 7 s
        t = i / 30
        present = 2 if 3.0 <= t < 7.0 else 1
        if watch.check_due(t):
            looks.append(round(t, 2))
            watch.checked(t, present)
        watch.tracked(t, present)
        tracking.append(watch.tracking)
    tracking = np.array(tracking)
    t = np.arange(600) / 30
    # Seen at the 4 s look (3 s is between looks).
    assert np.all(tracking[t < 4.0] == 1) and np.all(tracking[(t >= 4.0) & (t < 10.0)] == 2)
    # Alone from 7 s: one pose again 3 s later; no looks while tracking two, and they resume
    # 2 s after dropping back.
    assert np.all(tracking[t >= 10.0] == 1)
    assert looks == [0.0, 2.0, 4.0, 12.0, 14.0, 16.0, 18.0]


def test_a_brief_miss_while_tracking_two_does_not_drop_back():
    watch = PeopleWatch(check_every_s=2.0, alone_s=3.0)
    watch.checked(0.0, 2)
    for i in range(1, 300):
        t = i / 30
        watch.tracked(t, 1 if i % 60 < 40 else 2)  # the second person missed for 1.3 s at a time
    assert watch.tracking == 2


@pytest.mark.slow
def test_real_model_follows_the_first_person_when_a_second_walks_in(model_path, media_dir):
    """A second person is in view from 2.5 s to 6.25 s; the analysed person stays the first one."""
    fps = 23.976  # squat_front_10's rate
    first = [cv2.resize(f[:, 280:1000], (405, 405)) for f in read_frames(media_dir / "squat_front_10.mp4", 300)]
    second = [cv2.resize(f, (228, 405)) for f in read_frames(media_dir / "squat_front_09.mp4", 90)]
    empty = np.full_like(second[0], 200)
    frames = [np.hstack([a, second[i - 60] if 60 <= i < 150 else empty]) for i, a in enumerate(first)]
    people, centre_x, tracking = [], [], []
    with PoseEstimator(model_path) as est:
        for i, frame in enumerate(frames):
            pose = est.detect(frame, i / fps)
            people.append(pose.people if pose is not None else 0)
            centre_x.append(pose.centre[0] if pose is not None else np.nan)
            tracking.append(est.poses_tracked)
    people, centre_x, tracking = np.array(people), np.array(centre_x), np.array(tracking)
    t = np.arange(len(frames)) / fps
    assert np.mean(people > 0) > 0.95
    # One pose until the 4 s look's answer, taken LOOK_LAG_FRAMES frames after it (the look
    # runs beside the tracker), on that frame whatever the machine's speed; two while the second
    # person is there (both counted); one again once they have been gone 3 s.
    switch = int(np.flatnonzero(t >= 4.0)[0]) + LOOK_LAG_FRAMES
    assert int(np.flatnonzero(tracking == 2)[0]) == switch
    assert np.all(tracking[:switch] == 1) and np.all(people[:switch] <= 1)
    both = (np.arange(len(t)) >= switch) & (t < 6.25)
    assert np.all(tracking[both] == 2) and np.mean(people[both] == 2) > 0.9
    assert np.all(tracking[t > 9.5] == 1)
    assert est.switches == 2
    # Always the person on the left panel (405 px wide), never the one who walked in.
    assert np.nanmax(centre_x) < 405


class _FakeLandmarker:
    """Stands in for MediaPipe: the looks see people["n"] people and take `look_s`; tracking sees none."""

    def __init__(self, video: bool, num_poses: int, people: dict, look_s: float) -> None:
        self.video, self.num_poses, self.people, self.look_s = video, num_poses, people, look_s

    def run(self, image, ms):  # noqa: ANN001, ANN201
        import time
        from types import SimpleNamespace

        if ms is None:
            time.sleep(self.look_s)
            return SimpleNamespace(pose_landmarks=[object()] * self.people["n"])
        return SimpleNamespace(pose_landmarks=[])

    def close(self) -> None:
        pass


@pytest.mark.parametrize("look_s", [0.0, 0.25])
def test_a_look_runs_beside_the_tracker_and_is_answered_on_a_fixed_frame(monkeypatch, look_s):
    people = {"n": 1}
    monkeypatch.setattr(
        PoseEstimator, "_landmarker", lambda self, video, num_poses: _FakeLandmarker(video, num_poses, people, look_s)
    )
    frame = np.zeros((36, 64, 3), np.uint8)
    tracking = []
    with PoseEstimator("unused.task") as est:
        for i in range(150):  # 5 s at 30 fps; from 1 s on, every look sees two people
            if i == 30:
                people["n"] = 2
            est.detect(frame, i / 30)
            tracking.append(est.poses_tracked)
    # Looks at 0 s (on the frame itself) and 2 s (frame 60, beside the tracker): its answer is
    # taken on frame 60 + LOOK_LAG_FRAMES however long the look took.
    assert tracking.index(2) == 60 + LOOK_LAG_FRAMES
    assert est.switches == 1


@pytest.mark.parametrize("warm", [False, True])
def test_warming_up_keeps_the_first_frames_look(monkeypatch, warm):
    """Two people in view from the start are tracked from the first frame, warmed up or not: the
    warm-up's blank frame is not taken for the watch's first look."""
    people = {"n": 2}
    monkeypatch.setattr(
        PoseEstimator, "_landmarker", lambda self, video, num_poses: _FakeLandmarker(video, num_poses, people, 0.0)
    )
    frame = np.zeros((36, 64, 3), np.uint8)
    with PoseEstimator("unused.task") as est:
        if warm:
            est.warm_up((64, 36))
        est.detect(frame, 0.0)
        assert est.poses_tracked == 2


@pytest.mark.slow
def test_warming_up_leaves_the_real_models_landmarks_unchanged(model_path, media_dir):
    """Live warms the model before its first frame; what it then sees must be what analyze sees."""
    frames = read_frames(media_dir / "squat_front_21.mp4", 20)
    runs = []
    for warm in (False, True):
        with PoseEstimator(model_path) as est:
            if warm:
                est.warm_up((frames[0].shape[1], frames[0].shape[0]))
            runs.append(np.stack([est.detect(f, i / 29.97).image_xy for i, f in enumerate(frames)]))
    assert np.isfinite(runs[0]).all()
    np.testing.assert_array_equal(runs[1], runs[0])
