"""Issue 11, finding 5: an operation belongs to the key that created it; other keys get
NOT_FOUND for it (get, list, cancel, delete, wait), an admin key sees all. Keys may be named
(``name=secret``); the owner stored is that name or a hash, never the key. In process (REST and
gRPC over FakeEngine), then on a real server.
"""

from __future__ import annotations

import base64
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2

from hark.api.rpc_server import RpcServer
from hark.auth import ApiKeys, parse_key
from hark.settings import Limits
from hark.speech.types import AudioSource, RecognitionConfig

from audio_samples import tone, wav_bytes
from conftest import Server, start_server
from cores import Cores, build_cores, rest_app
from fake_engine import FakeEngine

session_loop = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

ALICE, BOB, ROOT = "alice-secret-1", "bob-secret-22", "root-secret-333"
KEYS = [f"alice={ALICE}", BOB]
ADMIN = [f"root={ROOT}"]
BODY = {
    "config": {"languageCode": "en-US"},
    "audio": {"content": base64.b64encode(wav_bytes(tone(0.5))).decode()},
}


def test_key_names() -> None:
    assert parse_key("alice=s3cret") == ("alice", "s3cret")
    name, secret = parse_key("AIzaSyPlainKey")
    assert secret == "AIzaSyPlainKey" and name.startswith("key-") and "AIza" not in name
    assert parse_key("abc==")[1] == "abc=="  # base64-looking keys stay whole: no name "abc"
    assert parse_key("=x")[1] == "=x"


@pytest.fixture
async def cores(tmp_path: Path) -> AsyncIterator[Cores]:
    built = await build_cores(FakeEngine(["hello world"]), tmp_path)
    yield built
    await built.close()


async def run_tenancy(client: httpx.AsyncClient | httpx.Client, data_dir: Path) -> None:
    """The same checks in process and on a real server (sync or async client)."""

    async def call(method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        answer = client.request(method, f"{path}?key={key}", **kwargs)
        return await answer if not isinstance(answer, httpx.Response) else answer

    created = await call("POST", "/v1/speech:longrunningrecognize", ALICE, json=BODY)
    assert created.status_code == 200, created.text
    name = created.json()["name"]
    op = f"/v1/operations/{name}"
    assert (await call("GET", op, ALICE)).status_code == 200
    assert (await call("GET", op, ROOT)).status_code == 200
    for method, path in (("GET", op), ("POST", op + ":cancel"), ("DELETE", op)):
        answer = await call(method, path, BOB)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["message"] == f"Operation not found: {name}"

    def names(answer: httpx.Response) -> list[str]:
        return [operation["name"] for operation in answer.json().get("operations", [])]

    assert name not in names(await call("GET", "/v1/operations", BOB))
    assert name in names(await call("GET", "/v1/operations", ALICE))
    assert name in names(await call("GET", "/v1/operations", ROOT))
    with contextlib.closing(sqlite3.connect(data_dir / "jobs.sqlite3")) as db:
        rows = db.execute("SELECT owner FROM jobs WHERE name = ?", (name,)).fetchall()
    assert rows == [("alice",)]
    stored = b"".join(path.read_bytes() for path in data_dir.glob("jobs.sqlite3*"))
    assert ALICE.encode() not in stored
    assert (await call("DELETE", op, ROOT)).status_code == 200


@session_loop
async def test_rest_operations_belong_to_their_key(cores: Cores, tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=rest_app(cores, ApiKeys(KEYS, ADMIN)))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        await run_tenancy(client, tmp_path)


@session_loop
async def test_grpc_operations_belong_to_their_key(cores: Cores) -> None:
    server = RpcServer(
        cores.recognizer, cores.long_running, cores.streaming, ApiKeys(KEYS, ADMIN), Limits()
    )
    port = await server.start("127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            config = RecognitionConfig(language_code="en-US")
            source = AudioSource(content=wav_bytes(tone(0.5)))
            job = await cores.long_running.submit("v1", config, source, owner="alice")
            get = channel.unary_unary(
                "/google.longrunning.Operations/GetOperation",
                request_serializer=operations_pb2.GetOperationRequest.SerializeToString,
                response_deserializer=operations_pb2.Operation.FromString,
            )
            request = operations_pb2.GetOperationRequest(name=job.name)
            for key, code in ((ALICE, None), (ROOT, None), (BOB, grpc.StatusCode.NOT_FOUND)):
                try:
                    await get(request, metadata=[("x-goog-api-key", key)])
                    assert code is None, key
                except grpc.aio.AioRpcError as error:
                    assert error.code() == code, key
            listing = channel.unary_unary(
                "/google.longrunning.Operations/ListOperations",
                request_serializer=operations_pb2.ListOperationsRequest.SerializeToString,
                response_deserializer=operations_pb2.ListOperationsResponse.FromString,
            )
            bobs = await listing(
                operations_pb2.ListOperationsRequest(), metadata=[("x-goog-api-key", BOB)]
            )
            assert not bobs.operations
    finally:
        await server.stop(1)


@pytest.fixture(scope="module")
def tenant_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("tenancy"),
        *("--api-key", KEYS[0], "--api-key", KEYS[1], "--admin-key", ADMIN[0]),
    )
    yield running
    running.stop()


@pytest.mark.slow
async def test_real_server_keeps_tenants_apart(tenant_server: Server) -> None:
    with httpx.Client(base_url=tenant_server.url, timeout=60) as client:
        await run_tenancy(client, tenant_server.data_dir)
