"""The OpenAI routes in process over a fake engine: what reaches the engine, and every refusal.

The fake recognises nothing; these tests check plumbing (fields -> decode options, translation
on a multilingual model, error shapes and limits). Recognition is tested on a real server in
``test_openai.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hark.auth import ApiKeys
from hark.engine import DecodeOptions, ModelInfo, Samples, Transcript
from hark.settings import Limits

from audio_samples import tone, wav_bytes
from cores import build_cores, rest_app
from fake_engine import FakeEngine

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

WAV = wav_bytes(tone(3.0))
MULTILINGUAL = ModelInfo("small", multilingual=True, languages=frozenset({"en", "fr", "de"}))


class RecordingEngine(FakeEngine):
    """The fake, keeping the decode options of every call."""

    def __init__(self, script: list[str], info: ModelInfo) -> None:
        super().__init__(script, info=info)
        self.options: list[DecodeOptions] = []

    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        self.options.append(options)
        return super().transcript(samples, options)


async def in_process(
    data_dir: Path, engine: FakeEngine, limits: Limits | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    cores = await build_cores(engine, data_dir, limits=limits)
    app = rest_app(cores, ApiKeys(("k",)), limits)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hark", headers={"Authorization": "Bearer k"}
    ) as client:
        yield client
    await cores.close()


@pytest.fixture
def engine() -> RecordingEngine:
    return RecordingEngine(["bonjour tout le monde"], MULTILINGUAL)


@pytest.fixture
async def http(tmp_path: Path, engine: RecordingEngine) -> AsyncIterator[httpx.AsyncClient]:
    async for client in in_process(tmp_path, engine):
        yield client


async def post(http: httpx.AsyncClient, path: str, **fields: Any) -> httpx.Response:
    files = {"file": ("a.wav", WAV)} if "file" not in fields else {"file": fields.pop("file")}
    data = {"model": "whisper-1", **fields}
    return await http.post(path, files=files, data=data)


async def test_translation_on_a_multilingual_model(
    http: httpx.AsyncClient, engine: RecordingEngine
) -> None:
    reply = await post(http, "/v1/audio/translations", response_format="verbose_json", prompt="Hi.")
    assert reply.json()["text"] == "bonjour tout le monde"  # the fake's script
    assert engine.options[-1].task == "translate" and engine.options[-1].language is None
    assert engine.options[-1].initial_prompt == "Hi."
    assert reply.json()["task"] == "translate" and reply.json()["language"] == "english"


async def test_fields_reach_the_engine(http: httpx.AsyncClient, engine: RecordingEngine) -> None:
    reply = await post(
        http, "/v1/audio/transcriptions", language="fr", temperature="0.4", prompt="Allô."
    )
    assert reply.status_code == 200, reply.text
    used = engine.options[-1]
    assert (used.language, used.temperature, used.initial_prompt) == ("fr", 0.4, "Allô.")
    assert used.task == "transcribe"


async def test_language_is_detected_when_not_given(
    http: httpx.AsyncClient, engine: RecordingEngine
) -> None:
    reply = await post(http, "/v1/audio/transcriptions", response_format="verbose_json")
    assert engine.options[-1].language is None
    assert reply.json()["language"] == "english"  # the fake "detects" English


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"temperature": "2"}, "temperature", "invalid_value"),
        ({"stream": "maybe"}, "stream", "invalid_value"),
        ({"stream": "true", "response_format": "srt"}, "stream", None),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities[]", None),
        ({"timestamp_granularities[]": "page", "response_format": "verbose_json"},
         "timestamp_granularities[]", "invalid_value"),
        ({"chunking_strategy": "fixed"}, "chunking_strategy", "invalid_value"),
        ({"model": ""}, "model", "missing_required_parameter"),
        ({"speaker": "1"}, "speaker", "unknown_parameter"),
        ({"language": "xx"}, "language", "unsupported_language"),
        ({"file": ("a.txt", b"plain text")}, "file", "invalid_value"),
        ({"file": ("a.wav", b"")}, "file", "invalid_value"),
        ({"file": (None, "not a file")}, "file", None),
    ],
)  # fmt: skip
async def test_refusals(
    http: httpx.AsyncClient, fields: dict[str, Any], param: str, code: str | None
) -> None:
    reply = await post(http, "/v1/audio/transcriptions", **fields)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


async def test_translations_take_no_language(http: httpx.AsyncClient) -> None:
    reply = await post(http, "/v1/audio/translations", language="fr")
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "unknown_parameter"


async def test_body_that_is_not_a_form(http: httpx.AsyncClient) -> None:
    reply = await http.post("/v1/audio/transcriptions", json={"model": "whisper-1"})
    assert reply.status_code == 400 and "multipart/form-data" in reply.json()["error"]["message"]


async def test_wrong_method_and_unknown_path_are_openai_errors(http: httpx.AsyncClient) -> None:
    reply = await http.get("/v1/audio/transcriptions")
    assert reply.status_code == 405 and reply.json()["error"]["type"] == "invalid_request_error"
    reply = await http.post("/v1/audio/speech")
    assert reply.status_code == 404 and "Invalid URL" in reply.json()["error"]["message"]


async def test_google_routes_keep_googles_errors(http: httpx.AsyncClient) -> None:
    reply = await http.get("/v1/speech:recognize")
    assert reply.json()["error"]["status"] == "UNIMPLEMENTED"


async def test_keys_in_any_of_the_accepted_places(http: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": "Bearer k"}, {"x-goog-api-key": "k"}):
        reply = await http.get("/v1/models", headers=headers)
        assert reply.status_code == 200
    reply = await http.get("/v1/models", headers={"Authorization": "Bearer nope"})
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_api_key"
    assert "nope" not in reply.text


async def test_file_limit_is_the_setting(tmp_path: Path, engine: RecordingEngine) -> None:
    limits = Limits(openai_max_file_bytes=len(WAV) - 1)
    async for http in in_process(tmp_path, engine, limits):
        reply = await post(http, "/v1/audio/transcriptions")
        assert reply.status_code == 413 and reply.json()["error"]["param"] == "file"
        big = b"x" * (len(WAV) + (2 << 20))  # refused by its declared length, unread
        reply = await post(http, "/v1/audio/transcriptions", file=("b.wav", big))
        assert reply.status_code == 413
    assert not engine.options


async def test_the_duration_cap_is_checked_before_a_stream_starts(
    tmp_path: Path, engine: RecordingEngine
) -> None:
    async for http in in_process(tmp_path, engine, Limits(openai_max_seconds=2.0)):
        reply = await post(http, "/v1/audio/transcriptions", stream="true")
        assert reply.status_code == 400 and reply.json()["error"]["code"] == "audio_too_long"


async def test_stream_events(http: httpx.AsyncClient) -> None:
    reply = await post(http, "/v1/audio/transcriptions", model="gpt-4o-transcribe", stream="true")
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in reply.text.splitlines() if line]
    assert [e["type"] for e in events] == ["transcript.text.delta", "transcript.text.done"]
    assert events[0]["delta"] == events[1]["text"] == "bonjour tout le monde"
