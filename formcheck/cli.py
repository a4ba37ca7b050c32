"""The `formcheck` command line: the only place that configures logging, prints, and picks exit codes.

Exit codes (CONTRACT.md): 0 done; 2 the input or command line is at fault; 130 interrupted with
Ctrl-C and 143 with SIGTERM (what was measured is still written, marked partial); 1 anything else.
Errors are one line on stderr. Every option is checked before any work starts.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from formcheck import __version__
from formcheck.errors import FormcheckError, InputError

# Quieten native logging (MediaPipe, OpenCV, FFmpeg) before those libraries are first imported:
# a bad input must end in one line of our own, not decoder chatter.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

log = logging.getLogger("formcheck")

app = typer.Typer(
    name="formcheck",
    help="Watches knee-rehab exercises and flags the knee caving inward (dynamic knee valgus).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_INTERRUPTED = 130
# File-system errors the user can act on (a full disk, a read-only or missing folder): exit 2.
USER_FIXABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.ENOENT, errno.EISDIR, errno.ENOTDIR})


def _exercise_help() -> str:
    from formcheck.trackers import tracker_class, tracker_names

    return "The exercise, one of:\n\n\b\n" + "\n".join(f"{n}: {tracker_class(n).description}" for n in tracker_names())


class SideChoice(str, Enum):
    auto = "auto"
    left = "left"
    right = "right"


class Variant(str, Enum):
    lite = "lite"
    full = "full"
    heavy = "heavy"


_said: list[str] = []  # what _fail printed: main must not print a second line


def _one_line(message: str) -> str:
    """A message naming something a person typed stays one line: control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"formcheck: {_one_line(message)}", err=True)
    _said.append(message)
    return typer.Exit(code)


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success, no progress bar (errors still one line on stderr).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout for scripts and nothing else (progress bar off).")]


class _Out:
    """What a command prints: lines for people; with --json one JSON document instead; with
    --quiet nothing. Errors are not printed here: they stay one line on stderr (main)."""

    def __init__(self, quiet: bool = False, as_json: bool = False) -> None:
        self.quiet, self.json = quiet, as_json
        self.silent = quiet or as_json  # no lines for people and no progress bar

    def line(self, text: str = "") -> None:
        if not self.silent:
            typer.echo(text)

    def notice(self, text: str) -> None:
        """Shown whatever the options (the safety text): on stderr when stdout is for JSON."""
        typer.echo(text, err=self.json)

    def document(self, doc: object) -> None:
        if self.json:
            typer.echo(json.dumps(doc, indent=2, default=str))


def _configure_logging(quiet: bool, verbose: bool) -> None:
    level = logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING)
    logging.basicConfig(level=level, format="formcheck: %(levelname)s: %(message)s")


def _resolve_model(model: Optional[Path], variant: Variant, quiet: bool):
    """Find the pose model; a progress bar appears only if a download actually starts."""
    from formcheck.pose.model_store import resolve_model

    if quiet:
        return resolve_model(model, variant.value)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    bar: Progress | None = None
    task = None

    def on_progress(done: int, total: int | None) -> None:
        nonlocal bar, task
        if bar is None:
            bar = Progress(
                "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                transient=True, console=Console(stderr=True), disable=not sys.stderr.isatty(),
            )
            bar.start()
            task = bar.add_task(f"downloading pose model ({variant.value})", total=total)
        bar.update(task, completed=done, total=total)

    try:
        return resolve_model(model, variant.value, progress=on_progress)
    finally:
        if bar is not None:
            bar.stop()


def _out_dir(video: Path, out: Optional[Path], info, overwrite: bool) -> Path:  # noqa: ANN001 - SourceInfo
    """--out, unless it holds another video's results (refused without --overwrite); by default
    a folder named after the video in the working folder, numbered on when that name holds
    another video's results: two clips called squat.mp4 never share one."""
    from formcheck.runs.analyze import free_out_dir, other_video_in

    if out is not None:
        other = other_video_in(out, info.sha256, info.name)
        if other is not None and not overwrite:
            raise InputError(f"{out} holds the results of another video ({other}): choose another --out, or add --overwrite")
        return out
    base = Path.cwd() / video.stem
    if base.resolve() == video.resolve():
        base = Path.cwd() / f"{video.stem}_formcheck"
    return free_out_dir(base, info.sha256, info.name)


ModelOpt = Annotated[
    Optional[Path],
    typer.Option("--model", help="Pose model .task file (else $FORMCHECK_MODEL, else the cache, else download)."),
]
VariantOpt = Annotated[Variant, typer.Option("--model-variant", help="Model to fetch when none is given.")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="TOML settings file (see formcheck/default_config.toml).")]


def _config(config_file: Optional[Path], threshold: Optional[float], baseline_relative: bool, patient: Optional[str] = None):
    """`config.effective_config` from the file, the patient's thresholds (when one is named) and these options."""
    from formcheck.config import effective_config

    command_line: dict = {}
    if threshold is not None:
        command_line["valgus_fppa_deg"] = threshold
    if baseline_relative:
        command_line["baseline_relative"] = True
    own = None
    if patient is not None:
        from formcheck.clinic.store import thresholds_for

        own = thresholds_for(patient)
    return effective_config(config_file, own, command_line)


