"""Real-valgus benchmark: which knee measure separates caving from clean knee-reps on real people.

    FORMCHECK_MODEL=../shared/models/pose_landmarker_full.task \\
        python -m benchmarks.real_valgus --media ../shared/media --extra benchmarks/real_clips \\
        --cache ~/.cache/formcheck/bench [--write]

Every labelled knee-rep (a working leg of a rep labelled yes or no, frontal or oblique view) of
the clips in --media (and --extra, a manifest of fetched clips restored by
benchmarks/real_clips/restore.py) is measured on the report pass's zero-phase metrics over the
label's own rep window (so rep counting does not enter), each measure read as formcheck reads it:
the highest value held for `peak_hold_s` in the loaded half of the rep. Then:

- per measure, the threshold chosen on the training people only (leave-one-person-out: the
  best F1 threshold on everyone else, applied to the held-out person), pooled over folds:
  precision, recall and F1 per knee-rep with 95% Wilson intervals;
- the shipped rule (`verdict`, as `summarize` scores the reps the tracker finds, matched to the
  labelled reps by their bottom frame) with the same intervals;
- with --write, the table goes into benchmarks/RESULTS.md between the real-valgus markers.

Clips are read, never copied; landmarks are cached per clip in --cache (benchmarks/trackers.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
from collections.abc import Callable

import numpy as np

from benchmarks.common import md_table, stamp, update_results
from benchmarks.trackers import BLANK, landmarks
from formcheck import geometry as g
from formcheck.config import Config
from formcheck.landmarks import LEG, Side
from formcheck.metrics import Metrics
from formcheck.pipeline import Pipeline
from formcheck.pose_frame import PoseFrame
from formcheck.report_frames import ReportFrames
from formcheck.scoring import (
    StandingInputs,
    compute_baseline,
    fppa_usable,
    held_max,
    knee_toe_change,
)
from formcheck.session import summarize
from formcheck.sources import Frame, SourceInfo
from formcheck.trackers import tracker_class
from formcheck.trackers.base import RepWindow

# Exercise families by the label's exercise text; side views cannot show valgus.
FAMILIES = (("single-leg", "single-leg"), ("pistol", "single-leg"), ("lateral", "side-lunge"), ("lunge", "lunge"),
            ("squat", "squat"))  # fmt: skip
TRACKER = {"squat": "squat", "single-leg": "single-leg-squat", "side-lunge": "side-lunge", "lunge": "lunge"}


@dataclasses.dataclass
class KneeRep:
    clip: str
    person: str
    family: str
    rep: int
    leg: str
    caving: bool
    features: dict[str, float]  # NaN where not measurable
    shipped: bool | None = None  # the shipped rule's flag (None: rep not found or not scored)


def family_of(exercise: str) -> str | None:
    return next((f for key, f in FAMILIES if key in exercise.lower()), None)


def person_of(entry: dict) -> str:
    """The labelled person, else one person per source video (squat_front_21/22: one man)."""
    if entry.get("person"):
        return entry["person"]
    path = entry.get("source_path", entry["file"])
    if "0922_squat" in path:
        return "ogata_0922_subject_A"
    return f"{entry.get('source_repo', '')}:{path}"


def working_legs(entry: dict, rep: dict) -> tuple[str, ...]:
    leg = rep.get("working_leg") or entry["working_leg"]
    return tuple(s for s in ("left", "right") if s in leg) if leg != "both" else ("left", "right")


def caving_legs(rep: dict, legs: tuple[str, ...]) -> set[str]:
    if rep["valgus_visible"] != "yes":
        return set()
    side = rep.get("valgus_side")
    return set(legs) if side in (None, "both") else {side}


def _recording(d: dict, exercise: str, config: Config):
    pipe = Pipeline(None, tracker_class(exercise)(None, config.trackers), config)  # type: ignore[arg-type]
    t = d["t"]
    for i in range(len(t)):
        ok = np.isfinite(d["xy"][i]).all() and d["vis"][i].max() > 0
        pose = PoseFrame(float(t[i]), d["xy"][i], d["world"][i], d["vis"][i], (640, 480), int(d["people"][i])) if ok else None
        pipe.process_pose(Frame(i, float(t[i]), BLANK), pose)
    return pipe.recording


def _world_medial(world: np.ndarray, side: Side) -> np.ndarray:
    """Knee's displacement toward the midline from the hip-ankle line, world (3D) landmarks,
    over hip-ankle length; the medial axis is the other hip's direction, square to that line."""
    leg, other = LEG[side], LEG[side.other]
    hip, knee, ankle, other_hip = (world[:, int(j), :] for j in (leg.hip, leg.knee, leg.ankle, other.hip))
    axis = ankle - hip
    length = np.linalg.norm(axis, axis=-1, keepdims=True)
    u = axis / length
    medial = other_hip - hip
    medial = medial - np.sum(medial * u, axis=-1, keepdims=True) * u
    medial /= np.linalg.norm(medial, axis=-1, keepdims=True)
    rel = knee - hip
    off = rel - np.sum(rel * u, axis=-1, keepdims=True) * u
    return np.sum(off * medial, axis=-1) / length[..., 0]


