"""Hark's settings: frozen dataclasses, built once by the CLI and passed down.

This is the only module that reads Hark's own variables and config file. Every setting has a
``HARK_*`` variable and a key in the TOML file of ``--config`` (the flag's name: ``grpc-port``;
or the setting's: ``grpc_port``); flags win over the environment, which wins over the file,
which wins over the defaults here. (``engine/loading.py`` reads the Hugging Face Hub's
variables, which that library honours.)
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib

MAX_STREAMS = 4
"""Real-time streams one server accepts by default, measured for tiny.en on 2 shared CPU
cores (bench/RESULTS.md, streaming round 4): finals p95 3.7-7.3 s at 4 streams under load,
11-13 s at 8 (words whole at both). Raise it with more cores or a GPU."""


@dataclass(frozen=True)
class Limits:
    """Google's limits, as defaults; operators may lift them."""

    sync_max_seconds: float = 60.0
    """Longest audio ``Recognize`` takes (Google: about 1 minute)."""
    max_request_bytes: int = 10_485_760
    """Largest request payload (Google: 10485760 bytes)."""
    request_timeout_seconds: float = 120.0
    """Longest a REST request's headers, and then its body, may take to arrive (slow clients)."""
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
    max_streams: int = MAX_STREAMS
    """StreamingRecognize streams served at once; one more is refused RESOURCE_EXHAUSTED at
    its start. 0: no limit."""
    inline_async_max_seconds: float = 60.0
    """Longest inline ``content`` for LongRunningRecognize (Google: about 1 minute)."""
    async_max_seconds: float = 28_800.0
    """Longest audio for LongRunningRecognize (Google: 480 minutes)."""
    console_upload_max_bytes: int = 536_870_912
    """Largest file the web console uploads into the local bucket for long-running
    recognition (512 MiB; ``api/console.py``)."""
    openai_max_file_bytes: int = 26_214_400
    """Largest file for OpenAI's ``/v1/audio`` routes (OpenAI: 25 MB)."""
    openai_max_seconds: float = 3_600.0
    """Longest audio one ``/v1/audio`` request transcribes: the request holds its client (and
    the engine) until done, so it is kept well inside the OpenAI SDK's 600 s timeout on a
    modest CPU, while admitting an hour of speech (25 MB of 48 kbps MP3 is 73 minutes)."""
    cursors_per_file: int = 4
    """Windows of one long file recognised at once: each is a cursor of the engine's batched
    steps (``engine/scheduler.py``), so a lone long file still fills batches. Memory per file
    is this many windows (~8 MB of samples each per channel)."""


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
    """Threads per engine call; 0 shares the cores between the calls (``workers``) on a CPU,
    and lets CTranslate2 choose on a GPU."""
    workers: int = 0
    """Engine calls run at once; 0 is one per core on a CPU (at most 4), one on a GPU
    (``engine/parallelism.py`` says why)."""
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
    unserved_model: str = "refuse"
    """Fleet only: a request for a model no live worker serves is refused FAILED_PRECONDITION
    (``refuse``) or accepted and left queued until one starts (``queue``)."""
    heartbeat_seconds: float = 10.0
    """Fleet only: how often a worker shows it is alive (and the reaper looks for dead ones)."""
    stalled_seconds: float = 30.0
    """Fleet only: a worker silent this long is dead; its jobs are re-queued elsewhere."""
    max_attempts: int = 3
    """Fleet only: worker deaths one operation may cause before it fails (a poison job)."""
    hang_seconds: float = 600.0
    """Fleet only: a job showing no progress this long means a hung engine; the worker exits."""


@dataclass(frozen=True)
class StorageSettings:
    """Where ``RecognitionAudio.uri`` and ``outputConfig.gcsUri`` point."""

    gcs: str = "local"
    """``local``: gs://BUCKET/OBJECT is <data-dir>/buckets/BUCKET/OBJECT; ``cloud``: real GCS."""
    file_roots: tuple[Path, ...] = ()
    """Directories ``file://`` URIs may read from; none means file:// is refused."""
    http_audio: bool = False
    """Whether ``http(s)://`` audio URIs are fetched at all (off: INVALID_ARGUMENT)."""
    http_allow: tuple[str, ...] = ()
    """Networks (CIDR) fetches may reach besides public addresses, e.g. ``10.0.0.0/8``."""
    http_max_bytes: int = 1 << 30
    """Largest audio fetched from an http(s):// URI."""
    http_timeout_seconds: float = 600.0
    """Deadline of one whole http(s) fetch: resolving, connecting, redirects and the body
    (``Recognize``'s own fetches stop at 60 s)."""


