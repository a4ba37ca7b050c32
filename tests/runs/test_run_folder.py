"""The output folder's commit: a run's files change together, and a commit a kill cut short is finished."""

from __future__ import annotations

import json
import os

import pytest

from formcheck.runs.run_folder import JOURNAL, RunFolder, settle


def _write(folder, names, tag):
    for name in names:
        (folder / name).write_text(f"{tag} {name}")


def test_commit_replaces_the_whole_set(tmp_path):
    out = tmp_path / "o"
    first = RunFolder(out)
    _write(first.staging, ["annotated.mp4", "summary.json", "frames.csv"], "one")
    first.commit()
    second = RunFolder(out)
    _write(second.staging, ["summary.json", "frames.csv"], "two")
    assert (out / "summary.json").read_text() == "one summary.json", "nothing changes before the commit"
    second.commit()
    assert sorted(p.name for p in out.iterdir()) == ["frames.csv", "summary.json"]
    assert {p.read_text() for p in out.iterdir()} == {"two summary.json", "two frames.csv"}


def test_discard_keeps_the_earlier_result_and_drops_a_new_folder(tmp_path):
    out = tmp_path / "o"
    first = RunFolder(out)
    _write(first.staging, ["summary.json"], "one")
    first.commit()
    failed = RunFolder(out)
    _write(failed.staging, ["summary.json", "annotated.mp4"], "two")
    failed.discard()
    assert [p.name for p in out.iterdir()] == ["summary.json"]
    assert (out / "summary.json").read_text() == "one summary.json"
    fresh = RunFolder(tmp_path / "new")
    fresh.discard()
    assert not (tmp_path / "new").exists()


def test_settle_finishes_a_commit_cut_short(tmp_path):
    """A kill between the renames: the journal names the staging folder; settle moves the rest."""
    out = tmp_path / "o"
    old = RunFolder(out)
    _write(old.staging, ["annotated.mp4", "frames.csv", "summary.json"], "old")
    old.commit()
    run = RunFolder(out)
    _write(run.staging, ["frames.csv", "summary.json"], "new")
    (out / JOURNAL).write_text(json.dumps({"staging": run.staging.name, "files": ["frames.csv", "summary.json"]}))
    os.replace(run.staging / "frames.csv", out / "frames.csv")  # the kill came after the first rename
    settle(out)
    assert sorted(p.name for p in out.iterdir()) == ["frames.csv", "summary.json"]
    assert {p.read_text() for p in out.iterdir()} == {"new frames.csv", "new summary.json"}


def test_settle_removes_staging_of_ended_processes_only(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    import socket

    dead = out / f".formcheck-run-999999999-abcd.{socket.gethostname()}"
    dead.mkdir()
    elsewhere = out / ".formcheck-run-999999999-abcd.another-machine"
    elsewhere.mkdir()
    live = RunFolder(out)  # this process: alive
    settle(out)
    assert not dead.exists() and live.staging.exists() and elsewhere.exists()


def test_an_unwritable_folder_is_one_line(tmp_path):
    from formcheck.errors import InputError

    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot create output folder"):
        RunFolder(tmp_path / "file" / "o")


def test_a_folder_in_the_way_stops_the_commit_before_any_rename(tmp_path):
    from formcheck.errors import InputError

    out = tmp_path / "o"
    first = RunFolder(out)
    _write(first.staging, ["frames.csv", "report.html"], "one")
    first.commit()
    (out / "summary.json").mkdir()  # something odd the person put there
    second = RunFolder(out)
    _write(second.staging, ["frames.csv", "report.html", "summary.json"], "two")
    with pytest.raises(InputError, match="summary.json"):
        second.commit()
    second.discard()
    assert (out / "frames.csv").read_text() == "one frames.csv" and (out / "report.html").read_text() == "one report.html"
    assert not (out / JOURNAL).exists()
