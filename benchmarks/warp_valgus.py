"""Caving knees of known size on real footage: clean real clips warped so one knee caves in.

    FORMCHECK_MODEL=../shared/models/pose_landmarker_full.task \\
        python -m benchmarks.warp_valgus --media ../shared/media --extra benchmarks/real_clips \\
        --out ~/.cache/formcheck/warped [--levels 0.1,0.2,0.3] [--sheet]

Public footage of caving knees is scarce, so clean, labelled, frontal real clips are made to cave
by a smooth local image warp. Through each labelled rep, one working knee is carried toward the
midline (image x, toward the other hip) on a raised-cosine path from the rep's start, through its
bottom, back to its end; hip, ankle and foot stay where they are. The size is where the knee ends
at the bottom against its own foot: `level` standing shank lengths medial of the toe landmark
(the knee-to-toe offset, DOMAIN.md), so a squatter who pushes the knees far out has to move
further than one whose knees already sit over the toes.

The warp: each pixel moves by the knee's shift times a weight that is 1 at the knee, falls
linearly to 0 at the hip and the ankle along the thigh and shank, and falls off across the leg
as a Gaussian (sigma 0.4 standing shank lengths), damped where the other leg is nearer; the
inverse map for `cv2.remap` is found by fixed-point iteration. Where the knee sits is taken from
the pose model's zero-phase landmarks of the clean clip (the truth is the shift put in, not what
the model later reads; `real_valgus --warped` reports how much of it the model sees).

Writes `<clip stem>__<leg>__<level>.mp4` and a `.truth.json` beside it (the clip's manifest entry
with its reps relabelled: the warped leg caving where the rep was warped, the other leg as
labelled), and with --sheet a PNG of every warped rep's bottom frame, original beside warped, to
look at before the clips are used.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib

import cv2
import numpy as np

from benchmarks.common import complete_reps
from benchmarks.real_valgus import TRACKER, _recording, _smoothed, family_of, person_of, working_legs
from benchmarks.trackers import landmarks
from formcheck.config import Config
from formcheck.core import geometry as g
from formcheck.core.landmarks import Side
from formcheck.media.sources import open_source
from formcheck.pipeline.report_frames import ReportFrames

MAX_SIDE = 640  # warped clips are written at the size formcheck's pose model sees (pose.MAX_INFERENCE_SIDE)
SIGMA_SHANKS = 0.4  # across-leg falloff of the warp, standing shank lengths
INVERSE_ITERATIONS = 4
LEVELS = (0.1, 0.2, 0.3)


def clean_frontal_entries(manifest: list[dict]) -> list[dict]:
    """Frontal clips of a family the benchmark scores with clean reps and none caving."""
    out = []
    for e in manifest:
        reps = complete_reps(e)
        if family_of(e["exercise"]) is None or not e["view"].startswith("frontal") or not reps:
            continue
        labels = {r["valgus_visible"] for r in reps}
        if "no" in labels and "yes" not in labels:
            out.append(e)
    return out


def _segment_weight(p: np.ndarray, a: np.ndarray, b: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(along, across) for pixels p (..., 2) against the segment a->b: along runs 0 at a to 1 at b
    (0 outside), across is the Gaussian of the distance from the segment."""
    ab = b - a
    length2 = float(ab @ ab)
    if not length2 > 0:
        return np.zeros(p.shape[:-1]), np.zeros(p.shape[:-1])
    u = ((p - a) @ ab) / length2
    inside = (u >= 0) & (u <= 1)
    closest = a + np.clip(u, 0, 1)[..., None] * ab
    d2 = np.sum((p - closest) ** 2, axis=-1)
    return np.where(inside, u, 0.0), np.exp(-0.5 * d2 / sigma**2)


