"""The one place formcheck finds, checks and fetches its pose model.

Order (CONTRACT.md): an explicit path (the ``--model`` option), then the ``FORMCHECK_MODEL``
environment variable, then the user cache, then a download of the official MediaPipe bundle
into that cache. Every file, wherever it came from, is checked to be a PoseLandmarker bundle
before it is used, so a wrong or half-written file fails here with one clear line instead of
deep inside MediaPipe. Known checksums live in ``KNOWN_CHECKSUMS`` below; ``models/checksums.json``
in the repository mirrors it for readers and a test keeps the two equal.

Downloads go through pooch (requests, a temporary file renamed when whole, the checksum when one
official one is known); formcheck keeps what is its own: the lookup order, the bundle check (zip
members, their TFLite identifiers and CRCs) on every file wherever it came from, the several
published checksums of a variant, a cache name given only to a checked and synced file, and
one line of advice per failure. The cache folder is platformdirs' per-user cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import secrets
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_path

from formcheck.errors import ModelError

logger = logging.getLogger(__name__)

VARIANTS: tuple[str, ...] = ("lite", "full", "heavy")
DEFAULT_VARIANT = "full"

ENV_MODEL = "FORMCHECK_MODEL"
ENV_CACHE = "FORMCHECK_CACHE"
ENV_MODEL_URL = "FORMCHECK_MODEL_URL"

DEFAULT_BASE_URL = "https://storage.googleapis.com/mediapipe-models/pose_landmarker"
DOWNLOAD_TIMEOUT_S = 30.0

# The two TFLite models a PoseLandmarker bundle must hold.
REQUIRED_MEMBERS: tuple[str, ...] = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
_TFLITE_IDENTIFIER = b"TFL3"  # FlatBuffers file identifier, bytes 4..8 of every .tflite file

Source = Literal["option", "env", "cache", "download"]

# sha256 -> what that file is. Single source of truth; models/checksums.json mirrors it.
# No official MediaPipe checksums are listed: none could be verified from this machine.
# `official: True` entries would make downloads of that variant require a match.
KNOWN_CHECKSUMS: dict[str, dict[str, Any]] = {
    "01f4ba3f5db248b371efb8cf70e1de9d4f2ac71336ce30dbaba6146cb8ab5894": {
        "name": "pose_landmarker_full",
        "variant": "full",
        "size": 9397846,
        "official": False,
        "origin": (
            "workplace bundle built from the BlazePose tflite files in the mediapipe 0.10.21 "
            "wheel (see ../shared/models/README.md)"
        ),
    },
}

ProgressCallback = Callable[[int, int | None], None]


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """A checked pose model file and where it was found; what runs record as their model."""

    path: Path
    name: str
    variant: str | None  # from a known checksum or the file name; None when neither says
    sha256: str
    size: int
    source: Source
    checksum_known: bool


# ---------------------------------------------------------------------------------------------
# Locations


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ModelError(f"unknown pose model variant {variant!r}: use one of {', '.join(VARIANTS)}")
    return variant


def model_name(variant: str) -> str:
    """File stem of the official bundle for `variant`, e.g. ``pose_landmarker_full``."""
    return f"pose_landmarker_{_check_variant(variant)}"


def cache_dir() -> Path:
    """Directory of downloaded/cached models: $FORMCHECK_CACHE, else the per-user cache
    (platformdirs: $XDG_CACHE_HOME or ~/.cache on Linux) /formcheck/models."""
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit).expanduser()
    return user_cache_path("formcheck", appauthor=False) / "models"


def cached_model_path(variant: str = DEFAULT_VARIANT) -> Path:
    """Where the cache keeps (or would keep) the bundle for `variant`."""
    return cache_dir() / f"{model_name(variant)}.task"


def model_url(variant: str = DEFAULT_VARIANT) -> str:
    """Download URL; $FORMCHECK_MODEL_URL is a base URL, or a full template with ``{variant}``."""
    name = model_name(variant)
    override = os.environ.get(ENV_MODEL_URL)
    if override and "{variant}" in override:
        return override.format(variant=variant)
    base = (override or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/{name}/float16/1/{name}.task"


# ---------------------------------------------------------------------------------------------
# Checking


def _known_variant(sha256: str, path: Path) -> str | None:
    entry = KNOWN_CHECKSUMS.get(sha256)
    if entry:
        return str(entry["variant"])
    match = re.fullmatch(r"pose_landmarker_(lite|full|heavy)", path.stem)
    return match.group(1) if match else None


def _official_checksums(variant: str) -> set[str]:
    return {sha for sha, e in KNOWN_CHECKSUMS.items() if e.get("official") and e["variant"] == variant}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _bundle_problem(path: Path, full_crc: bool) -> str | None:
    """Why `path` is not a PoseLandmarker bundle, or None when it is one."""
    try:
        bundle = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return "not a .task bundle (not a zip file)"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    try:
        with bundle:
            names = set(bundle.namelist())
            missing = [m for m in REQUIRED_MEMBERS if m not in names]
            if missing:
                return f"the bundle lacks {', '.join(missing)}"
            for member in REQUIRED_MEMBERS:
                if bundle.getinfo(member).file_size == 0:
                    return f"{member} in the bundle is empty"
                with bundle.open(member) as fh:
                    head = fh.read(8)
                if head[4:8] != _TFLITE_IDENTIFIER:
                    return f"{member} in the bundle is not a TFLite model"
            bad = bundle.testzip() if full_crc else None
            if bad is not None:
                return f"{bad} in the bundle is corrupt (bad CRC-32)"
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        return f"the bundle is corrupt ({exc})"
    return None


# (resolved path, size, mtime_ns, inode) -> sha256 of a file that passed the check; a run that
# resolves the model several times (analyze, then the report) hashes and unzips it once.
_checked: dict[tuple[str, int, int, int], str] = {}


def inspect_model(path: Path) -> tuple[str, int]:
    """Check `path` is a usable bundle; return (sha256, size). Raises ValueError with the reason."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror or exc})") from None
    if not path.is_file():
        raise ValueError("not a file")
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    sha = _checked.get(key)
    if sha is None:
        try:
            sha = _sha256_file(path)
        except OSError as exc:
            raise ValueError(f"cannot read it ({exc.strerror or exc})") from None
        # A known checksum already vouches for every byte; otherwise check member CRCs too.
        problem = _bundle_problem(path, full_crc=sha not in KNOWN_CHECKSUMS)
        if problem:
            raise ValueError(problem)
        _checked[key] = sha
    return sha, st.st_size


