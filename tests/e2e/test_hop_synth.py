"""hop end to end with the real pose model on the rendered synthetic double-leg hops (`hop_front`,
six hops on the spot filmed from the front, both knees caving on landings 2 and 5): every
landing counted, initial contact and ground contact time within 2 frames of the skeleton's
feet, caving landings flagged by FPPA in the landing window and clean ones not, and the usual
output files. The same for forward/back hops (`hop_fwdback_front`), where every other landing is
nearer the camera and lower in the image than its take-off, for side-to-side hops
(`hop_side_front`), one knee caving at a time, and for one-leg hops on the spot and forward/back
(`hop_oneleg_front`, `hop_oneleg_fwdback_front`), the free foot held up behind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.hop_frame_loss import from_recording, kept, replay
from formcheck.synth.clip import truth_path, write_clip
from formcheck.synth.samples import hop_forward_back_spec, hop_one_leg_forward_back_spec, hop_one_leg_spec, hop_side_spec, hop_spec
from tests.conftest import load_summary, run_cli


@pytest.fixture(scope="module")
def hop_clip(tmp_path_factory):
    return write_clip(hop_spec(), tmp_path_factory.mktemp("hop"))


def test_hop_synthetic_landings_contact_times_and_landing_valgus(analyzed, hop_clip):
    truth = json.loads(truth_path(hop_clip).read_text())
    fps = truth["fps"]
    out = analyzed(hop_clip, "hop")
    s = load_summary(out)
    assert s["exercise"] == "hop"
    assert s["rep_count"] == len(truth["reps"]) == 6
    for rep, want in zip(s["reps"], truth["reps"]):
        got, true = rep["landing"], want["landing"]
        assert rep["legs"] == want["legs"] == ["left", "right"]
        assert abs(got["contact_frame"] - true["contact_frame"]) <= 2, (got, true)
        if true["contact_time_s"] is None:
            assert got["contact_time_s"] is None  # the last landing stands up
        else:
            assert abs(got["contact_time_s"] - true["contact_time_s"]) <= 2 / fps + 1e-6, (got, true)
        for leg in ("left", "right"):
            verdict = rep["verdict"][leg]
            assert verdict["measure"] == "fppa" and verdict["limit"] == 10.0
            assert verdict["valgus"] is want["valgus"][leg], (rep["index"], leg, got, true)
    assert [r["index"] for r in s["reps"] if any(r["valgus"].values())] == [2, 5]
    for name in ("annotated.mp4", "frames.csv", "report.html", "landmarks.npy"):
        assert (out / name).stat().st_size > 0, name


@pytest.fixture(scope="module")
def forward_back_clip(tmp_path_factory):
    return write_clip(hop_forward_back_spec(), tmp_path_factory.mktemp("hop_fwdback"))


def test_forward_back_hops_landings_contacts_and_landing_valgus(analyzed, forward_back_clip):
    """Each landing at its contact (2 frames) whether nearer or farther than the take-off, and the
    caving ones flagged. Contact times within 3 frames: a hop toward the camera from a camera at
    table height barely rises in the image, so its take-off reads up to 3 frames late."""
    truth = json.loads(truth_path(forward_back_clip).read_text())
    fps = truth["fps"]
    s = load_summary(analyzed(forward_back_clip, "hop"))
    assert s["rep_count"] == len(truth["reps"]) == 6
    for rep, want in zip(s["reps"], truth["reps"]):
        got, true = rep["landing"], want["landing"]
        assert abs(got["contact_frame"] - true["contact_frame"]) <= 2, (got, true)
        if true["contact_time_s"] is None:
            assert got["contact_time_s"] is None
        else:
            assert abs(got["contact_time_s"] - true["contact_time_s"]) <= 3 / fps + 1e-6, (got, true)
        assert rep["valgus"] == want["valgus"], (rep["index"], rep["valgus"], want["valgus"])


@pytest.mark.parametrize("kind,rate", [("random", 0.1), ("burst3", 0.02)])
def test_forward_back_landings_counted_and_cued_with_frames_lost(analyzed, forward_back_clip, kind, rate):
    """The forward/back hops' landmarks (analyze's landmarks.npy: the real model on the rendered
    frames) through the per-frame pipeline that `live` runs, frames lost as a loaded machine drops
    them (10 % at random, or runs of 3 from 2 % of frames; ten seeds each): in no run a cue on a
    knee that did not cave. At 10 % at random, every landing counted and every caving knee cued: a
    landing farther from the camera falls 4 px after its apex, and with the apex frames lost it is
    told from the flight by the pelvis coming down onto the stopped feet. `benchmarks/
    hop_frame_loss.py` measures more losses on all four hop clips."""
    truth = json.loads(truth_path(forward_back_clip).read_text())
    d = from_recording(np.load(analyzed(forward_back_clip, "hop") / "landmarks.npy"))
    runs = [replay(d, kept(len(d["t"]), kind, rate, seed), truth) for seed in range(10)]
    assert all(wrong == 0 for _, _, wrong, _, _, _ in runs), runs
    if kind == "random":
        assert all(uncued == 0 and right for _, uncued, _, _, _, right in runs), runs


@pytest.fixture(scope="module")
def side_clip(tmp_path_factory):
    return write_clip(hop_side_spec(), tmp_path_factory.mktemp("hop_side"))


def test_side_to_side_hops_named_by_auto_with_landings_and_the_caving_knee(analyzed, side_clip):
    """Hops 0.30 m to the left and back, the left knee caving on landing 2 and the right on 5:
    `--exercise auto` names them hops, and each landing is found at its contact (2 frames) with
    the caving knee flagged and the other not."""
    truth = json.loads(truth_path(side_clip).read_text())
    s = load_summary(analyzed(side_clip, "auto"))
    assert s["exercise_detected"]["name"] == "hop" and s["exercise"] == "hop"
    assert s["rep_count"] == len(truth["reps"]) == 6
    for rep, want in zip(s["reps"], truth["reps"]):
        assert abs(rep["landing"]["contact_frame"] - want["landing"]["contact_frame"]) <= 2, (rep["landing"], want["landing"])
        assert rep["valgus"] == want["valgus"], (rep["index"], rep["valgus"], want["valgus"])
    assert [{leg for leg, v in r["valgus"].items() if v} for r in s["reps"]] == [set(), {"left"}, set(), set(), {"right"}, set()]


@pytest.fixture(scope="module")
def one_leg_clip(tmp_path_factory):
    return write_clip(hop_one_leg_spec(), tmp_path_factory.mktemp("hop_oneleg"))


@pytest.fixture(scope="module")
def one_leg_forward_back_clip(tmp_path_factory):
    return write_clip(hop_one_leg_forward_back_spec(), tmp_path_factory.mktemp("hop_oneleg_fwdback"))


@pytest.mark.parametrize("which", ["on the spot", "forward and back"])
def test_one_leg_hops_named_by_auto_with_each_landing_on_its_leg(analyzed, one_leg_clip, one_leg_forward_back_clip, which):
    """Hops on one leg, the other foot held up behind (often unseen for a few frames): `--exercise
    auto` names them hops, and each landing is found at its contact (2 frames), credited to the
    hopping leg alone, its contact time within 2 frames (3 forward and back, whose hops toward the
    camera take off up to 3 frames late, as on two legs) and the caving ones flagged. Forward and
    back, every other landing is farther from the camera than its take-off: it counts because the
    pelvis rose and came down within the flight, and the free foot moved with the body."""
    clip = one_leg_clip if which == "on the spot" else one_leg_forward_back_clip
    late = 2 if which == "on the spot" else 3
    truth = json.loads(truth_path(clip).read_text())
    fps = truth["fps"]
    s = load_summary(analyzed(clip, "auto"))
    assert s["exercise_detected"]["name"] == "hop" and s["exercise"] == "hop"
    assert s["rep_count"] == len(truth["reps"])
    for rep, want in zip(s["reps"], truth["reps"]):
        got, true = rep["landing"], want["landing"]
        assert rep["legs"] == want["legs"] and len(want["legs"]) == 1
        assert abs(got["contact_frame"] - true["contact_frame"]) <= 2, (got, true)
        if true["contact_time_s"] is None:
            assert got["contact_time_s"] is None
        else:
            assert abs(got["contact_time_s"] - true["contact_time_s"]) <= late / fps + 1e-6, (got, true)
        assert rep["valgus"] == want["valgus"], (rep["index"], rep["valgus"], want["valgus"])


def test_auto_recognises_hops_by_their_flights(analyzed, hop_clip):
    """`--exercise auto` names the hops (the pelvis rose above standing before each landing) and
    counts them with the hop tracker: the squat counter alone took the landings' bends for squats."""
    s = load_summary(analyzed(hop_clip, "auto"))
    assert s["exercise_detected"]["name"] == "hop" and s["exercise"] == "hop"
    assert s["rep_count"] == 6
    assert [r["index"] for r in s["reps"] if any(r["valgus"].values())] == [2, 5]