def knee_weight(p: np.ndarray, hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other: tuple[np.ndarray, ...], sigma: float) -> np.ndarray:
    """The share of the knee's shift each pixel takes (1 at the knee, 0 at hip, ankle and far away)."""
    thigh_along, thigh_across = _segment_weight(p, hip, knee, sigma)
    shank_along, shank_across = _segment_weight(p, ankle, knee, sigma)
    w = np.maximum(thigh_along * thigh_across, shank_along * shank_across)
    # The knee itself sits at the end of both segments.
    w = np.maximum(w, np.exp(-0.5 * np.sum((p - knee) ** 2, axis=-1) / sigma**2))
    o_hip, o_knee, o_ankle = other
    if np.all(np.isfinite(np.stack(other))):
        _, a1 = _segment_weight(p, o_hip, o_knee, 0.5 * sigma)
        _, a2 = _segment_weight(p, o_knee, o_ankle, 0.5 * sigma)
        w = w * (1.0 - np.maximum(a1, a2))  # the other leg stays put
    return w


def warp_frame(img: np.ndarray, shift_x: float, hip, knee, ankle, other, sigma: float, step: int = 4) -> np.ndarray:  # noqa: ANN001
    """The frame with the knee carried `shift_x` pixels along image x (hip and ankle fixed).

    The inverse map is solved on a grid of every `step`-th pixel and resized up: the field is
    smooth on the scale of `sigma`, so this changes it by well under a pixel.
    """
    if shift_x == 0 or not np.all(np.isfinite(np.stack([hip, knee, ankle]))):
        return img
    h, w = img.shape[:2]
    gh, gw = (h + step - 1) // step, (w + step - 1) // step
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float64) * step
    dest = np.stack([xs, ys], axis=-1)
    src = dest.copy()
    for _ in range(INVERSE_ITERATIONS):  # src = dest - shift * w(src)
        src[..., 0] = dest[..., 0] - shift_x * knee_weight(src, hip, knee, ankle, other, sigma)
    offset = cv2.resize((src[..., 0] - dest[..., 0]).astype(np.float32), (gw * step, gh * step), interpolation=cv2.INTER_LINEAR)[:h, :w]
    map_y, map_x = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, map_x + offset, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def shift_path(n: int, reps: list[dict], shifts: list[float]) -> np.ndarray:
    """Per frame, the knee's shift: a raised cosine from each rep's start to its bottom, held
    for no time, and back to zero at its end."""
    out = np.zeros(n)
    for r, d in zip(reps, shifts):
        a, b, c = r["start_frame"], min(r["bottom_frame"], n - 1), min(r["end_frame"], n - 1)
        for lo, hi, rising in ((a, b, True), (b, c, False)):
            k = np.arange(lo, hi + 1)
            x = (k - lo) / max(hi - lo, 1)
            s = np.sin(0.5 * math.pi * (x if rising else 1 - x)) ** 2
            out[lo : hi + 1] = np.maximum(out[lo : hi + 1], d * s)
    return out