def _flagged(summary: dict) -> list[int]:
    return [r["index"] for r in summary["reps"] if any(v for v in r["valgus"].values())]


def _outcome_doc(outcome, out_dir: Path) -> dict:  # noqa: ANN001 - runs.analyze.Outcome
    """analyze's and live's --json document: where, what was counted and flagged, how whole."""
    s = outcome.summary
    return {
        "out": str(out_dir), "exercise": s["exercise"], "rep_count": s["rep_count"], "flagged_reps": _flagged(s),
        "holds": len(s.get("holds") or []), "partial": bool(s.get("partial")), "partial_reason": s.get("partial_reason"),
        "warnings": list(s["warnings"]), "frames": outcome.frames, "seconds": round(outcome.wall_s, 3),
        "files": {name: str(path) for name, path in outcome.files.items()},
    }  # fmt: skip


def _print_outcome(outcome, say: _Out) -> None:
    s = outcome.summary
    if say.silent:
        return
    flagged = _flagged(s)
    typer.echo(
        f"{s['exercise']}: {s['rep_count']} reps, knee caving in on "
        + (f"rep{'s' if len(flagged) > 1 else ''} {', '.join(map(str, flagged))}" if flagged else "none")
        + f" ({outcome.frames} frames in {outcome.wall_s:.1f} s, {outcome.frames / max(outcome.wall_s, 1e-9):.1f} frames/s)"
    )
    for w in s["warnings"]:
        typer.echo(f"warning: {w}")
    for name, path in outcome.files.items():
        typer.echo(f"  {name:<9} {path}")


PatientOpt = Annotated[Optional[str], typer.Option("--patient", help="Record the session for this patient (see `formcheck patient`).")]
DateOpt = Annotated[Optional[str], typer.Option("--date", help="When the session took place (YYYY-MM-DD[THH:MM]); default now.")]
PainBeforeOpt = Annotated[Optional[int], typer.Option("--pain-before", min=0, max=10, help="Pain 0-10 before the session.")]
PainAfterOpt = Annotated[Optional[int], typer.Option("--pain-after", min=0, max=10, help="Pain 0-10 after the session.")]


def _record_for_patient(out_dir: Path, patient: str, date: Optional[str], pain_before: Optional[int],
                        pain_after: Optional[int], safety: list[str], say: _Out, default_now: bool = True) -> dict:  # fmt: skip
    """Record an output folder for a patient; without --date a fresh run is dated now, an
    imported folder by when its summary.json was written."""
    from datetime import datetime

    from formcheck.clinic.store import default_db_path, parse_safety, record_session

    rec = record_session(
        out_dir, patient, recorded_at=date or (datetime.now() if default_now else None),
        pain_before=pain_before, pain_after=pain_after, safety=parse_safety(safety) or None,
    )  # fmt: skip
    what = "recorded as" if rec.created else ("updated" if rec.replaced else "already recorded as")
    say.line(f"patient {patient}: {what} session {rec.session_id} in {default_db_path()}")
    return {"patient": patient, "session_id": rec.session_id, "created": rec.created, "replaced": rec.replaced,
            "db": str(default_db_path())}  # fmt: skip


