"""EnginePool batching: waiting transcriptions at the head of the queue share one engine call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from hark.engine import DecodeOptions, Samples, Transcript
from hark.engine.pool import EnginePool

from conftest import corpus_file
from fake_engine import FakeEngine


def clip(seconds: float) -> Samples:
    return np.zeros(int(seconds * 16000), np.float32)


async def test_waiting_transcriptions_are_batched_in_order() -> None:
    engine = FakeEngine(["hi"], delay=0.2)
    pool = EnginePool(engine, workers=1, max_queue=16, max_batch=3)
    options = DecodeOptions()
    calls = [pool.transcribe(clip(n + 1), options) for n in range(6)]
    transcripts = await asyncio.gather(*calls)
    # Each caller gets its own clip's transcript back.
    assert [t.duration for t in transcripts] == [1, 2, 3, 4, 5, 6]
    # All six were waiting before the worker started: two batches of at most 3.
    assert engine.batch_sizes == [3, 3]
    await pool.close()


async def test_batches_never_jump_the_queue_or_mix_options() -> None:
    engine = FakeEngine(["hi"], delay=0.1)
    pool = EnginePool(engine, workers=1, max_queue=16, max_batch=8)
    other = replace(DecodeOptions(), beam_size=1)
    order: list[str] = []

    async def call(name: str, coroutine: object) -> None:
        await coroutine  # type: ignore[misc]
        order.append(name)

    await asyncio.gather(
        call("a", pool.transcribe(clip(1), DecodeOptions())),
        call("b", pool.transcribe(clip(1), DecodeOptions())),
        call("c", pool.transcribe(clip(1), DecodeOptions())),
        call("n", pool.n_best(clip(1), DecodeOptions(), 2)),
        call("d", pool.transcribe(clip(1), DecodeOptions())),
        call("e", pool.transcribe(clip(1), other)),
    )
    # a+b+c together; n_best alone; d alone (e has other options); e alone.
    assert engine.batch_sizes == [3]
    assert order == ["a", "b", "c", "n", "d", "e"]
    await pool.close()


async def test_a_batch_failure_reaches_every_caller() -> None:
    class Broken(FakeEngine):
        def transcribe_batch(
            self, batch: Sequence[Samples], options: DecodeOptions
        ) -> list[Transcript]:
            raise RuntimeError("boom")

    pool = EnginePool(Broken(["x"], delay=0.1), workers=1, max_queue=8, max_batch=8)
    first = asyncio.create_task(pool.transcribe(clip(1), DecodeOptions()))
    await asyncio.sleep(0.02)  # running alone; the next three wait and go as one batch
    outcomes = await asyncio.gather(
        *(pool.transcribe(clip(1), DecodeOptions()) for _ in range(3)), return_exceptions=True
    )
    assert (await first).segments
    assert all(isinstance(o, RuntimeError) and str(o) == "boom" for o in outcomes)
    await pool.close()


@pytest.mark.slow
def test_real_batch_matches_one_by_one_with_word_timings() -> None:
    from faster_whisper import decode_audio

    from hark.engine.whisper import WhisperEngine

    names = [
        "medium_en_ljspeech_5utts_16k.wav",
        "medium_en_mixed_short_utts_16k.flac",
        "long_en_multispeaker_16k.wav",
    ]
    clips = [decode_audio(str(corpus_file(name)))[: 10 * 16000] for name in names]
    clips.append(np.zeros(16000 * 3, np.float32))  # silence takes the one-by-one path
    engine = WhisperEngine.load("tiny.en")
    try:
        together = engine.transcribe_batch(clips, DecodeOptions())
        alone = [engine.transcribe(samples, DecodeOptions()) for samples in clips]
    finally:
        engine.close()
    assert together == alone
    assert together[0].segments[0].words and not together[-1].segments
