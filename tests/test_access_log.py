"""The access log over FakeEngine: one ``hark.access`` line per REST call and WebSocket
stream, with its status and Google's message, and never the API key (gRPC's lines are tested
in test_grpc_transport.py, where in-process gRPC servers live)."""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from hark.api.access import Call
from hark.api.metrics import Metrics
from hark.api.rest import RestApi
from hark.api.websocket import StreamingSocket
from hark.auth import ApiKeys
from hark.engine.pool import EnginePool
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.session import StreamingRecognizer

from audio_samples import tone, wav_bytes
from fake_engine import FakeEngine

KEY = "sekrit-key-1234"
WRONG = "wrong-key-5678"
WAV = wav_bytes(tone(1.0))
BODY = {
    "config": {"languageCode": "en-US"},
    "audio": {"content": base64.b64encode(WAV).decode()},
}


def make_recognizer() -> tuple[Recognizer, EnginePool]:
    engine = FakeEngine(["hello world"])
    pool = EnginePool(engine, workers=1, max_queue=8)
    return Recognizer(pool, engine.info, Limits()), pool


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="hark.access")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The access log lines captured."""
    return [r.getMessage() for r in caplog.records if r.name == "hark.access"]


async def test_rest_lines(access: pytest.LogCaptureFixture) -> None:
    recognizer, pool = make_recognizer()
    app = RestApi(recognizer, ApiKeys((KEY,)), Limits()).app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hark") as client:
        good = await client.post(f"/v1/speech:recognize?key={KEY}", json=BODY)
        bad = await client.post(f"/v1/speech:recognize?key={KEY}", content=b"{not json")
        wrong = await client.post(f"/v1/speech:recognize?key={WRONG}", json=BODY)
        missing = await client.post("/v1/speech:recognize", json=BODY)
        await client.get("/healthz")
    await pool.close()
    assert [good.status_code, bad.status_code, wrong.status_code, missing.status_code] == [
        200,
        400,
        400,
        403,
    ]
    logged = lines(access)
    assert len(logged) == 4, logged  # /healthz is at debug level
    request_id = good.json()["requestId"]
    assert logged[0].startswith("REST POST /v1/speech:recognize 200 ")
    assert f"request_id={request_id}" in logged[0] and " audio=" in logged[0]
    assert logged[1].startswith("REST POST /v1/speech:recognize 400 ")
    assert f'error="{bad.json()["error"]["message"]}"' in logged[1]
    assert 'error="API key not valid. Please pass a valid API key."' in logged[2]
    assert logged[3].startswith("REST POST /v1/speech:recognize 403 ")
    assert KEY not in access.text and WRONG not in access.text


def test_websocket_line(access: pytest.LogCaptureFixture) -> None:
    recognizer, _ = make_recognizer()  # no engine call: the key is refused first
    socket = StreamingSocket(StreamingRecognizer(recognizer, slots=1), ApiKeys((KEY,)))
    app = RestApi(recognizer, ApiKeys((KEY,)), Limits()).app(socket.routes())
    path = "/ws/v1/speech:streamingrecognize"
    with TestClient(app) as client, client.websocket_connect(f"{path}?key={WRONG}") as ws:
        reply: Any = ws.receive_json()
    assert reply["error"]["status"] == "INVALID_ARGUMENT"
    logged = lines(access)
    assert len(logged) == 1 and logged[0].startswith(f"WebSocket {path} INVALID_ARGUMENT ")
    assert WRONG not in access.text


def test_a_client_that_leaves_is_cancelled_not_internal(access: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    method = "/google.cloud.speech.v1.Speech/StreamingRecognize"
    for gone in (asyncio.CancelledError(), GeneratorExit()):
        call = Call("gRPC", method, metrics, stream=True)
        call.failed(gone)
        call.done()
    assert [line.split()[2] for line in lines(access)] == ["CANCELLED", "CANCELLED"]
    sample = metrics.registry.get_sample_value
    labels = {"transport": "gRPC", "method": method, "code": "CANCELLED"}
    assert sample("hark_requests_total", labels) == 2
    assert sample("hark_active_streams", {"transport": "gRPC"}) == 0
