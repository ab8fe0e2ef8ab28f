"""Every Google encoding through the real server, made from real speech at test time."""

from __future__ import annotations

import base64

import httpx
import pytest

from audio_samples import FIXTURES, encode
from conftest import Server, corpus_file, manifest, reference
from wer import wer

pytestmark = pytest.mark.slow

NAME = "en_librispeech_1089-134686-0000.flac"


def recognize(server: Server, encoding: str, rate: int, content: bytes, channels: int = 0) -> str:
    config = {"encoding": encoding, "sampleRateHertz": rate, "languageCode": "en-US"}
    if channels:
        config["audioChannelCount"] = channels
    body = {"config": config, "audio": {"content": base64.b64encode(content).decode()}}
    response = httpx.post(f"{server.url}/v1/speech:recognize", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return " ".join(r["alternatives"][0]["transcript"] for r in response.json().get("results", []))


@pytest.mark.parametrize(
    ("encoding", "made_as", "rate", "bound"),
    [
        ("LINEAR16", "LINEAR16", 16000, 0.15),
        ("LINEAR16", "WAV", 22050, 0.15),
        ("MULAW", "MULAW", 8000, 0.3),
        ("FLAC", "FLAC", 16000, 0.15),
        ("OGG_OPUS", "OGG_OPUS", 16000, 0.2),
        ("WEBM_OPUS", "WEBM_OPUS", 48000, 0.2),
        ("MP3", "MP3", 16000, 0.2),
        ("AMR", "AMR", 8000, 0.35),
    ],
)
def test_encoding(server: Server, encoding: str, made_as: str, rate: int, bound: float) -> None:
    content = encode(corpus_file(NAME), made_as, rate, 1)
    assert wer(reference(NAME), recognize(server, encoding, rate, content)) <= bound


def test_stereo_ogg_opus_mixed_down(server: Server) -> None:
    content = encode(corpus_file(NAME), "OGG_OPUS", 48000, 2)
    assert wer(reference(NAME), recognize(server, "OGG_OPUS", 48000, content, channels=2)) <= 0.2


@pytest.mark.parametrize(
    ("encoding", "fixture", "rate"),
    [
        ("AMR_WB", "testing_123_16k.amrwb", 16000),
        ("SPEEX_WITH_HEADER_BYTE", "testing_123_16k.speex", 16000),
    ],
)
def test_fixture_only_encodings(server: Server, encoding: str, fixture: str, rate: int) -> None:
    # PyAV cannot encode these; the fixtures are synthetic speech made once (tests/fixtures).
    text = recognize(server, encoding, rate, (FIXTURES / fixture).read_bytes())
    assert wer("testing 1 2 3", text) <= 0.25, text


def test_corpus_containers_as_they_come(server: Server) -> None:
    cases = [
        ("en_ljspeech_LJ001-0010.mp3", "MP3", 22050),
        ("en_librivox_0890.ogg", "OGG_OPUS", 48000),
        ("medium_en_4utts_webm_opus.webm", "WEBM_OPUS", 48000),
    ]
    for name, encoding, rate in cases:
        text = recognize(server, encoding, rate, corpus_file(name).read_bytes())
        assert wer(manifest()[name]["transcript_normalized"], text) <= 0.25, name
