"""Exercise-tracker benchmark: rep-count error, working-leg accuracy, rep-window error, valgus-flag
precision/recall and --exercise auto (with its confusion table: true exercise against the name it
gave), on the synthetic standard set, its variants and the labelled real clips.

    FORMCHECK_MODEL=/work/shared/models/pose_landmarker_full.task \\
        python benchmarks/trackers.py --synth /tmp/std --variants /tmp/variants --media ../shared/media --cache /tmp/formcheck-bench-cache [--write]

The pose model runs once per clip (raw landmarks cached as .npz in --cache); everything after it
is the real per-frame pipeline and report pass (Pipeline.process_pose, session.summarize), the
same code `formcheck analyze` runs. --synth is made (if empty) by `formcheck samples --out DIR`,
--variants by `formcheck samples --set variants --out DIR`; any set may be left out. `--config
FILE` runs with those settings (default: the defaults). `--write` puts the tables into
benchmarks/RESULTS.md (section "trackers"), followed by the markdown in `--notes FILE` if given.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.common import complete_reps, machine, stamp, update_results  # noqa: E402
from formcheck.config import Config, load_config  # noqa: E402
from formcheck.core.landmarks import Side  # noqa: E402
from formcheck.core.pose_frame import PoseFrame  # noqa: E402
from formcheck.media.sources import Frame, SourceInfo, open_source  # noqa: E402
from formcheck.pipeline.session import summarize  # noqa: E402
from formcheck.pipeline.stages import Pipeline  # noqa: E402
from formcheck.trackers import tracker_class  # noqa: E402

BLANK = np.zeros((2, 2, 3), np.uint8)
REAL_EXERCISE = {"squat": "squat", "barbell_squat": "squat", "goblet_squat": "squat", "ogata": "squat", "lunge": "lunge",
                 "lateral_lunge": "side-lunge", "stepdown": "step-down", "balance": "balance", "cmj": "hop",
                 "broad_jump": "hop", "jumpsquat": "hop", "heelslide": "knee-rom", "sls": "single-leg-squat",
                 "side_shuffle": "band-walk", "band_walk": "band-walk", "lateral_bound": "side-push",
                 "knee_extension": "knee-extension"}


def landmarks(video: pathlib.Path, cache: pathlib.Path) -> dict:
    out = cache / (video.name + ".npz")
    if not out.exists():
        from formcheck.pose.landmarker import PoseEstimator

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


def replayed(d: dict, exercise: str, config: Config | None = None, keep: np.ndarray | None = None) -> Pipeline:
    """The per-frame pipeline (what `live` runs after the model) over cached landmarks `d`; frames
    where `keep` is False are never seen, as when live drops them."""
    config = config or Config()
    t = d["t"]
    pipe = Pipeline(None, tracker_class(exercise)(None, config.trackers), config)  # type: ignore[arg-type]
    for i in range(len(t)) if keep is None else np.flatnonzero(keep):
        ok = np.isfinite(d["xy"][i]).all() and d["vis"][i].max() > 0
        pose = PoseFrame(float(t[i]), d["xy"][i], d["world"][i], d["vis"][i], (640, 480), int(d["people"][i])) if ok else None
        pipe.process_pose(Frame(int(i), float(t[i]), BLANK), pose)
    return pipe


def analyse(d: dict, exercise: str, name: str, config: Config | None = None, pipe: Pipeline | None = None):
    """The report pass over `replayed(d, exercise, config)`, or over `pipe` if it was replayed already."""
    config = config or Config()
    t = d["t"]
    pipe = pipe or replayed(d, exercise, config)
    fps = float(1 / np.median(np.diff(t)))
    return summarize(pipe.recording, exercise, config, SourceInfo("file", name, fps, len(t), 640, 480, None))


def real_cases(entries: list[dict], folder: pathlib.Path) -> list[tuple]:
    """Labelled real clips (the manifest format of ../shared/media). A jump's labelled rep runs
    from the countermovement to standing again; the hop tracker's rep is the landing, so its
    window is compared from the labelled landing contact and landing bottom."""
    out = []
    for e in entries:
        ex = next((v for k, v in sorted(REAL_EXERCISE.items(), key=lambda kv: -len(kv[0])) if e["file"].startswith(k)), None)
        if ex is None:
            print(f"skipped {e['file']}: no exercise known for its name", file=sys.stderr)
            continue
        if not (folder / e["file"]).exists():
            print(f"skipped {e['file']}: not in {folder}", file=sys.stderr)
            continue
        legs = ("left", "right") if e["working_leg"] == "both" else (e["working_leg"],)
        reps = []
        for r in complete_reps(e):
            v = r["valgus_visible"] == "yes" if r["valgus_visible"] in ("yes", "no") else None
            window = (r.get("start_frame"), r.get("bottom_frame"), r.get("end_frame"))
            if ex == "hop":
                phase = r.get("phase_frames", {})
                contact = phase.get("landing_contact", phase.get("landing_contact_both_feet"))
                window = (contact, phase.get("landing_bottom"), r.get("end_frame"))
            if ex == "side-push" and r.get("leading_foot") in ("left", "right"):
                reps.append(((Side(r["leading_foot"]).other.value,), v, window))  # the trailing leg pushes
            else:
                reps.append((legs, v, window))
        out.append(("real", e["file"], ex, reps, [e["hold"]] if e.get("hold") else [], folder / e["file"]))
    return out


def synthetic_cases(folder: pathlib.Path, group: str = "synthetic", which: str = "standard") -> list[tuple]:
    """The rendered clips in `folder` (the sample set `which` rendered there first if it is empty)."""
    if not list(folder.glob("*.mp4")):
        from formcheck.synth.samples import make_samples

        make_samples(folder, which)
    out = []
    for tp in sorted(folder.glob("*.truth.json")):
        tr = json.loads(tp.read_text())
        reps = [(tuple(r["legs"]), any(r["valgus"].values()), (r["start_frame"], r["bottom_frame"], r["end_frame"])) for r in tr["reps"]]
        out.append((group, tp.name.replace(".truth.json", ".mp4"), tr["exercise"], reps, tr["holds"], tp.with_name(tr["clip"])))
    return out


def cases(synth: pathlib.Path | None, media: pathlib.Path | None, extra: tuple[pathlib.Path, pathlib.Path] | None = None,
          variants: pathlib.Path | None = None) -> list[tuple]:
    """(set, clip, exercise, truth reps [(legs, valgus, (start, bottom, end))], truth holds, video)."""
    out = []
    if synth is not None:
        out += synthetic_cases(synth)
    if variants is not None:
        out += synthetic_cases(variants, "variant", "variants")
    sources = ([(media / "manifest.json", media)] if media else []) + ([extra] if extra else [])
    for manifest, folder in sources:
        if manifest.exists():
            out += real_cases(json.loads(manifest.read_text()), folder)
    return out


def window_error(got: list, truth: list) -> tuple[float, float, float] | None:
    """Mean |counted - labelled| frames of (start, bottom, end) over reps with labelled frames."""
    errs = [[abs(g - t) for g, t in zip(gw, tw) if t is not None] for gw, tw in zip(got, truth)]
    cols = list(zip(*[e for e in errs if len(e) == 3]))
    return tuple(float(np.mean(c)) for c in cols) if cols else None  # type: ignore[return-value]


def confusion(named: list[tuple[str, str, str]]) -> list[str]:
    """`--exercise auto`'s confusion table: per set and true exercise, how many clips it gave each
    name (from (set, truth, named) triples); a name off the diagonal other than "unsure" is wrong."""
    names = sorted({n for _, _, n in named} - {"unsure"}) + ["unsure"]
    lines = ["| set | true exercise | clips | " + " | ".join(names) + " | right / unsure / wrong |",
             "| --- | --- | --- | " + " | ".join("---" for _ in names) + " | --- |"]
    order = ("synthetic", "variant", "real")
    for group, truth in sorted({(g, t) for g, t, _ in named}, key=lambda gt: (order.index(gt[0]), gt[1])):
        got = [n for g, t, n in named if (g, t) == (group, truth)]
        cells = [(f"**{got.count(n)}**" if n == truth else str(got.count(n))) if got.count(n) else "" for n in names]
        right, unsure = got.count(truth), got.count("unsure")
        lines.append(f"| {group} | {truth} | {len(got)} | " + " | ".join(cells) + f" | {right} / {unsure} / {len(got) - right - unsure} |")
    return lines


def run(all_cases: list[tuple], cache: pathlib.Path, config: Config) -> tuple[list[str], list[str], list[tuple[str, str, str]]]:
    rows, per_ex, named = [], defaultdict(lambda: defaultdict(float)), []
    for group, clip, ex, reps, holds, video in all_cases:
        d = landmarks(video, cache / group)
        res = analyse(d, ex, clip, config)
        auto = analyse(d, "auto", clip, config).detection
        named.append((group, ex, auto.name))
        k = per_ex[(group, ex)]
        k["clips"] += 1
        k["auto_right"] += auto.name == ex
        k["auto_unsure"] += auto.name == "unsure"
        auto_txt = f"{auto.name} ({auto.confidence:.2f})"
        if ex == "balance":
            got = [(h.hold.leg.value, round(h.hold.start_s, 2), round(h.hold.end_s, 2), len(h.hold.touchdowns)) for h in res.holds]
            rows.append(f"| {group} | {clip} | {ex} | holds {len(holds)} | holds {len(got)}: {got} | - | - | | {auto_txt} |")
            k["count_err"] += abs(len(got) - len(holds))
            continue
        k["count_err"] += abs(len(res.reps) - len(reps))
        got_legs = [tuple(s.value for s in r.rep.legs) for r in res.reps]
        exact = len(got_legs) == len(reps)
        leg_ok = sum(g == t[0] for g, t in zip(got_legs, reps)) if exact else None
        win = window_error([(r.rep.start_i, r.rep.bottom_i, r.rep.end_i) for r in res.reps], [t[2] for t in reps]) if exact else None
        if exact:
            k["legs_ok"] += leg_ok
            k["legs_n"] += len(reps)
            if win is not None:
                k["win_n"] += 1
                k["win_start"] += win[0]
                k["win_bottom"] += win[1]
                k["win_end"] += win[2]
            for s, (_, truth_v, _) in zip(res.reps, reps):
                if truth_v is None:
                    continue
                flagged = any(bool(v) for v in s.valgus.values())
                k["tp"] += flagged and truth_v
                k["fp"] += flagged and not truth_v
                k["fn"] += (not flagged) and truth_v
        win_txt = "/".join(f"{w:.0f}" for w in win) if win else "-"
        leg_txt = f"{leg_ok}/{len(reps)}" if leg_ok is not None else f"-/{len(reps)}"
        legs_txt = "".join("B" if len(g) == 2 else g[0][0].upper() for g in got_legs)
        rows.append(f"| {group} | {clip} | {ex} | {len(reps)} | {len(res.reps)} | {leg_txt} ({legs_txt}) | {win_txt} | "
                    f"{sum(1 for _, v, _ in reps if v)} | {auto_txt} |")
    summary = []
    for (group, ex), k in sorted(per_ex.items()):
        prec = f"{k['tp'] / (k['tp'] + k['fp']):.2f}" if k["tp"] + k["fp"] else "-"
        rec = f"{k['tp'] / (k['tp'] + k['fn']):.2f}" if k["tp"] + k["fn"] else "-"
        legs = f"{int(k['legs_ok'])}/{int(k['legs_n'])}" if k["legs_n"] else "-"
        n = k["win_n"]
        win = f"{k['win_start'] / n:.1f} / {k['win_bottom'] / n:.1f} / {k['win_end'] / n:.1f}" if n else "-"
        wrong = int(k["clips"] - k["auto_right"] - k["auto_unsure"])
        summary.append(f"| {group} | {ex} | {int(k['clips'])} | {k['count_err'] / k['clips']:.2f} | {legs} | {win} | {prec} | {rec} | "
                       f"{int(k['auto_right'])} / {int(k['auto_unsure'])} / {wrong} |")
    return summary, rows, named


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synth", type=pathlib.Path, help="synthetic standard set (made if empty)")
    ap.add_argument("--variants", type=pathlib.Path, help="synthetic variants of the rehab-programme exercises (made if empty)")
    ap.add_argument("--media", type=pathlib.Path, help="labelled real clips (manifest.json)")
    ap.add_argument("--extra", type=pathlib.Path, help="a manifest of fetched real clips (benchmarks/real_clips), restored into --extra-cache")
    ap.add_argument("--extra-cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/real_clips")
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path("/tmp/formcheck-bench-cache"))
    ap.add_argument("--config", type=pathlib.Path, help="TOML settings (default: the defaults)")
    ap.add_argument("--write", action="store_true", help="write the tables into benchmarks/RESULTS.md (section trackers)")
    ap.add_argument("--notes", type=pathlib.Path, help="markdown appended to the written section")
    a = ap.parse_args()
    config = load_config(a.config) if a.config else Config()
    extra = (a.extra / "manifest.json", a.extra_cache) if a.extra else None
    summary, rows, named = run(cases(a.synth, a.media, extra, a.variants), a.cache, config)
    sets = " ".join(x for x in (f"--synth {a.synth}" if a.synth else "", f"--variants {a.variants}" if a.variants else "",
                                f"--media {a.media}" if a.media else "", f"--extra {a.extra}" if a.extra else "") if x)  # fmt: skip
    body = "\n".join([
        "## Exercise trackers",
        "",
        "Reproduce (the model runs once per clip and its landmarks are cached; then the real per-frame",
        "pipeline and report pass run, the code `formcheck analyze` uses):",
        "",
        "    FORMCHECK_MODEL=/work/shared/models/pose_landmarker_full.task \\",
        f"        python benchmarks/trackers.py {sets} --cache /tmp/formcheck-bench-cache --write",
        "",
        f"Run {stamp()} ({machine()}){', config ' + str(a.config) if a.config else ', default config'}. Rep-count error is",
        "|counted - labelled| per clip; \"working leg right\" compares each rep's `legs` with the label where",
        "the count is exact (per-clip letters: L/R/B = left/right/both, in rep order); window error is the",
        "mean |counted - labelled| frames of rep start / bottom / end where the count is exact; valgus",
        "precision/recall are per rep, over reps labelled yes or no (real non-squat reps are labelled",
        "\"unclear\"). \"auto\" is `--exercise auto`: right / unsure / wrong (wrong is the failure that matters).",
        "",
        "| set | exercise | clips | mean abs rep-count error | working leg right | window error start / bottom / end (frames) | valgus precision | valgus recall | auto right / unsure / wrong |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *summary,
        "",
        "`--exercise auto`, true exercise against the name it gave (bold: right; \"unsure\" asks the user; any",
        "other cell is a wrong name, which counts the wrong reps):",
        "",
        *confusion(named),
        "",
        "Per clip:",
        "",
        "| set | clip | exercise | true reps | counted | working leg right | window error s/b/e | valgus reps (truth) | auto |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
    ])
    if a.notes:
        body += "\n\n" + a.notes.read_text().strip()
    print(body)
    if a.write:
        print(f"wrote {update_results('trackers', body)}")


if __name__ == "__main__":
    main()
