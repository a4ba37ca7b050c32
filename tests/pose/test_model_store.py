"""The model resolver: order, checks, atomic downloads from a local server, never the internet."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from formcheck.errors import ModelError
from formcheck.pose import model_store
from formcheck.pose.model_store import ModelInfo, describe_models, resolve_model

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKPLACE_SHA = "01f4ba3f5db248b371efb8cf70e1de9d4f2ac71336ce30dbaba6146cb8ab5894"


def fake_tflite(size: int = 256) -> bytes:
    """Bytes that start like a TFLite flatbuffer (root offset, then the TFL3 identifier)."""
    return b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * (size // 256)


def make_bundle(members: dict[str, bytes] | None = None) -> bytes:
    if members is None:
        members = {m: fake_tflite() for m in model_store.REQUIRED_MEMBERS}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


GOOD_BUNDLE = make_bundle()


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the user's model settings, cache or the internet."""
    for var in (model_store.ENV_MODEL, "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(model_store.ENV_CACHE, str(cache))
    # Anything that would download goes to a closed local port unless a test points it elsewhere.
    monkeypatch.setenv(model_store.ENV_MODEL_URL, f"http://127.0.0.1:{free_closed_port()}")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "*")
    model_store._checked.clear()
    return cache


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- local files


def test_explicit_path(tmp_path: Path) -> None:
    path = write(tmp_path / "my_model.task", GOOD_BUNDLE)
    info = resolve_model(path)
    assert isinstance(info, ModelInfo)
    assert info.path == path and info.name == "my_model" and info.source == "option"
    assert info.size == len(GOOD_BUNDLE) and len(info.sha256) == 64
    assert info.variant is None and info.checksum_known is False


def test_explicit_path_wins_over_env_and_cache(tmp_path: Path, monkeypatch, isolated_env) -> None:
    explicit = write(tmp_path / "a" / "pose_landmarker_lite.task", GOOD_BUNDLE)
    monkeypatch.setenv("FORMCHECK_MODEL", str(write(tmp_path / "b.task", GOOD_BUNDLE)))
    write(isolated_env / "pose_landmarker_full.task", GOOD_BUNDLE)
    info = resolve_model(str(explicit))
    assert info.source == "option" and info.variant == "lite"


def test_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    path = write(tmp_path / "pose_landmarker_heavy.task", GOOD_BUNDLE)
    write(isolated_env / "pose_landmarker_full.task", GOOD_BUNDLE)
    monkeypatch.setenv("FORMCHECK_MODEL", str(path))
    info = resolve_model()
    assert info.source == "env" and info.path == path and info.variant == "heavy"


def test_missing_explicit_path_is_an_error_not_a_download(tmp_path: Path, isolated_env) -> None:
    write(isolated_env / "pose_landmarker_full.task", GOOD_BUNDLE)  # must not be used instead
    missing = tmp_path / "x" / "y.task"
    with pytest.raises(ModelError) as err:
        resolve_model(missing)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"no pose model at {missing} (from --model)" in msg
    assert "--model" in msg and "FORMCHECK_MODEL" in msg
    assert err.value.exit_code == 2


def test_missing_env_path_names_the_variable(tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "y.task"
    monkeypatch.setenv("FORMCHECK_MODEL", str(missing))
    with pytest.raises(ModelError, match=r"no pose model at .*y\.task \(from FORMCHECK_MODEL\)"):
        resolve_model()


def test_non_zip_file(tmp_path: Path) -> None:
    path = write(tmp_path / "model.task", b"this is not a zip at all" * 100)
    with pytest.raises(ModelError, match="not a zip file") as err:
        resolve_model(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"pose_detector.tflite": fake_tflite()}, "lacks pose_landmarks_detector.tflite"),
        (
            {"pose_detector.tflite": b"", "pose_landmarks_detector.tflite": fake_tflite()},
            "pose_detector.tflite in the bundle is empty",
        ),
        (
            {"pose_detector.tflite": fake_tflite(), "pose_landmarks_detector.tflite": b"x" * 99},
            "pose_landmarks_detector.tflite in the bundle is not a TFLite model",
        ),
    ],
)
def test_bad_bundle_members(tmp_path: Path, members: dict[str, bytes], reason: str) -> None:
    path = write(tmp_path / "model.task", make_bundle(members))
    with pytest.raises(ModelError, match=reason):
        resolve_model(path)


