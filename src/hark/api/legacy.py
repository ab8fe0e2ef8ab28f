"""Google's retired v1beta1 REST surface, translated onto v1.

v1beta1 differs in names only (``sampleRate``, a singular ``speechContext``, ``syncrecognize``)
plus a few rules: ``encoding`` and ``sampleRate`` are required, ``languageCode`` defaults to
en-US, audio is mono, and results carry only transcripts and confidences.
"""

from __future__ import annotations

from typing import Any

from hark.errors import InvalidArgument, invalid_config

# v1beta1 name (either spelling) -> v1 JSON name.
_CONFIG_FIELDS = {
    "encoding": "encoding",
    "sampleRate": "sampleRateHertz",
    "sample_rate": "sampleRateHertz",
    "languageCode": "languageCode",
    "language_code": "languageCode",
    "maxAlternatives": "maxAlternatives",
    "max_alternatives": "maxAlternatives",
    "profanityFilter": "profanityFilter",
    "profanity_filter": "profanityFilter",
    "speechContext": "speechContexts",
    "speech_context": "speechContexts",
}
_ENCODINGS = {"LINEAR16": 1, "FLAC": 2, "MULAW": 3, "AMR": 4, "AMR_WB": 5}
_REQUEST_FIELDS = {"config", "audio"}


def v1_request(document: dict[str, Any]) -> dict[str, Any]:
    """A v1 ``RecognizeRequest`` JSON object from a v1beta1 ``SyncRecognizeRequest`` one."""
    for name in document:
        if name not in _REQUEST_FIELDS:
            raise _unknown(name, "")
    config = document.get("config")
    if not isinstance(config, dict):
        raise invalid_config("request must contain 'config' field")
    translated: dict[str, Any] = {"languageCode": "en-US"}
    for name, value in config.items():
        if name not in _CONFIG_FIELDS:
            raise _unknown(name, "config")
        translated[_CONFIG_FIELDS[name]] = value
    if "speechContexts" in translated:
        translated["speechContexts"] = [translated["speechContexts"]]
    _require_encoding_and_rate(translated)
    return {"config": translated, "audio": document.get("audio")}


def _require_encoding_and_rate(config: dict[str, Any]) -> None:
    encoding = config.get("encoding")
    if encoding not in _ENCODINGS and encoding not in _ENCODINGS.values():
        raise invalid_config("bad encoding.", field="encoding")
    if not config.get("sampleRateHertz"):
        raise invalid_config("bad sample rate hertz", field="sampleRate")


def legacy_response(v1_response: dict[str, Any]) -> dict[str, Any]:
    """The v1beta1 ``SyncRecognizeResponse`` shape of a v1 ``RecognizeResponse`` JSON."""
    results = [
        {
            "alternatives": [
                {
                    key: value
                    for key, value in alternative.items()
                    if key in {"transcript", "confidence"}
                }
                for alternative in result.get("alternatives", [])
            ]
        }
        for result in v1_response.get("results", [])
    ]
    return {"results": results} if results else {}


def _unknown(name: str, owner: str) -> InvalidArgument:
    where = f" at '{owner}'" if owner else ""
    return InvalidArgument(
        f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    )


_LEGACY_TYPE = "type.googleapis.com/google.cloud.speech.v1beta1."
_METADATA_FIELDS = ("progressPercent", "startTime", "lastUpdateTime")


def legacy_operation(v1_operation: dict[str, Any]) -> dict[str, Any]:
    """The v1beta1 shape of a v1 Operation JSON: ``AsyncRecognizeMetadata`` (no ``uri``) and
    ``AsyncRecognizeResponse`` (results only), which the installed library has no classes for."""
    legacy = dict(v1_operation)
    if "metadata" in legacy:
        metadata = legacy["metadata"]
        legacy["metadata"] = {
            "@type": _LEGACY_TYPE + "AsyncRecognizeMetadata",
            **{key: metadata[key] for key in _METADATA_FIELDS if key in metadata},
        }
    if "response" in legacy:
        legacy["response"] = {
            "@type": _LEGACY_TYPE + "AsyncRecognizeResponse",
            **legacy_response(legacy["response"]),
        }
    return legacy
