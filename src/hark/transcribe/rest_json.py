"""Google's REST JSON for the core's types, written without protobuf.

``hark transcribe`` speaks this JSON (a request's config, a RecognizeResponse) without
importing Google's message classes, which load grpc. The server side (``api/``) writes the same
JSON with ``json_format``; a fast test holds the two equal.
"""

from __future__ import annotations

import struct
from typing import Any

from hark.speech.types import Alternative, Recognition, RecognitionConfig, Result, WordInfo


def config_json(config: RecognitionConfig, encoding: str) -> dict[str, Any]:
    """The REST JSON of the RecognitionConfig fields the command line sets."""
    body: dict[str, Any] = {
        "encoding": encoding,
        "sampleRateHertz": 16000,
        "languageCode": config.language_code,
        "enableAutomaticPunctuation": config.enable_automatic_punctuation,
        "enableWordTimeOffsets": config.enable_word_time_offsets,
        "enableWordConfidence": config.enable_word_confidence,
        "profanityFilter": config.profanity_filter,
    }
    if config.max_alternatives:
        body["maxAlternatives"] = config.max_alternatives
    if config.speech_contexts:
        body["speechContexts"] = [{"phrases": [p.value for p in config.speech_contexts]}]
    if config.model:
        body["model"] = config.model
    if config.enable_speaker_diarization:
        body["diarizationConfig"] = {
            "enableSpeakerDiarization": True,
            **({"minSpeakerCount": config.min_speaker_count} if config.min_speaker_count else {}),
            **({"maxSpeakerCount": config.max_speaker_count} if config.max_speaker_count else {}),
        }
    return body


def recognition_from_json(body: dict[str, Any]) -> Recognition:
    """A RecognizeResponse (or LongRunningRecognizeResponse) JSON object as core types."""
    results = tuple(
        Result(
            alternatives=tuple(_alternative(a) for a in result.get("alternatives", [])),
            result_end_time=_seconds(result.get("resultEndTime")),
            channel_tag=int(result.get("channelTag", 0)),
            language_code=str(result.get("languageCode", "")),
        )
        for result in body.get("results", [])
    )
    return Recognition(
        results=results,
        total_billed_seconds=round(_seconds(body.get("totalBilledTime"))),
        request_id=int(body.get("requestId", 0)),
    )


def _alternative(alternative: dict[str, Any]) -> Alternative:
    return Alternative(
        transcript=str(alternative.get("transcript", "")),
        confidence=float(alternative.get("confidence", 0.0)),
        words=tuple(
            WordInfo(
                word=str(word.get("word", "")),
                start_time=_seconds(word.get("startTime")),
                end_time=_seconds(word.get("endTime")),
                confidence=float(word.get("confidence", 0.0)),
                speaker=int(word["speakerTag"]) if word.get("speakerTag") else None,
            )
            for word in alternative.get("words", [])
        ),
    )


def _seconds(duration: object) -> float:
    """A proto3 JSON Duration ("1.300s") in seconds; 0 when absent."""
    return float(str(duration).removesuffix("s")) if duration else 0.0


def recognize_response(recognition: Recognition) -> dict[str, Any]:
    """A RecognizeResponse as ``json_format.MessageToDict`` writes it (defaults left out)."""
    body: dict[str, Any] = {}
    results = [_result_json(result) for result in recognition.results]
    if results:
        body["results"] = results
    body["totalBilledTime"] = _duration(recognition.total_billed_seconds)
    if recognition.request_id:
        body["requestId"] = str(recognition.request_id)  # int64: a string in proto3 JSON
    return body


def _result_json(result: Result) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.alternatives:
        body["alternatives"] = [_alternative_json(a) for a in result.alternatives]
    if result.channel_tag:
        body["channelTag"] = result.channel_tag
    if result.result_end_time:
        body["resultEndTime"] = _duration(result.result_end_time)
    if result.language_code:
        body["languageCode"] = result.language_code
    return body


def _alternative_json(alternative: Alternative) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if alternative.transcript:
        body["transcript"] = alternative.transcript
    if alternative.confidence:
        body["confidence"] = _float32(alternative.confidence)
    words = [_word_json(word) for word in alternative.words]
    if words:
        body["words"] = words
    return body


def _word_json(word: WordInfo) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if word.start_time or word.end_time:
        body["startTime"] = _duration(word.start_time)
        body["endTime"] = _duration(word.end_time)
    if word.word:
        body["word"] = word.word
    if word.confidence:
        body["confidence"] = _float32(word.confidence)
    if word.speaker is not None:
        body["speakerTag"] = word.speaker
        body["speakerLabel"] = str(word.speaker)
    return body


def _duration(seconds: float) -> str:
    """A proto3 JSON Duration: 0, 3, 6 or 9 fractional digits, as protobuf writes them."""
    total = round(seconds * 1_000_000_000)
    whole, nanos = divmod(total, 1_000_000_000)
    if nanos == 0:
        return f"{whole}s"
    for digits, unit in ((3, 1_000_000), (6, 1_000)):
        if nanos % unit == 0:
            return f"{whole}.{nanos // unit:0{digits}d}s"
    return f"{whole}.{nanos:09d}s"


def _float32(value: float) -> float:
    """``value`` as a proto ``float`` field holds it, in the shortest digits that round-trip."""
    stored = struct.unpack("<f", struct.pack("<f", value))[0]
    for digits in range(6, 10):
        shortest = float(f"{stored:.{digits}g}")
        if struct.pack("<f", shortest) == struct.pack("<f", stored):
            return shortest
    return float(stored)
