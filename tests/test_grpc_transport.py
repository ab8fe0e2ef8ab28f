"""The gRPC transport's plumbing, in process, over FakeEngine: error mapping, plug-in points,
queue bound. Real channels and Google's client; no model (recognition itself is tested with
the real model in test_grpc_google_client.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import speech_v1
from google.cloud.speech_v1.services.speech.transports import SpeechGrpcAsyncIOTransport
from google.longrunning import operations_pb2

from hark.api.convert import ApiVersion
from hark.api.rpc_server import Plugins, RpcServer
from hark.auth import ApiKeys
from hark.engine import DecodeOptions, Progress, Samples, Transcript
from hark.engine.fake import FakeEngine
from hark.engine.pool import EnginePool
from hark.errors import NotFound
from hark.settings import Limits
from hark.speech.recognizer import Recognizer

from audio_samples import encode
from conftest import corpus_file

KEY = "sekrit-key-1234"
WAV = encode(corpus_file("en_librispeech_1089-134686-0000.flac"), "WAV", 16000, 1)
CONFIG = speech_v1.RecognitionConfig(language_code="en-US")
AUDIO = speech_v1.RecognitionAudio(content=WAV)


class Broken(FakeEngine):
    def transcribe(
        self, samples: Samples, options: DecodeOptions, progress: Progress | None = None
    ) -> Transcript:
        raise RuntimeError("secret internals")


async def start(engine: FakeEngine, plugins: Plugins | None = None, max_queue: int = 8) -> Any:
    pool = EnginePool(engine, workers=1, max_queue=max_queue)
    recognizer = Recognizer(pool, engine.info, Limits())
    server = RpcServer(recognizer, ApiKeys(()), Limits(), plugins or Plugins())
    port = await server.start("127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    client = speech_v1.SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel))
    return server, pool, client


async def stop(server: RpcServer, pool: EnginePool) -> None:
    await server.stop(1)
    await pool.close()


async def test_recognize_over_a_real_channel() -> None:
    server, pool, client = await start(FakeEngine(["hello world"]))
    response = await client.recognize(config=CONFIG, audio=AUDIO)
    assert response.results[0].alternatives[0].transcript == "hello world"
    await stop(server, pool)


async def test_unexpected_error_is_internal_and_hidden(caplog: pytest.LogCaptureFixture) -> None:
    server, pool, client = await start(Broken())
    with pytest.raises(exceptions.InternalServerError) as caught:
        await client.recognize(config=CONFIG, audio=AUDIO)
    assert caught.value.message == "Internal error encountered."
    assert "secret" not in str(caught.value)
    assert "secret internals" in caplog.text  # logged with its traceback
    await stop(server, pool)


async def test_unplugged_methods_are_unimplemented() -> None:
    server, pool, client = await start(FakeEngine(["x"]))
    with pytest.raises(exceptions.MethodNotImplemented, match="LongRunningRecognize"):
        await client.long_running_recognize(config=CONFIG, audio=AUDIO)
    with pytest.raises(exceptions.MethodNotImplemented, match="GetOperation"):
        await client.transport.operations_client.get_operation("1")  # type: ignore[attr-defined]
    await stop(server, pool)


class Jobs:
    """A stand-in long-running collaborator: what the jobs branch plugs in."""

    async def long_running_recognize(
        self, request: Any, version: ApiVersion
    ) -> operations_pb2.Operation:
        return operations_pb2.Operation(name="42", done=False)

    async def get_operation(
        self, request: operations_pb2.GetOperationRequest
    ) -> operations_pb2.Operation:
        if request.name != "42":
            raise NotFound(f"Operation {request.name} not found.")
        return operations_pb2.Operation(name="42", done=False)


class Echo:
    """A stand-in streaming collaborator."""

    async def streaming_recognize(
        self, requests: AsyncIterator[Any], version: ApiVersion
    ) -> AsyncIterator[Any]:
        message = version.message("StreamingRecognizeResponse")
        async for _ in requests:
            yield message()


async def test_plugins_take_over_their_methods() -> None:
    jobs = Jobs()
    plugins = Plugins(long_running=jobs, streaming=Echo(), operations=jobs)  # type: ignore[arg-type]
    server, pool, client = await start(FakeEngine(["x"]), plugins)
    operation = await client.long_running_recognize(config=CONFIG, audio=AUDIO)
    assert operation.operation.name == "42"
    with pytest.raises(exceptions.NotFound, match="Operation 7 not found"):
        await client.transport.operations_client.get_operation("7")  # type: ignore[attr-defined]

    async def requests() -> AsyncIterator[speech_v1.StreamingRecognizeRequest]:
        for _ in range(3):
            yield speech_v1.StreamingRecognizeRequest(audio_content=b"\0\0")

    responses = [r async for r in await client.streaming_recognize(requests=requests())]
    assert len(responses) == 3
    await stop(server, pool)


async def test_full_queue_is_resource_exhausted() -> None:
    server, pool, client = await start(FakeEngine(["x"], delay=0.5), max_queue=0)
    outcomes = await asyncio.gather(
        *(client.recognize(config=CONFIG, audio=AUDIO) for _ in range(3)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, exceptions.ResourceExhausted)]
    served = [o for o in outcomes if isinstance(o, speech_v1.RecognizeResponse)]
    assert len(served) == 1 and len(refused) == 2, outcomes
    assert "Hark is at capacity" in refused[0].message
    await stop(server, pool)


async def test_access_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    """One ``hark.access`` line per call: method, code, Google's message; never the key."""
    caplog.set_level(logging.INFO, logger="hark.access")
    engine = FakeEngine(["hello world"])
    pool = EnginePool(engine, workers=1, max_queue=8)
    recognizer = Recognizer(pool, engine.info, Limits())
    server = RpcServer(recognizer, ApiKeys((KEY,)), Limits(), Plugins())
    port = await server.start("127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    client = speech_v1.SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel))
    try:
        response = await client.recognize(
            config=CONFIG, audio=AUDIO, metadata=[("x-goog-api-key", KEY)]
        )
        with pytest.raises(exceptions.PermissionDenied):
            await client.recognize(config=CONFIG, audio=AUDIO)
        with pytest.raises(exceptions.MethodNotImplemented):
            await client.long_running_recognize(
                config=CONFIG, audio=AUDIO, metadata=[("x-goog-api-key", KEY)]
            )
    finally:
        await channel.close()
        await server.stop(1)
        await pool.close()
    logged = [r.getMessage() for r in caplog.records if r.name == "hark.access"]
    method = "gRPC /google.cloud.speech.v1.Speech/"
    assert logged[0].startswith(method + "Recognize OK ")
    assert f"request_id={response.request_id}" in logged[0]
    assert logged[1].startswith(method + "Recognize PERMISSION_DENIED ")
    assert 'error="The request is missing a valid API key."' in logged[1]
    assert logged[2].startswith(method + "LongRunningRecognize UNIMPLEMENTED ")
    assert len(logged) == 3 and KEY not in caplog.text
