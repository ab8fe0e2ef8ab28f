"""The gRPC transport's plumbing, in process, over FakeEngine: error mapping, the three cores'
methods, queue bound. Real channels and Google's client; no model (recognition itself is tested with
the real model in test_grpc_google_client.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import speech_v1
from google.cloud.speech_v1.services.speech.transports import SpeechGrpcAsyncIOTransport

from hark.api.rpc_server import RpcServer
from hark.auth import ApiKeys
from hark.engine import DecodeOptions, Samples, Transcript
from hark.settings import Limits

from audio_samples import tone, wav_bytes
from cores import Cores, build_cores
from fake_engine import FakeEngine

KEY = "sekrit-key-1234"
WAV = wav_bytes(tone(1.0))
CONFIG = speech_v1.RecognitionConfig(language_code="en-US")
AUDIO = speech_v1.RecognitionAudio(content=WAV)


class Broken(FakeEngine):
    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        raise RuntimeError("secret internals")


async def start(
    engine: FakeEngine, data_dir: Path, max_queue: int = 8, limits: Limits | None = None
) -> Any:
    cores = await build_cores(engine, data_dir, max_queue=max_queue, limits=limits)
    server = RpcServer(cores.recognizer, cores.long_running, cores.streaming, ApiKeys(()), Limits())
    port = await server.start("127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    client = speech_v1.SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel))
    return server, cores, client


async def stop(server: RpcServer, cores: Cores) -> None:
    await server.stop(1)
    await cores.close()


async def test_recognize_over_a_real_channel(tmp_path: Path) -> None:
    server, cores, client = await start(FakeEngine(["hello world"]), tmp_path)
    response = await client.recognize(config=CONFIG, audio=AUDIO)
    assert response.results[0].alternatives[0].transcript == "hello world"
    await stop(server, cores)


async def test_unexpected_error_is_internal_and_hidden(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    server, cores, client = await start(Broken(), tmp_path)
    with pytest.raises(exceptions.InternalServerError) as caught:
        await client.recognize(config=CONFIG, audio=AUDIO)
    assert caught.value.message == "Internal error encountered."
    assert "secret" not in str(caught.value)
    assert "secret internals" in caplog.text  # logged with its traceback
    await stop(server, cores)


async def test_long_running_and_operations_reach_the_jobs_core(tmp_path: Path) -> None:
    server, cores, client = await start(FakeEngine(["hello world"]), tmp_path)
    operation = await client.long_running_recognize(config=CONFIG, audio=AUDIO)
    response = await operation.result(timeout=30)
    assert response.results[0].alternatives[0].transcript == "hello world"
    operations = client.transport.operations_client
    with pytest.raises(exceptions.NotFound, match="7"):
        await operations.get_operation("7")
    await stop(server, cores)


async def test_streaming_reaches_the_streaming_core(tmp_path: Path) -> None:
    server, cores, client = await start(FakeEngine(["x"]), tmp_path)

    async def requests() -> AsyncIterator[speech_v1.StreamingRecognizeRequest]:
        yield speech_v1.StreamingRecognizeRequest(audio_content=b"\0\0")  # no config first

    with pytest.raises(exceptions.InvalidArgument):
        async for _ in await client.streaming_recognize(requests=requests()):
            pass
    await stop(server, cores)


async def test_a_stream_beyond_max_streams_is_resource_exhausted(tmp_path: Path) -> None:
    limits = Limits(max_streams=1)
    server, cores, client = await start(FakeEngine(["x"]), tmp_path, limits=limits)
    config = speech_v1.StreamingRecognitionConfig(
        config=speech_v1.RecognitionConfig(
            encoding="LINEAR16", sample_rate_hertz=16000, language_code="en-US"
        )
    )
    release = asyncio.Event()

    async def held() -> AsyncIterator[speech_v1.StreamingRecognizeRequest]:
        yield speech_v1.StreamingRecognizeRequest(streaming_config=config)
        await release.wait()

    async def one() -> AsyncIterator[speech_v1.StreamingRecognizeRequest]:
        yield speech_v1.StreamingRecognizeRequest(streaming_config=config)

    first = await client.streaming_recognize(requests=held())
    while cores.streaming.active == 0:
        await asyncio.sleep(0.01)
    with pytest.raises(exceptions.ResourceExhausted, match="limit of 1 concurrent streams"):
        async for _ in await client.streaming_recognize(requests=one()):
            pass
    release.set()
    assert [response async for response in first]  # the admitted stream ends normally
    await stop(server, cores)


async def test_full_queue_is_resource_exhausted(tmp_path: Path) -> None:
    server, cores, client = await start(FakeEngine(["x"], delay=0.5), tmp_path, max_queue=0)
    outcomes = await asyncio.gather(
        *(client.recognize(config=CONFIG, audio=AUDIO) for _ in range(3)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, exceptions.ResourceExhausted)]
    served = [o for o in outcomes if isinstance(o, speech_v1.RecognizeResponse)]
    assert len(served) == 1 and len(refused) == 2, outcomes
    assert "Hark is at capacity" in refused[0].message
    await stop(server, cores)


async def test_access_log_lines(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """One ``hark.access`` line per call: method, code, Google's message; never the key."""
    caplog.set_level(logging.INFO, logger="hark.access")
    cores = await build_cores(FakeEngine(["hello world"]), tmp_path)
    server = RpcServer(
        cores.recognizer, cores.long_running, cores.streaming, ApiKeys((KEY,)), Limits()
    )
    port = await server.start("127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    client = speech_v1.SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel))
    try:
        response = await client.recognize(
            config=CONFIG, audio=AUDIO, metadata=[("x-goog-api-key", KEY)]
        )
        with pytest.raises(exceptions.PermissionDenied):
            await client.recognize(config=CONFIG, audio=AUDIO)
        with pytest.raises(exceptions.InvalidArgument):
            await client.recognize(
                config=speech_v1.RecognitionConfig(language_code="english"),
                audio=AUDIO,
                metadata=[("x-goog-api-key", KEY)],
            )
    finally:
        await channel.close()
        await stop(server, cores)
    logged = [r.getMessage() for r in caplog.records if r.name == "hark.access"]
    method = "gRPC /google.cloud.speech.v1.Speech/"
    assert logged[0].startswith(method + "Recognize OK ")
    assert f"request_id={response.request_id}" in logged[0]
    assert logged[1].startswith(method + "Recognize PERMISSION_DENIED ")
    assert 'error="The request is missing a valid API key."' in logged[1]
    assert logged[2].startswith(method + "Recognize INVALID_ARGUMENT ")
    assert len(logged) == 3 and KEY not in caplog.text