def _info(path: Path, source: Source) -> ModelInfo:
    sha, size = inspect_model(path)
    known = sha in KNOWN_CHECKSUMS
    if known:
        logger.debug("pose model %s: checksum known (%s)", path, KNOWN_CHECKSUMS[sha]["origin"])
    else:
        logger.info("pose model %s: sha256 %s is not a known checksum", path, sha)
    return ModelInfo(
        path=path,
        name=path.stem,
        variant=_known_variant(sha, path),
        sha256=sha,
        size=size,
        source=source,
        checksum_known=known,
    )


# ---------------------------------------------------------------------------------------------
# Resolving


def _fix_hint() -> str:
    return f"point --model or {ENV_MODEL} at a pose_landmarker .task file"


def _user_path(raw: str | os.PathLike[str], source: Source) -> ModelInfo:
    """A path the user named: it must be valid, never silently replaced by a download."""
    path = Path(raw).expanduser()
    origin = "from --model" if source == "option" else f"from {ENV_MODEL}"
    if not path.exists():
        raise ModelError(f"no pose model at {path} ({origin}): {_fix_hint()}")
    try:
        return _info(path, source)
    except ValueError as exc:
        raise ModelError(f"pose model {path} ({origin}) is unusable: {exc}: {_fix_hint()}") from None