def make(entry: dict, video: pathlib.Path, cache: pathlib.Path, out: pathlib.Path, levels: tuple[float, ...], leg: Side, sheet: list) -> list[pathlib.Path]:
    """The warped clips of one clean clip, one per level, with the knee of `leg` caving."""
    config = Config()
    d = landmarks(video, cache)
    reps = [r for r in complete_reps(entry) if r["valgus_visible"] == "no" and leg.value in working_legs(entry, r)]
    if not reps:
        return []
    family = family_of(entry["exercise"])
    frames = ReportFrames(_recording(d, TRACKER[family], config), config.thresholds.frontal_max_yaw_deg)
    scale = min(1.0, MAX_SIDE / max(entry["width"], entry["height"]))
    xy = _smoothed(frames, "image_xy") * scale
    hip, knee, ankle, toe, other_hip = g.leg_points(xy, leg)
    o_hip, o_knee, o_ankle, _, _ = g.leg_points(xy, leg.other)
    medial = g._medial_x_sign(hip, other_hip)
    shank = np.linalg.norm(ankle - knee, axis=-1)
    standing_shank = float(np.nanpercentile(shank, 90))
    sigma = SIGMA_SHANKS * standing_shank
    kt_px = g.knee_toe_px(hip, knee, toe, other_hip)  # + = knee medial of the toe
    written = []
    for level in levels:
        shifts, kept = [], []
        for r in reps:
            b = min(r["bottom_frame"], len(kt_px) - 1)
            need = level * standing_shank - kt_px[b]
            if np.isfinite(need) and need > 0 and np.isfinite(medial[b]):
                shifts.append(float(need))
                kept.append(r)
        if not kept:
            continue
        n = len(d["t"])
        path = shift_path(n, kept, shifts)
        name = f"{video.stem}__{leg.value}__{level:.2f}"
        target = out / f"{name}.mp4"
        with open_source(str(video)) as src:
            writer = None
            for i, f in enumerate(src):
                if i >= n:
                    break
                img = f.image if scale == 1.0 else cv2.resize(f.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                sx = float(path[i] * medial[i]) if np.isfinite(medial[i]) else 0.0
                warped = warp_frame(img, sx, hip[i], knee[i], ankle[i], (o_hip[i], o_knee[i], o_ankle[i]), sigma)
                if writer is None:
                    out.mkdir(parents=True, exist_ok=True)
                    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), float(entry["fps"]), (img.shape[1], img.shape[0]))
                writer.write(warped)
                if i == min(kept[0]["bottom_frame"], n - 1):
                    legs = np.stack([hip[i], knee[i], ankle[i], toe[i], o_hip[i], o_knee[i], o_ankle[i]])
                    lo = np.maximum(np.nanmin(legs, axis=0) - sigma, 0).astype(int)
                    hi = np.nanmax(legs, axis=0).astype(int) + int(sigma)
                    crop = (slice(lo[1], hi[1]), slice(lo[0], hi[0]))
                    sheet.append((name, img[crop], warped[crop]))
            if writer is not None:
                writer.release()
        truth = dict(entry)
        truth.update(file=target.name, person=person_of(entry), warped_from=entry["file"], warped_leg=leg.value,
                     warp_level=level, warp_shift_px=shifts, width=img.shape[1], height=img.shape[0])  # fmt: skip
        new_reps = []
        for r in entry["reps"]:
            r = dict(r)
            if r in kept or any(k["start_frame"] == r["start_frame"] for k in kept):
                r.update(valgus_visible="yes", valgus_side=leg.value)
            new_reps.append(r)
        truth["reps"] = new_reps
        target.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1))
        written.append(target)
    return written


def contact_sheet(rows: list, path: pathlib.Path, height: int = 320) -> None:
    """Original beside warped at the first warped rep's bottom, one row per clip."""
    tiles = []
    for name, a, b in rows:
        pair = np.hstack([a, b])
        pair = cv2.resize(pair, (int(pair.shape[1] * height / pair.shape[0]), height))
        cv2.putText(pair, name, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 255), 1, cv2.LINE_AA)
        tiles.append(pair)
    width = max(t.shape[1] for t in tiles)
    tiles = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles]
    cv2.imwrite(str(path), np.vstack(tiles))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", type=pathlib.Path, default=pathlib.Path("../shared/media"))
    ap.add_argument("--extra", type=pathlib.Path, default=None)
    ap.add_argument("--extra-cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/real_clips")
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/bench")
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/warped")
    ap.add_argument("--levels", default=",".join(str(x) for x in LEVELS))
    ap.add_argument("--only", default=None, help="comma-separated clip files")
    ap.add_argument("--sheet", action="store_true")
    args = ap.parse_args()
    levels = tuple(float(x) for x in args.levels.split(","))
    sources = [(args.media / "manifest.json", args.media)]
    if args.extra:
        sources.append((args.extra / "manifest.json", args.extra_cache))
    sheet: list = []
    k = 0
    for manifest, folder in sources:
        for entry in clean_frontal_entries(json.loads(manifest.read_text())):
            if args.only and entry["file"] not in args.only.split(","):
                continue
            video = folder / entry["file"]
            if not video.exists():
                continue
            legs = sorted({s for r in entry["reps"] for s in working_legs(entry, r)})
            leg = Side(legs[k % len(legs)])  # alternate the warped leg over bilateral clips
            k += 1
            for p in make(entry, video, args.cache / "lm", args.out, levels, leg, sheet):
                print(p, flush=True)
    if args.sheet and sheet:
        for j in range(0, len(sheet), 8):
            contact_sheet(sheet[j : j + 8], args.out / f"sheet_{j // 8}.png")


if __name__ == "__main__":
    main()