@app.command()
def analyze(
    video: Annotated[Path, typer.Argument(help="Recorded video (mp4, mov, avi, webm, mkv) or a folder of images.")],
    exercise: Annotated[str, typer.Option("--exercise", "-e", help=_exercise_help())] = "squat",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: named after the video).")] = None,
    model: ModelOpt = None,
    model_variant: VariantOpt = Variant.full,
    side: Annotated[SideChoice, typer.Option("--side", help="Working leg for single-leg exercises.")] = SideChoice.auto,
    config_file: ConfigOpt = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="FPPA valgus threshold, degrees.")] = None,
    baseline_relative: Annotated[bool, typer.Option("--baseline-relative", help="Judge FPPA against the standing baseline.")] = False,
    no_video: Annotated[bool, typer.Option("--no-video", help="Skip annotated.mp4.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Let --out replace the results of another video.")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", help="Processes running the pose model on time chunks of the video (default: the cores available; short videos use fewer).")] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    patient: PatientOpt = None,
    date: DateOpt = None,
    pain_before: PainBeforeOpt = None,
    pain_after: PainAfterOpt = None,
    export: Annotated[Optional[str], typer.Option("--export", help="Also write exports into the output folder, e.g. trc,mot (trc, mot, c3d, csv, fhir; see `formcheck export`).")] = None,
) -> None:
    """Analyse a recorded video: writes annotated.mp4, summary.json, frames.csv and report.html.

    --json prints {out, exercise, rep_count, flagged_reps, holds, partial, partial_reason, warnings,
    frames, seconds, files, session, exports}."""
    say = _Out(quiet, json_out)
    _configure_logging(quiet, verbose)
    from formcheck.runs.analyze import run_session
    from formcheck.core.landmarks import Side
    from formcheck.media.sources import open_source
    from formcheck.trackers import tracker_class

    tracker_class(exercise)
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    config = _config(config_file, threshold, baseline_relative, patient)
    _check_patient_options(patient, date)
    exports = _export_formats(export, patient)
    if not video.exists():
        raise InputError(f"no such file: {video}")
    model_info = _resolve_model(model, model_variant, say.silent)
    source = open_source(video)
    try:
        out_dir = _out_dir(video, out, source.info, overwrite)
    except InputError:
        source.close()
        raise
    progress_ctx = None
    progress_fn = None
    if not say.silent and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        progress_ctx = Progress(
            TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[fps]:.1f} frames/s"),
            TimeRemainingColumn(), transient=True, console=Console(stderr=True),
        )
        task = progress_ctx.add_task("frames", total=source.info.frame_count, fps=0.0)
        progress_ctx.start()

        def progress_fn(done: int, _t: float) -> None:
            elapsed = progress_ctx.tasks[0].elapsed or 1e-9
            progress_ctx.update(task, completed=done, fps=done / elapsed)

    try:
        outcome = run_session(
            source, exercise=exercise, out_dir=out_dir, model=model_info,
            config=config, progress=progress_fn, write_video=not no_video,
            side=None if side is SideChoice.auto else Side(side.value), workers=workers or _cores(),
        )
    finally:
        if progress_ctx is not None:
            progress_ctx.stop()
    _print_outcome(outcome, say)
    doc = _outcome_doc(outcome, out_dir)
    if patient is not None:
        doc["session"] = _record_for_patient(out_dir, patient, date, pain_before, pain_after, [], say)
    if outcome.stopped_by is None:
        doc["exports"] = _write_exports(out_dir, exports, patient, say)
    say.document(doc)
    _exit_for_stop(outcome.stopped_by, f"after {outcome.frames} frames: partial results written to {out_dir}")


def _export_formats(export: Optional[str], patient: Optional[str]) -> list[str]:
    """analyze --export's formats, checked before the analysis."""
    if export is None:
        return []
    from formcheck.exports import parse_formats

    formats = parse_formats(export)
    if "fhir" in formats and patient is None:
        raise InputError("--export fhir needs --patient ID (the FHIR Observations name their patient)")
    return formats


def _write_exports(out_dir: Path, formats: list[str], patient: Optional[str], say: _Out) -> dict[str, str]:
    from formcheck.exports import default_name, export_folder

    written = {}
    for name in formats:
        written[name] = str(export_folder(out_dir, name, out_dir / default_name(name), patient))
        say.line(f"  {name:<9} {written[name]}")
    return written