def _image_medial(m: Metrics, xy: np.ndarray, side: Side) -> np.ndarray:
    """The same in the image: the knee's medial offset from the hip-ankle line over its length."""
    hip, knee, ankle, _, other_hip = g.leg_points(xy, side)
    axis = ankle - hip
    length = np.linalg.norm(axis, axis=-1)
    with np.errstate(all="ignore"):
        u = axis / length[:, None]
        rel = knee - hip
        normal = np.stack([-u[:, 1], u[:, 0]], axis=-1)
        towards = np.sign(np.sum((other_hip - hip) * normal, axis=-1))
        return np.sum(rel * normal, axis=-1) * towards / length


def measure_clip(entry: dict, video: pathlib.Path, cache: pathlib.Path, config: Config) -> list[KneeRep]:
    family = family_of(entry["exercise"])
    if family is None or "side" in entry["view"].split()[0]:
        return []
    reps = entry["reps"][: entry["rep_count"]] if entry.get("rep_count") else entry["reps"]
    reps = [r for r in reps if r["valgus_visible"] in ("yes", "no")]
    if not reps:
        return []
    d = landmarks(video, cache)
    th = config.thresholds
    exercise = TRACKER[family]
    rec = _recording(d, exercise, config)
    frames = ReportFrames(rec, th.frontal_max_yaw_deg)
    n = len(frames)
    m = frames.metrics(0, n)
    windows = [RepWindow(k + 1, r["start_frame"], min(r["bottom_frame"], n - 1), min(r["end_frame"], n - 1),
                         float(m.t_s[r["start_frame"]]), float(m.t_s[min(r["bottom_frame"], n - 1)]),
                         float(m.t_s[min(r["end_frame"], n - 1)]), tuple(Side(s) for s in working_legs(entry, r)))
               for k, r in enumerate(reps)]  # fmt: skip
    baseline = compute_baseline(StandingInputs.of(m), windows)
    # Smoothed landmarks for the two line measures: the report pass's own filter, via one window.
    world = _smoothed(frames, "world_xyz")
    xy = _smoothed(frames, "image_xy")
    shipped = _shipped(rec, exercise, config, entry, video)
    out = []
    for r, w in zip(reps, windows):
        caving = caving_legs(r, working_legs(entry, r))
        with np.errstate(all="ignore"):
            flex = np.nanmax(np.stack([m.leg(s).flexion_deg for s in w.legs]), axis=0)
        half = flex[w.start_i] + 0.5 * (flex[w.bottom_i] - flex[w.start_i])
        loaded = np.zeros(n, dtype=bool)
        loaded[w.start_i : w.end_i + 1] = flex[w.start_i : w.end_i + 1] >= half if np.isfinite(half) else True
        frontal = m.view == 0

        def peak(values: np.ndarray, where: np.ndarray) -> float:
            v = held_max(m.t_s, np.where(where & frontal, values, np.nan), th.peak_hold_s, w.start_i, w.end_i + 1)
            return math.nan if v is None else v

        for side in w.legs:
            leg = m.leg(side)
            usable = fppa_usable(m, side, baseline, th)
            sep = m.separation_ratio
            with np.errstate(all="ignore"):
                hip_sep = np.abs(m.left.knee_x - m.right.knee_x) / m.hip_width_px
            f = {
                "fppa": peak(leg.fppa_deg, usable & loaded),
                "fppa_any": peak(leg.fppa_deg, loaded),
                "shank": peak(leg.shank_deg, loaded),
                "knee_toe": peak(leg.knee_toe, loaded),
                "knee_toe_change": peak(knee_toe_change(m, side, baseline), loaded),
                "knee_line_2d": peak(_image_medial(m, xy, side), loaded),
                "knee_line_3d": peak(_world_medial(world, side), loaded),
                "knee_ankle_sep": peak(-sep, loaded) if len(w.legs) == 2 else math.nan,
                "knee_hip_sep": peak(-hip_sep, loaded) if len(w.legs) == 2 else math.nan,
            }
            out.append(KneeRep(entry["file"], person_of(entry), family, w.index, side.value, side.value in caving, f,
                               shipped.get((w.bottom_i, side.value))))  # fmt: skip
    return out


