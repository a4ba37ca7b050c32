"""Tracker settings and the baseline-relative valgus variant come from the one config: changed in
a TOML file or on the command line, they change what is counted and flagged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from formcheck.config import Config, TrackerConfig, load_config
from formcheck.core.landmarks import PoseLandmark as P, Side
from formcheck.errors import InputError
from formcheck.media.sources import Frame
from formcheck.pipeline.session import summarize
from formcheck.pipeline.stages import Pipeline
from formcheck.trackers import tracker_class, tracker_names
from tests.builders import LegPose, pose_frame, squat_flexion
from tests.conftest import SAMPLES, load_summary
from tests.trackers.test_squat_tracker import INFO, run, times


def test_every_tracker_builds_with_defaults_and_with_given_settings():
    custom = dataclasses.replace(TrackerConfig(), min_rep_s=0.9)
    for name in tracker_names():
        assert tracker_class(name)(None).settings == TrackerConfig()
        assert tracker_class(name)(Side.LEFT, custom).settings.min_rep_s == 0.9


def _config(tmp_path, text: str) -> Config:
    f = tmp_path / "c.toml"
    f.write_text(text)
    return load_config(f)


def test_rep_levels_and_timing_change_the_count(tmp_path):
    t = times(1.5 + 3 * 3.0 + 1.0)
    pipe, _ = run(squat_flexion(t, 3, depth_deg=55.0))  # moderate squats: legs shorten about 20 %
    assert len(summarize(pipe.recording, "squat", Config(), INFO).reps) == 3
    deeper = _config(tmp_path, "[trackers.leg_shortening]\nenter = 40\n")
    assert summarize(pipe.recording, "squat", deeper, INFO).reps == []
    slower = _config(tmp_path, "[trackers]\nmin_rep_s = 2.5\n")  # each rep takes about 2 s
    result = summarize(pipe.recording, "squat", slower, INFO)
    assert result.reps == [] and all("too quick" in r.reason for r in result.rejected)
    # with no rep counted, the filters that took them are listed too
    assert "3 movements not counted: too quick to be a rep" in result.warnings, result.warnings


def test_balance_settings_change_the_hold(tmp_path):
    t = np.arange(0, 8, 1 / 30.0)
    up = 60.0 * ((t > 2) & (t < 3.5))  # the free (left) foot held up for 1.5 s
    pipe = Pipeline(None, tracker_class("balance")(), Config())  # type: ignore[arg-type]
    for i in range(len(t)):
        f = pose_frame(t[i], LegPose(5.0), LegPose(5.0))
        f.image_xy[[P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX], 1] -= up[i]
        pipe.process_pose(Frame(i, float(t[i]), np.zeros((2, 2, 3), np.uint8)), f)
    assert len(summarize(pipe.recording, "balance", Config(), INFO).holds) == 1
    longer = _config(tmp_path, "[trackers.balance]\nmin_hold_s = 2.0\n")
    assert summarize(pipe.recording, "balance", longer, INFO).holds == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("[trackers.stance_leg]\nonset = 9\n", "onset < enter"),
        ("[trackers.balance]\nlift_off = 0.1\n", "lift_off < lift_on"),
        ("[trackers.squat]\nenter = 9\n", "unknown setting 'trackers.squat'"),
    ],
)
def test_inconsistent_tracker_settings_are_one_clear_error(tmp_path, text, message):
    with pytest.raises(InputError, match=message) as err:
        _config(tmp_path, text)
    assert "\n" not in str(err.value)


def test_baseline_relative_judges_fppa_against_standing():
    """A person who stands with the left knee in (standing FPPA about 10.5) and caves further on
    the second rep only: against 0 both reps pass the 10-degree limit; against the standing
    baseline only the second does."""
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=55.0)
    depth = (flex - 15.0) / 40.0
    extra = np.where(t > 4.5, 0.06 * depth, 0.0)
    shift = np.stack([0.05 + extra, np.zeros_like(t)], axis=1)
    pipe, _ = run(flex, shift=shift)
    absolute = summarize(pipe.recording, "squat", Config(), INFO)
    relative = summarize(pipe.recording, "squat", load_config(None, {"thresholds": {"baseline_relative": True}}), INFO)
    assert absolute.baseline.fppa_deg[Side.LEFT] == pytest.approx(10.5, abs=1.5)
    assert [s.valgus[Side.LEFT] for s in absolute.reps] == [True, True]
    assert [s.valgus[Side.LEFT] for s in relative.reps] == [False, True]
    assert not any(s.valgus[Side.RIGHT] for s in absolute.reps + relative.reps)


def test_cli_config_file_and_flag_reach_the_trackers_and_scoring(analyzed, tmp_path):
    """Through `formcheck analyze`: a config file's tracker levels change the count, and
    --baseline-relative (flag or file) is the variant in force in summary.json."""
    clip = SAMPLES / "squat_front.mp4"
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[thresholds]\nbaseline_relative = true\n[trackers.leg_shortening]\nenter = 90\n")
    plain = load_summary(analyzed(clip, "squat"))
    flag = load_summary(analyzed(clip, "squat", "--baseline-relative"))
    strict = load_summary(analyzed(clip, "squat", "--config", str(cfg)))
    assert plain["thresholds"]["baseline_relative"] is False and plain["rep_count"] == 5
    assert flag["thresholds"]["baseline_relative"] is True and flag["rep_count"] == 5
    assert strict["thresholds"]["baseline_relative"] is True and strict["rep_count"] == 0
