"""Accuracy: formcheck against exact truth (synthetic clips) and hand labels (real clips).

    python benchmarks/accuracy.py [--std /tmp/std] [--write]

One command runs it all:

1. Every clip of the synthetic standard set (rendered with `formcheck samples --out /tmp/std`
   when the folder is missing or incomplete) goes through the real pipeline in-process
   (`formcheck.runs.analyze.run_session`, default Config, no annotated video). The raw model
   landmarks of every frame are kept beside the run's summary.json and frames.csv.
2. FPPA error against the truth's FPPA, per leg, over all frames and at rep bottoms, broken down
   by camera yaw, camera height, valgus level, tempo and exercise, and for the yaw-0 squat seen by
   other cameras (distance, lens height). Height, level and tempo are tabled over the set's
   crossed design only (each group shows its clips per yaw: the standard set balances them), so
   they are not yaw in disguise. Only frames where formcheck
   itself reads FPPA count (frames.csv `fppa_usable_<leg>` = 1: frontal view, a pose, thigh not
   foreshortened), so truth and measurement are compared where formcheck makes a claim. Two
   errors per frame separate the shares: **model** = FPPA of the raw model landmarks (no
   smoothing, same geometry) minus truth; **formcheck** = the reported FPPA (gated, gap-bridged,
   zero-phase filtered) minus truth. The difference of the two is the pipeline's share.
3. Rep count error and valgus-flag precision/recall per exercise, for every exercise that
   `formcheck.trackers.tracker_names()` lists at run time ("no tracker yet" for the others;
   their FPPA is still measured, with the squat tracker standing in, which only affects which
   standing frames the foreshortening check takes as reference).
4. Rep count error and valgus-flag agreement on the labelled real clips in ../shared/media.

`--write` puts the tables into benchmarks/RESULTS.md (sections "accuracy-synthetic" and
"accuracy-real"). `--reuse` recomputes the tables from the runs already in the work folder.
The evaluation functions are shared with tests/e2e/test_accuracy_baseline.py.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import MEDIA, MODEL, WORK, load, machine, md_table, stamp, update_results, write_json
from formcheck.core.geometry import fppa_deg, leg_points
from formcheck.core.landmarks import SIDES, Side

log = logging.getLogger("benchmarks.accuracy")

LEGS = ("left", "right")
STAND_IN = "squat"  # tracker used to measure FPPA on exercises that have no tracker yet

# Real clips: exercise by file-name prefix (the manifest's exercise field is free text).
REAL_EXERCISE = (
    ("lateral_lunge", "side-lunge"),
    ("stepdown", "step-down"),
    ("lunge", "lunge"),
    ("balance", "balance"),
    ("squat", "squat"),
)


# ----------------------------------------------------------------------------- running

def analyze_clip(video: Path, exercise: str, out_dir: Path, model: Path = MODEL) -> Path:
    """Run the real pipeline on `video`; writes summary.json, frames.csv and raw_xy.npy into `out_dir`.

    raw_xy.npy holds the pose model's own image landmarks per frame (NaN without a pose), taken
    from the per-frame results before any leg-swap guard or smoothing.
    """
    from formcheck.runs.analyze import run_session
    from formcheck.config import Config
    from formcheck.pose.model_store import resolve_model
    from formcheck.media.sources import open_source

    raw: list[np.ndarray] = []
    nan = np.full((33, 2), np.nan)

    def keep_raw(result, *_unused) -> None:  # on_frame(result) (older code also passed the image)
        raw.append(nan if result.pose is None else np.asarray(result.pose.image_xy, dtype=float))

    run_session(open_source(video), exercise=exercise, out_dir=out_dir, model=resolve_model(model),
                config=Config(), on_frame=keep_raw, write_video=False)
    np.save(out_dir / "raw_xy.npy", np.stack(raw) if raw else np.zeros((0, 33, 2)))
    return out_dir


@dataclass
class Run:
    """One analysed clip read back from its files."""

    summary: dict
    frames: dict[str, np.ndarray]  # frames.csv columns (numbers as float, NaN where empty; view as str)
    raw_xy: np.ndarray  # (N, 33, 2)

    @property
    def n(self) -> int:
        return len(self.frames["frame"])


def load_run(out_dir: Path) -> Run:
    with (out_dir / "frames.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols: dict[str, np.ndarray] = {}
    for key in rows[0] if rows else []:
        vals = [r[key] for r in rows]
        if key in ("view", "phase", "cue"):
            cols[key] = np.array(vals, dtype=object)
        else:
            cols[key] = np.array([float(v) if v != "" else np.nan for v in vals])
    return Run(json.loads((out_dir / "summary.json").read_text()), cols, np.load(out_dir / "raw_xy.npy"))


def raw_fppa(raw_xy: np.ndarray, side: Side) -> np.ndarray:
    """FPPA of unsmoothed model landmarks, same geometry as formcheck's (NaN where a point is missing)."""
    hip, knee, ankle, _toe, other = leg_points(raw_xy, side)
    with np.errstate(all="ignore"):
        return fppa_deg(hip, knee, ankle, other)