@pytest.mark.xdist_group("realtime")  # real time: see tests/e2e/test_live_clips.py
def test_live_cues_the_caving_landings_and_no_other(analyzed, hop_clip, model_path, tmp_path):
    """`live` on the hops (the clip as its camera): no cue on a clean landing or a knee that did
    not cave; when live analysed every frame, a cue for each knee on the two caving landings,
    raised while that landing's feet are on the floor (0.2 s after contact here, of 0.37 s), and
    the live report flags the landings `analyze` flags."""
    _live_cues_only_the_caving_landings(analyzed, hop_clip, model_path, tmp_path)


@pytest.mark.xdist_group("realtime")  # real time: see tests/e2e/test_live_clips.py
def test_live_cues_the_caving_forward_back_landings(analyzed, forward_back_clip, model_path, tmp_path):
    """The same live for forward/back hops, whose hops toward the camera rise less in the image,
    through the live filter, than the floor rule's `lift_on`: every landing before the last
    (which stays down) counted live when live analysed every frame. With frames unanalysed a
    landing can go uncounted, mostly when the frames of the landing itself were lost (see
    `_every_frame_analysed`)."""
    live = _live_cues_only_the_caving_landings(analyzed, forward_back_clip, model_path, tmp_path)
    counted = live["sets"]["reps_counted_live"]
    assert (counted == 5) if _every_frame_analysed(live) else (2 <= counted <= 5), (counted, live["latency"])