@app.command()
def export(
    folder: Annotated[Path, typer.Argument(help="An output folder of `formcheck analyze` or `live`.")],
    to: Annotated[str, typer.Option("--to", help="trc (OpenSim markers), mot (OpenSim joint angles), c3d (markers), csv (one row per frame: landmarks and angles) or fhir (FHIR R4 Bundle of Observations).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    patient: Annotated[Optional[str], typer.Option("--patient", help="fhir: the patient (default: the one the folder is recorded for in the session store).")] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Export an output folder for other tools: OpenSim .trc/.mot, C3D, a wide CSV, or FHIR R4.

    --json prints {format, out}."""
    say = _Out(quiet, json_out)
    _configure_logging(quiet, False)
    from formcheck.exports import export_folder, parse_formats

    formats = parse_formats(to)
    if len(formats) != 1:
        raise InputError(f"--to takes one format, got {to}: run export once per format")
    path = export_folder(folder, formats[0], out, patient)
    say.line(f"{formats[0]}: {path}")
    say.document({"format": formats[0], "out": str(path)})


def _check_patient_options(patient: Optional[str], date: Optional[str]) -> None:
    """--patient names a known patient and --date is a date: checked before the analysis, not after it."""
    from formcheck import validate

    validate.when(date)
    if patient is not None:
        from formcheck.clinic.store import Store

        with Store() as store:
            store.require_patient(validate.patient_id(patient))


def _exit_for_stop(stopped_by: Optional[str], what: str) -> None:
    """Ctrl-C exits 130 and SIGTERM 143, after the partial results are written."""
    from formcheck.runs.stop_signals import EXIT_TERMINATED, terminated

    if stopped_by == "terminated" or terminated():
        raise _fail(f"terminated {what}", EXIT_TERMINATED)
    if stopped_by == "interrupt":
        raise _fail(f"interrupted {what}", EXIT_INTERRUPTED)


@app.command()
def batch(
    inputs: Annotated[list[str], typer.Argument(help="Videos, folders of videos, glob patterns ('clips/*.mp4') or list files (.txt, one path per line).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for one output folder per video, batch.csv and batch.html.")],
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", help="Videos analysed at once on this machine (default: the cores available).")] = None,
    exercise: Annotated[str, typer.Option("--exercise", "-e", help="Exercise of every video, or 'auto' to recognise each.")] = "auto",
    side: Annotated[SideChoice, typer.Option("--side", help="Working leg for single-leg exercises.")] = SideChoice.auto,
    patients: Annotated[Optional[Path], typer.Option("--patients", help="CSV with columns video,patient[,date]: record each video for its patient.")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="A Dask scheduler (tcp://HOST:8786) to run the videos on a cluster (pip install 'formcheck[cluster]').")] = None,
    model: ModelOpt = None,
    model_variant: VariantOpt = Variant.full,
    config_file: ConfigOpt = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="FPPA valgus threshold, degrees.")] = None,
    no_video: Annotated[bool, typer.Option("--no-video", help="Skip annotated.mp4.")] = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Analyse many videos: one output folder each, an index (batch.csv, batch.html), videos already
    done with the same settings skipped, a failed video recorded with its reason while the rest go on.

    --json prints {out, index_csv, index_html, done, skipped, failed, interrupted, videos: [{video,
    out_dir, status, reason, exercise, rep_count, flagged_reps, warnings, ...}]}."""
    say = _Out(quiet, json_out)
    _configure_logging(quiet, verbose)
    from formcheck.batch import BatchOptions, find_videos, read_patient_map, run_batch
    from formcheck.core.landmarks import Side
    from formcheck.trackers import tracker_class

    tracker_class(exercise)
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    config = _config(config_file, threshold, False)
    mapping = read_patient_map(patients) if patients is not None else {}
    videos = find_videos(inputs)
    model_info = _resolve_model(model, model_variant, say.silent)
    opts = BatchOptions(
        out=out, exercise=exercise, config=config, model=model_info,
        side=None if side is SideChoice.auto else Side(side.value), write_video=not no_video,
        workers=min(workers or _cores(), len(videos)),
        scheduler=scheduler, patients=mapping,
    )  # fmt: skip
    progress = _BatchBar(say.silent)
    try:
        outcome = run_batch(videos, opts, progress)
    finally:
        progress.stop()
    for r in outcome.results:
        flagged = f", {r.flagged_reps} flagged" if r.flagged_reps else ""
        detail = f"{r.rep_count} reps{flagged}" if r.status in ("done", "skipped") else r.reason
        say.line(f"{r.status:<11} {Path(r.video).name}: {detail}")
    say.line(f"index: {outcome.index_html}  ({outcome.index_csv.name} beside it)")
    counts = {k: sum(r.status == k for r in outcome.results) for k in ("done", "skipped", "failed", "interrupted")}
    say.document({"out": str(out), "index_csv": str(outcome.index_csv), "index_html": str(outcome.index_html), **counts,
                  "videos": [dataclasses.asdict(r) for r in outcome.results]})  # fmt: skip
    if outcome.interrupted:
        raise _fail(f"batch interrupted: the index in {outcome.index_csv} says which videos were analysed", EXIT_INTERRUPTED)
    if outcome.failed:
        raise _fail(f"{len(outcome.failed)} of {len(outcome.results)} videos failed (see {outcome.index_csv})", 2)


def _cores() -> int:
    from formcheck.batch.pool import available_cores

    return available_cores()


class _Bar:
    """One rich progress bar on stderr, shown only on a terminal and started at the first update."""

    def __init__(self, what: str, silent: bool) -> None:
        self._what, self._off, self._bar, self._task = what, silent or not sys.stderr.isatty(), None, None

    def update(self, done: int, total: int | None, what: str | None = None) -> None:
        if self._off:
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True)  # fmt: skip
            self._task = self._bar.add_task(self._what, total=total)
            self._bar.start()
        self._bar.update(self._task, completed=done, total=total, description=what or self._what)

    def stage(self, what: str) -> None:
        """A step of unknown length (the bar turns into a pulse)."""
        self.update(0, None, what)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


class _BatchBar:
    """Rich progress over videos and frames, on stderr when it is a terminal."""

    def __init__(self, quiet: bool) -> None:
        self._bar = None
        if quiet or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                             console=Console(stderr=True), transient=True)  # fmt: skip
        self._videos = self._bar.add_task("videos", total=None)
        self._frames = self._bar.add_task("frames", total=None)
        self._bar.start()

    def planned(self, videos: int, skipped: int, frames: int | None) -> None:
        if self._bar is not None:
            self._bar.update(self._videos, total=videos)
            self._bar.update(self._frames, total=frames)

    def frames(self, done: int) -> None:
        if self._bar is not None and done:
            self._bar.advance(self._frames, done)

    def finished(self, result) -> None:  # noqa: ANN001 - batch.VideoResult
        if self._bar is not None:
            self._bar.advance(self._videos)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@app.command()
def live(
    exercise: Annotated[str, typer.Option("--exercise", "-e", help=_exercise_help())] = "squat",
    camera: Annotated[int, typer.Option("--camera", help="Camera index.")] = 0,
    source: Annotated[Optional[Path], typer.Option("--source", help="A video file standing in for the camera, at its own frame rate.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: live-DATE-TIME).")] = None,
    no_window: Annotated[bool, typer.Option("--no-window", help="No window: run headless (tests, --source files).")] = False,
    sound: Annotated[bool, typer.Option("--sound", help="Speak the cues (espeak-ng), or beep; visual only where no audio exists.")] = False,
    reps: Annotated[int, typer.Option("--reps", min=1, help="Target reps per set.")] = 8,
    sets: Annotated[int, typer.Option("--sets", min=1, help="Target sets.")] = 3,
    record: Annotated[bool, typer.Option("--record", help="Also save the raw camera frames as raw.mp4.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show latency and dropped frames in the window.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm that none of the safety questions apply (headless use).")] = False,
    model: ModelOpt = None,
    model_variant: VariantOpt = Variant.full,
    side: Annotated[SideChoice, typer.Option("--side", help="Working leg for single-leg exercises.")] = SideChoice.auto,
    config_file: ConfigOpt = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="FPPA valgus threshold, degrees.")] = None,
    patient: PatientOpt = None,
    pain_before: PainBeforeOpt = None,
    pain_after: PainAfterOpt = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Live coaching from a camera: the knee turns red and a cue shows (or speaks) when it caves in.

    Keys: space pauses, r restarts the set, q or Esc ends and writes the same files as analyze
    (plus raw.mp4 with --record, and live.json with latency and cue timings). --json prints
    analyze's document plus latency (the safety text, when shown, goes to stderr).
    """
    say = _Out(quiet, json_out)
    _configure_logging(quiet, verbose)
    import time

    from formcheck.core.landmarks import Side
    from formcheck.runs.live import LiveOptions, check_display, run_live
    from formcheck.media.sources import open_source
    from formcheck.trackers import tracker_class

    tracker_class(exercise)
    config = _config(config_file, threshold, False, patient)
    _check_patient_options(patient, None)
    if source is not None and not source.exists():
        raise InputError(f"no such file: {source}")
    if not no_window:
        check_display()
    _safety_gate(yes, say)
    model_info = _resolve_model(model, model_variant, say.silent)
    out_dir = out if out is not None else Path.cwd() / time.strftime("live-%Y%m%d-%H%M%S")
    frames = open_source(source, realtime=True) if source is not None else open_source(camera)
    say.line(f"live: {frames.info.name} ({frames.info.width}x{frames.info.height}, {frames.info.fps:.0f} fps)"
             + ("" if no_window else "; keys: space pause, r restart set, q/Esc end"))
    opts = LiveOptions(
        exercise=exercise, out_dir=out_dir, model=model_info, config=config,
        side=None if side is SideChoice.auto else Side(side.value), window=not no_window, sound=sound,
        reps=reps, sets=sets, record=record, debug=debug,
    )
    result = run_live(frames, opts)
    if result.sound_warning:
        say.line(f"warning: sound: {result.sound_warning}")
    _print_outcome(result.outcome, say)
    lat = result.latency
    med = lambda k: lat[k]["median_ms"]  # noqa: E731
    say.line(
        f"latency: capture->display {med('capture_to_display_ms')} ms, capture->cue {med('capture_to_cue_ms')} ms (median); "
        f"{lat['frames_analysed']} of {lat['frames_in']} frames analysed"
    )
    doc = _outcome_doc(result.outcome, out_dir) | {"stopped_by": result.stopped_by, "sound_warning": result.sound_warning,
                                                    "latency": lat}  # fmt: skip
    if patient is not None:  # what was measured is the patient's session, even if cut short
        doc["session"] = _record_for_patient(out_dir, patient, None, pain_before, pain_after, [], say)
    say.document(doc)
    if result.stopped_by == "source lost":
        raise _fail(f"{result.outcome.lost or 'the camera was lost'}; what was measured is saved in {out_dir}", 1)
    _exit_for_stop(result.outcome.stopped_by, f": what was measured is saved in {out_dir}")


def _safety_gate(yes: bool, say: _Out) -> None:
    """DOMAIN.md's safety questions, once per user, before a first live session."""
    from formcheck.clinic import safety

    if safety.cleared():
        return
    say.notice(safety.DISCLAIMER)
    if yes:
        safety.record(safety.all_clear(), "--yes")
        say.line("--yes: you confirm that " + "; ".join(q.safe for q in safety.BEFORE) + ".")
        say.line(safety.STOP_RULE)
        return
    if not sys.stdin.isatty():
        raise InputError(
            "the safety questions have not been answered yet: run formcheck live once in a terminal "
            "to answer them, or pass --yes to confirm that none apply"
        )
    say.notice("Before your first session, please answer (y/n):")
    answers = {q.key: typer.confirm(f"  {q.text}", default=None, err=say.json) for q in safety.BEFORE}
    if safety.any_apply(answers):
        say.notice(safety.ADVICE)
        say.notice(safety.STOP_RULE)
        raise typer.Exit(1)
    path = safety.record(answers, "asked")
    say.notice(safety.STOP_RULE + (f" (answers saved in {path})" if path else ""))


