"""Which videos a batch covers: folders, glob patterns and list files, and who each video belongs to."""

from __future__ import annotations

import csv
import glob
from pathlib import Path

from formcheck import validate
from formcheck.errors import InputError
from formcheck.media.sources import VIDEO_SUFFIXES

LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith(".")


def find_videos(inputs: list[str]) -> list[Path]:
    """Every video named by `inputs`, once each, in the order given (a folder's videos by name;
    a folder is searched one level deep, not into its sub-folders, which may be outputs)."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if _is_video(p))
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            base = path.parent
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    listed = Path(line).expanduser()
                    found.append(listed if listed.is_absolute() else base / listed)
        elif path.is_file():
            found.append(path)
        elif glob.has_magic(item):
            found += sorted(Path(p) for p in glob.glob(str(path), recursive=True) if _is_video(Path(p)))
        else:
            raise InputError(f"no such file or folder: {item}")
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    if not unique:
        raise InputError(f"no videos found in {' '.join(inputs)} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
    return list(unique.values())


def read_patient_map(path: Path) -> dict[str, tuple[str, str | None]]:
    """A CSV with columns `video` and `patient` (and optionally `date`): video file name or path ->
    (patient ID, date). Names are matched by file name when the CSV gives no folder."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read the patient map {path}: {exc}") from None
    if not rows or not {"video", "patient"} <= set(rows[0]):
        raise InputError(f"{path} needs a header with the columns video,patient (and optionally date)")
    mapping: dict[str, tuple[str, str | None]] = {}
    for n, row in enumerate(rows, start=2):
        video, patient = (row.get("video") or "").strip(), (row.get("patient") or "").strip()
        if not video:
            raise InputError(f"{path} line {n}: no video named")
        date = (row.get("date") or "").strip() or None
        try:
            mapping[video] = (validate.patient_id(patient), validate.when(date) and date)
        except InputError as exc:
            raise InputError(f"{path} line {n}: {exc}") from None
    return mapping


def patient_for(video: Path, mapping: dict[str, tuple[str, str | None]]) -> tuple[str, str | None] | None:
    for key in (str(video), str(video.resolve()), video.name):
        if key in mapping:
            return mapping[key]
    return None
