"""Issue 11, finding 4: ``outputConfig.gcsUri`` is checked at submit (one file inside its bucket,
never a directory), a failed write leaves no temporary file and the operation keeps its result
with ``outputError``; databases of older Harks gain the new columns. In process over FakeEngine.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hark.jobs import JobError
from hark.jobs.sqlite import SqliteJobStore

from audio_samples import tone, wav_bytes
from cores import build_cores, rest_app
from fake_engine import FakeEngine

session_loop = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

AUDIO = {"content": base64.b64encode(wav_bytes(tone(1.0))).decode()}
CONFIG = {"languageCode": "en-US"}


@pytest.fixture
async def rest(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    cores = await build_cores(FakeEngine(["hello world"], delay=0.5), tmp_path)
    bucket = tmp_path / "buckets" / "bkt"
    (bucket / "folder").mkdir(parents=True)
    (bucket / "audio.wav").write_bytes(b"the client's own object")
    transport = httpx.ASGITransport(app=rest_app(cores))
    async with httpx.AsyncClient(transport=transport, base_url="http://hark") as client:
        yield client
    await cores.close()


def submit(client: httpx.AsyncClient, output: str) -> Any:
    body = {"config": CONFIG, "audio": AUDIO, "outputConfig": {"gcsUri": output}}
    return client.post("/v1p1beta1/speech:longrunningrecognize", json=body)


async def done(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    for _ in range(600):
        operation: dict[str, Any] = (await client.get(f"/v1p1beta1/operations/{name}")).json()
        if operation.get("done"):
            return operation
        await asyncio.sleep(0.05)
    raise AssertionError(f"operation {name} never finished")


@session_loop
@pytest.mark.parametrize(
    "output",
    [
        "gs://bkt/folder",  # a directory
        "gs://bkt/folder/",
        "gs://bkt/folder/../audio.wav",  # another object, spelt through ..
        "gs://bkt/../other/x.json",  # outside the bucket
        "gs://bkt/./out.json",
        "gs://bkt/a//out.json",  # a second spelling of a/out.json
        "gs://bkt/audio.wav/out.json",  # below a file
        "gs://bkt/" + "x" * 256,  # a name no file system holds
    ],
)
async def test_bad_output_uris_are_refused_at_submit(
    rest: httpx.AsyncClient, tmp_path: Path, output: str
) -> None:
    answer = await submit(rest, output)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"] == "Request contains an invalid argument."
    assert (tmp_path / "buckets" / "bkt" / "audio.wav").read_bytes() == b"the client's own object"


@session_loop
async def test_result_is_written_and_kept(rest: httpx.AsyncClient, tmp_path: Path) -> None:
    answer = await submit(rest, "gs://bkt/results/out.json")
    assert answer.status_code == 200, answer.text
    operation = await done(rest, answer.json()["name"])
    assert "outputError" not in operation["response"]
    written = (tmp_path / "buckets" / "bkt" / "results" / "out.json").read_text()
    assert "hello world" in written


@session_loop
async def test_failed_write_keeps_the_result_and_leaves_no_temporary_file(
    rest: httpx.AsyncClient, tmp_path: Path
) -> None:
    answer = await submit(rest, "gs://bkt/late.json")
    assert answer.status_code == 200, answer.text
    (tmp_path / "buckets" / "bkt" / "late.json").mkdir()  # becomes a directory meanwhile
    operation = await done(rest, answer.json()["name"])
    response = operation["response"]
    assert response["results"][0]["alternatives"][0]["transcript"] == "hello world"
    assert response["outputError"]["code"] == 3
    assert "error" not in operation
    leftovers = [p.name for p in (tmp_path / "buckets" / "bkt").iterdir() if p.name.startswith(".")]
    assert leftovers == []


OLD_SCHEMA = """
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, api_version TEXT NOT NULL,
    state TEXT NOT NULL, config TEXT NOT NULL, uri TEXT NOT NULL, output_uri TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0, start_time REAL NOT NULL, last_update_time REAL NOT NULL,
    end_time REAL NOT NULL DEFAULT 0, result TEXT, error_code INTEGER, error_message TEXT,
    content BLOB
);
INSERT INTO jobs (name, api_version, state, config, uri, output_uri, start_time, last_update_time)
VALUES ('7', 'v1', 'running', '{}', 'gs://b/o', 'gs://b/out.json', 1.0, 1.0);
"""


@session_loop
async def test_a_database_of_an_older_hark_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = SqliteJobStore(path)
    try:
        assert await store.output_failed("7", JobError(14, "no"))
        job = await store.get("7")
        assert job is not None and job.output_error == JobError(14, "no")
    finally:
        await store.close()
