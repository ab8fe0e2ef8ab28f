"""OpenAI's routes on a server with several models: each request goes to the model that serves
it (``openai_models``), and a cross-site form is refused. Fast, over fake engines that each
answer their own name (routing is plumbing); ``test_openai.py`` translates real speech.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from hark.api.browser import BrowserPolicy
from hark.api.openai import OpenAIApi
from hark.api.openai_errors import OpenAIError
from hark.api.openai_models import choose
from hark.auth import ApiKeys
from hark.engine import DecodeOptions, ModelInfo, Samples, Transcript
from hark.engine.pool import EnginePool
from hark.settings import Limits
from hark.speech.recognizer import Recognizer, Served

from audio_samples import tone, wav_bytes
from fake_engine import FakeEngine

on_loop = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

WAV = wav_bytes(tone(2.0))
LANGUAGES = frozenset({"en", "de", "fr", "ja", "zh"})
TINY_EN = ModelInfo("tiny.en", multilingual=False, languages=frozenset({"en"}), weight_bytes=40)
BASE = ModelInfo("base", multilingual=True, languages=LANGUAGES, weight_bytes=145)
SMALL = ModelInfo("small", multilingual=True, languages=LANGUAGES, weight_bytes=480)


class NamedEngine(FakeEngine):
    """Answers its model's name, and keeps the options of its calls."""

    def __init__(self, info: ModelInfo) -> None:
        super().__init__([info.name.replace(".", " ")], info=info)
        self.options: list[DecodeOptions] = []

    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        self.options.append(options)
        return super().transcript(samples, options)


async def serving(
    models: Sequence[ModelInfo], browser: BrowserPolicy | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, list[NamedEngine]]]:
    engines = [NamedEngine(info) for info in models]
    pools = [EnginePool(engine, workers=1, max_queue=8) for engine in engines]
    more = tuple(
        Served(pool, engine.info) for pool, engine in zip(pools[1:], engines[1:], strict=True)
    )
    recognizer = Recognizer(pools[0], engines[0].info, Limits(), more=more)
    app = Starlette(routes=OpenAIApi(recognizer, ApiKeys(()), Limits(), browser).routes())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as http:
        yield http, engines
    for pool in pools:
        await pool.close()


@pytest.fixture
async def two() -> AsyncIterator[tuple[httpx.AsyncClient, list[NamedEngine]]]:
    """Like ``make serve``: English on tiny.en first, every other language on base."""
    async for served in serving([TINY_EN, BASE], BrowserPolicy.for_server("127.0.0.1")):
        yield served


async def post(http: httpx.AsyncClient, path: str, **fields: Any) -> httpx.Response:
    headers = fields.pop("headers", {})
    data = {"model": "whisper-1", **fields}
    return await http.post(path, files={"file": ("a.wav", WAV)}, data=data, headers=headers)


@pytest.mark.parametrize(
    ("name", "language", "task", "index"),
    [
        ("whisper-1", "en", "transcribe", 0),  # English on the fast one, given first
        ("whisper-1", "de", "transcribe", 1),  # never to an English-only model
        ("whisper-1", "", "transcribe", 1),  # no language: a model that detects it
        ("whisper-1", "", "translate", 1),
        ("gpt-4o-transcribe", "en", "transcribe", 2),  # the most accurate that speaks it
        ("gpt-4o-mini-transcribe", "fr", "transcribe", 1),  # the fastest that speaks it
        ("gpt-4o-mini-transcribe", "", "transcribe", 1),
        ("gpt-4o-transcribe", "", "translate", 2),
        ("small", "en", "transcribe", 2),  # Hark's own name: that model
        ("tiny.en", "", "transcribe", 0),
    ],
)  # fmt: skip
def test_choose(name: str, language: str, task: str, index: int) -> None:
    assert choose(name, language, task, [TINY_EN, BASE, SMALL]) == index


def test_translation_refused_where_no_model_translates() -> None:
    with pytest.raises(OpenAIError) as raised:
        choose("whisper-1", "", "translate", [TINY_EN])
    assert (raised.value.status, raised.value.code) == (400, "model_not_supported")
    with pytest.raises(OpenAIError) as raised:
        choose("tiny.en", "", "translate", [TINY_EN, BASE])
    assert "tiny.en is English-only" in raised.value.message


@on_loop
async def test_requests_reach_the_model_that_serves_them(
    two: tuple[httpx.AsyncClient, list[NamedEngine]],
) -> None:
    http, (_, base) = two
    for language, expected in (("en", "tiny en"), ("de", "base"), ("", "base"), ("ja", "base")):
        reply = await post(http, "/v1/audio/transcriptions", language=language)
        assert reply.status_code == 200, reply.text
        assert reply.json()["text"] == expected, language
    assert base.options[-1].language == "ja" and base.options[-2].language is None
    reply = await post(http, "/v1/audio/transcriptions", model="tiny.en", language="de")
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "unsupported_language"
    assert "tiny.en, which is English-only" in reply.json()["error"]["message"]
    reply = await post(http, "/v1/audio/transcriptions", language="xh")
    assert reply.json()["error"]["message"] == (
        "Language 'xh' is not supported by any loaded model (tiny.en, base)."
    )


@on_loop
async def test_translation_goes_to_the_multilingual_model(
    two: tuple[httpx.AsyncClient, list[NamedEngine]],
) -> None:
    http, (tiny, base) = two
    reply = await post(http, "/v1/audio/translations", response_format="verbose_json")
    assert reply.status_code == 200, reply.text
    assert reply.json()["text"] == "base" and base.options[-1].task == "translate"
    assert not tiny.options


@on_loop
async def test_models_lists_what_is_loaded(
    two: tuple[httpx.AsyncClient, list[NamedEngine]],
) -> None:
    http, _ = two
    listed = [model["id"] for model in (await http.get("/v1/models")).json()["data"]]
    assert listed == ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "tiny.en", "base"]
    assert (await http.get("/v1/models/base")).status_code == 200
    assert (await http.get("/v1/models/small")).status_code == 404


@on_loop
async def test_english_only_server_refuses_translation_unread() -> None:
    async for http, (tiny,) in serving([TINY_EN]):
        reply = await post(http, "/v1/audio/translations")
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["code"] == "model_not_supported"
        assert "--model tiny.en --model base" in reply.json()["error"]["message"]
        assert not tiny.options


@on_loop
@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
async def test_a_cross_site_form_is_refused_before_it_is_read(
    two: tuple[httpx.AsyncClient, list[NamedEngine]], path: str
) -> None:
    http, engines = two
    reply = await post(http, path, headers={"Origin": "https://evil.example"})
    assert reply.status_code == 403, reply.text
    assert reply.json()["error"]["code"] == "origin_not_allowed"
    assert not any(engine.options for engine in engines)
    # The server's own pages, and scripts (no Origin), are served.
    own = await post(http, path, headers={"Origin": "http://127.0.0.1:8080"})
    assert own.status_code == 200, own.text
    assert (await post(http, path)).status_code == 200


@on_loop
async def test_an_allowed_origin_may_post() -> None:
    browser = BrowserPolicy.for_server("127.0.0.1", (), ("https://app.example",))
    async for http, _ in serving([BASE], browser):
        allowed = await post(
            http, "/v1/audio/transcriptions", headers={"Origin": "https://app.example"}
        )
        assert allowed.status_code == 200, allowed.text
        other = await post(
            http, "/v1/audio/transcriptions", headers={"Origin": "https://b.example"}
        )
        assert other.status_code == 403