# ----------------------------------------------------------------------------- FPPA errors

@dataclass
class LegFrames:
    """Per-frame FPPA of one leg of one clip: truth, formcheck's report, the raw model, and masks."""

    truth: np.ndarray
    reported: np.ndarray
    model: np.ndarray
    usable: np.ndarray  # formcheck reads FPPA here, and truth and model are finite
    bottom: np.ndarray  # truth rep bottom frames where this leg works


def leg_frames(run: Run, truth: dict) -> dict[str, LegFrames]:
    """Align a run with its truth frame by frame (frames.csv `frame` = decode index = truth index)."""
    idx = run.frames["frame"].astype(int)
    ok = idx < truth["frame_count"]
    idx = idx[ok]
    out = {}
    for side in SIDES:
        leg = side.value
        t = np.asarray(truth["legs"][leg]["fppa_deg"], dtype=float)[idx]
        rep = run.frames[f"fppa_{leg}_deg"][ok]
        mod = raw_fppa(run.raw_xy[: len(ok)][ok], side)
        usable = (run.frames[f"fppa_usable_{leg}"][ok] == 1) & np.isfinite(t) & np.isfinite(rep) & np.isfinite(mod)
        bottoms = {r["bottom_frame"] for r in truth["reps"] if leg in r["legs"]}
        out[leg] = LegFrames(t, rep, mod, usable, np.isin(idx, list(bottoms)))
    return out


@dataclass
class ErrStats:
    """Accumulates signed errors of the reported and the raw-model FPPA against truth."""

    reported: list = field(default_factory=list)
    model: list = field(default_factory=list)
    candidates: int = 0  # frames offered (before formcheck's usability check)

    def add(self, lf: LegFrames, mask: np.ndarray) -> None:
        self.candidates += int(mask.sum())
        m = mask & lf.usable
        self.reported.extend((lf.reported[m] - lf.truth[m]).tolist())
        self.model.extend((lf.model[m] - lf.truth[m]).tolist())

    def row(self) -> list[str]:
        r, m = np.asarray(self.reported), np.asarray(self.model)
        if r.size == 0:
            return [f"0 of {self.candidates}", "", "", "", ""]
        return [f"{r.size} of {self.candidates}", f"{np.mean(np.abs(r)):.1f}", f"{np.mean(r):+.1f}",
                f"{np.mean(np.abs(m)):.1f}", f"{np.mean(m):+.1f}"]

    def mae(self) -> float:
        return float(np.mean(np.abs(self.reported))) if self.reported else float("nan")


# ----------------------------------------------------------------------------- reps and flags

def match_reps(detected: list[dict], truth_reps: list[dict], frame_key: str = "bottom_frame") -> dict[int, dict]:
    """Truth rep index -> the detected rep whose bottom lies in the truth window (nearest bottom wins).

    Each detected rep matches at most one truth rep.
    """
    pairs = []
    for t in truth_reps:
        for d in detected:
            if t["start_frame"] <= d[frame_key] <= t["end_frame"]:
                pairs.append((abs(d[frame_key] - t["bottom_frame"]), t["index"], d["index"], d))
    out: dict[int, dict] = {}
    used: set[int] = set()
    for _, ti, di, d in sorted(pairs, key=lambda p: p[0]):
        if ti not in out and di not in used:
            out[ti] = d
            used.add(di)
    return out


