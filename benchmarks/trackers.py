"""Exercise-tracker benchmark: rep-count error, working-leg accuracy, valgus-flag precision/recall
and --exercise auto, on the synthetic standard set and the labelled real clips.

    FORMCHECK_MODEL=/work/shared/models/pose_landmarker_full.task \
        python benchmarks/trackers.py --synth /tmp/trk/std --media ../shared/media --cache /tmp/trk/cache

The pose model runs once per clip (raw landmarks cached as .npz in --cache); everything after it
is the real per-frame pipeline and report pass (Pipeline.process_pose, session.summarize), the
same code `formcheck analyze` runs. --synth is made (if empty) by `formcheck samples --out DIR`.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
from collections import defaultdict

import numpy as np

from formcheck.config import Config
from formcheck.pipeline import Pipeline
from formcheck.pose_frame import PoseFrame
from formcheck.session import summarize
from formcheck.sources import Frame, SourceInfo, open_source
from formcheck.trackers import tracker_class

BLANK = np.zeros((2, 2, 3), np.uint8)
REAL_EXERCISE = {"squat": "squat", "lunge": "lunge", "lateral_lunge": "side-lunge", "stepdown": "step-down", "balance": "balance"}


def landmarks(video: pathlib.Path, cache: pathlib.Path) -> dict:
    out = cache / (video.name + ".npz")
    if not out.exists():
        from formcheck.pose import PoseEstimator

        xs, ws, vs, ts, ps = [], [], [], [], []
        with PoseEstimator(os.environ["FORMCHECK_MODEL"]) as est:
            for f in open_source(video):
                pose = est.detect(f.image, f.t_s)
                ts.append(f.t_s)
                xs.append(np.full((33, 2), np.nan) if pose is None else pose.image_xy)
                ws.append(np.full((33, 3), np.nan) if pose is None else pose.world_xyz)
                vs.append(np.zeros(33) if pose is None else pose.visibility)
                ps.append(0 if pose is None else pose.people)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(out, xy=np.array(xs), world=np.array(ws), vis=np.array(vs), t=np.array(ts), people=np.array(ps))
    return dict(np.load(out))


def analyse(d: dict, exercise: str, name: str):
    t = d["t"]
    pipe = Pipeline(None, tracker_class(exercise)(), Config())  # type: ignore[arg-type]
    for i in range(len(t)):
        ok = np.isfinite(d["xy"][i]).all() and d["vis"][i].max() > 0
        pose = PoseFrame(float(t[i]), d["xy"][i], d["world"][i], d["vis"][i], (640, 480), int(d["people"][i])) if ok else None
        pipe.process_pose(Frame(i, float(t[i]), BLANK), pose)
    fps = float(1 / np.median(np.diff(t)))
    return summarize(pipe.recording, exercise, Config(), SourceInfo("file", name, fps, len(t), 640, 480, None))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synth", type=pathlib.Path, required=True)
    ap.add_argument("--media", type=pathlib.Path)
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path("/tmp/formcheck-bench-cache"))
    a = ap.parse_args()
    if not list(a.synth.glob("*.mp4")):
        from formcheck.synth.samples import make_samples

        make_samples(a.synth, "standard")
    cases = []  # (set, clip, exercise, truth reps [(legs, valgus)], truth holds, video)
    for tp in sorted(a.synth.glob("*.truth.json")):
        tr = json.loads(tp.read_text())
        reps = [(tuple(r["legs"]), any(r["valgus"].values())) for r in tr["reps"]]
        cases.append(("synthetic", tp.name.replace(".truth.json", ".mp4"), tr["exercise"], reps, tr["holds"], tp.with_name(tr["clip"])))
    if a.media and (a.media / "manifest.json").exists():
        for e in json.loads((a.media / "manifest.json").read_text()):
            ex = next(v for k, v in REAL_EXERCISE.items() if e["file"].startswith(k))
            leg = e["working_leg"]
            legs = ("left", "right") if leg == "both" else (leg,)
            reps = [(legs, r["valgus_visible"] == "yes" if r["valgus_visible"] in ("yes", "no") else None) for r in e["reps"]]
            holds = [e["hold"]] if e.get("hold") else []
            if e.get("rep_count") is not None and e["rep_count"] != len(reps):
                # the label's count wins over its rep list (squat_front_10 lists 10 windows, counts 9)
                reps = reps[: e["rep_count"]] if e["rep_count"] < len(reps) else reps
            cases.append(("real", e["file"], ex, reps, holds, a.media / e["file"]))
    rows, per_ex = [], defaultdict(lambda: defaultdict(int))
    for group, clip, ex, reps, holds, video in cases:
        d = landmarks(video, a.cache / group)
        res = analyse(d, ex, clip)
        auto = analyse(d, "auto", clip).detection
        k = per_ex[(group, ex)]
        k["clips"] += 1
        k["auto_right"] += auto.name == ex
        k["auto_unsure"] += auto.name == "unsure"
        if ex == "balance":
            got = [(h.hold.leg.value, round(h.hold.start_s, 2), round(h.hold.end_s, 2), len(h.hold.touchdowns)) for h in res.holds]
            rows.append(f"| {group} | {clip} | {ex} | holds {len(holds)} | {got} | | | {auto.name} ({auto.confidence}) |")
            k["count_err"] += abs(len(got) - len(holds))
            continue
        k["reps"] += len(reps)
        k["count_err"] += abs(len(res.reps) - len(reps))
        got_legs = [tuple(s.value for s in r.rep.legs) for r in res.reps]
        leg_ok = sum(g == t[0] for g, t in zip(got_legs, reps)) if len(got_legs) == len(reps) else None
        if leg_ok is not None:
            k["legs_ok"] += leg_ok
            k["legs_n"] += len(reps)
            for s, (_, truth_v) in zip(res.reps, reps):
                if truth_v is None:
                    continue
                flagged = any(bool(v) for v in s.valgus.values())
                k["tp"] += flagged and truth_v
                k["fp"] += flagged and not truth_v
                k["fn"] += (not flagged) and truth_v
        rows.append(f"| {group} | {clip} | {ex} | {len(reps)} | {len(res.reps)} | {leg_ok if leg_ok is not None else '-'}/{len(reps)} | "
                    f"{sum(v for _, v in reps if v)} | {auto.name} ({auto.confidence}) |")
    print("| set | clip | exercise | true reps | counted | working leg right | valgus reps (truth) | auto |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print("\n| set | exercise | clips | mean abs rep-count error | working leg right | valgus precision | valgus recall | auto right / unsure / wrong |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (group, ex), k in sorted(per_ex.items()):
        prec = f"{k['tp'] / (k['tp'] + k['fp']):.2f}" if k["tp"] + k["fp"] else "-"
        rec = f"{k['tp'] / (k['tp'] + k['fn']):.2f}" if k["tp"] + k["fn"] else "-"
        legs = f"{k['legs_ok']}/{k['legs_n']}" if k["legs_n"] else "-"
        wrong = k["clips"] - k["auto_right"] - k["auto_unsure"]
        print(f"| {group} | {ex} | {k['clips']} | {k['count_err'] / k['clips']:.2f} | {legs} | {prec} | {rec} | {k['auto_right']} / {k['auto_unsure']} / {wrong} |")


if __name__ == "__main__":
    main()
