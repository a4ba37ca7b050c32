"""The real knee-reps the shipped valgus rule gets wrong, shown as frames.

    FORMCHECK_MODEL=../shared/models/pose_landmarker_full.task \\
        python -m benchmarks.valgus_misses --media ../shared/media --extra benchmarks/real_clips \\
        [--out benchmarks/real_valgus_misses.png]

The real-valgus benchmark (benchmarks/real_valgus.py) counts misses; a therapist deciding whether
to trust the rule needs to see them. For every labelled rep with a knee the shipped rule misses
(labelled caving, not flagged or not scored) or flags wrongly (labelled clean, flagged), one row
of the sheet shows the rep at its labelled start, halfway down and at its bottom, cropped to the
legs, with the pose model's legs drawn (the knee-rep's leg thick, hip-knee-ankle-toe) and the
measures the rule reads printed beside them. Rows are grouped by rep, so both knees of a rep that
is wrong on both are one row.
"""

from __future__ import annotations

import argparse
import pathlib
from collections import defaultdict

import cv2
import numpy as np

from benchmarks.common import complete_reps
from benchmarks.real_valgus import KneeRep, collect
from benchmarks.trackers import landmarks
from formcheck.config import Config
from formcheck.core.landmarks import LEG, Side

ROW_HEIGHT = 330
TEXT_WIDTH = 460
COLOURS = {"left": (255, 160, 40), "right": (40, 200, 255)}  # BGR: left blue, right orange
SHOWN = ("knee_toe_change_before", "shank", "knee_toe", "knee_line_3d")


def wrong(r: KneeRep) -> str | None:
    """'missed', 'false flag' or None for a knee-rep the shipped rule gets right."""
    if r.caving and r.shipped is not True:
        return "missed" if r.shipped is False else "missed (not scored)"
    if not r.caving and r.shipped is True:
        return "false flag"
    return None


def labelled_reps(entry: dict) -> list[dict]:
    """The rep list real_valgus numbers its knee-reps by (yes/no labels only, 1-based)."""
    return [r for r in complete_reps(entry) if r["valgus_visible"] in ("yes", "no")]


def read_frame(video: pathlib.Path, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = cap.read()
    finally:
        cap.release()
    if not ok:
        raise RuntimeError(f"{video.name}: frame {index} could not be read")
    return image


def leg_crop(image: np.ndarray, xy: np.ndarray, legs: list[str]) -> np.ndarray:
    """The frame with both legs drawn (the judged legs thick), cropped to hips-to-feet plus a margin."""
    out = image.copy()
    for side in (Side.LEFT, Side.RIGHT):
        leg = LEG[side]
        chain = [xy[int(j)] for j in (leg.hip, leg.knee, leg.ankle, leg.toe)]
        thick = 4 if side.value in legs else 1
        for a, b in zip(chain, chain[1:]):
            if np.isfinite(a).all() and np.isfinite(b).all():
                cv2.line(out, tuple(int(v) for v in a), tuple(int(v) for v in b), COLOURS[side.value], thick, cv2.LINE_AA)
        if np.isfinite(chain[1]).all():
            cv2.circle(out, tuple(int(v) for v in chain[1]), 3 + thick, COLOURS[side.value], -1, cv2.LINE_AA)
    pts = np.array([xy[int(j)] for s in (Side.LEFT, Side.RIGHT) for j in (LEG[s].hip, LEG[s].toe, LEG[s].heel)])
    pts = pts[np.isfinite(pts).all(axis=1)]
    h, w = out.shape[:2]
    if len(pts) == 0:
        return out
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    pad = 0.25 * max(x1 - x0, y1 - y0)
    x0, x1 = int(max(0, x0 - pad)), int(min(w, x1 + pad))
    y0, y1 = int(max(0, y0 - pad)), int(min(h, y1 + pad))
    return out[y0:y1, x0:x1]


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    scale = height / image.shape[0]
    return cv2.resize(image, (max(1, round(image.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)


def text_panel(lines: list[str]) -> np.ndarray:
    panel = np.full((ROW_HEIGHT, TEXT_WIDTH, 3), 255, np.uint8)
    for k, line in enumerate(lines):
        cv2.putText(panel, line, (8, 20 + 19 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return panel


def row(video: pathlib.Path, xy: np.ndarray, entry: dict, rep: dict, knees: list[KneeRep]) -> np.ndarray:
    legs = [k.leg for k in knees]
    start, bottom = rep["start_frame"], rep["bottom_frame"]
    frames = [start, (start + bottom) // 2, bottom]
    crops = [fit_height(leg_crop(read_frame(video, i), xy[i], legs), ROW_HEIGHT) for i in frames]
    head = knees[0]
    source = entry.get("source_repo") or entry.get("source") or ""
    lines = [f"{head.clip} rep {head.rep}", f"  {str(source)[:48]}", f"  person {head.person[:40]}",
             f"  frames {frames[0]} / {frames[1]} / {frames[2]}"]  # fmt: skip
    for k in knees:
        lines.append(f"{k.leg} knee: labelled {'caving' if k.caving else 'clean'}, {wrong(k)}")
        lines.append(f"   shipped: {k.decided[:44]}")
        for name in SHOWN:
            v = k.features.get(name, float("nan"))
            lines.append(f"   {name} {v:+.3f}" if np.isfinite(v) else f"   {name} -")
    sep = np.full((ROW_HEIGHT, 4, 3), 255, np.uint8)
    parts = [text_panel(lines)]
    for c in crops:
        parts += [sep, c]
    return np.hstack(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", type=pathlib.Path, default=pathlib.Path("../shared/media"))
    ap.add_argument("--extra", type=pathlib.Path, default=None, help="folder with a manifest.json of restored clips")
    ap.add_argument("--extra-cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/real_clips")
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/bench")
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/real_valgus_misses.png")
    args = ap.parse_args()
    import json

    sources = [(args.media / "manifest.json", args.media)]
    if args.extra:
        sources.append((args.extra / "manifest.json", args.extra_cache))
    real = collect(sources, args.cache / "lm", Config())
    entries = {e["file"]: (e, folder) for manifest, folder in sources if manifest.is_file() for e in json.loads(manifest.read_text())}
    grouped: dict[tuple[str, int], list[KneeRep]] = defaultdict(list)
    for r in real:
        if wrong(r):
            grouped[(r.clip, r.rep)].append(r)
    rows = []
    for (clip, rep_no), knees in sorted(grouped.items()):
        entry, folder = entries[clip]
        video = folder / clip
        xy = landmarks(video, args.cache / "lm")["xy"]
        rows.append(row(video, xy, entry, labelled_reps(entry)[rep_no - 1], knees))
        print(f"{clip} rep {rep_no}: " + ", ".join(f"{k.leg} {wrong(k)}" for k in knees))
    if not rows:
        print("the shipped rule gets every labelled knee-rep right")
        return
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.hstack([r, np.full((ROW_HEIGHT, width - r.shape[1], 3), 255, np.uint8)]) for r in rows])
    cv2.imwrite(str(args.out), sheet)
    print(f"{len(rows)} reps, {sum(len(v) for v in grouped.values())} knee-reps -> {args.out}")


if __name__ == "__main__":
    main()