@app.command()
def samples(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the clips and their truth.")] = Path("samples"),
    which: Annotated[str, typer.Option("--set", help="'standard' (the benchmark set), 'committed' (the small set in sample_videos/) or 'variants' (the rehab exercises with other cameras, bodies and sizes).")] = "standard",
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """(Re)make the synthetic sample clips and their ground truth. --json prints {out, set, files}."""
    say = _Out(quiet, json_out)
    _configure_logging(quiet, False)
    from formcheck.runs.run_folder import prepare_out_dir
    from formcheck.synth.samples import make_samples

    prepare_out_dir(out)
    paths = make_samples(out, which)
    for p in paths:
        say.line(str(p))
    say.document({"out": str(out), "set": which, "files": [str(p) for p in paths]})


@app.command()
def models(quiet: QuietOpt = False, json_out: JsonOpt = False) -> None:
    """List pose models: where each is, its variant and checksum. --json prints the list of rows
    (variant, name, source, path, present, valid, problem, sha256, size, checksum, url, selected)."""
    from formcheck.pose.model_store import describe_models

    say = _Out(quiet, json_out)
    rows = describe_models()
    say.document(rows)
    for row in rows if not say.silent else []:
        state = "present" if row.get("present") else "absent"
        if row.get("problem"):
            state += f" ({row['problem']})"
        typer.echo(f"{row.get('name')}  variant={row.get('variant')}  source={row.get('source')}  {state}")
        typer.echo(f"    path    {row.get('path')}")
        if row.get("sha256"):
            typer.echo(f"    sha256  {row['sha256']}  checksum {row.get('checksum')}")
        if not row.get("present") and row.get("url"):
            typer.echo(f"    url     {row['url']}")


@app.command("import")
def import_(
    folder: Annotated[Path, typer.Argument(help="An output folder of `formcheck analyze` or `live` (with summary.json).")],
    patient: Annotated[str, typer.Option("--patient", help="Patient ID to record the session for.")],
    date: DateOpt = None,
    pain_before: PainBeforeOpt = None,
    pain_after: PainAfterOpt = None,
    safety: Annotated[Optional[list[str]], typer.Option("--safety", help="Safety answer QUESTION=yes/no (repeatable); questions: full_weight, severe_pain, swelling, gives_way, full_range, pain_worse.")] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Record an existing output folder in the session store (re-importing does not duplicate it).

    --json prints {patient, session_id, created, replaced, db}."""
    say = _Out(quiet, json_out)
    _configure_logging(quiet, False)
    from formcheck.runs.run_folder import settle

    settle(folder)
    say.document(_record_for_patient(folder, patient, date, pain_before, pain_after, safety or [], say, default_now=False))


@app.command()
def report(
    patient: Annotated[str, typer.Option("--patient", help="Patient ID.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report file: .html (self-contained), .pdf, .csv or .fhir.json (FHIR R4 Bundle).")],
    since: Annotated[Optional[str], typer.Option("--since", help="Only sessions from this date (YYYY-MM-DD).")] = None,
    no_blur: Annotated[bool, typer.Option("--no-blur", help="Do not blur faces in the flagged-rep stills.")] = False,
    model: ModelOpt = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Therapist report over a patient's sessions: valgus trend with its error, asymmetry, adherence, pain, flagged reps.

    --json prints {out, format, sessions, status, reasons} (status and reasons null for .fhir.json)."""
    say = _Out(quiet, json_out)
    _configure_logging(quiet, False)
    if out.name.lower().endswith(".fhir.json"):
        from formcheck.exports import export_patient_fhir

        count = export_patient_fhir(patient, out, since)
        say.line(f"{out}  ({count} sessions, FHIR R4 Bundle)")
        say.document({"out": str(out), "format": "fhir", "sessions": count, "status": None, "reasons": None})
        return
    from formcheck.clinic.store import Store
    from formcheck.clinic.therapist_report import build_report, write_report_file

    model_path = None
    if not no_blur and out.suffix.lower() != ".csv":
        from formcheck.errors import ModelError
        from formcheck.pose.model_store import resolve_model

        try:
            model_path = resolve_model(model, allow_download=False).path
        except ModelError as exc:
            if not quiet:
                typer.echo(f"warning: flagged-rep stills withheld (no pose model to find faces): {exc}", err=True)
    bar = _Bar("stills of flagged reps", say.silent)
    try:
        with Store() as store:
            rep = build_report(store, patient, since, stills=out.suffix.lower() != ".csv", blur=not no_blur,
                               model_path=model_path, progress=bar.update)  # fmt: skip
        bar.stage("writing the report")
        write_report_file(rep, out)
    finally:
        bar.stop()
    say.line(f"{out}  ({len(rep.sessions)} sessions, status {rep.status}: {'; '.join(rep.reasons)})")
    say.document({"out": str(out), "format": out.suffix.lower().lstrip("."), "sessions": len(rep.sessions),
                  "status": rep.status, "reasons": list(rep.reasons)})  # fmt: skip


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but loopback needs --set-password first.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free one, announced on the first line).")] = 8765,
    set_password: Annotated[bool, typer.Option("--set-password", help="Set the therapist password (asked twice, stored hashed) and exit.")] = False,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", help="Largest video upload accepted.")] = 500,
    model: ModelOpt = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", help="Uploaded videos analysed at once on this machine (default: the cores available).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="A Dask scheduler (tcp://HOST:8786) to analyse uploads on a cluster (pip install 'formcheck[cluster]').")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No startup lines (where it listens) and no 'password set'; errors still one line on stderr. No --json: a server prints no result.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Local web dashboard: patients, trends, sessions with the annotated video, uploads, prescriptions."""
    say = _Out(quiet)
    _configure_logging(quiet, verbose)
    from formcheck import validate
    from formcheck.clinic.store import Store
    from formcheck.web.auth import set_password as store_password

    validate.port(port)
    if max_upload_mb < 1:
        raise InputError(f"--max-upload-mb must be at least 1, got {max_upload_mb}")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")

    if set_password:
        password = typer.prompt("therapist password", hide_input=True, confirmation_prompt=True)
        with Store() as store:
            store_password(store, password)
        say.line("password set")
        return
    from formcheck.web.server import run_server

    run_server(host=host, port=port, max_upload_mb=max_upload_mb, model=model, workers=workers, scheduler=scheduler, announce=say.line)


patient_app = typer.Typer(help="Patients: add, list, prescribe exercises, set thresholds, safety answers.", no_args_is_help=True)
app.add_typer(patient_app, name="patient")


@patient_app.command("add")
def patient_add(
    patient_id: Annotated[str, typer.Argument(help="Patient ID (letters, digits, '.', '_', '-').")],
    name: Annotated[str, typer.Option("--name", help="Name shown to the therapist.")] = "",
    notes: Annotated[str, typer.Option("--notes")] = "",
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Add a patient. --json prints {patient, name, db}."""
    from formcheck.clinic.store import Store, default_db_path

    say = _Out(quiet, json_out)
    with Store() as store:
        store.add_patient(patient_id, name, notes)
    say.line(f"patient {patient_id} added to {default_db_path()}")
    say.document({"patient": patient_id, "name": name, "db": str(default_db_path())})


