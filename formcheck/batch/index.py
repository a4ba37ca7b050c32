"""The batch index: batch.csv for scripts and spreadsheets, batch.html linking every report."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from formcheck.batch.work import VideoResult

COLUMNS = ["video", "status", "reason", "exercise", "rep_count", "flagged_reps", "warnings", "frames", "seconds", "out_dir", "session_id", "worker"]
_env = Environment(loader=PackageLoader("formcheck", "templates"), autoescape=select_autoescape(["html", "j2"]))


def _relative(path: str, start: Path) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive (Windows)
        return path


def write_index(out: Path, results: list[VideoResult]) -> tuple[Path, Path]:
    csv_path, html_path = out / "batch.csv", out / "batch.html"
    tmp = out / ".batch.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in results:
            w.writerow([r.video, r.status, r.reason, r.exercise, "" if r.rep_count is None else r.rep_count,
                        "" if r.flagged_reps is None else r.flagged_reps, " | ".join(r.warnings), r.frames, f"{r.seconds:.1f}",
                        r.out_dir, "" if r.session_id is None else r.session_id, r.worker])  # fmt: skip
    os.replace(tmp, csv_path)
    rows = [
        {**vars(r), "name": Path(r.video).name, "report": _relative(str(Path(r.out_dir) / "report.html"), out)
         if (Path(r.out_dir) / "report.html").is_file() else None}
        for r in results
    ]  # fmt: skip
    counts = {s: sum(1 for r in results if r.status == s) for s in ("done", "skipped", "failed", "interrupted")}
    html = _env.get_template("batch.html.j2").render(rows=rows, counts=counts, total=len(results))
    tmp = out / ".batch.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, html_path)
    return csv_path, html_path
