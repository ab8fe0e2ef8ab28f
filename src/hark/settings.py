"""Hark's settings: frozen dataclasses, built once by the CLI and passed down.

This is the only module that reads Hark's own variables. Every setting has a ``HARK_*``
variable; command-line flags win over the environment, which wins over the defaults here.
(``engine/loading.py`` reads the Hugging Face Hub's variables, which that library honours.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Google's limits, as defaults; operators may lift them."""

    sync_max_seconds: float = 60.0
    """Longest audio ``Recognize`` takes (Google: about 1 minute)."""
    max_request_bytes: int = 10_485_760
    """Largest request payload (Google: 10485760 bytes)."""
    max_phrases: int = 5_000
    """Phrase hints per request."""
    max_phrase_characters: int = 100
    """Characters in one phrase hint."""
    max_total_phrase_characters: int = 100_000
    """Characters of all phrase hints in one request."""
    stream_max_seconds: float = 305.0
    """Longest audio one StreamingRecognize stream takes (Google: 305 s)."""
    stream_max_message_bytes: int = 25_600
    """Audio bytes in one streaming message (Google: 25 KB)."""
    stream_audio_timeout: float = 15.0
    """Seconds a stream may go without a message before OUT_OF_RANGE (Google: undocumented)."""
    inline_async_max_seconds: float = 60.0
    """Longest inline ``content`` for LongRunningRecognize (Google: about 1 minute)."""
    async_max_seconds: float = 28_800.0
    """Longest audio for LongRunningRecognize (Google: 480 minutes)."""
    openai_max_file_bytes: int = 26_214_400
    """Largest file for OpenAI's ``/v1/audio`` routes (OpenAI: 25 MB)."""
    openai_max_seconds: float = 3_600.0
    """Longest audio one ``/v1/audio`` request transcribes: the request holds its client (and
    the engine) until done, so it is kept well inside the OpenAI SDK's 600 s timeout on a
    modest CPU, while admitting an hour of speech (25 MB of 48 kbps MP3 is 73 minutes)."""


@dataclass(frozen=True)
class EngineSettings:
    """Which model to load, and on what."""

    model: tuple[str, ...] = ("tiny.en",)
    """The models to load, each ``tiny.en`` (embedded), ``base`` (``hark[multilingual]``), a
    local CTranslate2 Whisper directory, or a model name. Several are served side by side
    (``speech/models.py`` routes each request); ``HARK_MODEL`` separates them with commas."""
    device: str = "auto"
    """``cpu``, ``cuda`` or ``auto``."""
    compute_type: str = "default"
    """CTranslate2 compute type; ``default`` is int8 on CPU, float16 on CUDA."""
    cpu_threads: int = 0
    """Threads per engine call; 0 lets CTranslate2 choose."""
    workers: int = 1
    """Engine calls run at once."""
    max_queue: int = 64
    """Calls waiting for the engine before new ones get RESOURCE_EXHAUSTED."""
    max_batch: int = 8
    """Waiting transcriptions (≤30 s, same options) decoded together in one engine call."""
    download_root: Path | None = None
    """Where named models are cached; None for the Hugging Face default."""


@dataclass(frozen=True)
class JobSettings:
    """The long-running operations: their workers, queue and retention."""

    job_workers: int = 1
    """Operations recognised at once."""
    job_queue: int = 100
    """Operations waiting for a worker before new ones get RESOURCE_EXHAUSTED."""
    operation_retention_seconds: float = 432_000.0
    """How long finished operations are kept (Google: 5 days)."""


@dataclass(frozen=True)
class StorageSettings:
    """Where ``RecognitionAudio.uri`` and ``outputConfig.gcsUri`` point."""

    gcs: str = "local"
    """``local``: gs://BUCKET/OBJECT is <data-dir>/buckets/BUCKET/OBJECT; ``cloud``: real GCS."""
    file_roots: tuple[Path, ...] = ()
    """Directories ``file://`` URIs may read from; none means file:// is refused."""
    http_max_bytes: int = 1 << 30
    """Largest audio fetched from an http(s):// URI."""


@dataclass(frozen=True)
class Settings:
    """Everything ``hark serve`` needs."""

    host: str = "127.0.0.1"
    port: int = 8080
    grpc_port: int = 50051
    data_dir: Path = Path("./data")
    api_keys: tuple[str, ...] = ()
    """Accepted API keys; empty means Hark is open."""
    engine: EngineSettings = field(default_factory=EngineSettings)
    limits: Limits = field(default_factory=Limits)
    jobs: JobSettings = field(default_factory=JobSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    log_level: str = "info"
    tls_cert: Path | None = None
    """PEM certificate chain; with ``tls_key``, REST and gRPC serve TLS only."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""
    shutdown_grace_seconds: float = 30.0
    """How long in-flight calls may run after SIGTERM/SIGINT before they are cut."""


_ENV_PREFIX = "HARK_"
# Settings that live in nested groups, by their flat name.
_GROUPS: dict[str, str] = {
    **{f.name: "engine" for f in fields(EngineSettings)},
    **{f.name: "limits" for f in fields(Limits)},
    **{f.name: "jobs" for f in fields(JobSettings)},
    **{f.name: "storage" for f in fields(StorageSettings)},
}


def _convert(name: str, raw: str, current: object) -> object:
    """Turn an environment string into the type of the setting it replaces."""
    if name == "api_keys":
        return tuple(key for key in raw.replace(",", " ").split() if key)
    if name == "model":
        return tuple(model.strip() for model in raw.split(",") if model.strip())
    if name == "file_roots":
        return tuple(Path(root) for root in raw.split(os.pathsep) if root)
    if isinstance(current, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, Path) or name in {"data_dir", "download_root", "tls_cert", "tls_key"}:
        return Path(raw)
    return raw


def build_settings(
    overrides: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults, then ``HARK_*`` variables, then ``overrides`` (flags; None means not given).

    Keys are flat setting names (``port``, ``model``, ``sync_max_seconds``...).
    """
    environ = os.environ if environ is None else environ
    base = Settings()
    groups: dict[str, dict[str, Any]] = {group: {} for group in ("", *set(_GROUPS.values()))}
    for name in [f.name for f in fields(Settings)] + list(_GROUPS):
        if name in groups:
            continue
        group = _GROUPS.get(name, "")
        current = getattr(getattr(base, group) if group else base, name)
        raw = environ.get(_ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            groups[group][name] = _convert(name, raw, current)
        if overrides.get(name) is not None:
            groups[group][name] = overrides[name]
    return replace(
        base,
        **groups[""],
        engine=replace(base.engine, **groups["engine"]),
        limits=replace(base.limits, **groups["limits"]),
        jobs=replace(base.jobs, **groups["jobs"]),
        storage=replace(base.storage, **groups["storage"]),
    )