@pytest.mark.xdist_group("realtime")  # real time: see tests/e2e/test_live_clips.py
def test_live_cues_the_one_caving_knee_of_side_to_side_hops(analyzed, side_clip, model_path, tmp_path):
    """Live on the side-to-side hops: the left knee cued on landing 2, the right on 5 (when live
    analysed every frame), nothing else."""
    _live_cues_only_the_caving_landings(analyzed, side_clip, model_path, tmp_path)


@pytest.mark.xdist_group("realtime")  # real time: see tests/e2e/test_live_clips.py
def test_live_cues_the_caving_one_leg_landings_forward_and_back(analyzed, one_leg_forward_back_clip, model_path, tmp_path):
    """Live on the one-leg hops forward and back: the knee cued on the two caving landings (when
    live analysed every frame), the second of which follows the first with no flight seen between
    them (a hop toward the camera barely rises in the image), so the legs never unload: the new
    landing ends the cue's cool-down."""
    _live_cues_only_the_caving_landings(analyzed, one_leg_forward_back_clip, model_path, tmp_path)


def _every_frame_analysed(live: dict) -> bool:
    """Live analysed every frame the clip delivered. On a loaded machine it does not, and a hop's
    landing seen late or not at all goes without its cue (and, lost, out of the live report):
    `benchmarks/hop_frame_loss.py` replays the four clips' landmarks with frames removed and
    counts the caving knee-landings left uncued (benchmarks/RESULTS.md, "hop-frame-loss"); no
    run has cued a knee that did not cave."""
    lat = live["latency"]
    return lat["frames_analysed"] == lat["frames_in"]


def _live_cues_only_the_caving_landings(analyzed, clip, model_path, tmp_path) -> dict:
    truth = json.loads(truth_path(clip).read_text())
    out = tmp_path / "live"
    proc = run_cli(["live", "--source", str(clip), "-e", "hop", "--no-window", "--yes", "--quiet", "--out", str(out)],
                   model_path, env_extra={"FORMCHECK_HOME": str(tmp_path / "home")})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    live = json.loads((out / "live.json").read_text())
    cues = live["cues"]
    complete = _every_frame_analysed(live)
    windows = [(rep["start_s"] - 0.05, rep["end_s"], {leg for leg, v in rep["valgus"].items() if v}) for rep in truth["reps"]]
    for c in cues:  # every cue names a knee that caved, in its landing
        assert any(a <= c["raised_s"] <= b and c["leg"] in caved for a, b, caved in windows), (c, live["latency"])
    if complete:
        for rep, (a, b, caved) in zip(truth["reps"], windows):
            raised = {c["leg"] for c in cues if a <= c["raised_s"] <= b}
            assert raised == caved, f"landing {rep['index']}: cues {raised}, caved {caved}"
        assert len(cues) == sum(len(caved) for _, _, caved in windows), cues
    report = load_summary(out)["reps"]
    for r in report:  # the live report too flags only knees that caved, at their landings
        for leg in (leg for leg, v in r["valgus"].items() if v):
            assert any(a <= r["start_s"] <= b and leg in caved for a, b, caved in windows), (r, live["latency"])
    if complete:
        flags = lambda s: [r["valgus"] for r in s]  # noqa: E731
        assert flags(report) == flags(load_summary(analyzed(clip, "hop"))["reps"])
    return live
