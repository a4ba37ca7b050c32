"""Real-valgus benchmark: which knee measure separates caving from clean knee-reps on real people.

    FORMCHECK_MODEL=../shared/models/pose_landmarker_full.task \\
        python -m benchmarks.real_valgus --media ../shared/media --extra benchmarks/real_clips \\
        [--warped ~/.cache/formcheck/warped] [--plots benchmarks] [--write]

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
- with --warped (clips made by benchmarks/warp_valgus.py), the share of warped knee-reps the
  shipped rule flags per size (the sensitivity curve), the untouched knee's false flags, how far
  inside its toes the model reads the warped knee, and the rules again on real and warped together;
- with --plots, the precision-recall and sensitivity curves as PNGs;
- with --write, the tables go into benchmarks/RESULTS.md between the real-valgus markers.

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

from benchmarks.common import complete_reps, md_table, stamp, update_results
from benchmarks.trackers import BLANK, landmarks
from formcheck.config import Config
from formcheck.core import geometry as g
from formcheck.core.landmarks import LEG, Side
from formcheck.core.metrics import Metrics
from formcheck.core.pose_frame import PoseFrame
from formcheck.judging.scoring import (StandingInputs, StandingReference, compute_baseline, fppa_usable, held_max,
                                       knee_toe_change, loaded_mask)
from formcheck.media.sources import Frame, SourceInfo
from formcheck.pipeline.report_frames import ReportFrames
from formcheck.pipeline.session import summarize
from formcheck.pipeline.stages import Pipeline
from formcheck.trackers import tracker_class
from formcheck.trackers.base import RepWindow

# Exercise families by the label's exercise text; side views cannot show valgus.
# An entry's family: the first key of this tuple, in order, that its exercise text contains; a
# jump (a jump squat too) is judged at its landings by the hop tracker, not here.
FAMILIES = (("jump", None), ("single-leg", "single-leg"), ("pistol", "single-leg"), ("lateral", "side-lunge"),
            ("lunge", "lunge"), ("squat", "squat"))  # fmt: skip
TRACKER = {"squat": "squat", "single-leg": "single-leg-squat", "side-lunge": "side-lunge", "lunge": "lunge"}


FEATURES = ("fppa", "fppa_any", "shank", "knee_toe", "knee_toe_change", "knee_toe_change_before", "knee_line_2d",
            "knee_line_3d", "knee_foot_line_3d", "knee_ankle_sep", "knee_hip_sep")  # KneeRep.features, in table order


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
    level: float | None = None  # warped clips: where the warped knee ends, shank lengths inside the toe
    warped_leg: bool = False  # warped clips: this is the leg that was warped
    bottom_knee_toe: float = math.nan  # the knee-to-toe offset the model reads at the labelled bottom
    decided: str = ""  # the shipped verdict's measure, value and limit, and the tracker rep it judged
    # False: a leg the labels do not name as working in this rep, listed only because the shipped
    # rule flagged it (the tracker credited the rep to it): a false flag, on the wrong knee.
    working: bool = True


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


def _world_off_foot(world: np.ndarray, side: Side) -> np.ndarray:
    """Knee-over-foot corrected for toe-out, world (3D) landmarks: the knee's horizontal offset
    from the line through the ankle along the foot (heel to toe), toward the other ankle, over
    the shank's length. A knee travelling over a turned-out foot reads 0 however far it moves."""
    leg, other = LEG[side], LEG[side.other]
    knee, ankle, heel, toe, other_ankle = (world[:, int(j), :] for j in (leg.knee, leg.ankle, leg.heel, leg.toe, other.ankle))
    flat = [0, 2]  # MediaPipe's world y is vertical
    with np.errstate(all="ignore"):
        along = (toe - heel)[:, flat]
        along /= np.linalg.norm(along, axis=-1, keepdims=True)
        across = np.stack([-along[:, 1], along[:, 0]], axis=-1)
        towards = np.sign(np.sum((other_ankle - ankle)[:, flat] * across, axis=-1))
        return np.sum((knee - ankle)[:, flat] * across, axis=-1) * towards / np.linalg.norm(knee - ankle, axis=-1)


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
    reps = [r for r in complete_reps(entry) if r["valgus_visible"] in ("yes", "no")]
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
    standing = StandingInputs.of(m)
    baseline = compute_baseline(standing, windows)
    before = StandingReference(standing, windows, baseline)
    # Smoothed landmarks for the two line measures: the report pass's own filter, via one window.
    world = _smoothed(frames, "world_xyz")
    xy = _smoothed(frames, "image_xy")
    shipped = _shipped(rec, exercise, config, entry, video)
    out: list[KneeRep] = []
    wrong: dict[tuple[str, str], KneeRep] = {}  # flags on a leg not labelled working, per tracker rep
    for r, w in zip(reps, windows):
        caving = caving_legs(r, working_legs(entry, r))
        loaded = loaded_mask(m, w)
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
                "knee_toe_change_before": peak(knee_toe_change(m, side, before.before(w.start_i)), loaded),
                "knee_line_2d": peak(_image_medial(m, xy, side), loaded),
                "knee_line_3d": peak(_world_medial(world, side), loaded),
                "knee_foot_line_3d": peak(_world_off_foot(world, side), loaded),
                "knee_ankle_sep": peak(-sep, loaded) if len(w.legs) == 2 else math.nan,
                "knee_hip_sep": peak(-hip_sep, loaded) if len(w.legs) == 2 else math.nan,
            }
            assert tuple(f) == FEATURES
            bottom_kt = float(leg.knee_toe[w.bottom_i])
            out.append(KneeRep(entry["file"], person_of(entry), family, w.index, side.value, side.value in caving, f,
                               shipped.get((w.bottom_i, side.value), (None, ""))[0], entry.get("warp_level"),
                               entry.get("warped_leg") == side.value, bottom_kt,
                               shipped.get((w.bottom_i, side.value), (None, ""))[1]))  # fmt: skip
        for leg in ("left", "right"):
            flag, what = shipped.get((w.bottom_i, leg), (None, ""))
            if flag and Side(leg) not in w.legs:
                wrong.setdefault((what, leg), KneeRep(
                    entry["file"], person_of(entry), family, w.index, leg, False, dict.fromkeys(FEATURES, math.nan), True,
                    entry.get("warp_level"), entry.get("warped_leg") == leg, math.nan, what, working=False))  # fmt: skip
    # A flag on a tracker rep's leg counts once, and not as a wrong knee where a labelled rep in
    # the same tracker rep works that leg (`decided` names the tracker rep).
    return out + [r for (what, leg), r in wrong.items() if not any(o.decided == what and o.leg == leg for o in out)]