def test_corrupt_member_data_fails_crc(tmp_path: Path) -> None:
    data = bytearray(GOOD_BUNDLE)
    i = data.index(b"TFL3") + 100  # inside the first member's stored data
    data[i] ^= 0xFF
    with pytest.raises(ModelError, match="CRC"):
        resolve_model(write(tmp_path / "model.task", bytes(data)))


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a file"):
        resolve_model(tmp_path)


def test_unknown_variant() -> None:
    with pytest.raises(ModelError, match="unknown pose model variant 'huge'"):
        resolve_model(variant="huge")


def test_cache_path_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert model_store.cached_model_path("lite") == tmp_path / "cache" / "pose_landmarker_lite.task"
    monkeypatch.delenv("FORMCHECK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_store.cache_dir() == tmp_path / "xdg" / "formcheck" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert model_store.cache_dir() == tmp_path / "home" / ".cache" / "formcheck" / "models"


def test_cached_model_is_used_without_download(isolated_env: Path) -> None:
    path = write(isolated_env / "pose_landmarker_full.task", GOOD_BUNDLE)
    info = resolve_model()  # the download URL points at a closed port: would fail
    assert info.source == "cache" and info.path == path and info.variant == "full"
    assert resolve_model(allow_download=False) == info


def test_invalid_cache_without_download_says_delete_it(isolated_env: Path) -> None:
    path = write(isolated_env / "pose_landmarker_full.task", b"garbage")
    with pytest.raises(ModelError, match=r"cached pose model .* is unusable .*delete it"):
        resolve_model(allow_download=False)
    assert path.read_bytes() == b"garbage"


def test_nothing_and_no_download(isolated_env: Path) -> None:
    with pytest.raises(ModelError) as err:
        resolve_model(allow_download=False)
    msg = str(err.value)
    assert "--model" in msg and "FORMCHECK_MODEL" in msg
    assert str(isolated_env / "pose_landmarker_full.task") in msg


def test_hash_is_memoised_and_invalidated_by_change(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path / "m.task", GOOD_BUNDLE)
    calls: list[Path] = []
    real = model_store._sha256_file
    monkeypatch.setattr(model_store, "_sha256_file", lambda p: calls.append(p) or real(p))
    first = resolve_model(path)
    assert resolve_model(path) == first and len(calls) == 1
    write(path, make_bundle({m: fake_tflite(512) for m in model_store.REQUIRED_MEMBERS}))
    assert resolve_model(path).sha256 != first.sha256 and len(calls) == 2


# --------------------------------------------------------------------------- downloads


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves by the first path segment: /good, /nolength, /corrupt, /truncated, /slow, else 404."""

    requests: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        kind = self.path.strip("/").split("/")[0]
        if kind == "good" or kind == "slow":
            if kind == "slow":
                time.sleep(1.5)
            self._send(GOOD_BUNDLE, len(GOOD_BUNDLE))
        elif kind == "nolength":
            self._send(GOOD_BUNDLE, None)
        elif kind == "corrupt":
            self._send(b"<html>captive portal</html>" * 50, None)
        elif kind == "truncated":
            self._send(GOOD_BUNDLE[: len(GOOD_BUNDLE) // 2], len(GOOD_BUNDLE))
        else:
            self.send_error(404, "Not Found")

    def _send(self, body: bytes, length: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def use_server(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    monkeypatch.setenv("FORMCHECK_MODEL_URL", base)


def assert_cache_clean(cache: Path) -> None:
    leftovers = sorted(p.name for p in cache.iterdir()) if cache.exists() else []
    assert leftovers == [], f"files left in the cache: {leftovers}"


@pytest.mark.parametrize("kind", ["good", "nolength"])
def test_download_good(server: str, monkeypatch, isolated_env: Path, kind: str) -> None:
    use_server(monkeypatch, f"{server}/{kind}")
    seen: list[tuple[int, int | None]] = []
    info = resolve_model(variant="lite", progress=lambda done, total: seen.append((done, total)))
    target = isolated_env / "pose_landmarker_lite.task"
    assert info.source == "download" and info.path == target and info.variant == "lite"
    assert target.read_bytes() == GOOD_BUNDLE
    assert sorted(p.name for p in isolated_env.iterdir()) == ["pose_landmarker_lite.task"]
    expected_total = len(GOOD_BUNDLE) if kind == "good" else None
    assert seen[0] == (0, expected_total) and seen[-1] == (len(GOOD_BUNDLE), expected_total)
    assert _Handler.requests[-1] == f"/{kind}/pose_landmarker_lite/float16/1/pose_landmarker_lite.task"
    # The next run finds it in the cache.
    assert resolve_model(variant="lite", allow_download=False).source == "cache"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("corrupt", "the download is not a pose model: not a .task bundle"),
        ("truncated", r"transfer cut short \(\d+ bytes read, \d+ more expected\)"),
        ("missing", "HTTP 404"),
    ],
)
def test_download_failures_leave_nothing(
    server: str, monkeypatch, isolated_env: Path, kind: str, reason: str
) -> None:
    use_server(monkeypatch, f"{server}/{kind}")
    with pytest.raises(ModelError, match=reason) as err:
        resolve_model()
    msg = str(err.value)
    assert "\n" not in msg and "--model" in msg and "FORMCHECK_MODEL" in msg
    assert str(isolated_env / "pose_landmarker_full.task") in msg
    assert_cache_clean(isolated_env)


def test_download_timeout(server: str, monkeypatch, isolated_env: Path) -> None:
    use_server(monkeypatch, f"{server}/slow")
    with pytest.raises(ModelError, match=r"could not download"):
        resolve_model(timeout=0.3)
    assert_cache_clean(isolated_env)


def test_unreachable(isolated_env: Path) -> None:
    with pytest.raises(ModelError, match="unreachable") as err:
        resolve_model()
    msg = str(err.value)
    assert "--model" in msg and "FORMCHECK_MODEL" in msg
    assert str(isolated_env / "pose_landmarker_full.task") in msg
    assert_cache_clean(isolated_env)


def test_invalid_cache_is_replaced_by_download(server: str, monkeypatch, isolated_env) -> None:
    target = write(isolated_env / "pose_landmarker_full.task", b"half a file")
    use_server(monkeypatch, f"{server}/good")
    info = resolve_model()
    assert info.source == "download" and target.read_bytes() == GOOD_BUNDLE


def test_failed_redownload_keeps_nothing_new(server: str, monkeypatch, isolated_env) -> None:
    target = write(isolated_env / "pose_landmarker_full.task", b"half a file")
    use_server(monkeypatch, f"{server}/truncated")
    with pytest.raises(ModelError):
        resolve_model()
    assert sorted(p.name for p in isolated_env.iterdir()) == [target.name]


def test_url_template_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMCHECK_MODEL_URL", "http://mirror.invalid/m/{variant}.task")
    assert model_store.model_url("heavy") == "http://mirror.invalid/m/heavy.task"
    monkeypatch.delenv("FORMCHECK_MODEL_URL")
    assert model_store.model_url("full") == (
        "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
        "pose_landmarker_full/float16/1/pose_landmarker_full.task"
    )


# --------------------------------------------------------------------------- listing


def test_describe_models(tmp_path: Path, monkeypatch, isolated_env: Path) -> None:
    write(isolated_env / "pose_landmarker_full.task", GOOD_BUNDLE)
    write(isolated_env / "pose_landmarker_heavy.task", b"not a zip")
    rows = {r["variant"]: r for r in describe_models()}
    assert set(rows) == {"lite", "full", "heavy"}
    assert rows["full"]["source"] == "cache" and rows["full"]["valid"] is True
    assert rows["full"]["size"] == len(GOOD_BUNDLE) and rows["full"]["checksum"] == "unknown"
    assert rows["lite"]["present"] is False and rows["lite"]["source"] == "download"
    assert rows["lite"]["url"].endswith("/pose_landmarker_lite.task")
    assert rows["heavy"]["valid"] is False and "not a zip" in rows["heavy"]["problem"]

    env_file = write(tmp_path / "mine.task", GOOD_BUNDLE)
    monkeypatch.setenv("FORMCHECK_MODEL", str(env_file))
    rows_env = describe_models()
    assert rows_env[0]["source"] == "env" and rows_env[0]["path"] == str(env_file)
    assert rows_env[0]["selected"] is True and not any(r["selected"] for r in rows_env[1:])
    json.dumps(rows_env)  # what `formcheck models --json` could print


# --------------------------------------------------------------------------- checksums


def test_checksums_json_mirrors_the_module() -> None:
    """models/checksums.json is for readers; the module's dict is the one that ships."""
    on_disk = json.loads((REPO_ROOT / "models" / "checksums.json").read_text(encoding="utf-8"))
    assert on_disk == model_store.KNOWN_CHECKSUMS
    for sha, entry in model_store.KNOWN_CHECKSUMS.items():
        assert len(sha) == 64 and int(sha, 16) >= 0
        assert entry["variant"] in model_store.VARIANTS


def _workplace_model() -> Path | None:
    candidates = [os.environ.get("FORMCHECK_MODEL"), REPO_ROOT.parent / "shared" / "models"
                  / "pose_landmarker_full.task"]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


# Read before the autouse fixture clears FORMCHECK_MODEL.
WORKPLACE_MODEL = _workplace_model()


@pytest.mark.skipif(
    WORKPLACE_MODEL is None,
    reason="no real pose model: set FORMCHECK_MODEL or put pose_landmarker_full.task in "
    "../shared/models/ to check a real bundle",
)
def test_real_workplace_bundle_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WORKPLACE_MODEL is not None
    info = resolve_model(WORKPLACE_MODEL)
    monkeypatch.setenv("FORMCHECK_MODEL", str(WORKPLACE_MODEL))
    row = describe_models()[0]
    assert row["valid"] and row["sha256"] == info.sha256
    assert row["checksum"] == ("known" if info.checksum_known else "unknown")
    assert info.variant == "full" or info.name.startswith("pose_landmarker")
    if info.sha256 == WORKPLACE_SHA:
        assert info.checksum_known and info.variant == "full"
        assert info.size == model_store.KNOWN_CHECKSUMS[WORKPLACE_SHA]["size"]
    elif WORKPLACE_MODEL.name == "pose_landmarker_full.task" and "shared" in WORKPLACE_MODEL.parts:
        pytest.fail(f"the workplace bundle's sha256 {info.sha256} is not the known one")


def test_interrupted_download_leaves_nothing(server: str, monkeypatch, isolated_env: Path) -> None:
    use_server(monkeypatch, f"{server}/good")

    def interrupt(done: int, total: int | None) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resolve_model(progress=interrupt)
    assert_cache_clean(isolated_env)


def test_stale_part_files_are_swept(server: str, monkeypatch, isolated_env: Path) -> None:
    stale = write(isolated_env / ".pose_landmarker_full.task.abc123.part", b"old")
    stale_pooch = write(isolated_env / "tmpk3j2_x", b"pooch's temporary, left by a kill")
    fresh = write(isolated_env / ".pose_landmarker_full.task.def456.part", b"another run")
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    os.utime(stale_pooch, (old, old))
    use_server(monkeypatch, f"{server}/good")
    resolve_model()
    assert not stale.exists() and not stale_pooch.exists()
    assert fresh.exists()  # a fresh one may belong to a running download


def test_download_checked_against_the_official_checksum(server: str, monkeypatch, isolated_env: Path) -> None:
    """With one official checksum for the variant pooch checks it; a mismatch keeps nothing."""
    use_server(monkeypatch, f"{server}/good")
    entry = {"name": "pose_landmarker_full", "variant": "full", "size": 1, "official": True, "origin": "test"}
    monkeypatch.setitem(model_store.KNOWN_CHECKSUMS, "0" * 64, entry)
    with pytest.raises(ModelError, match="checksum matches no official one") as err:
        resolve_model()
    assert "\n" not in str(err.value)
    assert_cache_clean(isolated_env)
    monkeypatch.delitem(model_store.KNOWN_CHECKSUMS, "0" * 64)
    sha = hashlib.sha256(GOOD_BUNDLE).hexdigest()
    monkeypatch.setitem(model_store.KNOWN_CHECKSUMS, sha, dict(entry, size=len(GOOD_BUNDLE)))
    info = resolve_model()
    assert info.source == "download" and info.checksum_known and info.sha256 == sha


def test_malformed_url_override_is_one_line_error(monkeypatch, isolated_env: Path) -> None:
    monkeypatch.setenv("FORMCHECK_MODEL_URL", "no-scheme-here/{variant}")
    with pytest.raises(ModelError, match="could not download .*No scheme supplied"):
        resolve_model()
    assert_cache_clean(isolated_env)


def test_describe_models_reports_a_missing_env_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FORMCHECK_MODEL", str(tmp_path / "gone.task"))
    row = describe_models()[0]
    assert row["source"] == "env" and row["present"] is False and row["problem"] == "no such file"
