"""Deep-flexion valgus measure: the knee-to-toe change from standing against the absolute offset.

    FORMCHECK_MODEL=/work/shared/models/pose_landmarker_full.task \\
        python benchmarks/valgus_measure.py --synth /tmp/std --media ../shared/media --cache /tmp/formcheck-bench-cache [--write]

For every labelled frontal-or-oblique squat, lunge and side-lunge clip in --media (labels yes/no
in manifest.json) and every rep clip of the synthetic set in --synth (truth per rep and leg), the
real per-frame pipeline and report pass run once on cached landmarks (benchmarks/trackers.py's
cache), then every rep is scored twice: with the absolute knee-to-toe offset (`valgus_knee_toe`,
the measure before) and with the change from standing (`valgus_knee_toe_change`, the default
now). FPPA-scored reps are the same under both. Prints (or with --write, puts into
benchmarks/RESULTS.md between the valgus-measure markers) the per-rep values, precision/recall
per exercise before and after, and the threshold rule's inputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
from collections import defaultdict

import numpy as np

from benchmarks.common import complete_reps, md_table, stamp, update_results
from benchmarks.trackers import BLANK, REAL_EXERCISE, landmarks
from formcheck.config import Config
from formcheck.core.pose_frame import PoseFrame
from formcheck.media.sources import Frame, SourceInfo
from formcheck.pipeline.session import summarize
from formcheck.pipeline.stages import Pipeline
from formcheck.trackers import tracker_class

BEFORE = Config(thresholds=dataclasses.replace(Config().thresholds, knee_toe_from_standing=False))
AFTER = Config()
EXERCISES = ("squat", "lunge", "side-lunge", "single-leg-squat", "step-down", "step-up")


@dataclasses.dataclass
class Case:
    group: str  # real | synthetic
    clip: str
    exercise: str
    reps: list[dict]  # start_frame, end_frame, and truth {leg: bool} (synthetic) or label yes/no/unclear (real)
    legs: tuple[str, ...]  # working legs (real clips)
    video: pathlib.Path


def cases(synth: pathlib.Path | None, media: pathlib.Path | None) -> list[Case]:
    out = []
    if media and (media / "manifest.json").exists():
        for e in json.loads((media / "manifest.json").read_text()):
            ex = next(v for k, v in REAL_EXERCISE.items() if e["file"].startswith(k))
            if ex not in EXERCISES or e["view"] == "side":
                continue
            reps = complete_reps(e)
            if not any(r["valgus_visible"] in ("yes", "no") for r in reps):
                continue
            legs = ("left", "right") if e["working_leg"] == "both" else (e["working_leg"],)
            out.append(Case("real", e["file"], ex, reps, legs, media / e["file"]))
    if synth:
        for tp in sorted(synth.glob("*.truth.json")):
            tr = json.loads(tp.read_text())
            if tr["exercise"] in EXERCISES:
                out.append(Case("synthetic", tr["clip"], tr["exercise"], tr["reps"], (), tp.with_name(tr["clip"])))
    return out


def analyse(d: dict, exercise: str, name: str):
    """Both scorings of one clip: the pipeline and tracker run once, the report pass twice."""
    t = d["t"]
    pipe = Pipeline(None, tracker_class(exercise)(), AFTER)  # type: ignore[arg-type]
    for i in range(len(t)):
        ok = np.isfinite(d["xy"][i]).all() and d["vis"][i].max() > 0
        pose = PoseFrame(float(t[i]), d["xy"][i], d["world"][i], d["vis"][i], (640, 480), int(d["people"][i])) if ok else None
        pipe.process_pose(Frame(i, float(t[i]), BLANK), pose)
    info = SourceInfo("file", name, float(1 / np.median(np.diff(t))), len(t), 640, 480, None)
    return summarize(pipe.recording, exercise, BEFORE, info), summarize(pipe.recording, exercise, AFTER, info)


def _fmt(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:+.{nd}f}"


def _flag(v: bool | None) -> str:
    return "?" if v is None else ("V" if v else "-")


def evaluate(cs: list[Case], cache: pathlib.Path) -> tuple[list[list], dict, list[float]]:
    """(per-rep rows, counts per (group, exercise, 'before'|'after'), clean-rep change values per clip)."""
    rows: list[list] = []
    counts: dict = defaultdict(lambda: defaultdict(int))
    spread: list[float] = []
    for c in cs:
        d = landmarks(c.video, cache / c.group)
        before, after = analyse(d, c.exercise, c.clip)
        clean_changes: dict[str, list[float]] = defaultdict(list)
        for k, lab in enumerate(c.reps):
            got = [(sb, sa) for sb, sa in zip(before.reps, after.reps) if lab["start_frame"] <= sa.rep.bottom_i <= lab["end_frame"]]
            if c.group == "real":
                truth_rep = {"yes": True, "no": False}.get(lab["valgus_visible"])
                legs = c.legs
            else:
                legs = tuple(lab["legs"])
                truth_rep = None
            if not got:
                rows.append([c.group, c.clip, k + 1, "/".join(legs), lab.get("valgus_visible", lab.get("valgus")),
                             "not counted", "", "", "", "", "", ""])
                continue
            sb, sa = got[0]
            for leg_name in legs:
                leg = next((s for s in sa.rep.legs if s.value == leg_name), None)
                truth = truth_rep if c.group == "real" else lab["valgus"].get(leg_name)
                if leg is None:
                    rows.append([c.group, c.clip, k + 1, leg_name, {True: "yes", False: "no", None: "unclear"}[truth],
                                 "other leg counted", "", "", "", "", "", ""])
                    continue
                kt, ch = sa.peak_knee_toe_offset.get(leg), sa.peak_knee_toe_change.get(leg)
                fb, fa = sb.valgus.get(leg), sa.valgus.get(leg)
                rows.append([c.group, c.clip, k + 1, leg_name, {True: "yes", False: "no", None: "unclear"}[truth],
                             sa.basis.value if sa.basis else "not scored", f"{sa.depth_deg:.0f}" if sa.depth_deg else "-",
                             _fmt(sa.peak_fppa_deg.get(leg), 1), _fmt(kt), _fmt(ch), _flag(fb), _flag(fa)])
                if truth is False and ch is not None and sa.basis is not None and sa.basis.value == "knee_toe":
                    clean_changes[leg_name].append(ch)
            # Precision/recall: real clips per rep (any working leg flagged), synthetic per rep x leg.
            units = [(truth_rep, any(bool(s.valgus.get(x)) for x in s.rep.legs) if s.basis else None, s.basis)
                     for s in (sb, sa)] if c.group == "real" else None
            if c.group == "real":
                pairs = [("before", units[0]), ("after", units[1])]
                for when, (truth, flagged, basis) in pairs:
                    _count(counts[(c.group, c.exercise, when)], truth, flagged, basis)
            else:
                for leg_name in legs:
                    leg = next((s for s in sa.rep.legs if s.value == leg_name), None)
                    for when, s in (("before", sb), ("after", sa)):
                        flagged = None if leg is None or s.basis is None else bool(s.valgus.get(leg))
                        _count(counts[(c.group, c.exercise, when)], lab["valgus"].get(leg_name), flagged, s.basis)
        for vals in clean_changes.values():
            if len(vals) >= 3:
                spread.extend(np.asarray(vals) - np.mean(vals))
    return rows, counts, spread


def _count(k: dict, truth: bool | None, flagged: bool | None, basis) -> None:
    if truth is None:
        return
    k["n"] += 1
    if flagged is None:
        k["unscored"] += 1
        flagged = False
    elif basis is not None and basis.value == "knee_toe":
        k["by_knee_toe"] += 1
    k["tp"] += flagged and truth
    k["fp"] += flagged and not truth
    k["fn"] += (not flagged) and truth
    k["tn"] += (not flagged) and not truth


def _pr(k: dict) -> tuple[str, str]:
    p = f"{k['tp'] / (k['tp'] + k['fp']):.2f}" if k["tp"] + k["fp"] else "n/a"
    r = f"{k['tp'] / (k['tp'] + k['fn']):.2f}" if k["tp"] + k["fn"] else "n/a"
    return p, r


def report(rows: list[list], counts: dict, spread: list[float], command: str) -> str:
    sd = float(np.sqrt(np.mean(np.square(spread)))) if spread else float("nan")
    summary = []
    for (group, ex) in sorted({(g, e) for g, e, _ in counts}):
        b, a = counts[(group, ex, "before")], counts[(group, ex, "after")]
        pb, rb = _pr(b)
        pa, ra = _pr(a)
        summary.append([group, ex, "rep" if group == "real" else "rep x leg", a["n"], a["by_knee_toe"], a["unscored"],
                        f"{b['tp']}/{b['fp']}/{b['fn']}/{b['tn']}", pb, rb, f"{a['tp']}/{a['fp']}/{a['fn']}/{a['tn']}", pa, ra])
    th = AFTER.thresholds
    lines = [
        "## Deep-flexion valgus measure (knee-to-toe change from standing)",
        "",
        f"Measured {stamp()}. Command: `{command}`",
        "",
        "Where FPPA is unusable (knee flexion past `fppa_max_flexion_deg` or the thigh foreshortened), the rep is judged",
        "against the foot. **Before**: the absolute knee-to-toe offset (knee's medial image offset from the foot-index",
        f"landmark over the current shank length) against `valgus_knee_toe` = {th.valgus_knee_toe}. **After** (default now): the",
        "change of that offset from standing, in standing shank lengths, against",
        f"`valgus_knee_toe_change` = {th.valgus_knee_toe_change}. FPPA-scored reps are identical in both columns.",
        "",
        "Threshold rule: a knee that tracks over a planted foot moves forward along it, and with any toe-out that",
        "carries it laterally, so its change is <= 0; the limit is 0 plus twice the rep-to-rep spread of the change",
        "(the measurement's own noise), the spread being the RMS deviation of each clean knee-to-toe-scored rep",
        "(label 'no' / truth clean) from its clip and leg's mean, over clips with at least 3 such reps, real and",
        f"synthetic pooled: {sd:.3f} over {len(spread)} rep-legs, so 2 x {sd:.3f} = {2 * sd:.3f}, rounded up to the next",
        f"0.01 = {np.ceil(200 * sd) / 100:.2f} (the default in force: {th.valgus_knee_toe_change}). The labelled caves were",
        "not used to pick it.",
        "",
        "Precision/recall (TP/FP/FN/TN; real clips per labelled yes/no rep, a rep flagged when any working leg is;",
        "synthetic per rep x working leg against the truth; a leg not scored counts as not flagged):",
        "",
        md_table(["set", "exercise", "unit", "n", "decided by knee_toe", "not scored",
                  "before TP/FP/FN/TN", "before precision", "before recall", "after TP/FP/FN/TN", "after precision", "after recall"], summary),
        "",
        "What this shows, and what these data cannot tell (read from the per-rep table below, run of 2026-11-22):",
        "- The change from standing removes the false alarms of toes-out reps: the clean real lateral lunge (10 reps)",
        "  read +0.30 to +0.37 absolute (all flagged), -0.38 to -0.47 as a change (none). Clean real squats read -0.01",
        "  to -0.38. Synthetic lunges, judged against the foot, go from recall 0 to 4 of 6 (the two missed are at 30",
        "  degrees of yaw, not scored).",
        "- **The mild mid-descent caves of squat_front_09 (reps 1-3) are still not flagged, by either measure.** They read",
        "  -0.13 to -0.24 as a change (the knee still moves laterally relative to its toes, less than on the corrected",
        "  reps 4-6 at -0.30 to -0.38), +0.02 to +0.17 absolute, and FPPA -4 to -10 degrees where usable. Every",
        "  measure tried (absolute and standing-relative knee-to-toe and knee-to-ankle, knee separation over toe or",
        "  ankle separation, FPPA and FPPA change, the knee's offset from the foot's heel-to-toe axis at its forward",
        "  travel from shank foreshortening with toe-out from the world landmarks) separates them from the same",
        "  person's corrected reps but not from other people's clean reps (squat_front_01/02/04/10/12/14). With one",
        "  clip of labelled caves (one person, 3 reps) no threshold can be justified that flags them without tuning to",
        "  that clip; it was not tuned to.",
        "- The change assumes the foot stays where it stood. Stepping exercises break that: the synthetic side lunge's",
        "  wide-stepped foot puts the clean knee medial of its toes (+0.17, +0.20 on its frontal clean reps: 2 false",
        "  alarms), and 15 degrees of camera yaw biases it (+0.07, +0.10 on the clean synthetic lunges). The real",
        "  lateral lunge steps too and reads strongly negative, so the sign of this error depends on the stance.",
        "- The real clips hold no labelled caving lunge, side lunge, step-down or single-leg squat seen from the front:",
        "  recall there is measured on synthetic clips only.",
        "",
        "Every labelled rep (V flagged, - not, ? not scored; peak values in the loaded half of the rep; knee-to-toe",
        "offset in current shank lengths, change in standing shank lengths, positive = knee medial):",
        "",
        md_table(["set", "clip", "rep", "leg", "truth", "basis", "depth (deg)", "peak FPPA", "peak knee-toe offset",
                  "peak knee-toe change", "before", "after"], rows),
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synth", type=pathlib.Path)
    ap.add_argument("--media", type=pathlib.Path)
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path("/tmp/formcheck-bench-cache"))
    ap.add_argument("--write", action="store_true", help="put the tables into benchmarks/RESULTS.md")
    a = ap.parse_args()
    command = "python benchmarks/valgus_measure.py" + (f" --synth {a.synth}" if a.synth else "") + (
        f" --media {a.media}" if a.media else "") + f" --cache {a.cache}"
    rows, counts, spread = evaluate(cases(a.synth, a.media), a.cache)
    body = report(rows, counts, spread, command)
    if a.write:
        update_results("valgus-measure", body)
    print(body)


if __name__ == "__main__":
    main()
