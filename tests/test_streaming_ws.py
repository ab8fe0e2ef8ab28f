"""StreamingRecognize through the browser WebSocket on a real server, real-time corpus audio."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math

import httpx
import pytest
import websockets

from stream_client import Received, stream

from audio_samples import encode
from conftest import Server, corpus_file, manifest
from wer import wer

pytestmark = pytest.mark.slow

SILENCE = bytes(32_000)  # 1 s of LINEAR16 silence: a live microphone keeps sending
CONFIG = {"encoding": "LINEAR16", "sampleRateHertz": 16000, "languageCode": "en-US"}


def url(server: Server, version: str = "v1") -> str:
    return f"ws://127.0.0.1:{server.port}/ws/{version}/speech:streamingrecognize"


def pcm(name: str) -> bytes:
    return encode(corpus_file(name), "LINEAR16", 16000)


def batch(server: Server, audio: bytes) -> str:
    body = {"config": CONFIG, "audio": {"content": base64.b64encode(audio).decode()}}
    reply = httpx.post(f"{server.url}/v1/speech:recognize", json=body, timeout=60).json()
    return " ".join(r["alternatives"][0]["transcript"] for r in reply.get("results", []))


def run(server: Server, config: dict[str, object], audio: bytes, **kw: object) -> Received:
    return asyncio.run(stream(url(server), config, audio, **kw))  # type: ignore[arg-type]


def test_interim_results_then_a_final_matching_batch(server: Server) -> None:
    name = "en_librispeech_1272-128104-0000.wav"
    audio = pcm(name)
    # A live microphone: silence follows the speech until the final result comes.
    config = {"config": CONFIG, "interimResults": True}
    got = run(server, config, audio + SILENCE * 30, until_final=True)
    assert got.error is None and got.close_code == 1000
    spoken = len(audio) / 32_000
    interims = got.interims_sent_at()
    assert interims and interims[0] < spoken  # while the person is still speaking
    finals = got.finals()
    assert finals and got.sent_seconds < len(audio) / 32_000 + 30, (
        "the pause ends it, not the stream"
    )
    assert wer(batch(server, audio), got.transcript()) <= 0.1
    assert wer(manifest()[name]["transcript"], got.transcript()) <= 0.15
    assert finals[-1][1]["alternatives"][0]["confidence"] > 0
    last = got.messages[-1][1]
    assert last.get("totalBilledTime") == f"{math.ceil(got.sent_seconds)}s"
    assert all("totalBilledTime" not in m for _, m in got.messages[:-1])


def test_single_utterance_ends_with_the_event(server: Server) -> None:
    audio = pcm("en_librispeech_1089-134686-0001.flac") + SILENCE
    more = pcm("en_librispeech_1272-128104-0000.wav")
    config = {"config": CONFIG, "singleUtterance": True, "interimResults": False}
    got = run(server, config, audio + more)
    assert got.close_code == 1000
    assert got.events() == ["END_OF_SINGLE_UTTERANCE"]
    assert len(got.finals()) == 1
    assert got.sent_at[-1] < len(audio + more) / 32_000  # closed before the audio ended
    assert wer("stuff it into you his belly counselled him", got.transcript()) <= 0.3


def test_voice_activity_events_v1p1beta1(server: Server) -> None:
    audio = bytes(16_000) + pcm("en_cmu_cards_002.wav") + SILENCE
    config = {"config": CONFIG, "enableVoiceActivityEvents": True}
    got = asyncio.run(stream(url(server, "v1p1beta1"), config, audio))
    assert got.events() == ["SPEECH_ACTIVITY_BEGIN", "SPEECH_ACTIVITY_END"]
    assert got.finals()


MALORDERED = {
    "code": 400,
    "message": "Malordered Data Received. Send exactly one config, followed by audio data.",
    "status": "INVALID_ARGUMENT",
}


def test_audio_before_config_is_malordered(server: Server) -> None:
    got = run(server, {"config": CONFIG}, SILENCE[:3200], first=b"\x00\x01")
    assert got.close_code == 4003
    assert got.error == MALORDERED


def test_config_twice_is_malordered(server: Server) -> None:
    async def config_twice() -> Received:
        received = Received()
        async with websockets.connect(url(server)) as socket:
            await socket.send(json.dumps({"config": CONFIG}))
            await socket.send(SILENCE[:3200])
            await socket.send(json.dumps({"config": CONFIG}))
            with contextlib.suppress(websockets.ConnectionClosed):
                async for message in socket:
                    received.messages.append((0.0, json.loads(message)))
            received.close_code = socket.close_code
        return received

    got = asyncio.run(config_twice())
    assert got.close_code == 4003
    assert got.error == MALORDERED


def test_oversized_message_is_out_of_range(server: Server) -> None:
    got = run(server, {"config": CONFIG}, bytes(30_000), chunk_bytes=30_000)
    assert got.close_code == 4011
    assert got.error is not None and got.error["status"] == "OUT_OF_RANGE"


def test_bad_config_is_invalid_argument(server: Server) -> None:
    got = run(server, {"config": {"encoding": "LINEAR16"}}, SILENCE[:3200])
    assert got.close_code == 4003
    assert got.error is not None and "language" in got.error["message"].lower()


def test_four_concurrent_real_time_streams(server: Server) -> None:
    names = [
        "en_librispeech_1272-128104-0000.wav",
        "en_librivox_sense_and_sensibility_0890.wav",
        "en_ljspeech_LJ001-0004.wav",
        "en_ljspeech_LJ001-0011.wav",
    ]
    clips = [pcm(name) + SILENCE for name in names]
    flac = corpus_file("en_librispeech_1089-134686-0001.flac").read_bytes()

    async def all_streams() -> list[Received]:
        pcm_streams = [
            stream(url(server), {"config": CONFIG, "interimResults": True}, clip)
            for clip in clips[:3]
        ]
        # The fourth is FLAC bytes, paced by the file's byte rate (3.3 s of audio).
        flac_config = {"config": {"encoding": "FLAC", "languageCode": "en-US"}}
        flac_stream = stream(url(server), flac_config, flac, bytes_per_second=len(flac) // 3)
        return await asyncio.gather(*pcm_streams, flac_stream)

    got = asyncio.run(all_streams())
    references = [manifest()[name]["transcript"] for name in names[:3]]
    references.append("stuff it into you his belly counselled him")
    for received, reference in zip(got, references, strict=True):
        assert received.error is None and received.close_code == 1000
        assert wer(reference, received.transcript()) <= 0.25, received.transcript()