def _smoothed(frames: ReportFrames, name: str) -> np.ndarray:
    """The report pass's smoothed landmarks of a whole (short) clip."""
    from formcheck.report_frames import (
        MAX_GAP_S,
        VISIBILITY_GATE,
        bridge_gaps,
        despike,
        swap_legs_where,
        zero_phase_lowpass,
    )

    n = len(frames)
    r = frames.rec.read(0, n)
    swap = frames.swapped
    points = swap_legs_where(r[name].astype(np.float64), swap)
    points[swap_legs_where(r["visibility"], swap) < VISIBILITY_GATE] = np.nan
    bridged = bridge_gaps(frames.t_s, points, MAX_GAP_S, copy=False)
    return zero_phase_lowpass(frames.t_s, despike(bridged, frames.fs), copy=False, fs=frames.fs)


def _shipped(rec, exercise: str, config: Config, entry: dict, video: pathlib.Path) -> dict[tuple[int, str], bool | None]:  # noqa: ANN001
    """The shipped rule's flags, keyed by each labelled rep's bottom frame (nearest tracker rep
    whose window holds it) and leg."""
    info = SourceInfo("file", video.name, float(entry["fps"]), len(rec), 640, 480, None)
    result = summarize(rec, exercise, config, info)
    out: dict[tuple[int, str], bool | None] = {}
    reps = entry["reps"][: entry["rep_count"]] if entry.get("rep_count") else entry["reps"]
    for r in reps:
        b = r["bottom_frame"]
        hit = next((s for s in result.reps if s.rep.start_i <= b <= s.rep.end_i), None)
        for leg in ("left", "right"):
            if hit is not None:
                v = hit.verdict.get(Side(leg))
                out[(min(b, len(rec) - 1), leg)] = None if v is None else bool(v.valgus)
    return out


# -- statistics ------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


@dataclasses.dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unscored: int = 0

    def add(self, truth: bool, flag: bool | None) -> None:
        if flag is None:
            self.unscored += 1
            flag = False  # not judged counts as not flagged: a caving knee missed
        self.tp += truth and flag
        self.fp += (not truth) and flag
        self.fn += truth and not flag
        self.tn += (not truth) and not flag

    def row(self) -> list[str]:
        p_n, r_n = self.tp + self.fp, self.tp + self.fn
        p = self.tp / p_n if p_n else math.nan
        r = self.tp / r_n if r_n else math.nan
        f1 = 2 * p * r / (p + r) if p_n and r_n and (p + r) else math.nan
        pl, ph = wilson(self.tp, p_n)
        rl, rh = wilson(self.tp, r_n)
        return [f"{self.tp}/{self.fp}/{self.fn}/{self.tn}", f"{p:.2f} [{pl:.2f}-{ph:.2f}]" if p_n else "-",
                f"{r:.2f} [{rl:.2f}-{rh:.2f}]" if r_n else "-", f"{f1:.2f}" if f1 == f1 else "-", str(self.unscored)]  # fmt: skip


def best_threshold(values: np.ndarray, truth: np.ndarray) -> float:
    """The threshold with the best F1 on these knee-reps (flag where value > threshold)."""
    ok = np.isfinite(values)
    cands = np.unique(values[ok])
    best, best_f1 = math.inf, -1.0
    for c in cands:
        flag = ok & (values > c - 1e-12)
        tp = np.sum(flag & truth)
        f1 = 2 * tp / (np.sum(flag) + np.sum(truth)) if np.sum(truth) else 0.0
        if f1 > best_f1:
            best, best_f1 = float(c) - 1e-9, f1
    return best


