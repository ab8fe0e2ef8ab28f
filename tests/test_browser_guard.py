"""Issue 11, finding 6: web pages cannot drive a Hark on localhost through the operator's browser:
``Host`` checked (DNS rebinding), JSON refused as cross-site "simple" body types (a body with no
Content-Type stays accepted), WebSocket origins checked. In process, then on a real server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hark.api.browser import BrowserPolicy
from hark.api.rest import RestApi
from hark.api.rest_operations import OperationRoutes
from hark.api.websocket import StreamingSocket
from hark.auth import ApiKeys
from hark.settings import Limits

from conftest import Server, start_server
from cores import Cores, build_cores
from fake_engine import FakeEngine

session_loop = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

BODY = json.dumps({"config": {"languageCode": "en-US"}, "audio": {"content": ""}})
LOCAL = BrowserPolicy.for_server("127.0.0.1", allowed_origins=["https://console.example"])


def test_policy_decisions() -> None:
    for host in ("localhost:8080", "127.0.0.1:1", "[::1]:8080", "LOCALHOST.", "localhost"):
        assert LOCAL.host_allowed(host), host
    for host in ("evil.example:8080", "127.0.0.1.evil.example", "", "0.0.0.0:8080"):
        assert not LOCAL.host_allowed(host), host
    assert BrowserPolicy.for_server("0.0.0.0").host_allowed("anything.example")
    listed = BrowserPolicy.for_server("0.0.0.0", ["hark.lan"])
    assert listed.host_allowed("hark.lan:8080") and not listed.host_allowed("evil.example")
    assert LOCAL.origin_allowed(None, "localhost:8080")  # a script
    assert LOCAL.origin_allowed("http://localhost:8080", "localhost:8080")  # the server's own page
    assert LOCAL.origin_allowed("https://console.example", "localhost:8080")
    for origin in ("https://evil.example", "null", "http://localhost:3000"):
        assert not LOCAL.origin_allowed(origin, "localhost:8080"), origin


def app_over(cores: Cores) -> object:
    rest = RestApi(cores.recognizer, ApiKeys(()), Limits(), LOCAL)
    socket = StreamingSocket(cores.streaming, ApiKeys(()), LOCAL)
    return rest.app([*OperationRoutes(rest, cores.long_running).routes(), *socket.routes()])


@pytest.fixture
async def cores(tmp_path: Path) -> AsyncIterator[Cores]:
    built = await build_cores(FakeEngine(["hello world"]), tmp_path)
    yield built
    await built.close()


@session_loop
async def test_rest_host_and_content_type(cores: Cores) -> None:
    transport = httpx.ASGITransport(app=app_over(cores))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8080") as client:
        url = "/v1/speech:recognize"
        rebound = await client.post(url, content=BODY, headers={"Host": "evil.example:8080"})
        assert rebound.status_code == 400
        assert rebound.json()["error"]["status"] == "INVALID_ARGUMENT"
        listing = await client.get("/v1/operations", headers={"Host": "evil.example"})
        assert listing.status_code == 400
        for simple in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; b=x",
        ):
            answer = await client.post(url, content=BODY, headers={"Content-Type": simple})
            assert answer.status_code == 400, simple
            assert "Content-Type" in answer.json()["error"]["message"]
        # Scripts: JSON typed, or (the seed tutorial's requests.post(data=...)) no type at all.
        for headers in ({"Content-Type": "application/json"}, {}):
            answer = await client.post(url, content=BODY, headers=headers)
            assert answer.status_code != 400 or "Content-Type" not in answer.text, answer.text
            assert answer.status_code < 500


@session_loop
async def test_websocket_origins(cores: Cores) -> None:
    with TestClient(app_over(cores), base_url="http://localhost:8080") as client:  # type: ignore[arg-type]
        path = "/ws/v1/speech:streamingrecognize"
        host = {"Host": "localhost:8080"}  # the test client's own would be "testserver"
        evil = {**host, "Origin": "https://evil.example"}
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(path, headers=evil),
        ):
            pass
        assert refused.value.code == 1008
        for headers in (
            {},
            {"Origin": "http://localhost:8080"},
            {"Origin": "https://console.example"},
        ):
            with client.websocket_connect(path, headers={**host, **headers}) as socket:
                socket.send_text(json.dumps({"config": {"languageCode": "en-US"}}))
                socket.send_bytes(b"")
                while True:  # the stream ends normally: accepted
                    try:
                        socket.receive_json()
                    except WebSocketDisconnect as ended:
                        assert ended.code == 1000
                        break


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("browser"))
    yield running
    running.stop()


@pytest.mark.slow
async def test_real_server_refuses_rebinding_simple_bodies_and_foreign_origins(
    local_server: Server,
) -> None:
    url = f"{local_server.url}/v1/operations"
    assert httpx.get(url, timeout=30).status_code == 200
    assert httpx.get(url, headers={"Host": "rebound.example:8080"}, timeout=30).status_code == 400
    plain = httpx.post(
        f"{local_server.url}/v1/speech:recognize",
        content=BODY,
        headers={"Content-Type": "text/plain"},
        timeout=30,
    )
    assert plain.status_code == 400
    ws = f"ws://127.0.0.1:{local_server.port}/ws/v1/speech:streamingrecognize"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(ws, origin=websockets.Origin("https://evil.example")):
            pass
    own = websockets.Origin(f"http://127.0.0.1:{local_server.port}")
    async with websockets.connect(ws, origin=own) as socket:
        await socket.send(json.dumps({"config": {"languageCode": "en-US"}}))
        await socket.send(b"")
        async for _ in socket:
            pass


@pytest.mark.slow
def test_real_server_refuses_a_cross_site_openai_form(local_server: Server) -> None:
    """A keyless server on localhost: a page elsewhere posts a multipart form (no preflight)."""

    def post(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(
            f"{local_server.url}/v1/audio/transcriptions",
            files={"file": ("a.wav", b"RIFF")},
            data={"model": "whisper-1"},
            headers=headers,
            timeout=30,
        )

    foreign = post({"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "origin_not_allowed"
    # The same form from the server's own pages, or from a script, is read (and this one is
    # not audio: OpenAI's 400 about the file, not the origin).
    own = {"Origin": f"http://127.0.0.1:{local_server.port}"}
    for headers in (own, {}):
        reply = post(headers)
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "file", reply.text
