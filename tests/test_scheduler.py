"""Continuous batching of long decodes (``engine/scheduler.py``), over a fake stepping engine.

The fake reveals its transcript 30 s per step and records which cursors each step advanced,
so fairness, cancellation and ordering are checked step by step, with no model.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from hark.engine import SAMPLE_RATE, DecodeOptions, Samples, Stopped
from hark.engine.pool import EnginePool
from hark.settings import Limits
from hark.speech import long_audio
from hark.speech.recognizer import Recognizer
from hark.speech.types import RecognitionConfig, Result

from fake_engine import FakeEngine


def speech(seconds: float, seed: int = 0) -> Samples:
    """Bursts of noise (1.2 s loud, 0.8 s quiet): the fake engine hears a word per 0.4 s."""
    rng = np.random.default_rng(seed)
    samples = rng.uniform(-0.3, 0.3, int(seconds * SAMPLE_RATE)).astype(np.float32)
    period = 2 * SAMPLE_RATE
    for start in range(int(1.2 * SAMPLE_RATE), len(samples), period):
        samples[start : start + int(0.8 * SAMPLE_RATE)] = 0
    return samples


async def test_long_audio_is_stepped_and_equals_the_one_call_transcript() -> None:
    engine = FakeEngine(delay=0.001)
    pool = EnginePool(engine, max_batch=4)
    samples = speech(100)
    progress: list[float] = []
    transcript = await pool.transcribe(samples, DecodeOptions(), progress.append)
    assert transcript == engine.transcript(samples, DecodeOptions())
    assert engine.steps == [[1], [1], [1], [1]]  # 100 s: four 30 s steps of one cursor
    assert progress == [30.0, 60.0, 90.0, 100.0]
    await pool.close()


async def test_many_cursors_share_steps_round_robin() -> None:
    engine = FakeEngine(delay=0.01)
    pool = EnginePool(engine, max_batch=2)
    clips = [speech(90, seed) for seed in range(6)]  # three steps each
    transcripts = await asyncio.gather(*(pool.transcribe(c, DecodeOptions()) for c in clips))
    # Each caller gets its own transcript, whatever the batches were.
    assert list(transcripts) == [engine.transcript(c, DecodeOptions()) for c in clips]
    assert all(len(step) == 2 for step in engine.steps) and len(engine.steps) == 9
    # Round-robin: every cursor has its n-th step before any has its (n+1)-th.
    for turn in range(3):
        advanced = sorted(i for step in engine.steps[3 * turn : 3 * turn + 3] for i in step)
        assert advanced == [1, 2, 3, 4, 5, 6]
    assert pool.scheduler.batch_sizes == {2: 9}
    await pool.close()


async def test_a_long_file_does_not_starve_a_short_one() -> None:
    engine = FakeEngine(delay=0.01)
    pool = EnginePool(engine, max_batch=1)
    long_job = asyncio.create_task(pool.transcribe(speech(1800), DecodeOptions()))  # 60 steps
    while len(engine.steps) < 5:
        await asyncio.sleep(0.005)
    await pool.transcribe(speech(60, 1), DecodeOptions())  # two steps
    # It took turns with the long file from its first step: done within four more steps.
    assert len(engine.steps) <= 5 + 1 + 4
    assert not long_job.done()
    long_job.cancel()
    await pool.close()


async def test_stop_is_asked_between_steps() -> None:
    engine = FakeEngine(delay=0.005)
    pool = EnginePool(engine, max_batch=4)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(len(engine.steps))
        return len(asked) > 2  # after its second step

    other = asyncio.create_task(pool.transcribe(speech(240, 1), DecodeOptions()))
    with pytest.raises(Stopped):
        await pool.transcribe(speech(600), DecodeOptions(), progress=lambda _: None, stop=stop)
    stopped_ident = 2  # started after ``other``
    assert sum(stopped_ident in step for step in engine.steps) == 2
    # The other cursor goes on to its end.
    assert (await other).duration == 240
    await pool.close()


async def test_a_caller_that_goes_away_leaves_the_rotation() -> None:
    engine = FakeEngine(delay=0.01)
    pool = EnginePool(engine, max_batch=4)
    gone = asyncio.create_task(pool.transcribe(speech(3000), DecodeOptions()))
    while len(engine.steps) < 2:
        await asyncio.sleep(0.005)
    gone.cancel()
    steps_then = len(engine.steps)
    await pool.transcribe(speech(60, 1), DecodeOptions())
    # At most the step running when it was cancelled still carried it.
    assert sum(1 in step for step in engine.steps[steps_then:]) <= 1
    assert pool.scheduler.cursors == 0
    await pool.close()


async def test_cursors_with_other_search_options_are_stepped_apart() -> None:
    engine = FakeEngine(delay=0.005)
    pool = EnginePool(engine, max_batch=8)
    greedy = replace(DecodeOptions(), beam_size=1)
    await asyncio.gather(
        pool.transcribe(speech(60), DecodeOptions()), pool.transcribe(speech(60, 1), greedy)
    )
    assert all(len(step) == 1 for step in engine.steps)
    await pool.close()


async def test_closing_the_pool_fails_waiting_cursors() -> None:
    from hark.errors import Unavailable

    engine = FakeEngine(delay=0.01)
    pool = EnginePool(engine, max_batch=4)
    job = asyncio.create_task(pool.transcribe(speech(3000), DecodeOptions()))
    while not engine.steps:
        await asyncio.sleep(0.005)
    await pool.close()
    with pytest.raises(Unavailable):
        await job


async def _windows_recognized(cursors: int) -> tuple[list[tuple[float, list[Result]]], FakeEngine]:
    engine = FakeEngine(delay=0.002)
    pool = EnginePool(engine, max_batch=8)
    recognizer = Recognizer(pool, engine.info, Limits(cursors_per_file=cursors))
    plan = recognizer.validate(RecognitionConfig(language_code="en-US"))
    samples = speech(600)
    chunks = [samples[None, i : i + 7 * SAMPLE_RATE] for i in range(0, len(samples), 7 * 16000)]
    progress: list[float] = []
    seen = [
        (window.offset, found)
        async for window, found in long_audio.recognized_windows(
            recognizer, long_audio.windows(chunks), plan, on_progress=progress.append
        )
    ]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(600)
    await pool.close()
    return seen, engine


async def test_windows_of_one_file_in_flight_come_back_in_order() -> None:
    one_by_one, _ = await _windows_recognized(1)
    seen, engine = await _windows_recognized(3)
    # The same windows and results, in order, as recognising them one after another.
    assert seen == one_by_one and len(seen) == 6
    offsets = [offset for offset, _ in seen]
    assert offsets == sorted(offsets)
    ends = [result.result_end_time for _, found in seen for result in found]
    assert ends == sorted(ends) and ends[-1] > 590
    # With three windows in flight, their steps shared engine calls (all three at once on a
    # quiet machine; a loaded one may start the third window's cursor a step late).
    assert max(len(step) for step in engine.steps) >= 2


async def test_a_failing_hook_fails_its_own_cursor_only() -> None:
    engine = FakeEngine(delay=0.005)
    pool = EnginePool(engine, max_batch=4)

    def broken_stop() -> bool:
        raise RuntimeError("stop hook broke")

    def broken_progress(_: float) -> None:
        raise ValueError("progress hook broke")

    fine = asyncio.create_task(pool.transcribe(speech(120, 1), DecodeOptions()))
    with pytest.raises(RuntimeError, match="stop hook"):
        await pool.transcribe(
            speech(120), DecodeOptions(), progress=lambda _: None, stop=broken_stop
        )
    with pytest.raises(ValueError, match="progress hook"):
        await pool.transcribe(speech(120), DecodeOptions(), progress=broken_progress)
    assert (await fine).duration == 120
    await pool.close()


async def test_engine_calls_at_once_each_step_their_share_of_the_cursors() -> None:
    # Two engine calls at once (a CPU's default with two cores): eight cursors are not all
    # taken by the first step, which would leave the second call idle, but shared four and four.
    engine = FakeEngine(delay=0.2)  # long enough that the two calls overlap on a busy loop
    pool = EnginePool(engine, workers=2, max_batch=8)
    clips = [speech(60, seed) for seed in range(8)]  # two steps each
    transcripts = await asyncio.gather(*(pool.transcribe(c, DecodeOptions()) for c in clips))
    assert list(transcripts) == [engine.transcript(c, DecodeOptions()) for c in clips]
    assert pool.scheduler.batch_sizes == {4: 4}
    assert engine.peak_concurrency == 2
    await pool.close()