def resolve_model(
    path: str | os.PathLike[str] | None = None,
    variant: str = DEFAULT_VARIANT,
    *,
    allow_download: bool = True,
    progress: ProgressCallback | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> ModelInfo:
    """Find a checked pose model: `path`, then $FORMCHECK_MODEL, then the cache, then a download."""
    _check_variant(variant)
    if path is not None and str(path) != "":
        return _user_path(path, "option")
    env_path = os.environ.get(ENV_MODEL)
    if env_path:
        return _user_path(env_path, "env")

    target = cached_model_path(variant)
    cache_problem: str | None = None
    if target.exists():
        try:
            info = _info(target, "cache")
        except ValueError as exc:
            cache_problem = str(exc)
        else:
            official = _official_checksums(variant)
            if not official or info.sha256 in official:
                return info
            cache_problem = "its checksum matches no official one"
        logger.warning("cached pose model %s is unusable (%s)", target, cache_problem)
        if not allow_download:
            raise ModelError(
                f"cached pose model {target} is unusable ({cache_problem}): delete it, or "
                f"{_fix_hint()}"
            )

    if not allow_download:
        raise ModelError(
            f"no pose model and downloads are off: pass --model PATH, set {ENV_MODEL}, "
            f"or put {model_name(variant)}.task at {target}"
        )
    download_model(variant, progress=progress, timeout=timeout)
    return _info(target, "download")


# ---------------------------------------------------------------------------------------------
# Downloading


def _offline_error(variant: str, url: str, reason: str) -> ModelError:
    return ModelError(
        f"could not download the pose model from {url} ({reason}): pass --model PATH, "
        f"set {ENV_MODEL}, or put {model_name(variant)}.task at {cached_model_path(variant)}"
    )


def _remove_stale_parts(directory: Path, name: str, older_than_s: float = 24 * 3600) -> None:
    """Delete temp files that a killed download left (ours, `.NAME.*.part`, and pooch's `tmp*`);
    they never carry the final name."""
    now = time.time()
    for part in [*directory.glob(f".{name}.*.part"), *directory.glob("tmp*")]:
        try:
            if part.is_file() and now - part.stat().st_mtime > older_than_s:
                part.unlink()
        except OSError:
            pass


def _fsync(path: Path, flags: int = os.O_RDONLY) -> None:
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Progress:
    """What pooch's HTTPDownloader drives (`total`, `update`, `reset`, `close`), passed on as
    (bytes so far, Content-Length or None) to formcheck's callback."""

    def __init__(self, callback: ProgressCallback) -> None:
        self._callback = callback
        self._total: int | None = None
        self.done = 0

    @property
    def total(self) -> int | None:
        return self._total

    @total.setter
    def total(self, value: int) -> None:  # set once the response headers are in
        self._total = value or None  # pooch says 0 when the server sends no Content-Length
        self._callback(0, self._total)

    def update(self, n: int) -> None:  # pooch counts whole chunks; the last one may be short
        self.done += n
        self._callback(min(self.done, self._total) if self._total else self.done, self._total)

    def reset(self) -> None:
        self.done = 0

    def close(self) -> None:
        pass


def download_model(
    variant: str = DEFAULT_VARIANT,
    *,
    progress: ProgressCallback | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> Path:
    """Fetch the bundle into the cache atomically: only a complete, checked file gets the name.

    pooch downloads (requests, streamed into a temporary file that it renames when whole and,
    with one official checksum for the variant, only when it matches); formcheck then checks
    the bundle, syncs it and gives it the cache name.
    """
    import pooch
    import requests

    pooch.get_logger().setLevel(logging.WARNING)  # its own stderr handler: no "Downloading ..." lines

    url = model_url(variant)
    target = cached_model_path(variant)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the model cache {target.parent} ({exc.strerror or exc}): set "
            f"{ENV_CACHE} to a writable folder, or {_fix_hint()}"
        ) from None
    _remove_stale_parts(target.parent, target.name)
    logger.info("downloading pose model %s from %s", target.name, url)

    official = _official_checksums(variant)
    bar = _Progress(progress) if progress else False
    downloader = pooch.HTTPDownloader(
        progressbar=bar, timeout=timeout, headers={"User-Agent": "formcheck-model-store"}
    )
    # A fresh name per download: pooch does not fetch again a name that exists (unless its hash differs).
    part = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
    done = False
    try:
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{next(iter(official))}" if len(official) == 1 else None,
                fname=part.name,
                path=target.parent,
                downloader=downloader,
            )
        except requests.HTTPError as exc:
            response = exc.response
            what = f"HTTP {response.status_code} {response.reason}" if response is not None else str(exc)
            raise _offline_error(variant, url, what) from None
        except requests.Timeout:
            raise _offline_error(variant, url, f"no data within {timeout:g} s") from None
        except requests.exceptions.ChunkedEncodingError as exc:
            counts = re.search(r"IncompleteRead\(([^()]*)\)", str(exc))  # urllib3: "N bytes read, M more expected"
            raise _offline_error(variant, url, f"transfer cut short ({counts.group(1) if counts else _first_line(exc)})") from None
        except requests.ConnectionError as exc:
            raise _offline_error(variant, url, f"unreachable: {_first_line(exc)}") from None
        except requests.RequestException as exc:  # a malformed FORMCHECK_MODEL_URL, among others
            raise _offline_error(variant, url, f"transfer failed: {_first_line(exc)}") from None
        except ValueError as exc:  # pooch: the one official checksum does not match
            raise _offline_error(variant, url, f"the download's checksum matches no official one ({_first_line(exc)})") from None
        problem = _bundle_problem(part, full_crc=True)
        if problem:
            raise _offline_error(variant, url, f"the download is not a pose model: {problem}")
        if official and _sha256_file(part) not in official:
            raise _offline_error(variant, url, "the download's checksum matches no official one")
        if progress:
            size = part.stat().st_size
            progress(size, bar.total if bar else None)
        os.chmod(part, 0o644)  # a cache file is not a secret
        _fsync(part)
        os.replace(part, target)
        done = True
        _fsync(target.parent)
    finally:
        if not done:
            part.unlink(missing_ok=True)
    logger.info("pose model saved to %s", target)
    return target


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Listing


