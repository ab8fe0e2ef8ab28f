"""Issue 11, finding 9: slow or stalled clients are timed out and connections are capped.
The body deadline in process; headers, bodies and the cap on a real server. (The fetch deadline
of http(s) audio is in test_ssrf.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import websockets
from google.cloud import speech_v1
from google.longrunning import operations_pb2

from hark.api.rest import BODY_TOO_SLOW
from hark.api.rpc_server import RpcServer
from hark.auth import ApiKeys
from hark.settings import Limits

from audio_samples import tone, wav_bytes
from conftest import Server, start_server
from cores import build_cores, rest_app
from fake_engine import FakeEngine

HEAD = (
    b"POST /v1/speech:recognize HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
)


def _scope(path: str, content_type: bytes = b"application/json") -> dict[str, Any]:
    return {
        "type": "http", "method": "POST", "path": path, "raw_path": b"", "query_string": b"",
        "headers": [(b"content-length", b"1000"), (b"host", b"localhost"),
                    (b"content-type", content_type)],
        "http_version": "1.1", "scheme": "http", "server": ("hark", 80), "client": ("1.2.3.4", 5),
    }  # fmt: skip


async def _stalled(app: Any, scope: dict[str, Any], first: bytes) -> list[MutableMapping[str, Any]]:
    """``app``'s answer to a client that sends ``first`` and then nothing more."""
    sent_first = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_first
        if not sent_first:
            sent_first = True
            return {"type": "http.request", "body": first, "more_body": True}
        await asyncio.sleep(3600)  # the client stalls
        raise AssertionError("unreachable")

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 30)  # a hang guard
    return sent


@pytest.mark.asyncio(loop_scope="session")
async def test_a_stalled_body_is_cut_at_the_deadline(tmp_path: Path) -> None:
    limits = Limits(request_timeout_seconds=0.3)
    cores = await build_cores(FakeEngine(["hello world"]), tmp_path, limits=limits)
    app = rest_app(cores, limits=limits)
    try:
        google = await _stalled(app, _scope("/v1/speech:recognize"), b'{"config":')
        form = b"multipart/form-data; boundary=xyz"
        openai = await _stalled(
            app, _scope("/v1/audio/transcriptions", form), b"--xyz\r\nContent-Disposition: form-da"
        )
    finally:
        await cores.close()
    assert google[0]["status"] == 504
    assert BODY_TOO_SLOW.encode() in google[1]["body"]
    assert openai[0]["status"] == 408


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("slow"),
        *("--request-timeout-seconds", "2", "--max-connections", "6"),
    )
    yield running
    running.stop()


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.slow
def test_stalled_bodies_and_headers_are_cut(strict_server: Server) -> None:
    with _connect(strict_server) as body:
        body.sendall(HEAD + b'{"config":')
        answer = _read_all(body)
    assert answer.startswith(b"HTTP/1.1 504"), answer[:200]
    with _connect(strict_server) as head:
        head.sendall(b"POST /v1/speech:recognize HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        assert _read_all(head) == b""  # closed by the server, without an answer
        assert time.monotonic() - started < 29  # the socket's own 30 s timeout did not fire


@pytest.mark.slow
def test_connections_are_capped(strict_server: Server) -> None:
    stalled = [_connect(strict_server) for _ in range(6)]
    try:
        for sock in stalled:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # headers never finished
        time.sleep(0.5)
        refused = httpx.get(f"{strict_server.url}/healthz", timeout=30)
        assert refused.status_code == 503
    finally:
        for sock in stalled:
            sock.close()
    deadline = time.monotonic() + 30
    while httpx.get(f"{strict_server.url}/healthz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover after the clients left"
        time.sleep(0.2)
    assert "Traceback" not in strict_server.log()


@pytest.mark.slow
async def test_the_header_deadline_spares_websockets_and_keep_alive(strict_server: Server) -> None:
    url = f"ws://127.0.0.1:{strict_server.port}/ws/v1/speech:streamingrecognize"
    async with websockets.connect(url) as stream:
        await asyncio.sleep(3)  # past the 2 s header deadline, inside the 15 s audio timeout
        await stream.send(json.dumps({"config": {"languageCode": "en-US"}}))
        await stream.send(b"")
        async for _ in stream:
            pass
    assert stream.close_code == 1000
    async with httpx.AsyncClient(base_url=strict_server.url, timeout=30) as client:
        for _ in range(2):  # one connection, reused within uvicorn's keep-alive
            assert (await client.get("/healthz")).status_code == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_grpc_calls_past_the_cap_are_refused_but_operation_polls_are_not(
    tmp_path: Path,
) -> None:
    cores = await build_cores(FakeEngine(["hello world"]), tmp_path)
    server = RpcServer(
        cores.recognizer, cores.long_running, cores.streaming, ApiKeys(()), Limits(), max_calls=1
    )
    port = await server.start("127.0.0.1", 0)
    request = speech_v1.RecognizeRequest(
        config={"language_code": "en-US"}, audio={"content": wav_bytes(tone(0.5))}
    )
    held = asyncio.Event()

    async def open_stream() -> AsyncIterator[speech_v1.StreamingRecognizeRequest]:
        config = {"config": {"language_code": "en-US", "encoding": "LINEAR16"}}
        yield speech_v1.StreamingRecognizeRequest(streaming_config=config)
        await held.wait()  # the stream stays open, holding the one place, until the test ends

    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            recognize = channel.unary_unary(
                "/google.cloud.speech.v1.Speech/Recognize",
                request_serializer=speech_v1.RecognizeRequest.serialize,
                response_deserializer=speech_v1.RecognizeResponse.deserialize,
            )
            get = channel.unary_unary(
                "/google.longrunning.Operations/GetOperation",
                request_serializer=operations_pb2.GetOperationRequest.SerializeToString,
                response_deserializer=operations_pb2.Operation.FromString,
            )
            stream = channel.stream_stream(
                "/google.cloud.speech.v1.Speech/StreamingRecognize",
                request_serializer=speech_v1.StreamingRecognizeRequest.serialize,
                response_deserializer=speech_v1.StreamingRecognizeResponse.deserialize,
            )(open_stream(), timeout=60)
            for _ in range(3000):  # a hang guard only
                if server.guard.serving == 1:
                    break
                await asyncio.sleep(0.01)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await recognize(request, timeout=30)
            with pytest.raises(grpc.aio.AioRpcError) as polled:
                await get(operations_pb2.GetOperationRequest(name="123"), timeout=30)
            held.set()
            async for _ in stream:
                pass
            assert server.guard.serving == 0
            assert (await recognize(request, timeout=30)).results  # the place is free again
    finally:
        await server.stop(1)
        await cores.close()
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.details().startswith("Hark is at capacity")  # Google's carry a message
    # A poll of an operation is answered (here: there is no such operation) while it is full.
    assert polled.value.code() is grpc.StatusCode.NOT_FOUND