@dataclass
class FlagCounts:
    """Valgus flags per (truth rep, working leg): true/false positives, misses, and the unscored."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unscored: int = 0  # formcheck matched the rep but did not score this leg (view, missing measure)
    unmatched: int = 0  # no detected rep for this truth rep
    fn_unscored: int = 0  # caving legs missed because formcheck did not score them

    def add(self, truth_valgus: bool, flagged: bool | None) -> None:
        if flagged is None:
            self.unscored += 1
            self.fn_unscored += truth_valgus
            flagged = False
        if truth_valgus and flagged:
            self.tp += 1
        elif truth_valgus:
            self.fn += 1
        elif flagged:
            self.fp += 1
        else:
            self.tn += 1

    def merge(self, other: "FlagCounts") -> None:
        for k in ("tp", "fp", "fn", "tn", "unscored", "unmatched", "fn_unscored"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def recall_scored(self) -> float:
        """Recall over the caving legs formcheck did score (the view check's refusals left out)."""
        n = self.tp + self.fn - self.fn_unscored
        return self.tp / n if n else float("nan")


def synthetic_flags(summary: dict, truth: dict) -> FlagCounts:
    """Flags of a run against a synthetic truth; a missed rep's legs count as not flagged."""
    fc = FlagCounts()
    matched = match_reps(summary["reps"], truth["reps"])
    for t in truth["reps"]:
        d = matched.get(t["index"])
        if d is None:
            fc.unmatched += 1
        for leg in t["legs"]:
            fc.add(bool(t["valgus"][leg]), None if d is None else d["valgus"].get(leg))
    return fc


def clip_scores(run: Run, truth: dict) -> dict[str, float]:
    """Headline numbers of one synthetic clip (what the golden-baseline test guards).

    `jitter_deg`: mean absolute error of the frame-to-frame FPPA change against the truth's,
    over consecutive frames where FPPA is read: what smoothing exists to keep low.
    """
    lf = leg_frames(run, truth)
    all_err, bottom_err, step_err = [], [], []
    for x in lf.values():
        e = x.reported - x.truth
        all_err.extend(e[x.usable].tolist())
        bottom_err.extend(e[x.usable & x.bottom].tolist())
        both = x.usable[1:] & x.usable[:-1]
        step_err.extend((np.diff(x.reported) - np.diff(x.truth))[both].tolist())
    fc = synthetic_flags(run.summary, truth)
    nan = float("nan")
    return {
        "fppa_mae_bottom_deg": float(np.mean(np.abs(bottom_err))) if bottom_err else nan,
        "fppa_bias_bottom_deg": float(np.mean(bottom_err)) if bottom_err else nan,
        "fppa_mae_all_deg": float(np.mean(np.abs(all_err))) if all_err else nan,
        "fppa_bias_all_deg": float(np.mean(all_err)) if all_err else nan,
        "jitter_deg": float(np.mean(np.abs(step_err))) if step_err else nan,
        "bottoms_read": len(bottom_err),
        "rep_count_error": run.summary["rep_count"] - len(truth["reps"]),
        "flag_tp": fc.tp,
        "flag_fp": fc.fp,
        "flag_fn": fc.fn,
    }


def reported_jitter(run: Run) -> float:
    """Mean |second difference| (degrees) of the reported FPPA over runs of three read frames.

    For real clips, which have no true FPPA: a knee moves smoothly from frame to frame, so the
    second difference of its angle is mostly noise (the pose model's shake after smoothing).
    """
    steps = []
    for leg in LEGS:
        f = run.frames[f"fppa_{leg}_deg"]
        read = run.frames[f"fppa_usable_{leg}"] == 1
        ok = read[2:] & read[1:-1] & read[:-2]
        steps.extend(np.abs(f[2:] - 2 * f[1:-1] + f[:-2])[ok].tolist())
    return float(np.mean(steps)) if steps else float("nan")


# ----------------------------------------------------------------------------- synthetic set

def ensure_standard_set(std: Path) -> list[Path]:
    from formcheck.synth.samples import make_samples, specs_for

    names = [s.name for s in specs_for("standard")]
    missing = [n for n in names if not (std / f"{n}.mp4").exists() or not (std / f"{n}.truth.json").exists()]
    if missing:
        log.warning("rendering the standard set into %s (%d clips missing)", std, len(missing))
        make_samples(std, "standard")
    return [std / f"{n}.mp4" for n in names]


def run_synthetic(clips: list[Path], work: Path, reuse: bool) -> list[dict]:
    from formcheck.trackers import tracker_names

    trackers = set(tracker_names())
    done = []
    for k, video in enumerate(clips, 1):
        truth = json.loads(video.with_name(video.stem + ".truth.json").read_text())
        ex = truth["exercise"]
        tracked = ex in trackers
        out = work / "synthetic" / video.stem
        if not (reuse and (out / "raw_xy.npy").exists() and (out / "summary.json").exists()):
            out.mkdir(parents=True, exist_ok=True)
            analyze_clip(video, ex if tracked else STAND_IN, out)
        print(f"[{k}/{len(clips)}] {video.stem}: {ex}{'' if tracked else ' (no tracker yet)'}", file=sys.stderr, flush=True)
        done.append({"video": video, "truth": truth, "run": load_run(out), "tracked": tracked})
    return done


def _cam(truth: dict) -> dict:
    return truth["render"]["camera"]


def _level(truth: dict) -> str:
    """The clip's valgus level (mild: 18 deg true frontal peak, clear: 26), from its name, or for the
    extra views (named by camera) from the true peak FPPA of its caving reps."""
    stem = Path(truth["clip"]).stem
    level = next((lv for lv in ("mild", "clear") if stem.endswith(lv)), None)
    if level is None:
        peaks = [r["peak_fppa_deg"][leg] for r in truth["reps"] for leg, v in r["valgus"].items() if v]
        level = "none" if not peaks else ("clear" if max(peaks) >= 22.0 else "mild")
    return level


def _crossed(truth: dict) -> bool:
    """Whether the clip belongs to the standard set's crossed design (named `<exercise>_yawNN_...`),
    where height, tempo and valgus level are balanced against yaw; the extra squat views are not."""
    return "_yaw" in Path(truth["clip"]).stem


def _same_squat_camera(truth: dict) -> str | None:
    """The yaw-0 squat and its extra views (the same person and reps, other cameras), by camera."""
    cam = _cam(truth)
    if truth["exercise"] != "squat" or abs(cam["yaw_deg"]) > 0.5:
        return None
    return f"{cam['distance_m']:.1f} m away, lens {cam['height_m']:.2f} m high"


# A grouping returns the clip's group, or None to leave the clip out of that table. The factors
# the standard set crosses with yaw are tabled over its crossed design only, with each group's
# yaw mix shown beside it.
CROSSED_WITH_YAW = ("camera height (m)", "valgus level of the clip", "tempo (s per rep)")
GROUPINGS = {
    "camera yaw (deg)": lambda tr: f"{abs(_cam(tr)['yaw_deg']):.0f}",
    "camera height (m)": lambda tr: f"{_cam(tr)['height_m']:.2f}" if _crossed(tr) else None,
    "valgus level of the clip": lambda tr: _level(tr) if _crossed(tr) else None,
    "tempo (s per rep)": lambda tr: f"{tr['render']['tempo_s']:.1f}" if _crossed(tr) else None,
    "exercise": lambda tr: tr["exercise"],
    "camera, same squat at yaw 0": _same_squat_camera,
}


def fppa_tables(runs: list[dict]) -> tuple[str, dict]:
    """Markdown tables of FPPA error; returns also the headline numbers for the JSON."""
    header = ["group", "leg", "frames read / offered", "MAE", "bias", "model MAE", "model bias",
              "bottoms read / offered", "MAE", "bias", "model MAE", "model bias"]
    parts = []
    headline = {}
    for title, key in GROUPINGS.items():
        stats: dict[tuple[str, str], tuple[ErrStats, ErrStats]] = defaultdict(lambda: (ErrStats(), ErrStats()))
        for r in runs:
            if not r["truth"]["reps"]:
                continue  # balance holds: no reps, no rep bottoms; measured under "exercise"
            g = key(r["truth"])
            if g is None:
                continue
            lf = leg_frames(r["run"], r["truth"])
            for leg in LEGS:
                legs = (leg, "both") if title == "camera yaw (deg)" else ("both",)
                for lg in legs:
                    allf, bot = stats[(g, lg)]
                    allf.add(lf[leg], np.ones_like(lf[leg].usable))
                    bot.add(lf[leg], lf[leg].bottom)
        mix = _yaw_mix(runs, key) if title in CROSSED_WITH_YAW else None
        rows = []
        for (g, lg) in sorted(stats, key=lambda k: (_sortkey(k[0]), k[1])):
            allf, bot = stats[(g, lg)]
            rows.append([g, lg, *([mix[g]] if mix else []), *allf.row(), *bot.row()])
            headline[f"{title}={g}/{lg}"] = {"mae_all": allf.mae(), "mae_bottom": bot.mae()}
        head = header[:2] + ["clips at yaw 0 / 15 / 30"] + header[2:] if mix else header
        parts.append(f"**By {title}**\n\n" + md_table(head, rows) + _confounding(runs, title, key))
    parts.append(_bottoms_by_rep_truth(runs))
    return "\n\n".join(parts), headline


def _yaw_mix(runs: list[dict], key) -> dict[str, str]:
    """Per group: how many of its rep clips were filmed at camera yaw 0 / 15 / 30. A breakdown
    compares like with like only when its groups share the same mix (the standard set is built so)."""
    yaw = GROUPINGS["camera yaw (deg)"]
    n: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in runs:
        if r["truth"]["reps"] and key(r["truth"]) is not None:
            n[key(r["truth"])][yaw(r["truth"])] += 1
    return {g: " / ".join(str(c[y]) for y in ("0", "15", "30")) for g, c in n.items()}


def _confounding(runs: list[dict], title: str, key) -> str:
    """A note when every clip of each group has one and the same camera yaw: then the table cannot
    tell this factor's effect from yaw's (the set varies them together)."""
    yaw = GROUPINGS["camera yaw (deg)"]
    if title not in CROSSED_WITH_YAW:
        return ""
    yaws: dict[str, set] = defaultdict(set)
    for r in runs:
        if r["truth"]["reps"] and key(r["truth"]) is not None:
            yaws[key(r["truth"])].add(yaw(r["truth"]))
    if all(len(v) == 1 for v in yaws.values()):
        pairs = ", ".join(f"{g} only at yaw {next(iter(v))}" for g, v in sorted(yaws.items(), key=lambda kv: _sortkey(kv[0])))
        by_yaw: dict[str, list[str]] = defaultdict(list)
        for g, v in yaws.items():
            by_yaw[next(iter(v))].append(g)
        shared = [f"{' vs '.join(sorted(gs, key=_sortkey))} (all at yaw {y})" for y, gs in by_yaw.items() if len(gs) > 1]
        return (f"\n\nConfounded: in this set every clip of a group has the same camera yaw ({pairs}), so this "
                "table cannot separate its factor from yaw; read it with the yaw table"
                + (f". Only {'; '.join(shared)} compare at equal yaw." if shared else "."))
    return ""


def _bottoms_by_rep_truth(runs: list[dict]) -> str:
    """Error at rep bottoms split by whether that leg truly caved on that rep, per camera yaw."""
    stats: dict[tuple[str, str], ErrStats] = defaultdict(ErrStats)
    for r in runs:
        lf = leg_frames(r["run"], r["truth"])
        idx = r["run"].frames["frame"].astype(int)
        yaw = f"{abs(_cam(r['truth'])['yaw_deg']):.0f}"
        for t in r["truth"]["reps"]:
            for leg in t["legs"]:
                kind = "caving" if t["valgus"][leg] else "clean"
                stats[(yaw, kind)].add(lf[leg], idx[: len(lf[leg].truth)] == t["bottom_frame"])
    rows = [[yaw, kind, *stats[(yaw, kind)].row()] for yaw, kind in sorted(stats, key=lambda k: (float(k[0]), k[1]))]
    return ("**At rep bottoms, by whether the leg truly caved on that rep**\n\n"
            + md_table(["camera yaw (deg)", "rep", "bottoms read / offered", "MAE", "bias", "model MAE", "model bias"], rows))


def _headline(headline: dict) -> str:
    """The done-when number (issue 3): FPPA MAE at rep bottoms at camera yaw 0, per yaw."""
    parts = []
    for yaw in ("0", "15", "30"):
        h = headline.get(f"camera yaw (deg)={yaw}/both")
        if h:
            parts.append(f"yaw {yaw}: {h['mae_bottom']:.1f} at rep bottoms, {h['mae_all']:.1f} over all read frames")
    return "FPPA mean absolute error (formcheck's reported FPPA, degrees): " + "; ".join(parts) + "."


def _sortkey(g: str):
    try:
        return (0, float(g), "")
    except ValueError:
        return (1, 0.0, g)


def view_table(runs: list[dict]) -> str:
    """How often formcheck's view check stops scoring, per camera yaw."""
    agg: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for r in runs:
        f, s = r["run"].frames, r["run"].summary
        yaw = f"{abs(_cam(r['truth'])['yaw_deg']):.0f}"
        a = agg[yaw]
        pose = f["pose"] == 1
        a["clips"] += 1
        a["pose_frames"] += pose.sum()
        a["non_frontal"] += (pose & (f["view"] != "frontal")).sum()
        a["clips_not_frontal"] += s["view"] != "frontal"
        a["reps"] += len(s["reps"])
        a["reps_unscored"] += sum(rep["valgus_basis"] is None for rep in s["reps"])
        agg[yaw].setdefault("yaw_list", []).extend(f["body_yaw_deg"][pose & np.isfinite(f["body_yaw_deg"])].tolist())
    rows = []
    for yaw in sorted(agg, key=float):
        a = agg[yaw]
        rows.append([yaw, int(a["clips"]), f"{np.median(a['yaw_list']):.0f}" if a["yaw_list"] else "",
                     f"{a['non_frontal'] / max(a['pose_frames'], 1):.0%}",
                     f"{int(a['clips_not_frontal'])} of {int(a['clips'])}",
                     f"{int(a['reps_unscored'])} of {int(a['reps'])}"])
    return md_table(["camera yaw (deg)", "clips", "median body yaw formcheck measures (deg)",
                     "pose frames not frontal (FPPA not read)", "clips whose view is not frontal",
                     "reps left unscored (no valgus flag)"], rows)


def rep_flag_table(runs: list[dict]) -> tuple[str, dict]:
    from formcheck.trackers import tracker_names

    by_ex: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        by_ex[r["truth"]["exercise"]].append(r)
    rows = []
    out = {}
    trackers = set(tracker_names())
    for ex in sorted(by_ex):
        rs = by_ex[ex]
        if ex not in trackers:
            rows.append([ex, len(rs), "no tracker yet", "", "", "", "", "", "", ""])
            continue
        if ex == "balance":
            errs = [len(r["run"].summary["holds"]) - len(r["truth"]["holds"]) for r in rs]
            td = [sum(h["touchdowns"] for h in r["run"].summary["holds"]) - sum(len(h["touchdowns"]) for h in r["truth"]["holds"])
                  for r in rs]
            rows.append([ex, len(rs), f"holds {sum(e == 0 for e in errs)} of {len(rs)} exact",
                         " ".join(f"{e:+d}" for e in errs), f"touch-down errors {' '.join(f'{e:+d}' for e in td)}",
                         "", "", "", "", ""])
            out[ex] = {"hold_errors": errs, "touchdown_errors": td}
            continue
        errs = [r["run"].summary["rep_count"] - len(r["truth"]["reps"]) for r in rs]
        fc = FlagCounts()
        for r in rs:
            fc.merge(synthetic_flags(r["run"].summary, r["truth"]))
        rows.append([ex, len(rs), f"{sum(e == 0 for e in errs)} of {len(rs)}", " ".join(f"{e:+d}" for e in errs),
                     f"{fc.tp}/{fc.fp}/{fc.fn}/{fc.tn}", _pct(fc.precision), _pct(fc.recall), _pct(fc.recall_scored),
                     fc.unscored, fc.unmatched])
        out[ex] = {"count_errors": errs, "tp": fc.tp, "fp": fc.fp, "fn": fc.fn, "tn": fc.tn,
                   "precision": fc.precision, "recall": fc.recall, "recall_scored": fc.recall_scored,
                   "unscored": fc.unscored}
    by_yaw: dict[str, FlagCounts] = defaultdict(FlagCounts)
    for r in runs:
        ex = r["truth"]["exercise"]
        if ex in trackers and ex != "balance":
            by_yaw[f"{abs(_cam(r['truth'])['yaw_deg']):.0f}"].merge(synthetic_flags(r["run"].summary, r["truth"]))
    yaw_rows = [[y, f"{f.tp}/{f.fp}/{f.fn}/{f.tn}", _pct(f.precision), _pct(f.recall), _pct(f.recall_scored), f.unscored]
                for y, f in sorted(by_yaw.items(), key=lambda kv: float(kv[0]))]
    md = md_table(["exercise", "clips", "rep count exact", "count error per clip", "flags TP/FP/FN/TN (rep x leg)",
                   "precision", "recall", "recall where scored", "legs unscored", "truth reps missed"], rows)
    md += "\n\nThe same flags (every exercise with a rep tracker pooled) by camera yaw:\n\n" + md_table(
        ["camera yaw (deg)", "flags TP/FP/FN/TN", "precision", "recall", "recall where scored", "legs unscored"], yaw_rows)
    return md, out


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{x:.0%}"


# ----------------------------------------------------------------------------- real clips

def real_exercise(file: str) -> str:
    return next(ex for prefix, ex in REAL_EXERCISE if file.startswith(prefix))


def run_real(work: Path, reuse: bool) -> list[dict]:
    from formcheck.trackers import tracker_names

    manifest = json.loads((MEDIA / "manifest.json").read_text())
    trackers = set(tracker_names())
    done = []
    for k, clip in enumerate(manifest, 1):
        ex = real_exercise(clip["file"])
        entry = {"clip": clip, "exercise": ex, "tracked": ex in trackers, "run": None}
        if entry["tracked"]:
            out = work / "real" / Path(clip["file"]).stem
            if not (reuse and (out / "summary.json").exists() and (out / "raw_xy.npy").exists()):
                out.mkdir(parents=True, exist_ok=True)
                analyze_clip(MEDIA / clip["file"], ex, out)
            entry["run"] = load_run(out)
        print(f"[real {k}/{len(manifest)}] {clip['file']}: {ex}{'' if entry['tracked'] else ' (no tracker yet)'}",
              file=sys.stderr, flush=True)
        done.append(entry)
    return done


def real_flags(summary: dict, clip: dict) -> dict[str, list]:
    """Per labelled rep: (label, formcheck's flag) where flag = any working leg flagged (None = unscored/missed)."""
    # A rep the clip cuts off (`complete: false`) is neither counted nor judged.
    truth_reps = [{"index": i + 1, **r} for i, r in enumerate(clip["reps"]) if r.get("complete", True)]
    matched = match_reps(summary["reps"], truth_reps)
    out: dict[str, list] = defaultdict(list)
    for t in truth_reps:
        d = matched.get(t["index"])
        label = t.get("valgus_visible", clip["valgus_visible"])
        if d is None:
            flag = "missed"
        else:
            vals = [v for v in d["valgus"].values() if v is not None]
            flag = None if not vals else any(vals)
        out[label].append(flag)
    return out


def real_table(entries: list[dict]) -> tuple[str, dict]:
    rows = []
    totals = defaultdict(int)
    for e in entries:
        c = e["clip"]
        if not e["tracked"]:
            rows.append([c["file"], e["exercise"], c["view"], c["rep_count"] if c["rep_count"] is not None else "hold",
                         "no tracker yet", "", "", "", ""])
            continue
        s = e["run"].summary
        if e["exercise"] == "balance":
            rows.append([c["file"], e["exercise"], c["view"], "hold", f"{len(s['holds'])} holds", "", "", "", ""])
            continue
        err = s["rep_count"] - c["rep_count"]
        fl = real_flags(s, c)
        yes, no, unclear = fl.get("yes", []), fl.get("no", []), fl.get("unclear", [])
        agree = sum(f is True for f in yes) + sum(f is False for f in no)
        scored = sum(f is True or f is False for f in yes + no)
        totals["clips"] += 1
        totals["exact"] += err == 0
        totals["abs_err"] += abs(err)
        totals["agree"] += agree
        totals["labelled"] += len(yes) + len(no)
        totals["scored"] += scored
        totals["yes_flagged"] += sum(f is True for f in yes)
        totals["yes"] += len(yes)
        totals["no_flagged"] += sum(f is True for f in no)
        totals["no"] += len(no)
        totals["unclear"] += len(unclear)
        totals["unclear_flagged"] += sum(f is True for f in unclear)

        def say(flags: list) -> str:
            return " ".join({True: "V", False: "-", None: "?", "missed": "x"}[f] for f in flags)

        rows.append([c["file"], e["exercise"], c["view"], c["rep_count"], f"{s['rep_count']} ({err:+d})",
                     say(yes), say(no), say(unclear), f"{agree} of {scored}" if scored else "none scored"])
    md = md_table(["clip", "exercise", "view", "reps (label)", "reps counted (error)", "flags on 'yes' reps",
                   "flags on 'no' reps", "flags on 'unclear' reps", "agreement on scored yes/no reps"], rows)
    if totals["clips"]:
        md += (f"\n\nFlags: V = valgus flagged, - = not flagged, ? = not scored (view or missing measure), "
               f"x = labelled rep not counted. Over {totals['clips']} clips with a tracker: rep count exact on "
               f"{totals['exact']}, total absolute count error {totals['abs_err']}; valgus flag agrees with the label on "
               f"{totals['agree']} of the {totals['scored']} yes/no reps it scored ({totals['labelled']} labelled; flagged {totals['yes_flagged']} of {totals['yes']} "
               f"'yes' reps and {totals['no_flagged']} of {totals['no']} 'no' reps); {totals['unclear']} 'unclear' reps counted "
               f"apart, {totals['unclear_flagged']} of them flagged.")
    return md, dict(totals)


# ----------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--std", type=Path, default=Path("/tmp/std"), help="synthetic standard set (rendered if incomplete)")
    ap.add_argument("--work", type=Path, default=WORK / "accuracy", help="where the runs are written")
    ap.add_argument("--reuse", action="store_true", help="reuse runs already in --work (tables only)")
    ap.add_argument("--only", choices=("synthetic", "real"), help="run one half")
    ap.add_argument("--write", action="store_true", help="write the tables into benchmarks/RESULTS.md")
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    note = [args.note, ""] if args.note else []
    before = load()
    report: dict = {"when": stamp(), "machine": machine(), "uptime_before": before}
    cmd = f"python benchmarks/accuracy.py --std {args.std} --write"
    if args.only != "real":
        runs = run_synthetic(ensure_standard_set(args.std), args.work, args.reuse)
        fppa_md, headline = fppa_tables(runs)
        flags_md, flags = rep_flag_table(runs)
        report["synthetic"] = {"fppa": headline, "reps_flags": flags}
        body = "\n".join([
            "## Accuracy (synthetic bench)", "", *note,
            f"Measured {stamp()} on {machine()} over the {len(runs)} clips of the standard set "
            f"(`formcheck samples --out {args.std}`), default config, model {MODEL.name}.",
            f"Command: `{cmd}`.",
            "",
            "### FPPA error against truth (degrees)",
            "",
            "Error = measured minus true FPPA, positive = reads more valgus than there is. "
            "`MAE`/`bias`: formcheck's reported FPPA (gated, gap-bridged, zero-phase filtered); `model MAE`/`model bias`: "
            "FPPA of the raw model landmarks on the same frames (the pose model's share; the difference is the "
            "pipeline's). Only frames where formcheck reads FPPA count ('read / offered': frontal view, pose found, "
            "thigh not foreshortened, as frames.csv `fppa_usable_<leg>`); 'bottoms' are the truth's rep-bottom frames "
            "of the working legs. Balance clips have no reps and appear only under 'exercise' with no bottoms.",
            "",
            _headline(headline),
            "",
            fppa_md,
            "",
            "### View check: where formcheck stops scoring",
            "",
            view_table(runs),
            "",
            "### Rep counts and valgus flags per exercise",
            "",
            "Counted per truth rep and working leg; a leg formcheck did not score (view, measure missing) counts as not "
            "flagged and is also listed as 'unscored'. Trackers found at run time: "
            + ", ".join(f"`{n}`" for n in __import__("formcheck.trackers", fromlist=["tracker_names"]).tracker_names()) + ".",
            "",
            flags_md,
        ])
        print(body)
        if args.write:
            update_results("accuracy-synthetic", body)
    if args.only != "synthetic":
        entries = run_real(args.work, args.reuse)
        real_md, totals = real_table(entries)
        report["real"] = totals
        body = "\n".join([
            "## Accuracy (real clips)", "", *note,
            f"Measured {stamp()} on {machine()}: every labelled clip of ../shared/media/manifest.json through the "
            "real pipeline (default config, side detected). A labelled rep matches the counted rep whose bottom "
            "lies in its labelled window; the rep's flag is 'valgus' when any working leg is flagged.",
            f"Command: `{cmd}`.",
            "",
            real_md,
        ])
        print(body)
        if args.write:
            update_results("accuracy-real", body)
    write_json(args.work / "accuracy.json", report)


if __name__ == "__main__":
    main()
