"""A finished transcription in OpenAI's response formats, and its streamed events.

``json`` is ``{"text", "usage"}``; ``text``, ``srt`` and ``vtt`` are plain text (the subtitles
from ``speech.formats``, the same writers as ``hark transcribe``); ``verbose_json`` adds the
task, the language (Whisper's English name), the duration and, as asked by
``timestamp_granularities``, ``segments`` and ``words``. A segment is one of the core's
results (speech between two pauses); Hark does not expose Whisper's token ids, so its
``tokens`` list is empty, and ``avg_logprob`` is the log of the mean word probability.
Streaming is Server-Sent Events: one ``transcript.text.delta`` per result as it is
recognised, then ``transcript.text.done`` with the whole text.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

from hark.speech import formats, scripts
from hark.speech.text import strip_punctuation_word
from hark.speech.types import Result

RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")

_WHISPER_LANGUAGES = """
en english zh chinese de german es spanish ru russian ko korean fr french ja japanese
pt portuguese tr turkish pl polish ca catalan nl dutch ar arabic sv swedish it italian
id indonesian hi hindi fi finnish vi vietnamese he hebrew uk ukrainian el greek ms malay
cs czech ro romanian da danish hu hungarian ta tamil no norwegian th thai ur urdu
hr croatian bg bulgarian lt lithuanian la latin mi maori ml malayalam cy welsh sk slovak
te telugu fa persian lv latvian bn bengali sr serbian az azerbaijani sl slovenian
kn kannada et estonian mk macedonian br breton eu basque is icelandic hy armenian
ne nepali mn mongolian bs bosnian kk kazakh sq albanian sw swahili gl galician
mr marathi pa punjabi si sinhala km khmer sn shona yo yoruba so somali af afrikaans
oc occitan ka georgian be belarusian tg tajik sd sindhi gu gujarati am amharic
yi yiddish lo lao uz uzbek fo faroese ht haitian_creole ps pashto tk turkmen nn nynorsk
mt maltese sa sanskrit lb luxembourgish my myanmar bo tibetan tl tagalog mg malagasy
as assamese tt tatar haw hawaiian ln lingala ha hausa ba bashkir jw javanese
su sundanese yue cantonese
"""
_WORDS = _WHISPER_LANGUAGES.split()
LANGUAGE_NAMES = {
    code: name.replace("_", " ") for code, name in zip(_WORDS[::2], _WORDS[1::2], strict=True)
}
"""Whisper's language codes and the English names OpenAI's ``verbose_json`` reports."""


@dataclass(frozen=True)
class Transcription:
    """What one request recognised, and how it was asked for."""

    results: tuple[Result, ...]
    duration: float
    language: str
    """The Whisper language code of the speech (detected or given)."""
    task: str = "transcribe"
    temperature: float = 0.0

    @property
    def text(self) -> str:
        """The results' transcripts, spaced as the language writes (none in Japanese)."""
        texts = (transcript(result) for result in self.results if transcript(result))
        return scripts.joined(texts, self.language)

    @property
    def usage(self) -> dict[str, Any]:
        """OpenAI bills whisper-1 by the second, rounded up."""
        return {"type": "duration", "seconds": math.ceil(round(self.duration, 3))}


def transcript(result: Result) -> str:
    return result.alternatives[0].transcript.strip() if result.alternatives else ""


def response(
    response_format: str, transcription: Transcription, granularities: Sequence[str]
) -> Response:
    """``transcription`` in ``response_format`` (one of ``RESPONSE_FORMATS``)."""
    results = transcription.results
    if response_format == "text":
        return PlainTextResponse(transcription.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(formats.srt(results))
    if response_format == "vtt":
        return PlainTextResponse(formats.vtt(results))
    if response_format == "verbose_json":
        return JSONResponse(verbose(transcription, granularities))
    return JSONResponse({"text": transcription.text, "usage": transcription.usage})


def verbose(transcription: Transcription, granularities: Sequence[str]) -> dict[str, Any]:
    """OpenAI's ``verbose_json``: segments unless only words were asked for; words if asked."""
    body: dict[str, Any] = {
        "task": transcription.task,
        "language": LANGUAGE_NAMES.get(transcription.language, transcription.language),
        "duration": round(transcription.duration, 3),
        "text": transcription.text,
    }
    if "segment" in granularities or not granularities:
        body["segments"] = segments(transcription)
    if "word" in granularities:
        body["words"] = words(transcription.results)
    body["usage"] = transcription.usage
    return body


def segments(transcription: Transcription) -> list[dict[str, Any]]:
    """One segment per result; a result without timed words starts where the last ended."""
    found: list[dict[str, Any]] = []
    previous_end = 0.0
    for result in transcription.results:
        text = transcript(result)
        if not text:
            continue
        alternative = result.alternatives[0]
        start = alternative.words[0].start_time if alternative.words else previous_end
        found.append(
            {
                "id": len(found),
                "seek": round(start * 100),  # Whisper's unit: 10 ms mel frames
                "start": round(start, 3),
                "end": round(result.result_end_time, 3),
                "text": text if scripts.unspaced(result.language_code) else " " + text,
                "tokens": [],
                "temperature": transcription.temperature,
                "avg_logprob": round(math.log(max(alternative.confidence, 1e-6)), 4),
                "compression_ratio": round(_compression_ratio(text), 4),
                "no_speech_prob": 0.0,  # results exist only where the VAD heard speech
            }
        )
        previous_end = result.result_end_time
    return found


def words(results: Sequence[Result]) -> list[dict[str, Any]]:
    """Every word with its times, without the punctuation Whisper attaches to it."""
    found = []
    for result in results:
        for word in result.alternatives[0].words if result.alternatives else ():
            bare = strip_punctuation_word(word.word)
            if bare:
                found.append({"word": bare, "start": word.start_time, "end": word.end_time})
    return found


def event(payload: dict[str, Any]) -> str:
    """One Server-Sent Event carrying ``payload`` as JSON."""
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _compression_ratio(text: str) -> float:
    """Whisper's repetition signal: how well the text compresses (zlib)."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw))