def loso(reps: list[KneeRep], value: Callable[[KneeRep], float]) -> tuple[Scores, list[float]]:
    people = sorted({r.person for r in reps})
    scores, chosen = Scores(), []
    for p in people:
        train = [r for r in reps if r.person != p]
        vals = np.array([value(r) for r in train])
        thr = best_threshold(vals, np.array([r.caving for r in train]))
        chosen.append(thr)
        for r in reps:
            if r.person == p:
                v = value(r)
                scores.add(r.caving, None if not np.isfinite(v) else bool(v > thr))
    return scores, chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", type=pathlib.Path, default=pathlib.Path("../shared/media"))
    ap.add_argument("--extra", type=pathlib.Path, default=None, help="folder with a manifest.json of restored clips")
    ap.add_argument("--extra-cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/real_clips")
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/bench")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--dump", type=pathlib.Path, default=None, help="also write every knee-rep's values as JSON")
    args = ap.parse_args()
    config = Config()
    knee_reps: list[KneeRep] = []
    sources = [(args.media / "manifest.json", args.media)]
    if args.extra:
        sources.append((args.extra / "manifest.json", args.extra_cache))
    for manifest, folder in sources:
        for entry in json.loads(manifest.read_text()):
            video = folder / entry["file"]
            if video.exists():
                knee_reps += measure_clip(entry, video, args.cache / "lm", config)
    if args.dump:
        args.dump.write_text(json.dumps([dataclasses.asdict(r) for r in knee_reps], indent=1, default=float))
    caving = sum(r.caving for r in knee_reps)
    people = len({r.person for r in knee_reps})
    lines = [f"Measured {stamp()}. Command: `python -m benchmarks.real_valgus --media ../shared/media --extra benchmarks/real_clips --write`.",
             "", f"{len(knee_reps)} labelled knee-reps ({caving} caving, {len(knee_reps) - caving} clean) of {people} people; "
             "tp/fp/fn/tn per knee-rep, precision and recall with 95% Wilson intervals; 'unscored' knee-reps count as not flagged.", ""]  # fmt: skip
    rows = []
    shipped = Scores()
    for r in knee_reps:
        shipped.add(r.caving, r.shipped)
    rows.append(["shipped rule (verdict, tracker's reps)", "-", *shipped.row()])
    for name in knee_reps[0].features if knee_reps else []:
        s, thr = loso(knee_reps, lambda r, name=name: r.features[name])
        finite = [t for t in thr if np.isfinite(t)]
        rows.append([f"{name} (threshold fitted leaving each person out)", f"{np.median(finite):.3f}" if finite else "-", *s.row()])
    for family in sorted({r.family for r in knee_reps}):
        fam = [r for r in knee_reps if r.family == family]
        if not any(r.caving for r in fam):
            continue
        for name in fam[0].features:
            s, thr = loso(fam, lambda r, name=name: r.features[name])
            finite = [t for t in thr if np.isfinite(t)]
            rows.append([f"{family} only: {name}", f"{np.median(finite):.3f}" if finite else "-", *s.row()])
    lines.append(md_table(["rule", "median threshold", "tp/fp/fn/tn", "precision", "recall", "F1", "unscored"], rows))
    lines += ["", "Per knee-rep values (caving first):", ""]
    names = list(knee_reps[0].features) if knee_reps else []
    per = sorted(knee_reps, key=lambda r: (not r.caving, r.clip, r.rep, r.leg))
    lines.append(md_table(["clip", "rep", "leg", "caving", "shipped", *names],
                          [[r.clip, r.rep, r.leg, "yes" if r.caving else "no", {None: "-", True: "flag", False: "ok"}[r.shipped],
                            *[f"{r.features[k]:+.3f}" if np.isfinite(r.features[k]) else "-" for k in names]] for r in per]))  # fmt: skip
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_results("real-valgus", "## Real-valgus benchmark (labelled real knee-reps)\n\n" + body)


if __name__ == "__main__":
    main()
