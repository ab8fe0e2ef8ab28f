"""v2 over REST in process, over FakeEngine: the routes, v2's output shape, the Recognizer
resources' JSON, and Google's errors. Recognition itself is proven on the real model by
tests/test_google_client_v2.py."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hark.auth import ApiKeys

from audio_samples import encode, tone, wav_bytes
from cores import build_cores, rest_app
from fake_engine import FakeEngine

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

CONTENT = base64.b64encode(encode(wav_bytes(tone(1.0)), "FLAC", 16000)).decode()
PARENT = "/v2/projects/p/locations/global"
IMPLICIT = PARENT + "/recognizers/_:recognize"
CONFIG = {"autoDecodingConfig": {}, "languageCodes": ["en-US"], "model": "long"}


async def in_process(
    data_dir: Path, keys: tuple[str, ...] = ()
) -> AsyncIterator[httpx.AsyncClient]:
    cores = await build_cores(FakeEngine(["hello world"]), data_dir)
    transport = httpx.ASGITransport(app=rest_app(cores, ApiKeys(keys)), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hark") as client:
        yield client
    await cores.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in in_process(tmp_path):
        yield client


def error(response: httpx.Response, http_status: int, status: str) -> str:
    assert response.status_code == http_status, response.text
    body = response.json()["error"]
    assert (body["code"], body["status"]) == (http_status, status)
    return str(body["message"])


async def test_recognize_with_the_implicit_recognizer(server: httpx.AsyncClient) -> None:
    response = await server.post(IMPLICIT, json={"config": CONFIG, "content": CONTENT})
    assert response.status_code == 200, response.text
    body = response.json()
    (result,) = body["results"]
    assert result["alternatives"][0]["transcript"] == "hello world"
    assert result["languageCode"] == "en-us"
    assert result["resultEndOffset"].endswith("s")
    assert body["metadata"]["totalBilledDuration"] == "1s"
    assert len(body["metadata"]["requestId"]) == 36


async def test_recognize_refusals_in_googles_words(server: httpx.AsyncClient) -> None:
    unknown_model = {"config": {**CONFIG, "model": "nope"}, "content": CONTENT}
    message = error(await server.post(IMPLICIT, json=unknown_model), 400, "INVALID_ARGUMENT")
    assert message == 'The model "nope" does not exist in the location named "global".'
    bounds = {"minSpeakerCount": 3, "maxSpeakerCount": 2}
    diarize = {**CONFIG, "features": {"diarizationConfig": bounds}}
    message = error(
        await server.post(IMPLICIT, json={"config": diarize, "content": CONTENT}),
        400,
        "INVALID_ARGUMENT",
    )
    assert message.endswith(
        "min_speaker_count (3) must be less than or equal to max_speaker_count (2)."
    )
    missing = PARENT + "/recognizers/nothing-here:recognize"
    response = await server.post(missing, json={"config": CONFIG, "content": CONTENT})
    assert error(response, 404, "NOT_FOUND") == "Requested entity was not found."
    bad_id = PARENT + "/recognizers/NOT_VALID:recognize"
    response = await server.post(bad_id, json={"config": CONFIG, "content": CONTENT})
    assert "Invalid resource name" in error(response, 400, "INVALID_ARGUMENT")
    response = await server.post(PARENT + "/nowhere:recognize", json={})
    assert error(response, 404, "NOT_FOUND").startswith("Requested entity was not found")
    response = await server.post(IMPLICIT, json={"config": CONFIG})
    assert error(response, 400, "INVALID_ARGUMENT") == "RecognitionAudio not set."


async def create(server: httpx.AsyncClient, recognizer_id: str, body: dict[str, Any]) -> Any:
    response = await server.post(
        PARENT + "/recognizers", params={"recognizerId": recognizer_id}, json=body
    )
    assert response.status_code == 200, response.text
    operation = response.json()
    assert operation["done"] and operation["name"].startswith(PARENT[4:] + "/operations/")
    assert operation["metadata"]["method"] == "google.cloud.speech.v2.Speech.CreateRecognizer"
    return operation["response"]


async def test_recognizer_life_cycle_over_rest(server: httpx.AsyncClient) -> None:
    defaults = {"defaultRecognitionConfig": {**CONFIG, "features": {"maxAlternatives": 1}}}
    created = await create(server, "my-recognizer", defaults)
    name = PARENT[4:] + "/recognizers/my-recognizer"
    assert (created["name"], created["state"]) == (name, "ACTIVE")
    response = await server.post(
        PARENT + "/recognizers", params={"recognizerId": "my-recognizer"}, json=defaults
    )
    assert "already exists" in error(response, 409, "ALREADY_EXISTS")
    recognized = await server.post(
        f"/v2/{name}:recognize",
        json={"config": {"features": {"profanityFilter": True}}, "content": CONTENT},
    )
    assert recognized.json()["results"][0]["alternatives"][0]["transcript"] == "hello world"
    stale = await server.patch(f"/v2/{name}", json={"displayName": "x", "etag": "stale"})
    assert "etag" in error(stale, 409, "ABORTED")
    updated = await server.patch(
        f"/v2/{name}", params={"updateMask": "displayName"}, json={"displayName": "Mine"}
    )
    assert updated.json()["response"]["displayName"] == "Mine"
    got = (await server.get(f"/v2/{name}", params={"$alt": "json;enum-encoding=int"})).json()
    assert got["state"] == 2 and got["defaultRecognitionConfig"]["model"] == "long"
    deleted = (await server.delete(f"/v2/{name}")).json()["response"]
    assert deleted["state"] == "DELETED" and deleted["expireTime"]
    listed = (await server.get(PARENT + "/recognizers")).json()
    assert "recognizers" not in listed
    shown = (await server.get(PARENT + "/recognizers", params={"showDeleted": "true"})).json()
    assert [r["name"] for r in shown["recognizers"]] == [name]
    restored = (await server.post(f"/v2/{name}:undelete", json={})).json()["response"]
    assert restored["state"] == "ACTIVE"
    elsewhere = await server.get("/v2/projects/other/locations/global/recognizers/my-recognizer")
    assert error(elsewhere, 404, "NOT_FOUND") == "Requested entity was not found."


async def test_v2_needs_the_api_key_like_v1(tmp_path: Path) -> None:
    async for client in in_process(tmp_path, keys=("test-key",)):
        body = {"config": CONFIG, "content": CONTENT}
        assert "API key" in error(await client.post(IMPLICIT, json=body), 403, "PERMISSION_DENIED")
        listed = await client.get(PARENT + "/recognizers")
        assert listed.status_code == 403
        keyed = await client.post(IMPLICIT, json=body, headers={"x-goog-api-key": "test-key"})
        assert keyed.status_code == 200


async def test_operations_locations_and_config(server: httpx.AsyncClient) -> None:
    operation = (
        await server.post(PARENT + "/recognizers", params={"recognizerId": "kept"}, json={})
    ).json()
    polled = await server.get(f"/v2/{operation['name']}")
    assert polled.json()["done"] and polled.json()["response"]["name"].endswith("/kept")
    listed = (await server.get(PARENT + "/operations")).json()["operations"]
    assert [op["name"] for op in listed] == [operation["name"]]
    elsewhere = operation["name"].replace("projects/p/", "projects/q/")
    assert error(await server.get(f"/v2/{elsewhere}"), 404, "NOT_FOUND")
    assert (await server.post(f"/v2/{operation['name']}:cancel", json={})).status_code == 200
    assert (await server.delete(f"/v2/{operation['name']}")).status_code == 200
    assert error(await server.get(f"/v2/{operation['name']}"), 404, "NOT_FOUND")
    locations = (await server.get("/v2/projects/p/locations")).json()["locations"]
    assert [location["locationId"] for location in locations] == ["global"]
    config = (await server.get(PARENT + "/config")).json()
    assert config == {"name": PARENT[4:] + "/config"}
    kms = await server.patch(PARENT + "/config", json={"kmsKeyName": "projects/p/keys/k"})
    assert "KMS" in error(kms, 400, "INVALID_ARGUMENT")


async def test_batch_recognize_with_a_missing_file(
    server: httpx.AsyncClient, tmp_path: Path
) -> None:
    bucket = tmp_path / "buckets" / "inbox"
    bucket.mkdir(parents=True)
    (bucket / "a.flac").write_bytes(base64.b64decode(CONTENT))
    body = {
        "config": CONFIG,
        "files": [{"uri": "gs://inbox/a.flac"}, {"uri": "gs://inbox/missing.flac"}],
        "recognitionOutputConfig": {
            "inlineResponseConfig": {},
            "outputFormatConfig": {"srt": {}},
        },
    }
    submitted = await server.post(PARENT + "/recognizers/_:batchRecognize", json=body)
    assert submitted.status_code == 200, submitted.text
    name = submitted.json()["name"]
    for _ in range(200):
        operation = (await server.get(f"/v2/{name}")).json()
        if operation.get("done"):
            break
        await asyncio.sleep(0.05)
    metadata = operation["metadata"]
    assert metadata["method"] == "google.cloud.speech.v2.Speech.BatchRecognize"
    assert metadata["progressPercent"] == 100
    results = operation["response"]["results"]
    inline = results["gs://inbox/a.flac"]["inlineResult"]
    assert inline["transcript"]["results"][0]["alternatives"][0]["transcript"] == "hello world"
    assert inline["srtCaptions"].startswith("1\n")
    assert results["gs://inbox/missing.flac"]["error"]["code"] == 5


@pytest.mark.parametrize(
    ("files", "output", "message"),
    [
        ([], {"inlineResponseConfig": {}}, "at least one file"),
        ([{"uri": "gs://inbox/a.flac"}] * 16, {"inlineResponseConfig": {}}, "At most 15 files"),
        ([{"uri": "gs://inbox/a.flac"}], {}, "recognition_output_config"),
    ],
)
async def test_batch_refusals(
    server: httpx.AsyncClient, files: list[Any], output: dict[str, Any], message: str
) -> None:
    body = {"config": CONFIG, "files": files, "recognitionOutputConfig": output}
    response = await server.post(PARENT + "/recognizers/_:batchRecognize", json=body)
    assert message in error(response, 400, "INVALID_ARGUMENT")
