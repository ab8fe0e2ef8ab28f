"""Issue 11 at the recognition cores (fake engine, no model): the stream limit met while
decoding, streams that trickle or never decode, demuxer threads released when a stream ends,
and a full engine queue refusing Recognize before its audio is decoded."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace

import pytest

from hark import audio
from hark.engine.pool import EnginePool
from hark.errors import InvalidArgument, OutOfRange, ResourceExhausted
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.pace import TOO_SLOW
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import StreamingConfig, StreamingRequest
from hark.speech.types import AudioSource, RecognitionConfig

from audio_bombs import flac_constant, wav_list_chunk
from audio_samples import encode, tone, wav_bytes
from fake_engine import FakeEngine

LINEAR16 = RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="en")
HANG_GUARD = 60.0  # seconds: only a hang would reach it


def streaming(limits: Limits | None = None) -> tuple[StreamingRecognizer, EnginePool]:
    """A streaming core over a fake engine; by default it admits any number of streams (these
    tests run many at once, and --max-streams is tested on its own)."""
    engine = FakeEngine(["words"])
    pool = EnginePool(engine)
    limits = limits or Limits(max_streams=0)
    return StreamingRecognizer(Recognizer(pool, engine.info, limits)), pool


async def run_stream(
    recognizer: StreamingRecognizer,
    config: RecognitionConfig,
    messages: Iterable[bytes],
    gap: float = 0.0,
) -> BaseException | None:
    """Stream ``messages`` ``gap`` s apart; the error the stream ended with, if any."""

    async def requests() -> AsyncIterator[StreamingRequest]:
        yield StreamingConfig(config)
        for message in messages:
            await asyncio.sleep(gap)
            yield message

    async def consume() -> None:
        async for _ in recognizer.recognize(requests()):
            pass

    try:
        await asyncio.wait_for(consume(), HANG_GUARD)
    except (InvalidArgument, OutOfRange) as error:
        return error
    return None


async def test_a_flac_message_bomb_ends_the_stream_at_its_limit() -> None:
    recognizer, pool = streaming()
    error = await run_stream(
        recognizer,
        RecognitionConfig(encoding="FLAC", language_code="en"),
        [flac_constant(8000, 150)],
    )
    await pool.close()
    assert isinstance(error, OutOfRange)
    assert error.message == "Exceeded maximum allowed stream duration of 305 seconds."


async def test_a_trickle_of_bytes_is_too_slow() -> None:
    """One byte every 10 s kept 20 of 20 streams open past 60 s (each gap under the timeout)."""
    recognizer, pool = streaming(Limits(stream_audio_timeout=0.4))
    error = await run_stream(recognizer, LINEAR16, (b"\x00" for _ in range(1000)), gap=0.25)
    await pool.close()
    assert isinstance(error, OutOfRange) and error.message == TOO_SLOW


async def test_bytes_that_never_decode_are_too_slow() -> None:
    recognizer, pool = streaming(Limits(stream_audio_timeout=0.4))
    config = RecognitionConfig(encoding="LINEAR16", language_code="en")  # the WAV's rate
    messages = [wav_list_chunk(1 << 30), *(bytes(100) for _ in range(1000))]
    error = await run_stream(recognizer, config, messages, gap=0.05)
    await pool.close()
    assert isinstance(error, OutOfRange) and error.message == TOO_SLOW


async def test_a_client_that_stops_gets_the_audio_timeout() -> None:
    recognizer, pool = streaming(Limits(stream_audio_timeout=0.4))

    async def requests() -> AsyncIterator[StreamingRequest]:
        yield StreamingConfig(LINEAR16)
        yield bytes(3200)
        await asyncio.sleep(HANG_GUARD)

    with pytest.raises(OutOfRange, match="Audio Timeout Error"):
        async for _ in recognizer.recognize(requests()):
            pass
    await pool.close()


async def test_real_time_audio_is_never_too_slow() -> None:
    # A timeout far above the gaps: a loaded machine may stall the loop for a second between
    # two sends, which is the machine's pace, not the client's.
    recognizer, pool = streaming(Limits(stream_audio_timeout=5.0))
    chunk = bytes(3200)  # 0.1 s, sent every 0.02 s: ahead of real time, as clients often are
    error = await run_stream(recognizer, LINEAR16, [chunk] * 20, gap=0.02)
    await pool.close()
    assert error is None


def demuxers() -> int:
    return sum(t.name == "hark-demux" for t in threading.enumerate())


async def test_streams_release_their_threads_when_they_end() -> None:
    """However a stream ends (half-close, bad audio, the client going away), its demuxer
    thread ends with it; the garbage collector is off, so nothing else could end it."""
    ogg = encode(wav_bytes(tone(1.0)), "OGG_OPUS", 16000)
    config = RecognitionConfig(encoding="OGG_OPUS", sample_rate_hertz=16000, language_code="en")
    recognizer, pool = streaming()

    async def vanishing() -> None:
        async def requests() -> AsyncIterator[StreamingRequest]:
            yield StreamingConfig(config)
            yield ogg[: len(ogg) // 2]
            await asyncio.sleep(HANG_GUARD)

        async for _ in recognizer.recognize(requests()):
            pass

    gc.disable()
    try:
        half = [ogg[: len(ogg) // 2]]
        ended = [run_stream(recognizer, config, half) for _ in range(5)]
        ended += [run_stream(recognizer, config, [b"OggS" + bytes(3000)]) for _ in range(5)]
        gone = [asyncio.create_task(vanishing()) for _ in range(5)]
        await asyncio.sleep(0.5)
        assert demuxers() == 5  # the vanishing streams' threads
        for task in gone:
            task.cancel()  # a client that goes away mid-stream
        await asyncio.gather(*ended, *gone, return_exceptions=True)
        assert demuxers() == 0
    finally:
        gc.enable()
        await pool.close()


class _Full(EnginePool):
    def check_capacity(self) -> None:
        raise ResourceExhausted("full")


async def test_a_full_queue_refuses_recognize_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[bytes] = []
    monkeypatch.setattr(audio, "decode", lambda content, *args: decoded.append(content))
    engine = FakeEngine(["words"])
    pool = _Full(engine)
    recognizer = Recognizer(pool, engine.info, Limits())
    source = AudioSource(content=wav_bytes(tone(1.0)))
    with pytest.raises(ResourceExhausted):
        await recognizer.recognize(replace(LINEAR16, sample_rate_hertz=0), source)
    await pool.close()
    assert decoded == []
