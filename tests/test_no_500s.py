"""Issue 11, finding 8: inputs that were 500s or INTERNAL/UNKNOWN, each now Google's 4xx or gRPC
code, with nothing logged above WARNING. In process over FakeEngine (REST over ASGI, gRPC on a
real channel), then the same probes against one real server, whose log is read afterwards.
"""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2

from hark.api.rpc_server import RpcServer
from hark.auth import ApiKeys
from hark.settings import Limits

from audio_samples import tone, wav_bytes
from conftest import Server, start_server
from cores import build_cores, rest_app
from fake_engine import FakeEngine

session_loop = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

KEY = "test-key"
DEEP = b'{"config": ' * 1000 + b"{}" + b"}" * 1000
HUGE_TOKEN = base64.urlsafe_b64encode(f"after:{2**64}".encode()).decode()
LONG_NAME = "a" * 300
WAV = base64.b64encode(wav_bytes(tone(0.5))).decode()

REST_PROBES: list[tuple[str, str, dict[str, Any], int]] = [
    # (method, path, httpx keyword arguments, expected status)
    ("POST", "/v1/speech:recognize?key=cl%C3%A9", {"json": {}}, 400),
    ("POST", f"/v1/speech:recognize?key={KEY}", {"content": DEEP}, 400),
    ("GET", f"/v1/operations?key={KEY}&pageToken={HUGE_TOKEN}", {}, 400),
    ("GET", f"/v1/operations?key={KEY}&pageToken=YWZ0ZXI6LTE=", {}, 400),  # after:-1
    (
        "POST",
        f"/v1/speech:recognize?key={KEY}",
        {"json": {"config": {"languageCode": "en-US"}, "audio": {"uri": f"gs://bkt/{LONG_NAME}"}}},
        404,
    ),
    (
        "POST",
        f"/v1/speech:longrunningrecognize?key={KEY}",
        {"json": {"config": {"languageCode": "en-US"}, "audio": {"uri": f"gs://bkt/{LONG_NAME}"}}},
        404,
    ),
    ("GET", f"/v1/operations/{LONG_NAME}?key={KEY}", {}, 404),
]


@pytest.fixture
async def rest(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    cores = await build_cores(FakeEngine(["hello world"]), tmp_path)
    (tmp_path / "buckets" / "bkt").mkdir(parents=True)
    transport = httpx.ASGITransport(app=rest_app(cores, ApiKeys([KEY])))
    async with httpx.AsyncClient(transport=transport, base_url="http://hark") as client:
        yield client
    await cores.close()


@session_loop
@pytest.mark.parametrize("probe", REST_PROBES)
async def test_rest_probe_is_a_4xx(
    rest: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, probe: tuple[Any, ...]
) -> None:
    method, path, kwargs, status = probe
    answer = await rest.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == status
    assert not [r for r in caplog.records if r.levelno > logging.WARNING]


@session_loop
async def test_client_gone_mid_upload_is_not_an_internal_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cores = await build_cores(FakeEngine(["hello world"]), tmp_path)
    app = rest_app(cores)
    scope = {
        "type": "http", "method": "POST", "path": "/v1/speech:recognize", "raw_path": b"",
        "query_string": b"", "headers": [(b"content-length", b"1000")], "http_version": "1.1",
        "scheme": "http", "server": ("hark", 80), "client": ("1.2.3.4", 5),
    }  # fmt: skip
    messages: Iterator[dict[str, Any]] = iter(
        [
            {"type": "http.request", "body": b'{"config":', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    await cores.close()
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelno > logging.WARNING]


@pytest.fixture
async def channel(tmp_path: Path) -> AsyncIterator[grpc.aio.Channel]:
    cores = await build_cores(FakeEngine(["hello world"]), tmp_path)
    server = RpcServer(
        cores.recognizer, cores.long_running, cores.streaming, ApiKeys([KEY]), Limits()
    )
    port = await server.start("127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as opened:
        yield opened
    await server.stop(1)
    await cores.close()


def raw_unary(channel: grpc.aio.Channel, method: str) -> Any:
    return channel.unary_unary(method, request_serializer=None, response_deserializer=None)


async def grpc_code(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


@session_loop
async def test_grpc_garbage_is_invalid_argument_after_the_key_check(
    channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    recognize = raw_unary(channel, "/google.cloud.speech.v1.Speech/Recognize")
    garbage = b"\xff\xff\xff\xff\x0f garbage"
    assert await grpc_code(recognize(garbage)) == grpc.StatusCode.PERMISSION_DENIED
    keyed = recognize(garbage, metadata=[("x-goog-api-key", KEY)])
    assert await grpc_code(keyed) == grpc.StatusCode.INVALID_ARGUMENT
    stream = channel.stream_stream(
        "/google.cloud.speech.v1.Speech/StreamingRecognize",
        request_serializer=None,
        response_deserializer=None,
    )

    async def messages() -> AsyncIterator[bytes]:
        yield garbage

    streamed = stream(messages(), metadata=[("x-goog-api-key", KEY)])
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        async for _ in streamed:
            pass
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not [r for r in caplog.records if r.levelno > logging.WARNING]


@session_loop
async def test_grpc_wait_with_any_timeout(channel: grpc.aio.Channel) -> None:
    wait = channel.unary_unary(
        "/google.longrunning.Operations/WaitOperation",
        request_serializer=operations_pb2.WaitOperationRequest.SerializeToString,
        response_deserializer=operations_pb2.Operation.FromString,
    )
    for seconds in (2**62, -(2**62)):
        request_wait = operations_pb2.WaitOperationRequest(
            name="12345", timeout=duration_pb2.Duration(seconds=seconds)
        )
        call = wait(request_wait, metadata=[("x-goog-api-key", KEY)], timeout=30)
        assert await grpc_code(call) == grpc.StatusCode.NOT_FOUND


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("no500")
    (tmp / "data" / "buckets" / "bkt").mkdir(parents=True)
    running = start_server(tmp, "--api-key", KEY)
    yield running
    running.stop()


@pytest.mark.slow
def test_real_server_answers_every_probe_without_an_error_log(real_server: Server) -> None:
    for method, path, kwargs, status in REST_PROBES:
        answer = httpx.request(method, real_server.url + path, timeout=60, **kwargs)
        assert answer.status_code == status, (path, answer.text)
    # A client that sends half a body, then leaves.
    with socket.create_connection(("127.0.0.1", real_server.port)) as sock:
        sock.sendall(
            b"POST /v1/speech:recognize HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"config":'
        )
    with grpc.insecure_channel(real_server.grpc_target) as sync_channel:
        recognize = sync_channel.unary_unary(
            "/google.cloud.speech.v1.Speech/Recognize",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.RpcError) as failed:
            recognize(b"\xff\xff\xff", metadata=[("x-goog-api-key", KEY)], timeout=30)
        assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        wait = sync_channel.unary_unary(
            "/google.longrunning.Operations/WaitOperation",
            request_serializer=operations_pb2.WaitOperationRequest.SerializeToString,
            response_deserializer=operations_pb2.Operation.FromString,
        )
        with pytest.raises(grpc.RpcError) as failed:
            wait(
                operations_pb2.WaitOperationRequest(
                    name="1", timeout=duration_pb2.Duration(seconds=2**62)
                ),
                metadata=[("x-goog-api-key", KEY)],
                timeout=30,
            )
        assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    httpx.get(real_server.url + "/healthz", timeout=10)  # the disconnect has been handled
    log = real_server.log()
    assert "Traceback" not in log
    assert " ERROR " not in log and " CRITICAL " not in log