@dataclass(frozen=True)
class Settings:
    """Everything ``hark serve`` needs."""

    host: str = "127.0.0.1"
    port: int = 8080
    grpc_port: int = 50051
    data_dir: Path = Path("./data")
    api_keys: tuple[str, ...] = ()
    """Accepted API keys, each ``secret`` or ``name=secret``; empty means Hark is open."""
    admin_keys: tuple[str, ...] = ()
    """Keys (also accepted) that see, cancel and delete every caller's operations."""
    allowed_hosts: tuple[str, ...] = ()
    """``Host`` names accepted besides the loopback names (bound elsewhere: all, if empty)."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins (``https://app.example``) whose pages may open the WebSocket."""
    engine: EngineSettings = field(default_factory=EngineSettings)
    limits: Limits = field(default_factory=Limits)
    jobs: JobSettings = field(default_factory=JobSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    max_connections: int = 512
    """REST connections (uvicorn answers 503 past it) and gRPC calls (RESOURCE_EXHAUSTED,
    except an operation's Get, List, Cancel and Delete: ``api.rpc.Guard``) served at once."""
    log_level: str = "info"
    log_format: str = "text"
    """``text`` (one readable line per record) or ``json`` (one JSON object per line)."""
    tls_cert: Path | None = None
    """PEM certificate chain; with ``tls_key``, REST and gRPC serve TLS only."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""
    shutdown_grace_seconds: float = 30.0
    """How long in-flight calls may run after SIGTERM/SIGINT before they are cut."""
    database: str = ""
    """A PostgreSQL URL (``postgresql://user@host/db``): run as one of a fleet, operations
    in that database and jobs run by ``hark worker``; empty: embedded (SQLite, in-process)."""


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
    if name in ("api_keys", "admin_keys"):
        return tuple(key for key in raw.replace(",", " ").split() if key)
    if name in ("http_allow", "allowed_hosts", "allowed_origins"):
        return tuple(net for net in raw.replace(",", " ").split() if net)
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
    if isinstance(current, Path) or name in _PATHS:
        return Path(raw)
    return raw


_PATHS = {"data_dir", "download_root", "tls_cert", "tls_key"}
_FLAG_NAMES = {"api_key": "api_keys", "file_root": "file_roots"}
"""Flags whose name is not their setting's (one value per flag, a list in the file)."""


def setting_names() -> list[str]:
    """Every flat setting name, in the order of the dataclasses."""
    nested = {f.name for f in fields(Settings) if f.name in {*_GROUPS.values()}}
    return [f.name for f in fields(Settings) if f.name not in nested] + list(_GROUPS)


def _current(base: Settings, name: str) -> Any:
    group = _GROUPS.get(name, "")
    return getattr(getattr(base, group) if group else base, name)


def load_config(path: Path) -> dict[str, Any]:
    """The settings of a TOML file, by flat setting name, typed; ``ValueError`` naming the
    file and key for an unreadable file, an unknown key or a value of the wrong type."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"config file {path}: {error}") from None
    base, known = Settings(), set(setting_names())
    values: dict[str, Any] = {}
    for key, value in document.items():
        name = key.replace("-", "_")
        name = _FLAG_NAMES.get(name, name)
        if name not in known:
            raise ValueError(f"config file {path}: unknown setting {key!r}")
        try:
            values[name] = _typed(name, value, _current(base, name))
        except (TypeError, ValueError):
            raise ValueError(f"config file {path}: {key} = {value!r} is not valid") from None
    return values


def _typed(name: str, value: object, current: object) -> object:
    """A TOML value as the type of the setting it replaces (TypeError when it cannot be)."""
    if isinstance(current, tuple):  # the list settings: keys, roots, hosts, networks
        listed = value if isinstance(value, list) else [value]
        items = [item for item in listed if isinstance(item, str)]
        if len(items) != len(listed):
            raise TypeError(name)
        return tuple(Path(item) for item in items) if name == "file_roots" else tuple(items)
    if isinstance(value, str):
        return _convert(name, value, current)
    if isinstance(current, bool) or isinstance(value, bool):
        if not isinstance(value, bool) or not isinstance(current, bool):
            raise TypeError(name)
        return value
    if isinstance(current, float) and isinstance(value, int | float):
        return float(value)
    if isinstance(current, int) and isinstance(value, int):
        return value
    raise TypeError(name)


_SECRET_SETTINGS = frozenset({"api_keys", "admin_keys"})


def render_config(settings: Settings) -> str:
    """``settings`` as a config file (TOML), every setting; API and admin keys are not shown."""
    lines = []
    for name in setting_names():
        value = _current(settings, name)
        if name in _SECRET_SETTINGS:
            flag = name.removesuffix("s").replace("_", "-")
            lines.append(f"# {flag}: {len(value)} key(s) set, not shown")
            continue
        if isinstance(value, tuple):
            shown = "[" + ", ".join(json.dumps(str(item)) for item in value) + "]"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, int | float):
            shown = repr(value)
        elif value is None:
            lines.append(f"# {name.replace('_', '-')}: not set")
            continue
        elif name == "database":  # a URL's password is a secret like the keys
            shown = json.dumps(re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", str(value)))
        else:
            shown = json.dumps(str(value))
        lines.append(f"{name.replace('_', '-')} = {shown}")
    return "\n".join(lines) + "\n"


def build_settings(
    overrides: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    file: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then ``file`` (``load_config``), then ``HARK_*`` variables, then
    ``overrides`` (flags; None means not given).

    Keys are flat setting names (``port``, ``model``, ``sync_max_seconds``...).
    """
    environ = os.environ if environ is None else environ
    file = file or {}
    base = Settings()
    groups: dict[str, dict[str, Any]] = {group: {} for group in ("", *set(_GROUPS.values()))}
    for name in setting_names():
        group = _GROUPS.get(name, "")
        current = _current(base, name)
        if name in file:
            groups[group][name] = file[name]
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