@patient_app.command("list")
def patient_list(quiet: QuietOpt = False, json_out: JsonOpt = False) -> None:
    """List patients with their prescriptions and number of sessions. --json prints a list of
    {id, name, sessions, prescriptions: [{exercise, sets, reps, hold_s, per_week, side}]}."""
    from formcheck.clinic.store import Store

    say = _Out(quiet, json_out)
    listed = []
    with Store() as store:
        for p in store.patients():
            prescriptions = [{k: r[k] for k in ("exercise", "sets", "reps", "hold_s", "per_week", "side")} for r in store.prescriptions(p["id"])]
            listed.append({"id": p["id"], "name": p["name"], "sessions": len(store.sessions(p["id"])), "prescriptions": prescriptions})
    for p in listed:
        rx = ", ".join(
            f"{r['exercise']} {r['sets']}x{r['reps'] if r['reps'] else str(r['hold_s']) + 's'} {r['per_week']}/wk"
            for r in p["prescriptions"]
        )
        say.line(f"{p['id']}\t{p['name']}\t{p['sessions']} sessions\t{rx or 'no prescription'}")
    say.document(listed)


@patient_app.command("prescribe")
def patient_prescribe(
    patient_id: Annotated[str, typer.Argument(help="Patient ID.")],
    exercise: Annotated[str, typer.Option("--exercise", "-e", help="Exercise name (as for analyze).")],
    sets: Annotated[int, typer.Option("--sets", min=1)] = 3,
    reps: Annotated[Optional[int], typer.Option("--reps", min=1, help="Reps per set (or --hold).")] = None,
    hold: Annotated[Optional[float], typer.Option("--hold", help="Hold seconds per set (balance).")] = None,
    per_week: Annotated[int, typer.Option("--per-week", min=1, max=14, help="Sessions per week.")] = 3,
    side: Annotated[Optional[SideChoice], typer.Option("--side", help="Leg, for single-leg work.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove this exercise from the prescription.")] = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Prescribe an exercise (sets x reps, or sets x hold time), or change or remove it.

    --json prints {patient, exercise, removed, sets, reps, hold_s, per_week, side}."""
    from formcheck.clinic.store import Store

    say = _Out(quiet, json_out)
    leg = None if side in (None, SideChoice.auto) else side.value
    with Store() as store:
        if remove:
            store.remove_prescription(patient_id, exercise)
            say.line(f"{patient_id}: {exercise} removed")
            say.document({"patient": patient_id, "exercise": exercise, "removed": True})
            return
        store.set_prescription(patient_id, exercise, sets, reps, hold, per_week, leg)
    say.line(f"{patient_id}: {exercise} {sets} x {reps if reps else f'{hold:g} s'}, {per_week} per week")
    say.document({"patient": patient_id, "exercise": exercise, "removed": False, "sets": sets, "reps": reps,
                  "hold_s": hold, "per_week": per_week, "side": leg})  # fmt: skip


@patient_app.command("thresholds")
def patient_thresholds(
    patient_id: Annotated[str, typer.Argument(help="Patient ID.")],
    valgus_fppa_deg: Annotated[Optional[float], typer.Option("--valgus-fppa-deg")] = None,
    valgus_shank_deg: Annotated[Optional[float], typer.Option("--valgus-shank-deg")] = None,
    valgus_knee_toe: Annotated[Optional[float], typer.Option("--valgus-knee-toe", help="Absolute knee-to-toe offset limit (shank lengths).")] = None,
    valgus_knee_toe_squat: Annotated[Optional[float], typer.Option(
        "--valgus-knee-toe-squat", help="Two-footed squats: absolute knee-to-toe offset limit (shank lengths).")] = None,
    valgus_knee_toe_change: Annotated[Optional[float], typer.Option(
        "--valgus-knee-toe-change", help="Knee-to-toe change-from-standing limit (standing shank lengths).")] = None,
    knee_toe_from_standing: Annotated[Optional[bool], typer.Option(
        "--knee-toe-from-standing/--knee-toe-offset", help="Judge deep reps by the change from standing, or by the absolute offset.")] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Set the patient's own valgus thresholds (used by analyze/live --patient); shows them.

    --json prints {patient, thresholds: {name: value}}."""
    from formcheck.clinic.store import Store

    say = _Out(quiet, json_out)
    values = {k: v for k, v in (("valgus_fppa_deg", valgus_fppa_deg), ("valgus_shank_deg", valgus_shank_deg),
                                ("valgus_knee_toe", valgus_knee_toe), ("valgus_knee_toe_squat", valgus_knee_toe_squat),
                                ("valgus_knee_toe_change", valgus_knee_toe_change),
                                ("knee_toe_from_standing", knee_toe_from_standing)) if v is not None}  # fmt: skip
    with Store() as store:
        if values:
            store.set_thresholds(patient_id, values)
        store.require_patient(patient_id)
        thresholds = store.effective_thresholds(patient_id)
    for key, value in thresholds.items():
        say.line(f"{key} = {value}")
    say.document({"patient": patient_id, "thresholds": thresholds})


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"formcheck {__version__}")
        raise typer.Exit()


