"""Bad input over REST: Google's status, code and wording, never a 500."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from conftest import Server, corpus_file

pytestmark = pytest.mark.slow

FLAC = corpus_file("en_librispeech_1089-134686-0001.flac").read_bytes()
CONTENT = base64.b64encode(FLAC).decode()


def post(
    server: Server, body: Any, path: str = "/v1/speech:recognize", **kwargs: Any
) -> httpx.Response:
    if isinstance(body, (bytes, str)):
        return httpx.post(f"{server.url}{path}", content=body, timeout=60, **kwargs)
    return httpx.post(f"{server.url}{path}", json=body, timeout=60, **kwargs)


def error(response: httpx.Response, http_status: int, status: str) -> str:
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()["error"]
    assert body["code"] == http_status
    assert body["status"] == status
    return str(body["message"])


def bad(server: Server, config: dict[str, Any], content: str = CONTENT) -> str:
    response = post(server, {"config": config, "audio": {"content": content}})
    return error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"config": ', "Invalid JSON payload received."),
        (b"[1, 2]", "Invalid JSON payload received."),
        (
            {"config": {"languageCode": "en-US", "speakerCount": 2}, "audio": {"content": CONTENT}},
            "Invalid JSON payload received. Unknown name \"speakerCount\" at 'config': Cannot find field.",
        ),
        (
            {
                "config": {"languageCode": "en-US", "encoding": "LINEAR16----"},
                "audio": {"content": CONTENT},
            },
            "Invalid value at 'config.encoding' (TYPE_ENUM), \"LINEAR16----\"",
        ),
        (
            {"config": {"languageCode": "en-US"}, "audio": {"content": "not base64 !!"}},
            "Base64 decoding failed",
        ),
        (
            {"audio": {"content": CONTENT}},
            "Invalid recognition 'config': request must contain 'config' field.",
        ),
        ({"config": {"languageCode": "en-US"}}, "RecognitionAudio not set."),
        ({"config": {"languageCode": "en-US"}, "audio": {}}, "RecognitionAudio not set."),
    ],
)
def test_malformed_requests(server: Server, body: Any, message: str) -> None:
    assert message in error(post(server, body), 400, "INVALID_ARGUMENT")


def test_bad_enum_carries_a_field_violation(server: Server) -> None:
    response = post(
        server,
        {"config": {"encoding": "NOPE", "languageCode": "en-US"}, "audio": {"content": CONTENT}},
    )
    (detail,) = response.json()["error"]["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert detail["fieldViolations"][0]["field"] == "config.encoding"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"languageCode": "english"}, "Invalid recognition 'config': bad language code."),
        (
            {"languageCode": "fr-FR"},
            "The requested model is currently not supported for language : fr-FR.",
        ),
        (
            {"languageCode": "en-US", "alternativeLanguageCodes": ["de-DE"]},
            "not supported for language : de-DE.",
        ),
        ({}, "language_code is required"),
        (
            {"languageCode": "en-US", "maxAlternatives": 31},
            "max_alternatives must be between 0 and 30",
        ),
        (
            {"languageCode": "en-US", "maxAlternatives": -1},
            "max_alternatives must be between 0 and 30",
        ),
        (
            {"languageCode": "en-US", "diarizationConfig": {"enableSpeakerDiarization": True}},
            "diarization",
        ),
        (
            {"languageCode": "en-US", "model": "medical_dictation"},
            "not supported for language : en-US.",
        ),
        ({"languageCode": "en-US", "model": "nonsense"}, "unknown model 'nonsense'"),
        ({"languageCode": "en-US", "enableSpokenEmojis": True}, "spoken emojis"),
        (
            {"languageCode": "en-US", "encoding": "FLAC", "sampleRateHertz": 8000},
            "match the value in the FLAC header (16000)",
        ),
        (
            {
                "languageCode": "en-US",
                "encoding": "LINEAR16",
                "sampleRateHertz": 16000,
                "audioChannelCount": 9,
            },
            "channel count",
        ),
        (
            {"languageCode": "en-US", "speechContexts": [{"phrases": ["x" * 101]}]},
            "longer than 100 characters",
        ),
        (
            {
                "languageCode": "en-US",
                "adaptation": {"phraseSetReferences": ["projects/p/locations/global/phraseSets/s"]},
            },
            "define phrase sets inline",
        ),
    ],
)
def test_config_refusals(server: Server, config: dict[str, Any], message: str) -> None:
    assert message in bad(server, config)


def test_garbage_audio_is_bad_encoding(server: Server) -> None:
    garbage = base64.b64encode(bytes(range(256)) * 40).decode()
    message = bad(server, {"languageCode": "en-US", "encoding": "FLAC"}, garbage)
    assert message == "Invalid recognition 'config': bad encoding.."
    message = bad(server, {"languageCode": "en-US"}, garbage)
    assert message == "Invalid recognition 'config': bad encoding.."


def test_aac_sent_as_mp3_is_refused(server: Server) -> None:
    m4a = base64.b64encode(corpus_file("en_librispeech_1272-128104-0000.m4a").read_bytes()).decode()
    assert "bad encoding" in bad(server, {"languageCode": "en-US", "encoding": "MP3"}, m4a)


def test_stereo_wav_needs_a_channel_count(server: Server) -> None:
    stereo = base64.b64encode(corpus_file("stereo_en_call_8k_turns.wav").read_bytes()).decode()
    message = bad(server, {"languageCode": "en-US"}, stereo)
    assert message == "Must use single channel (mono) audio, but WAV header indicates 2 channels."


def test_sync_audio_over_a_minute(server: Server) -> None:
    long = base64.b64encode(corpus_file("long_en_multispeaker_16k.wav").read_bytes()).decode()
    message = bad(server, {"languageCode": "en-US"}, long)
    assert message == (
        "Sync input too long. For audio longer than 1 min use LongRunningRecognize with a 'uri' parameter."
    )


def test_payload_over_the_limit(server: Server) -> None:
    huge = base64.b64encode(bytes(10_485_761)).decode()
    message = bad(
        server, {"languageCode": "en-US", "encoding": "LINEAR16", "sampleRateHertz": 16000}, huge
    )
    assert message == "Request payload size exceeds the limit: 10485760 bytes."


def test_unknown_route_and_method(server: Server) -> None:
    assert "not found" in error(post(server, {}, "/v1/speech:nonsense"), 404, "NOT_FOUND")
    assert error(post(server, {}, "/v2/speech:recognize"), 404, "NOT_FOUND")
    response = httpx.get(f"{server.url}/v1/speech:recognize", timeout=10)
    error(response, 501, "UNIMPLEMENTED")


def test_api_keys(keyed_server: Server) -> None:
    body = {"config": {"languageCode": "en-US"}, "audio": {"content": CONTENT}}
    missing = post(keyed_server, body)
    assert error(missing, 403, "PERMISSION_DENIED") == "The request is missing a valid API key."
    wrong = post(keyed_server, body, params={"key": "nope"})
    assert (
        error(wrong, 400, "INVALID_ARGUMENT") == "API key not valid. Please pass a valid API key."
    )
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert post(keyed_server, body, params={"key": "test-key"}).status_code == 200
    assert post(keyed_server, body, headers={"x-goog-api-key": "test-key"}).status_code == 200
    assert httpx.get(f"{keyed_server.url}/healthz").status_code == 200
