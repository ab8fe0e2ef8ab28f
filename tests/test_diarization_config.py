"""diarizationConfig: bounds and refusals in Google's words, the missing-weights refusal, and
the shape of speaker-tagged results (no model: the fake engine, and fake embeddings)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.cloud import speech_v1, speech_v1p1beta1

from hark.api import convert
from hark.engine.pool import EnginePool
from hark.errors import FailedPrecondition, InvalidArgument
from hark.settings import Limits
from hark.speech.diarization import Diarizer
from hark.speech.diarization.bounds import SpeakerBounds, speaker_bounds
from hark.speech.diarization.tagging import with_speakers
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import StreamingConfig, StreamingRequest
from hark.speech.types import Alternative, RecognitionConfig, Result, WordInfo

from audio_samples import tone, wav_bytes
from cores import build_cores, rest_app
from fake_engine import FakeEngine

on_loop = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

CONTENT = base64.b64encode(wav_bytes(tone(1.0))).decode()


def bounds(**fields: Any) -> SpeakerBounds | None:
    return speaker_bounds(RecognitionConfig(language_code="en-US", **fields))


def test_google_defaults_and_one_sided_bounds() -> None:
    assert bounds() is None
    assert bounds(enable_speaker_diarization=True) == SpeakerBounds(2, 6)
    assert bounds(enable_speaker_diarization=True, min_speaker_count=3) == SpeakerBounds(3, 6)
    assert bounds(enable_speaker_diarization=True, max_speaker_count=1) == SpeakerBounds(1, 1)
    assert bounds(enable_speaker_diarization=True, max_speaker_count=4) == SpeakerBounds(2, 4)
    legacy = bounds(enable_speaker_diarization=True, diarization_speaker_count=3)
    assert legacy == SpeakerBounds(3, 3)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Weights that are not there: what a server that never ran `hark models pull` has.
    diarizer = Diarizer(tmp_path / "missing" / "pretrained.pt")
    cores = await build_cores(FakeEngine(["hello world"]), tmp_path, diarizer=diarizer)
    transport = httpx.ASGITransport(app=rest_app(cores), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hark") as http:
        yield http
    await cores.close()


async def recognize(client: httpx.AsyncClient, diarization: dict[str, Any]) -> httpx.Response:
    config = {"languageCode": "en-US", "diarizationConfig": diarization}
    body = {"config": config, "audio": {"content": CONTENT}}
    return await client.post("/v1/speech:recognize", json=body)


@pytest.mark.parametrize(
    ("diarization", "message"),
    [
        (
            {"enableSpeakerDiarization": True, "minSpeakerCount": 4, "maxSpeakerCount": 2},
            "min_speaker_count (4) must be less than or equal to max_speaker_count (2).",
        ),
        (
            {"enableSpeakerDiarization": True, "maxSpeakerCount": 7},
            "max_speaker_count must be between 1 and 6.",
        ),
        (
            {"enableSpeakerDiarization": True, "minSpeakerCount": 8},
            "max_speaker_count must be between 1 and 6.",
        ),
        (
            {"enableSpeakerDiarization": True, "minSpeakerCount": -1},
            "Speaker counts in diarization_config must not be negative.",
        ),
    ],
)
@on_loop
async def test_bad_bounds_are_refused(
    client: httpx.AsyncClient, diarization: dict[str, Any], message: str
) -> None:
    response = await recognize(client, diarization)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert message in error["message"]


@on_loop
async def test_without_the_weights_the_refusal_names_the_command(
    client: httpx.AsyncClient,
) -> None:
    response = await recognize(client, {"enableSpeakerDiarization": True})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "FAILED_PRECONDITION"
    assert "run `hark models pull` on the server" in error["message"]
    # Diarization off: the same server recognises as before.
    plain = await recognize(client, {"enableSpeakerDiarization": False})
    assert plain.status_code == 200


@on_loop
async def test_separate_channels_with_diarization_are_refused(client: httpx.AsyncClient) -> None:
    config = {
        "languageCode": "en-US",
        "audioChannelCount": 2,
        "enableSeparateRecognitionPerChannel": True,
        "diarizationConfig": {"enableSpeakerDiarization": True},
    }
    body = {"config": config, "audio": {"content": CONTENT}}
    response = await client.post("/v1/speech:recognize", json=body)
    assert response.status_code == 400
    assert "separate recognition per channel" in response.json()["error"]["message"]


WORDS = (WordInfo("hello", 0.0, 0.5), WordInfo("there", 0.5, 1.0))
FOUND = [
    Result((Alternative("hello there", 0.9, WORDS),), 1.0, language_code="en-us"),
    Result((Alternative("bye", 0.8, (WordInfo("bye", 2.0, 2.4),)),), 2.4, language_code="en-us"),
]


def test_the_last_result_repeats_every_word_with_its_speaker() -> None:
    tagged = with_speakers(FOUND, [1, 1, 2])
    assert tagged[:2] == FOUND  # the results themselves are as without diarization
    last = tagged[-1]
    assert last.result_end_time == 2.4
    assert last.alternatives[0].transcript == ""  # each word is read once from transcripts
    assert [(w.word, w.speaker) for w in last.alternatives[0].words] == [
        ("hello", 1),
        ("there", 1),
        ("bye", 2),
    ]
    assert with_speakers([], []) == []


@pytest.mark.parametrize("module", [speech_v1, speech_v1p1beta1])
def test_words_carry_speaker_tag_and_label(module: Any) -> None:
    message = module.SpeechRecognitionAlternative()._pb
    convert.fill_alternative(message, with_speakers(FOUND, [1, 1, 2])[-1].alternatives[0])
    assert [word.speaker_tag for word in message.words] == [1, 1, 2]
    assert [word.speaker_label for word in message.words] == ["1", "1", "2"]
    untagged = module.SpeechRecognitionAlternative()._pb
    convert.fill_alternative(untagged, FOUND[0].alternatives[0])
    assert [word.speaker_tag for word in untagged.words] == [0, 0]


@on_loop
async def test_streaming_refuses_diarization_clearly(tmp_path: Path) -> None:
    weights = tmp_path / "pretrained.pt"
    weights.write_bytes(b"present: the refusal comes before any use")
    engine = FakeEngine(["hello"])
    pool = EnginePool(engine)
    recognizer = Recognizer(pool, engine.info, Limits(), diarizer=Diarizer(weights))
    config = RecognitionConfig(
        encoding="LINEAR16",
        sample_rate_hertz=16000,
        language_code="en-US",
        enable_speaker_diarization=True,
    )

    async def requests() -> AsyncIterator[StreamingRequest]:
        yield StreamingConfig(config)

    with pytest.raises(InvalidArgument, match="speaker diarization in streaming recognition"):
        await anext(StreamingRecognizer(recognizer).recognize(requests()))
    await pool.close()


def test_damaged_weights_are_a_precondition_naming_the_command(tmp_path: Path) -> None:
    weights = tmp_path / "pretrained.pt"
    weights.write_bytes(b"\x80\x02 a truncated download")
    with pytest.raises(FailedPrecondition, match="run `hark models pull` on the server"):
        Diarizer(weights).encoder()
