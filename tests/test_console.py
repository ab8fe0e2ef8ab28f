"""The console's server side, in process over a fake engine: its page and files are served (and
reference nothing off the server), and its upload route stores into the local bucket with the
API's guards, so a long file reaches LongRunningRecognize by ``gs://`` URI."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from hark.api.browser import BrowserPolicy
from hark.api.console import BUCKET, Console, static_dir
from hark.api.rest import RestApi
from hark.api.rest_operations import OperationRoutes
from hark.auth import ApiKeys
from hark.settings import Limits

from audio_samples import tone, wav_bytes
from cores import Cores, build_cores
from fake_engine import FakeEngine

session_loop = pytest.mark.asyncio(loop_scope="session")
KEY = "console-key"
HEADERS = {"x-goog-api-key": KEY, "Content-Type": "application/octet-stream"}
# What the browser tests find the controls by (the accessible names).
NAMES = ("Upload audio", "Start microphone", "Stop microphone", 'aria-label="Transcript"')


@pytest.fixture
async def cores(tmp_path: Path) -> AsyncIterator[Cores]:
    built = await build_cores(FakeEngine(["hello world"]), tmp_path)
    yield built
    await built.close()


def console_app(
    cores: Cores, buckets: Path, *, uploads: bool = True, max_bytes: int = 1 << 20
) -> Starlette:
    rest = RestApi(
        cores.recognizer, ApiKeys([KEY]), Limits(), BrowserPolicy.for_server("127.0.0.1")
    )
    console = Console(rest, buckets, uploads=uploads, max_bytes=max_bytes, keep_seconds=3600.0)
    return rest.app([*OperationRoutes(rest, cores.long_running).routes(), *console.routes()])


def client(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


@session_loop
async def test_page_and_files_are_served_from_the_server_alone(
    cores: Cores, tmp_path: Path
) -> None:
    async with client(console_app(cores, tmp_path / "buckets")) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for name in NAMES:
            assert name in page.text, name
        assert 'id="panel-operations"' in page.text
        files = sorted(static_dir().rglob("*.*"))
        assert len(files) >= 8
        for path in files:
            url = "/console/" + path.relative_to(static_dir()).as_posix()
            answer = await http.get(url)
            assert answer.status_code == 200, url
            # Nothing from a CDN: the server works offline.
            assert not re.search(r"(src|href)=\"(https?:)?//", answer.text), url
            assert not re.search(r"from \"(https?:)?//", answer.text), url
        for module in re.findall(r'from "\./([\w.]+)"', "".join(f.read_text() for f in files)):
            assert (static_dir() / "js" / module).is_file(), module
        missing = await http.get("/console/nothing.js")
        assert missing.status_code == 404
        assert missing.json()["error"]["status"] == "NOT_FOUND"


@session_loop
async def test_an_upload_is_recognised_by_uri(cores: Cores, tmp_path: Path) -> None:
    audio = wav_bytes(tone(2.0))
    async with client(console_app(cores, tmp_path / "buckets")) as http:
        uploaded = await http.post("/console/uploads", content=audio, headers=HEADERS)
        assert uploaded.status_code == 200, uploaded.text
        uri = uploaded.json()["uri"]
        assert uri.startswith(f"gs://{BUCKET}/") and uploaded.json()["bytes"] == len(audio)
        stored = tmp_path / "buckets" / BUCKET / uri.rpartition("/")[2]
        assert stored.read_bytes() == audio
        assert [p.name for p in stored.parent.iterdir()] == [stored.name]  # no part left
        body = {"config": {"languageCode": "en-US"}, "audio": {"uri": uri}}
        submitted = await http.post(
            "/v1/speech:longrunningrecognize", json=body, headers={"x-goog-api-key": KEY}
        )
        assert submitted.status_code == 200, submitted.text
        operation = submitted.json()
        deadline = time.monotonic() + 60  # a hang guard
        while not operation.get("done") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            reply = await http.get(
                f"/v1/operations/{operation['name']}", headers={"x-goog-api-key": KEY}
            )
            operation = reply.json()
        transcript = operation["response"]["results"][0]["alternatives"][0]["transcript"]
        assert transcript == "hello world"


@session_loop
async def test_uploads_have_the_api_guards(cores: Cores, tmp_path: Path) -> None:
    buckets = tmp_path / "buckets"
    async with client(console_app(cores, buckets, max_bytes=1000)) as http:
        url = "/console/uploads"
        no_key = await http.post(
            url, content=b"x", headers={"Content-Type": HEADERS["Content-Type"]}
        )
        assert no_key.status_code == 403
        assert no_key.json()["error"]["status"] == "PERMISSION_DENIED"
        for simple in ("text/plain", "multipart/form-data; boundary=x", "application/json"):
            typed = await http.post(url, content=b"x", headers={**HEADERS, "Content-Type": simple})
            assert typed.status_code == 400, simple
        rebound = await http.post(url, content=b"x", headers={**HEADERS, "Host": "evil.example"})
        assert rebound.status_code == 400
        empty = await http.post(url, content=b"", headers=HEADERS)
        assert empty.status_code == 400
        assert empty.json()["error"]["message"] == "The upload is empty."
        large = await http.post(url, content=b"x" * 1001, headers=HEADERS)
        assert large.status_code == 400
        assert "--console-upload-max-bytes" in large.json()["error"]["message"]

        async def undeclared() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(3):
                yield b"x" * 400

        streamed = await http.post(url, content=undeclared(), headers=HEADERS)
        assert streamed.status_code == 400
        assert not any((buckets / BUCKET).iterdir())  # nothing kept of refused uploads
    async with client(console_app(cores, buckets, uploads=False)) as http:
        cloud = await http.post(url, content=b"x", headers=HEADERS)
        assert cloud.status_code == 400
        assert cloud.json()["error"]["status"] == "FAILED_PRECONDITION"


@session_loop
async def test_uploads_older_than_the_retention_are_removed(cores: Cores, tmp_path: Path) -> None:
    folder = tmp_path / "buckets" / BUCKET
    folder.mkdir(parents=True)
    old, recent = folder / "old", folder / "recent"
    old.write_bytes(b"x")
    recent.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    async with client(console_app(cores, tmp_path / "buckets")) as http:
        uploaded = await http.post("/console/uploads", content=b"new", headers=HEADERS)
        assert uploaded.status_code == 200
    assert not old.exists() and recent.exists()
