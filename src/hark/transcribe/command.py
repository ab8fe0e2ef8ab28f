"""``hark transcribe``: audio and video files to text, subtitles or JSON, locally or via a server.

Locally, the model is loaded once and each file is decoded in chunks, cut into windows at
pauses and recognised window by window (``speech.long_audio``), so any length runs in flat
memory. With ``--server`` the work goes over REST (``remote``). Each file is handled on its
own: a failure prints one line, ``hark: FILE: message``, and the next file goes on.

Decisions for a command-line user: punctuation is on unless ``--no-punctuation`` (people
read the output); word times (and word confidence) are asked for whenever the format uses
them (srt, vtt, words, json).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from hark.errors import SpeechError
from hark.speech import formats
from hark.speech.types import Phrase, Recognition, RecognitionConfig
from hark.transcribe import SUFFIXES, FractionDone, Transcriber, remote

_TIMED = frozenset({"json", "srt", "vtt", "words"})

DEFAULT_LANGUAGE = "en-US"
"""Sent to a server, or used locally on an English-only model, when --language is not given."""


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    files: tuple[str, ...]
    server: str = ""
    api_key: str = ""
    language: str = ""
    """BCP-47; empty: detected on a multilingual model, else (and for ``--server``) en-US."""
    model: str = ""
    format: str = "text"
    output: Path | None = None
    phrases: tuple[str, ...] = ()
    alternatives: int = 0
    profanity_filter: bool = False
    punctuation: bool = True
    speakers: tuple[int, int] | None = None
    """``--speakers``: (min, max) speakers to tell apart, (0, 0) for Google's defaults."""


def recognition_config(options: Options, *, server_model: str = "") -> RecognitionConfig:
    """The RecognitionConfig the flags describe (``server_model``: Google's ``model`` field)."""
    timed = options.format in _TIMED
    low, high = options.speakers or (0, 0)
    return RecognitionConfig(
        language_code=options.language or DEFAULT_LANGUAGE,
        max_alternatives=options.alternatives,
        profanity_filter=options.profanity_filter,
        speech_contexts=tuple(Phrase(p) for p in options.phrases),
        enable_word_time_offsets=timed,
        enable_word_confidence=timed,
        enable_automatic_punctuation=options.punctuation,
        enable_speaker_diarization=options.speakers is not None,
        min_speaker_count=low,
        max_speaker_count=high,
        model=server_model,
    )


def run(options: Options, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Transcribe every file; 0 if all succeeded, 1 if any failed.

    Nothing here runs under ``asyncio.run``: its SIGINT handling only cancels at the next
    ``await``, so Ctrl-C would wait for a blocking call (a server poll) to end. Plain
    KeyboardInterrupt stops at once.
    """
    try:
        targets = output_paths(options)
    except OSError as error:
        print(f"hark: {options.output}: {error.strerror or error}", file=err)
        return 1
    if options.server:
        return _each_file(options, targets, _remote(options), out, err)
    from hark.transcribe.local import local_transcriber  # noqa: PLC0415 - loads the engine's libraries

    try:
        config = recognition_config(options)
        detect = not options.language
        with local_transcriber(options.model, config, detect=detect) as transcriber:
            return _each_file(options, targets, transcriber, out, err)
    except SpeechError as error:  # the config itself is refused: no file can succeed
        print(f"hark: {error.message}", file=err)
        return 1


def _each_file(
    options: Options,
    targets: list[Path | None],
    transcriber: Transcriber,
    out: TextIO,
    err: TextIO,
) -> int:
    failed = 0
    for index, (path, target) in enumerate(zip(options.files, targets, strict=True)):
        try:
            with _progress(path, err) as progress:
                body, recognition = transcriber(path, progress)
            rendered = render(options.format, body, recognition)
            if target is not None:
                target.write_text(rendered, encoding="utf-8")
            else:
                if len(options.files) > 1:
                    out.write(("\n" if index else "") + f"==> {path} <==\n")
                out.write(rendered)
                out.flush()
        except SpeechError as error:
            print(f"hark: {path}: {error.message}", file=err)
            failed += 1
        except OSError as error:
            print(f"hark: {target}: {error.strerror or error}", file=err)
            failed += 1
    return 1 if failed else 0


def _remote(options: Options) -> Transcriber:
    endpoint = remote.Endpoint(remote.base_url(options.server), options.api_key)
    config = recognition_config(options, server_model=options.model)

    def transcribe(path: str, progress: FractionDone) -> tuple[dict[str, Any], Recognition]:
        def percent(value: float) -> None:
            progress(value / 100)

        return remote.recognize_file(endpoint, path, config, percent)

    return transcribe


def render(output_format: str, body: dict[str, Any], recognition: Recognition) -> str:
    """The transcript in ``output_format``; json is the RecognizeResponse as the server wrote it."""
    if output_format == "json":
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    renderer = {
        "text": formats.text,
        "srt": formats.srt,
        "vtt": formats.vtt,
        "words": formats.words,
    }[output_format]
    return renderer(recognition.results)


def output_paths(options: Options) -> list[Path | None]:
    """Where each file's transcript goes: None for stdout.

    ``--output`` names the file for one input (or a directory to put it in, if it is one);
    for several inputs it is a directory, created if missing, holding ``<stem><suffix>`` per
    input (``<name><suffix>`` when two inputs share a stem).
    """
    if options.output is None:
        return [None] * len(options.files)
    suffix = SUFFIXES[options.format]
    if len(options.files) == 1 and not options.output.is_dir():
        return [options.output]
    options.output.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    targets: list[Path | None] = []
    for name in options.files:
        base = Path(name).stem + suffix
        chosen = base if base not in taken else Path(name).name + suffix
        taken.add(chosen)
        targets.append(options.output / chosen)
    return targets


@contextmanager
def _progress(path: str, err: TextIO) -> Iterator[FractionDone]:
    """A progress bar in percent on a terminal (shown after a second of work), else nothing."""
    if not err.isatty():
        yield lambda fraction: None
        return
    bar = tqdm(total=100, desc=Path(path).name, unit="%", file=err, leave=False, delay=1.0)
    bar.bar_format = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"

    def update(fraction: float) -> None:
        bar.update(max(0.0, min(100.0, round(fraction * 100, 1)) - bar.n))

    with bar:
        yield update


def main_options(namespace: Any) -> Options:
    """Options from the argparse namespace of ``hark transcribe``."""
    return Options(
        files=tuple(namespace.files),
        server=namespace.server or "",
        api_key=namespace.api_key or "",
        language=namespace.language or "",
        model=namespace.model or "",
        format=namespace.format,
        output=namespace.output,
        phrases=tuple(namespace.phrases or ()),
        alternatives=namespace.alternatives,
        profanity_filter=namespace.profanity_filter,
        punctuation=namespace.punctuation,
        speakers=getattr(namespace, "speakers", None),
    )
