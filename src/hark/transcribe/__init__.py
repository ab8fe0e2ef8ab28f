"""``hark transcribe``: files to text, subtitles or JSON, in this process or on a server.

``command`` is the run (options, output files, progress); ``local`` and ``remote`` are its two
modes, each a ``Transcriber``; ``rest_json`` is Google's REST JSON for the core's types. Files
are read by ``hark.media`` and written as text or subtitles by ``hark.speech.formats``, both
shared with the server's OpenAI-compatible routes.
Nothing here imports a transport: a local run loads the engine, never uvicorn or grpc.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hark.speech.types import Recognition

SUFFIXES = {"text": ".txt", "json": ".json", "srt": ".srt", "vtt": ".vtt", "words": ".tsv"}
"""The output formats, and the file name suffix of each for ``--output DIR``."""

FractionDone = Callable[[float], object]
"""Called with the fraction of a file done, 0 to 1."""


def speaker_range(text: str) -> tuple[int, int]:
    """``--speakers``' value: ``""`` (2 to 6, Google's defaults), ``N`` or ``MIN-MAX``;
    (0, 0) stands for the defaults. Raises ValueError for anything else."""
    if not text:
        return (0, 0)
    low, _, high = text.partition("-")
    bounds = (int(low), int(high or low))
    if not 1 <= bounds[0] <= bounds[1] <= 6:
        raise ValueError("speakers must be N or MIN-MAX with 1 <= MIN <= MAX <= 6")
    return bounds


Transcriber = Callable[[str, FractionDone], tuple[dict[str, Any], Recognition]]
"""Transcribes one file: (path, progress) -> (RecognizeResponse JSON, the same as core types)."""
