"""Bad input over REST: Google's status, code and wording, never a 500.

In process (httpx over ASGI) on the app ``hark serve`` runs, over FakeEngine: every refusal
here happens before or without the model, and the audio is made here, not read from a corpus.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hark.auth import ApiKeys
from hark.engine import DecodeOptions, Samples, Transcript

from audio_samples import encode, tone, wav_bytes
from cores import build_cores, rest_app
from fake_engine import FakeEngine

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

FLAC = encode(wav_bytes(tone(1.0)), "FLAC", 16000)
CONTENT = base64.b64encode(FLAC).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def in_process(
    data_dir: Path, engine: FakeEngine | None = None, keys: tuple[str, ...] = ()
) -> AsyncIterator[httpx.AsyncClient]:
    cores = await build_cores(engine or FakeEngine(["hello world"]), data_dir)
    app = rest_app(cores, ApiKeys(keys))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hark") as client:
        yield client
    await cores.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in in_process(tmp_path):
        yield client


@pytest.fixture
async def keyed_server(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in in_process(tmp_path, keys=("test-key",)):
        yield client


async def post(
    server: httpx.AsyncClient, body: Any, path: str = "/v1/speech:recognize", **kwargs: Any
) -> httpx.Response:
    if isinstance(body, (bytes, str)):
        return await server.post(path, content=body, **kwargs)
    return await server.post(path, json=body, **kwargs)


def error(response: httpx.Response, http_status: int, status: str) -> str:
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()["error"]
    assert body["code"] == http_status
    assert body["status"] == status
    return str(body["message"])


async def bad(server: httpx.AsyncClient, config: dict[str, Any], content: str = CONTENT) -> str:
    response = await post(server, {"config": config, "audio": {"content": content}})
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
async def test_malformed_requests(server: httpx.AsyncClient, body: Any, message: str) -> None:
    assert message in error(await post(server, body), 400, "INVALID_ARGUMENT")


async def test_bad_enum_carries_a_field_violation(server: httpx.AsyncClient) -> None:
    response = await post(
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
            {
                "languageCode": "en-US",
                "diarizationConfig": {
                    "enableSpeakerDiarization": True,
                    "minSpeakerCount": 3,
                    "maxSpeakerCount": 2,
                },
            },
            "min_speaker_count (3) must be less than or equal to max_speaker_count (2).",
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
            "phrase set 'projects/p/locations/global/phraseSets/s' was not found",
        ),
    ],
)
async def test_config_refusals(
    server: httpx.AsyncClient, config: dict[str, Any], message: str
) -> None:
    assert message in await bad(server, config)


async def test_garbage_audio_is_bad_encoding(server: httpx.AsyncClient) -> None:
    garbage = base64.b64encode(bytes(range(256)) * 40).decode()
    message = await bad(server, {"languageCode": "en-US", "encoding": "FLAC"}, garbage)
    assert message == "Invalid recognition 'config': bad encoding.."
    message = await bad(server, {"languageCode": "en-US"}, garbage)
    assert message == "Invalid recognition 'config': bad encoding.."


async def test_aac_sent_as_mp3_is_refused(server: httpx.AsyncClient) -> None:
    m4a = b64(encode(wav_bytes(tone(1.0)), "AAC_M4A", 16000))
    assert "bad encoding" in await bad(server, {"languageCode": "en-US", "encoding": "MP3"}, m4a)


async def test_stereo_wav_needs_a_channel_count(server: httpx.AsyncClient) -> None:
    stereo = b64(wav_bytes(tone(1.0, 8000, channels=2), rate=8000))
    message = await bad(server, {"languageCode": "en-US"}, stereo)
    assert message == "Must use single channel (mono) audio, but WAV header indicates 2 channels."


async def test_sync_audio_over_a_minute(server: httpx.AsyncClient) -> None:
    long = b64(wav_bytes(tone(61.0)))
    message = await bad(server, {"languageCode": "en-US"}, long)
    assert message == (
        "Sync input too long. For audio longer than 1 min use LongRunningRecognize with a 'uri' parameter."
    )


async def test_payload_over_the_limit(server: httpx.AsyncClient) -> None:
    huge = base64.b64encode(bytes(10_485_761)).decode()
    message = await bad(
        server, {"languageCode": "en-US", "encoding": "LINEAR16", "sampleRateHertz": 16000}, huge
    )
    assert message == "Request payload size exceeds the limit: 10485760 bytes."


async def test_unknown_route_and_method(server: httpx.AsyncClient) -> None:
    assert "not found" in error(await post(server, {}, "/v1/speech:nonsense"), 404, "NOT_FOUND")
    assert error(await post(server, {}, "/v2/speech:recognize"), 404, "NOT_FOUND")
    response = await server.get("/v1/speech:recognize")
    error(response, 501, "UNIMPLEMENTED")


async def test_api_keys(keyed_server: httpx.AsyncClient) -> None:
    body = {"config": {"languageCode": "en-US"}, "audio": {"content": CONTENT}}
    missing = await post(keyed_server, body)
    assert error(missing, 403, "PERMISSION_DENIED") == "The request is missing a valid API key."
    wrong = await post(keyed_server, body, params={"key": "nope"})
    assert (
        error(wrong, 400, "INVALID_ARGUMENT") == "API key not valid. Please pass a valid API key."
    )
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert (await post(keyed_server, body, params={"key": "test-key"})).status_code == 200
    assert (
        await post(keyed_server, body, headers={"x-goog-api-key": "test-key"})
    ).status_code == 200
    assert (await keyed_server.get("/healthz")).status_code == 200


class Broken(FakeEngine):
    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        raise RuntimeError("secret internals")


async def test_unexpected_error_is_internal_and_hidden(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async for client in in_process(tmp_path, Broken()):
        response = await post(
            client, {"config": {"languageCode": "en-US"}, "audio": {"content": CONTENT}}
        )
        assert error(response, 500, "INTERNAL") == "Internal error encountered."
        assert "secret" not in response.text
    assert "secret internals" in caplog.text  # logged with its traceback


async def test_recognize_and_long_running_answer(server: httpx.AsyncClient) -> None:
    body = {"config": {"languageCode": "en-US"}, "audio": {"content": CONTENT}}
    response = await post(server, body)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["alternatives"][0]["transcript"] == "hello world"
    started = await post(server, body, "/v1/speech:longrunningrecognize")
    name = started.json()["name"]
    operation = (await server.get(f"/v1/operations/{name}")).json()
    assert operation["name"] == name
    missing = await server.get("/v1/operations/7")
    error(missing, 404, "NOT_FOUND")
