"""The streaming driver's sharing of the engine: finals before interims, interims giving way.

The fake engine stands in for the model (plumbing only); the voice activity is the real
Silero VAD on corpus speech.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hark.engine import DecodeOptions, Progress, Samples, Stop, Transcript
from hark.engine.pool import EnginePool
from hark.errors import ResourceExhausted
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.scheduler import DecodeScheduler
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import StreamingConfig, StreamingRequest, StreamingResponse
from hark.speech.types import RecognitionConfig

from audio_samples import encode
from conftest import corpus_file
from fake_engine import FakeEngine


async def test_final_waiting_is_flagged_while_an_urgent_request_waits() -> None:
    scheduler = DecodeScheduler(1)
    await scheduler.acquire(urgent=False)
    interim = asyncio.create_task(scheduler.acquire(urgent=False))
    await asyncio.sleep(0)
    assert not scheduler.final_waiting.is_set()  # only finals make running interims give way
    final = asyncio.create_task(scheduler.acquire(urgent=True))
    await asyncio.sleep(0)
    assert scheduler.final_waiting.is_set()
    scheduler.release()
    await final  # the final goes first although the interim asked earlier
    assert not scheduler.final_waiting.is_set()
    assert not interim.done()
    abandoned = asyncio.create_task(scheduler.acquire(urgent=True))
    await asyncio.sleep(0)
    assert scheduler.final_waiting.is_set()
    abandoned.cancel()
    await asyncio.gather(abandoned, return_exceptions=True)
    assert not scheduler.final_waiting.is_set()  # a final that went away frees the flag
    scheduler.release()
    await interim
    scheduler.release()


class _Recording(FakeEngine):
    """Records, per call, whether it was stoppable and what ``stop`` said after the delay."""

    def __init__(self) -> None:
        super().__init__(["the one scripted text"], delay=0.3)
        self.stops: list[bool | None] = []

    def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        seen: list[bool] = []

        def recording_stop() -> bool:
            seen.append(stop() if stop is not None else False)
            return seen[-1]

        try:
            return super().transcribe(samples, options, progress, recording_stop)
        finally:
            self.stops.append(seen[-1] if stop is not None and seen else None)


@pytest.mark.corpus
async def test_an_interim_in_flight_gives_way_to_the_final() -> None:
    engine = _Recording()
    pool = EnginePool(engine)
    streaming = StreamingRecognizer(Recognizer(pool, engine.info, Limits()))
    pcm = encode(corpus_file("en_librispeech_1272-128104-0000.wav"), "LINEAR16", 16000)
    audio = pcm + bytes(32_000)  # then 1 s of silence

    async def requests() -> AsyncIterator[StreamingRequest]:
        yield StreamingConfig(
            RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="en"),
            interim_results=True,
        )
        for offset in range(0, len(audio), 3200):
            await asyncio.sleep(0.01)  # 10x real time: interims are still decoding at the end
            yield audio[offset : offset + 3200]

    finals = [
        result.alternatives[0].transcript
        async for response in streaming.recognize(requests())
        for result in response.results
        if result.is_final
    ]
    await pool.close()
    assert finals == ["the one scripted text"]
    assert True in engine.stops  # an interim asked after its encoder pass, and gave way
    assert None in engine.stops  # finals are never stoppable


async def test_a_stream_beyond_the_limit_is_refused_before_its_audio_is_read() -> None:
    engine = FakeEngine(["hello"])
    pool = EnginePool(engine)
    streaming = StreamingRecognizer(Recognizer(pool, engine.info, Limits(max_streams=1)))
    config = StreamingConfig(
        RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="en")
    )
    release = asyncio.Event()
    read: list[str] = []

    async def held() -> AsyncIterator[StreamingRequest]:
        read.append("held")
        yield config
        await release.wait()

    async def refused() -> AsyncIterator[StreamingRequest]:
        read.append("refused")
        yield config

    async def drain(requests: AsyncIterator[StreamingRequest]) -> list[StreamingResponse]:
        return [response async for response in streaming.recognize(requests)]

    first = asyncio.create_task(drain(held()))
    while not read:
        await asyncio.sleep(0.01)
    with pytest.raises(ResourceExhausted, match="limit of 1 concurrent streams"):
        await anext(streaming.recognize(refused()))
    assert read == ["held"]  # the refused stream's messages were never read
    release.set()
    await first
    assert streaming.active == 0  # the ended stream gave its place back
    assert await drain(refused())  # admitted now: its billing comes back
    await pool.close()


@pytest.mark.corpus
async def test_audio_sent_at_once_still_gets_interim_results() -> None:
    """Issue 12: a file streamed as fast as the client can, with interim results on."""
    engine = FakeEngine(["the one scripted text"], delay=0.3)  # slower than reading
    pool = EnginePool(engine)
    streaming = StreamingRecognizer(Recognizer(pool, engine.info, Limits()))
    pcm = encode(corpus_file("en_librispeech_1089-134686-0000.flac"), "LINEAR16", 16000)

    async def requests() -> AsyncIterator[StreamingRequest]:
        yield StreamingConfig(
            RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="en"),
            interim_results=True,
        )
        for offset in range(0, len(pcm), 25_600):
            yield pcm[offset : offset + 25_600]

    results = [
        result async for response in streaming.recognize(requests()) for result in response.results
    ]
    await pool.close()
    interims = [r for r in results if not r.is_final]
    assert interims and not results[0].is_final
    assert [r.alternatives[0].transcript for r in results if r.is_final] == [
        "the one scripted text"
    ]