def _describe_file(path: Path, source: Source, variant: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "variant": variant,
        "source": source,
        "path": str(path),
        "present": path.exists(),
        "valid": False,
        "problem": None,
        "sha256": None,
        "size": None,
        "checksum": None,
        "checksum_note": None,
    }
    if not row["present"]:
        if source == "env":
            row["problem"] = "no such file"
        return row
    try:
        sha, size = inspect_model(path)
    except ValueError as exc:
        row["problem"] = str(exc)
        return row
    entry = KNOWN_CHECKSUMS.get(sha)
    official = _official_checksums(variant) if variant in VARIANTS else set()
    row.update(sha256=sha, size=size, valid=True)
    if variant is None:
        row["variant"] = _known_variant(sha, path)
    if entry:
        row["checksum"] = "known"
        row["checksum_note"] = entry["origin"]
    elif official:
        row["checksum"] = "mismatch"
        row["checksum_note"] = "matches none of the official checksums for this variant"
    else:
        row["checksum"] = "unknown"
        row["checksum_note"] = "no checksum is known for this file"
    return row


def describe_models() -> list[dict[str, Any]]:
    """What ``formcheck models`` lists: the FORMCHECK_MODEL file if set, then each variant's cache.

    Never downloads and never raises for a bad file; problems go into the row. Each row has
    variant, name, source (env/cache/download), path, present, valid, problem, sha256, size,
    checksum (known/unknown/mismatch or None), checksum_note, url (download rows), and
    `selected` (what `resolve_model(variant=...)` would use when --model is not given).
    """
    rows: list[dict[str, Any]] = []
    env_path = os.environ.get(ENV_MODEL)
    if env_path:
        path = Path(env_path).expanduser()
        row = _describe_file(path, "env", None)
        row.update(name=path.stem, url=None, selected=True)
        rows.append(row)
    for variant in VARIANTS:
        target = cached_model_path(variant)
        row = _describe_file(target, "cache", variant)
        row.update(name=model_name(variant), url=None, selected=not env_path)
        if not row["present"] or not row["valid"]:
            row.update(source="download", url=model_url(variant))
        rows.append(row)
    return rows