def _smoothed(frames: ReportFrames, name: str) -> np.ndarray:
    """The report pass's smoothed landmarks of a whole (short) clip."""
    from formcheck.pipeline.report_frames import (
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


def _shipped(rec, exercise: str, config: Config, entry: dict, video: pathlib.Path) -> dict[tuple[int, str], tuple[bool | None, str]]:  # noqa: ANN001
    """The shipped rule's flags and what decided them, keyed by each labelled rep's bottom frame
    (nearest tracker rep whose window holds it) and leg."""
    info = SourceInfo("file", video.name, float(entry["fps"]), len(rec), 640, 480, None)
    result = summarize(rec, exercise, config, info)
    out: dict[tuple[int, str], tuple[bool | None, str]] = {}
    for r in complete_reps(entry):
        b = r["bottom_frame"]
        hit = next((s for s in result.reps if s.rep.start_i <= b <= s.rep.end_i), None)
        for leg in ("left", "right"):
            if hit is not None:
                v = hit.verdict.get(Side(leg))
                flag = None if v is None or v.valgus is None else bool(v.valgus)
                what = "not judged" if v is None else (f"{v.measure.value} {'-' if v.value is None else f'{v.value:+.3f}'}"
                                                       f" (limit {v.limit:g}), tracker rep {hit.rep.start_i}-{hit.rep.end_i}")  # fmt: skip
                out[(min(b, len(rec) - 1), leg)] = (flag, what)
    return out


# -- statistics ------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(centre - half, 0.0), min(centre + half, 1.0))  # clipped: rounding reads -0.00 at k = 0


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


def best_or_thresholds(a: np.ndarray, b: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(ta, tb) with the best F1 for the rule a > ta or b > tb (NaN never passes)."""
    def grid(v: np.ndarray) -> np.ndarray:
        v = v[np.isfinite(v)]
        return np.unique(np.quantile(v, np.linspace(0, 1, 41))) - 1e-9 if v.size else np.array([np.inf])

    best, best_f1 = (math.inf, math.inf), -1.0
    pa = np.where(np.isfinite(a), a, -np.inf)
    pb = np.where(np.isfinite(b), b, -np.inf)
    for ta in np.append(grid(a), np.inf):
        fa = pa > ta
        for tb in np.append(grid(b), np.inf):
            flag = fa | (pb > tb)
            tp = np.sum(flag & truth)
            f1 = 2 * tp / (np.sum(flag) + np.sum(truth)) if np.sum(truth) else 0.0
            if f1 > best_f1:
                best, best_f1 = (float(ta), float(tb)), f1
    return best


def loso_or(reps: list[KneeRep], fa: str, fb: str) -> tuple[Scores, list[tuple[float, float]]]:
    people = sorted({r.person for r in reps})
    scores, chosen = Scores(), []
    for p in people:
        train = [r for r in reps if r.person != p]
        ta, tb = best_or_thresholds(np.array([r.features[fa] for r in train]), np.array([r.features[fb] for r in train]),
                                    np.array([r.caving for r in train]))  # fmt: skip
        chosen.append((ta, tb))
        for r in reps:
            if r.person == p:
                a, b = r.features[fa], r.features[fb]
                seen = np.isfinite(a) or np.isfinite(b)
                scores.add(r.caving, bool((np.isfinite(a) and a > ta) or (np.isfinite(b) and b > tb)) if seen else None)
    return scores, chosen


LOGISTIC = ("shank", "knee_toe", "knee_line_2d", "knee_line_3d")  # none needs a standing reference


def loso_logistic(reps: list[KneeRep], names: tuple[str, ...] = LOGISTIC) -> tuple[Scores, list[float]]:
    """A logistic regression on several measures (standardised, balanced classes), fitted leaving
    each person out; its probability threshold is the best-F1 one on the training people. A
    knee-rep missing any of the measures is unscored."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([[r.features[n] for n in names] for r in reps])
    y = np.array([r.caving for r in reps])
    seen = np.isfinite(x).all(axis=1)
    person = np.array([r.person for r in reps])
    scores, chosen = Scores(), []
    for p in sorted(set(person)):
        train = seen & (person != p)
        if y[train].all() or not y[train].any():
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
        model.fit(x[train], y[train])
        thr = best_threshold(model.predict_proba(x[train])[:, 1], y[train])
        chosen.append(thr)
        for i in np.flatnonzero(person == p):
            scores.add(bool(y[i]), bool(model.predict_proba(x[i : i + 1])[0, 1] > thr) if seen[i] else None)
    return scores, chosen


def collect(sources: list[tuple[pathlib.Path, pathlib.Path]], cache: pathlib.Path, config: Config) -> list[KneeRep]:
    out: list[KneeRep] = []
    for manifest, folder in sources:
        entries = json.loads(manifest.read_text()) if manifest.is_file() else [
            json.loads(p.read_text()) for p in sorted(manifest.glob("*.truth.json"))]  # fmt: skip
        for entry in entries:
            video = folder / entry["file"]
            if video.exists():
                out += measure_clip(entry, video, cache, config)
    return out


def rule_rows(every: list[KneeRep], pairs: list[tuple[str, str]]) -> list[list[str]]:
    """One row per rule. The shipped rule also counts its flags on legs the labels do not name as
    working (`KneeRep.working`) as false; the measures are read on the working legs only."""
    rows = []
    shipped = Scores()
    for r in every:
        shipped.add(r.caving, r.shipped)
    rows.append(["shipped rule (verdict, tracker's reps)", "-", *shipped.row()])
    reps = [r for r in every if r.working]
    for name in reps[0].features if reps else []:
        s, thr = loso(reps, lambda r, name=name: r.features[name])
        finite = [t for t in thr if np.isfinite(t)]
        rows.append([name, f"{np.median(finite):.3f}" if finite else "-", *s.row()])
    for fa, fb in pairs:
        s, thr2 = loso_or(reps, fa, fb)
        med = [f"{np.median([t[k] for t in thr2 if np.isfinite(t[k])]):.3f}" if any(np.isfinite(t[k]) for t in thr2) else "off" for k in (0, 1)]
        rows.append([f"{fa} or {fb}", " / ".join(med), *s.row()])
    if len({r.person for r in reps if r.caving}) >= 2:
        s, probs = loso_logistic(reps)
        rows.append([f"logistic regression ({', '.join(LOGISTIC)})", f"p > {np.median(probs):.2f}", *s.row()])
    return rows


HEADER = ["rule (thresholds fitted leaving each person out)", "median threshold", "tp/fp/fn/tn", "precision", "recall", "F1", "unscored"]
OR_PAIRS = [("knee_toe_change", "knee_toe"), ("knee_toe_change", "shank"), ("knee_toe", "shank"), ("knee_line_3d", "knee_toe")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", type=pathlib.Path, default=pathlib.Path("../shared/media"))
    ap.add_argument("--extra", type=pathlib.Path, default=None, help="folder with a manifest.json of restored clips")
    ap.add_argument("--extra-cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/real_clips")
    ap.add_argument("--warped", type=pathlib.Path, default=None, help="folder of warped clips (benchmarks/warp_valgus.py)")
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/bench")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--dump", type=pathlib.Path, default=None, help="also write every knee-rep's values as JSON")
    ap.add_argument("--plots", type=pathlib.Path, default=None, help="folder for the PR and sensitivity curves (PNG)")
    args = ap.parse_args()
    config = Config()
    sources = [(args.media / "manifest.json", args.media)]
    if args.extra:
        sources.append((args.extra / "manifest.json", args.extra_cache))
    every = collect(sources, args.cache / "lm", config)
    real = [r for r in every if r.working]
    wrong_leg = [r for r in every if not r.working]
    warped_every = collect([(args.warped, args.warped)], args.cache / "lm", config) if args.warped else []
    warped = [r for r in warped_every if r.working]
    if args.dump:
        args.dump.write_text(json.dumps([dataclasses.asdict(r) for r in every + warped_every], indent=1, default=float))
    caving = sum(r.caving for r in real)
    people = len({r.person for r in real})
    command = ("python -m benchmarks.real_valgus --extra benchmarks/real_clips" + (" --warped ~/.cache/formcheck/warped" if warped else "")
               + (f" --plots {args.plots}" if args.plots else "") + " --write")  # fmt: skip
    lines = [f"Measured {stamp()}. Command: `{command}`.", "",
             f"Real: {len(real)} labelled knee-reps ({caving} caving, {len(real) - caving} clean) of {people} people; "
             "tp/fp/fn/tn per knee-rep, precision and recall with 95% Wilson intervals; 'unscored' knee-reps count as not flagged.", "",
             md_table(HEADER, rule_rows(every, OR_PAIRS))]  # fmt: skip
    lines += ["", f"The shipped rule's flags on a leg the labels do not name as working in that rep (the tracker credited the "
              f"rep to the other leg), counted above as false flags: {len(wrong_leg)}."]  # fmt: skip
    lines += [f"- {r.clip} rep {r.rep}, {r.leg} knee: {r.decided}" for r in wrong_leg]
    for family in sorted({r.family for r in real}):
        fam = [r for r in every if r.family == family]
        if any(r.caving for r in fam):
            lines += ["", f"Real, {family} only:", "", md_table(HEADER, rule_rows(fam, OR_PAIRS))]
    if warped:
        lines += sensitivity(every, warped_every)
    lines += ["", "Per real knee-rep values (caving first):", ""]
    names = list(real[0].features) if real else []
    per = sorted(real, key=lambda r: (not r.caving, r.clip, r.rep, r.leg))
    lines.append(md_table(["clip", "rep", "leg", "caving", "shipped", *names],
                          [[r.clip, r.rep, r.leg, "yes" if r.caving else "no", {None: "-", True: "flag", False: "ok"}[r.shipped],
                            *[f"{r.features[k]:+.3f}" if np.isfinite(r.features[k]) else "-" for k in names]] for r in per]))  # fmt: skip
    if args.plots:
        plot_curves(real, warped, args.plots)
        lines += ["", f"Curves: `{args.plots}/real_valgus_pr.png` (precision-recall per measure on the real knee-reps, "
                  "threshold swept; the shipped rule as a point) and `real_valgus_sensitivity.png` (warped knee-reps flagged "
                  "by the shipped rule against where the knee ends, with 95% Wilson intervals)."]  # fmt: skip
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_results("real-valgus", "## Real-valgus benchmark (labelled real knee-reps)\n\n" + body)


def plot_curves(real: list[KneeRep], warped: list[KneeRep], folder: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    truth = np.array([r.caving for r in real])
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for name in ("knee_toe_change", "knee_toe", "shank", "knee_line_3d", "knee_foot_line_3d", "knee_ankle_sep", "fppa_any"):
        v = np.array([r.features[name] for r in real])
        v = np.where(np.isfinite(v), v, -np.inf)
        pts = []
        for t in np.unique(v[np.isfinite(v)]):
            flag = v >= t
            if flag.any():
                pts.append((np.sum(flag & truth) / truth.sum(), np.sum(flag & truth) / flag.sum()))
        if pts:
            rc, pr = zip(*sorted(pts))
            ax.plot(rc, pr, lw=1.2, label=name)
    flags = np.array([bool(r.shipped) for r in real])
    ax.plot([np.sum(flags & truth) / truth.sum()], [np.sum(flags & truth) / max(flags.sum(), 1)], "k*", ms=12, label="shipped rule")
    ax.set_xlabel("recall (caving knee-reps flagged)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"Real knee-reps: {truth.sum()} caving, {len(truth) - truth.sum()} clean", fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / "real_valgus_pr.png", dpi=90)
    plt.close(fig)
    if not warped:
        return
    fig, ax = plt.subplots(figsize=(6.5, 4))
    levels = sorted({r.level for r in warped if r.level is not None})
    for label, pick, colour in (("warped knee", lambda r: r.warped_leg and r.caving, "tab:red"),
                                ("untouched knee of the same clips", lambda r: not r.warped_leg and not r.caving, "tab:blue")):  # fmt: skip
        ys, lo, hi = [], [], []
        for level in levels:
            group = [r for r in warped if r.level == level and pick(r)]
            k = sum(bool(r.shipped) for r in group)
            w = wilson(k, len(group))
            ys.append(k / len(group) if group else np.nan)
            lo.append(ys[-1] - w[0])
            hi.append(w[1] - ys[-1])
        ax.errorbar(levels, ys, yerr=[lo, hi], marker="o", capsize=4, color=colour, label=label)
    clean = [r for r in real if not r.caving]
    ax.axhline(sum(bool(r.shipped) for r in clean) / len(clean), color="grey", ls="--", lw=1, label="clean real knee-reps")
    ax.set_xlabel("where the warped knee ends at the bottom (standing shank lengths inside its toe)")
    ax.set_ylabel("share flagged (shipped rule)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "real_valgus_sensitivity.png", dpi=90)
    plt.close(fig)


def share(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.2f} [{lo:.2f}-{hi:.2f}]" if n else "-"


def sensitivity(every: list[KneeRep], warped_every: list[KneeRep]) -> list[str]:
    """Warped clips: share of warped knee-reps flagged per size, the untouched leg's false flags,
    and how far inside its toes the model reads the warped knee at the bottom."""
    real = [r for r in every if r.working]
    warped = [r for r in warped_every if r.working]
    lines = ["", f"Warped real clips: {len({r.clip for r in warped})} clips from {len({r.person for r in warped})} people "
             "(benchmarks/warp_valgus.py); the warped knee ends `level` standing shank lengths inside its toe at each "
             "warped rep's bottom. Shipped rule on the tracker's reps.", ""]  # fmt: skip
    rows = []
    for level in sorted({r.level for r in warped if r.level is not None}):
        hit = [r for r in warped if r.level == level and r.warped_leg and r.caving]
        other = [r for r in warped if r.level == level and not r.warped_leg and not r.caving]
        read = np.array([r.bottom_knee_toe for r in hit])
        read = read[np.isfinite(read)]
        rows.append([f"{level:.2f}", share(sum(bool(r.shipped) for r in hit), len(hit)),
                     share(sum(bool(r.shipped) for r in other), len(other)),
                     f"{np.median(read):+.2f} ({np.percentile(read, 25):+.2f} to {np.percentile(read, 75):+.2f})" if read.size else "-"])  # fmt: skip
    clean_real = [r for r in real if not r.caving]
    lines.append(md_table(["level", "warped knee flagged", "other knee flagged", "knee-to-toe read at the bottom (median, IQR)"], rows))
    families = sorted({r.family for r in warped})
    by_family = []
    for level in sorted({r.level for r in warped if r.level is not None}):
        cells = []
        for family in families:
            hit = [r for r in warped if r.level == level and r.warped_leg and r.caving and r.family == family]
            judged = [r for r in hit if r.shipped is not None]
            other = [r for r in warped if r.level == level and not r.warped_leg and r.family == family and r.shipped is not None]
            cells.append(f"{share(sum(bool(r.shipped) for r in judged), len(judged))} ({len(hit) - len(judged)} not judged); "
                         f"other knee {sum(bool(r.shipped) for r in other)}/{len(other)}")  # fmt: skip
        by_family.append([f"{level:.2f}", *cells])
    lines += ["", "The same by exercise family, warped knees flagged of those the shipped rule judged (a rep it did not find, "
              "or a view it does not score, is not judged):", "", md_table(["level", *families], by_family)]  # fmt: skip
    lines += ["", f"Clean real knee-reps flagged by the shipped rule: {share(sum(bool(r.shipped) for r in clean_real), len(clean_real))}.", "",
              "Real and warped together (each person's real and warped knee-reps held out together):", "",
              md_table(HEADER, rule_rows(every + warped_every, OR_PAIRS))]  # fmt: skip
    return lines


if __name__ == "__main__":
    main()
