"""Put the real clips listed in manifest.json into the local clip cache.

The clips themselves never live in this repository (their licences are mostly unknown). Each
manifest entry names the public repository, commit and path the clip came from, and the sha1 of
its bytes. This script reads every clip out of an already fetched snapshot of its repository
(a bare git directory under the mirrors folder, laid out as ``<mirrors>/<owner>+<name>/...``),
checks the sha1, and writes the file into the cache under the entry's ``file`` name.

Usage::

    python benchmarks/real_clips/restore.py [--mirrors /work/.mirror] [--cache DIR]

One line is printed per clip: restored, already there, missing mirror, or failed.
Exit status is 0 when every clip is in the cache afterwards, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_MANIFEST = HERE / "manifest.json"
DEFAULT_MIRRORS = Path("/work/.mirror")


@dataclass(frozen=True)
class Clip:
    """The part of a manifest entry that says where a clip's bytes come from."""

    file: str
    source_repo: str
    source_path: str
    commit: str
    sha1: str


def default_cache_dir() -> Path:
    """The user cache dir ``formcheck/real_clips`` (platformdirs), else ~/.cache/formcheck/real_clips."""
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        return Path.home() / ".cache" / "formcheck" / "real_clips"
    return Path(user_cache_dir("formcheck")) / "real_clips"


def load_manifest(path: Path) -> list[Clip]:
    entries = json.loads(path.read_text())
    return [
        Clip(
            file=e["file"],
            source_repo=e["source_repo"],
            source_path=e["source_path"],
            commit=e["commit"],
            sha1=e["sha1"],
        )
        for e in entries
    ]


def sha1_of(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def find_git_dir(mirrors: Path, repo: str) -> Path | None:
    """The bare git directory of ``owner/name`` under ``mirrors``, or None if not fetched."""
    root = mirrors / repo.replace("/", "+")
    if not root.is_dir():
        return None
    candidates = [root, root / "repo", *sorted(p for p in root.iterdir() if p.is_dir())]
    for cand in candidates:
        if (cand / "objects").is_dir() and (cand / "HEAD").is_file():
            return cand
    return None


def read_blob(git_dir: Path, commit: str, path: str) -> bytes | None:
    """The bytes of ``commit:path`` in ``git_dir``, or None if git cannot produce them."""
    result = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    return result.stdout


def restore_clip(clip: Clip, mirrors: Path, cache: Path) -> tuple[bool, str]:
    """Make sure ``clip`` is in ``cache``; returns (ok, one-line status)."""
    target = cache / clip.file
    if target.is_file() and sha1_of(target.read_bytes()) == clip.sha1:
        return True, f"already there  {clip.file}"

    git_dir = find_git_dir(mirrors, clip.source_repo)
    if git_dir is None:
        return False, (
            f"missing mirror {clip.file}: run fetch github:{clip.source_repo} first "
            f"(looked under {mirrors / clip.source_repo.replace('/', '+')})"
        )

    data = read_blob(git_dir, clip.commit, clip.source_path)
    if data is None:
        return False, (
            f"failed         {clip.file}: {clip.commit[:10]}:{clip.source_path} not in {git_dir} "
            "(the snapshot may leave out files of 4 MiB and more)"
        )
    actual = sha1_of(data)
    if actual != clip.sha1:
        return False, f"failed         {clip.file}: sha1 {actual} != manifest {clip.sha1}"

    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return True, f"restored       {clip.file} ({len(data)} bytes from {clip.source_repo})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS,
                        help="folder holding fetched snapshots as <owner>+<name>/ (default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="where to put the clips (default: platformdirs user cache formcheck/real_clips)")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST,
                        help="manifest to read (default: %(default)s)")
    args = parser.parse_args(argv)

    cache: Path = args.cache if args.cache is not None else default_cache_dir()
    clips = load_manifest(args.manifest)
    all_ok = True
    for clip in clips:
        ok, line = restore_clip(clip, args.mirrors, cache)
        all_ok = all_ok and ok
        print(line)
    print(f"cache: {cache}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
