"""Stored PhraseSets and CustomClasses in process (FakeEngine): v1's Adaptation routes, v2's
resources, and ``StoredAdaptation`` resolving references into the core's inline phrases.
That a stored phrase set changes what the real model hears is in
tests/test_google_client_adaptation.py."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hark.api.v2.adaptation import StoredAdaptation
from hark.auth import ApiKeys
from hark.errors import FailedPrecondition
from hark.speech.types import Adaptation, CustomClass, Phrase

from audio_samples import encode, tone, wav_bytes
from cores import Cores, build_cores, rest_app
from fake_engine import FakeEngine

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

PARENT = "projects/p/locations/global"
CONTENT = base64.b64encode(encode(wav_bytes(tone(1.0)), "FLAC", 16000)).decode()


@pytest.fixture
async def cores(tmp_path: Path) -> AsyncIterator[Cores]:
    built = await build_cores(FakeEngine(["hello world"]), tmp_path)
    yield built
    await built.close()


@pytest.fixture
async def server(cores: Cores) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=rest_app(cores, ApiKeys(())), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hark") as client:
        yield client


async def test_v1_routes_store_what_v2_and_the_resolver_read(
    server: httpx.AsyncClient, cores: Cores
) -> None:
    created = await server.post(
        f"/v1/{PARENT}/customClasses",
        json={"customClassId": "manner", "customClass": {"items": [{"value": "ill"}]}},
    )
    assert created.json() == {
        "name": f"{PARENT}/customClasses/manner",
        "customClassId": "manner",
        "items": [{"value": "ill"}],
    }
    value = f"${{{PARENT}/customClasses/manner}} disposed"
    phrases = {"phrases": [{"value": value}], "boost": 8}
    made = await server.post(
        f"/v1p1beta1/{PARENT}/phraseSets", json={"phraseSetId": "hints", "phraseSet": phrases}
    )
    assert made.status_code == 200, made.text
    assert made.json()["state"] == "ACTIVE"  # v1p1beta1's PhraseSet has v2's output fields
    patched = await server.patch(
        f"/v1/{PARENT}/phraseSets/hints", params={"updateMask": "boost"}, json={"boost": 12}
    )
    assert patched.json()["boost"] == 12 and patched.json()["phrases"] == phrases["phrases"]
    listed = (await server.get(f"/v1/{PARENT}/phraseSets")).json()["phraseSets"]
    assert [p["name"] for p in listed] == [f"{PARENT}/phraseSets/hints"]
    v2 = (await server.get(f"/v2/{PARENT}/phraseSets/hints")).json()
    assert v2["boost"] == 12 and v2["etag"]

    resolve = StoredAdaptation(cores.resources)
    resolved = await resolve(Adaptation(phrase_set_references=(f"{PARENT}/phraseSets/hints",)))
    assert resolved.phrase_set_references == ()
    assert resolved.phrase_sets == ((Phrase(value, 12.0),),)
    assert resolved.custom_classes == (CustomClass(f"{PARENT}/customClasses/manner", ("ill",)),)

    config = {"languageCode": "en-US", "adaptation": {"phraseSetReferences": [v2["name"]]}}
    recognized = await server.post(
        "/v1/speech:recognize", json={"config": config, "audio": {"content": CONTENT}}
    )
    assert recognized.status_code == 200, recognized.text

    assert (await server.delete(f"/v1/{PARENT}/phraseSets/hints")).status_code == 200
    assert (await server.get(f"/v1/{PARENT}/phraseSets/hints")).status_code == 404
    with pytest.raises(FailedPrecondition, match="is deleted"):
        await resolve(Adaptation(phrase_set_references=(f"{PARENT}/phraseSets/hints",)))


async def test_references_that_resolve_to_nothing_are_refused(server: httpx.AsyncClient) -> None:
    config = {
        "languageCode": "en-US",
        "adaptation": {"phraseSetReferences": [f"{PARENT}/phraseSets/missing"]},
    }
    response = await server.post(
        "/v1/speech:recognize", json={"config": config, "audio": {"content": CONTENT}}
    )
    assert response.status_code == 400
    assert (
        "phrase set 'projects/p/locations/global/phraseSets/missing' was not found"
        in (response.json()["error"]["message"])
    )
    bad_boost = {"phrases": [{"value": "x", "boost": 30}]}
    response = await server.post(
        f"/v2/{PARENT}/phraseSets", params={"phraseSetId": "loud"}, json=bad_boost
    )
    assert response.status_code == 400 and "boost" in response.json()["error"]["message"]
    unknown = await server.get(f"/v1/{PARENT}/somethingElse")
    assert unknown.status_code == 404