def main() -> None:
    """Console entry point: turns errors into one line and the contract's exit codes."""
    from formcheck.runs import stop_signals

    debug = bool(os.environ.get("FORMCHECK_DEBUG"))
    stop_signals.install()
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
        if code == EXIT_INTERRUPTED and not _said:  # typer turns an uncaught Ctrl-C into a silent 130
            _interrupted_early(stop_signals.Terminated() if stop_signals.terminated() else KeyboardInterrupt())
        sys.exit(code if isinstance(code, int) else 0)
    except FormcheckError as exc:
        typer.echo(f"formcheck: {_one_line(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted_early(exc)
    except OSError as exc:
        if exc.errno not in USER_FIXABLE_ERRNOS:
            _unexpected(exc, debug)
        where = f" {_asked_for(exc.filename)}" if exc.filename else ""
        typer.echo(f"formcheck: cannot use{where}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("formcheck: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except typer.exceptions.TyperException as exc:  # bad option, missing argument: one line naming the help
        ctx = getattr(exc, "ctx", None)
        message = " ".join(exc.format_message().split()) if hasattr(exc, "format_message") else str(exc)
        see = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"formcheck: {message[:1].lower()}{message[1:]}{see}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except Exception as exc:  # noqa: BLE001 - the unexpected: one line, details on request
        if isinstance(exc, ImportError) and stop_signals.stopped():  # a library's initialisation was interrupted
            _interrupted_early(stop_signals.Terminated() if stop_signals.terminated() else KeyboardInterrupt())
        _unexpected(exc, debug)


def _asked_for(filename: str | os.PathLike) -> str:
    """The file a person asked for, not the temporary (`.NAME.tmp`) it is written as first."""
    path = Path(os.fsdecode(filename))
    if path.name.startswith(".") and path.name.endswith(".tmp") and len(path.name) > 5:
        return str(path.with_name(path.name[1:-4]))
    return str(path)


def _interrupted_early(exc: KeyboardInterrupt) -> None:
    from formcheck.runs import stop_signals

    if isinstance(exc, stop_signals.Terminated):
        typer.echo("formcheck: terminated before anything was measured", err=True)
        stop_signals.exit_before_measuring(stop_signals.EXIT_TERMINATED)
    typer.echo("formcheck: interrupted before anything was measured", err=True)
    stop_signals.exit_before_measuring(EXIT_INTERRUPTED)


def _unexpected(exc: BaseException, debug: bool) -> None:
    if debug:
        raise exc
    typer.echo(f"formcheck: unexpected error: {type(exc).__name__}: {exc} (set FORMCHECK_DEBUG=1 for details)", err=True)
    sys.exit(1)
