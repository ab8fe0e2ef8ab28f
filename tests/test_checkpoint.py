"""Checkpoints: a job interrupted after some windows resumes past them, and its result equals
an uninterrupted run's (fake engine: plumbing, not recognition)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from hark.api import operations
from hark.engine import SAMPLE_RATE, DecodeOptions, Samples, Transcript
from hark.engine.pool import EnginePool
from hark.jobs import Job, JobState
from hark.jobs.service import LongRunningRecognizer
from hark.jobs.sqlite import SqliteJobStore
from hark.settings import Limits, StorageSettings
from hark.speech import checkpoint, long_audio
from hark.speech.checkpoint import Checkpoint
from hark.speech.recognizer import Recognizer
from hark.speech.types import Alternative, Recognition, RecognitionConfig, Result
from hark.storage import AudioStorage

from audio_samples import wav_bytes
from fake_engine import FakeEngine

SECONDS = 100
WINDOW = 20.0
LIMITS = Limits(inline_async_max_seconds=2 * SECONDS)


class CountingEngine(FakeEngine):
    """Keeps the length of every stretch of audio the engine was asked to recognise."""

    def __init__(self) -> None:
        super().__init__()
        self.recognised: list[float] = []

    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        self.recognised.append(len(samples) / SAMPLE_RATE)
        return super().transcript(samples, options)


class WorkerDied(Exception):
    """Stands for the process dying: nothing after it runs."""


def _speech() -> bytes:
    """2 s bursts of tone with 1 s of silence between them: cuts fall in the silences."""
    t = np.arange(SECONDS * SAMPLE_RATE) / SAMPLE_RATE
    loud = (t % 3.0) < 2.0
    return wav_bytes((0.3 * np.sin(2 * np.pi * 440 * t) * loud).astype(np.float32))


class _NoQueue:
    """``run`` never submits; the service only needs a queue to exist."""

    async def submit(self, job: Job, content: bytes | None) -> None:
        raise AssertionError("not used")

    async def stop_work(self, name: str) -> None:
        return None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteJobStore]:
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    yield store
    await store.close()


async def _run(store: SqliteJobStore, tmp_path: Path, engine: CountingEngine) -> Recognition:
    """One attempt at the oldest queued job, as a worker makes it."""
    pool = EnginePool(engine)
    recognizer = Recognizer(pool, engine.info, LIMITS)
    service = LongRunningRecognizer(
        recognizer,
        store=store,
        queue=_NoQueue(),  # type: ignore[arg-type]
        storage=AudioStorage(StorageSettings(), tmp_path),
        limits=LIMITS,
        render_output=operations.output_json,
    )
    try:
        job = await store.claim(time.time())
        assert job is not None
        return await service.run(job)
    finally:
        await pool.close()


async def _submit(store: SqliteJobStore, name: str) -> None:
    config = RecognitionConfig(language_code="en-US", enable_word_time_offsets=True)
    job = Job(name=name, api_version="v1", config=config, start_time=1.0, last_update_time=1.0)
    await store.create(job, _speech())


def _shape(recognition: Recognition) -> list[tuple[Any, ...]]:
    return [
        (r.result_end_time, r.alternatives[0].transcript, r.alternatives[0].words)
        for r in recognition.results
    ]


async def test_a_retried_job_recognises_only_the_windows_after_its_checkpoint(
    store: SqliteJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(long_audio, "WINDOW_SECONDS", WINDOW)
    await _submit(store, "1")
    whole = await _run(store, tmp_path, CountingEngine())
    assert await store.finish("1", JobState.DONE, time.time(), result=whole)
    assert await store.checkpoint("1") is None  # dropped when the job ends

    await _submit(store, "2")
    saved: list[Checkpoint] = []
    original = store.save_checkpoint

    async def die_after_two(name: str, reached: Checkpoint) -> bool:
        assert await original(name, reached)
        saved.append(reached)
        if len(saved) == 2:
            raise WorkerDied()
        return True

    monkeypatch.setattr(store, "save_checkpoint", die_after_two)
    with pytest.raises(WorkerDied):
        await _run(store, tmp_path, CountingEngine())
    monkeypatch.setattr(store, "save_checkpoint", original)

    resume = await store.checkpoint("2")
    assert resume == saved[-1] and 2 * (WINDOW - 10) <= resume.offset <= 2 * WINDOW
    assert await store.requeue_running() == 1  # the embedded server restarting
    engine = CountingEngine()
    resumed = await _run(store, tmp_path, engine)

    # Only the audio past the checkpoint went through the engine ...
    assert sum(engine.recognised) == pytest.approx(SECONDS - resume.offset, abs=0.01)
    # ... and the result is the uninterrupted one: each window's results once, times absolute.
    assert _shape(resumed) == _shape(whole)
    assert resumed.total_billed_seconds == whole.total_billed_seconds
    assert [r.result_end_time for r in resumed.results] == sorted(
        r.result_end_time for r in resumed.results
    )


async def test_a_job_that_died_after_its_last_window_resumes_with_nothing_left(
    store: SqliteJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(long_audio, "WINDOW_SECONDS", WINDOW)
    await _submit(store, "1")
    whole = await _run(store, tmp_path, CountingEngine())  # its checkpoint reaches the end
    assert await store.requeue_running() == 1
    engine = CountingEngine()
    again = await _run(store, tmp_path, engine)
    assert engine.recognised == []
    assert _shape(again) == _shape(whole)
    assert again.total_billed_seconds == whole.total_billed_seconds


def test_skip_drops_whole_and_partial_chunks() -> None:
    chunks = [np.arange(i, i + 5, dtype=np.float32)[None] for i in range(0, 20, 5)]
    kept = np.concatenate(list(checkpoint.skip(chunks, 7)), axis=1)
    assert kept.tolist() == [list(range(7, 20))]
    assert list(checkpoint.skip(chunks, 20)) == []


def test_windows_from_a_checkpoint_are_the_uninterrupted_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(long_audio, "WINDOW_SECONDS", WINDOW)
    rng = np.random.default_rng(1)
    signal = rng.uniform(-0.5, 0.5, SECONDS * SAMPLE_RATE).astype(np.float32)
    chunks = [signal[None, i : i + 7 * SAMPLE_RATE] for i in range(0, len(signal), 7 * SAMPLE_RATE)]
    whole = list(long_audio.windows(chunks))
    cut = Checkpoint(whole[2].offset)
    resumed = list(long_audio.windows(checkpoint.skip(chunks, cut.samples), start=cut.offset))
    assert [w.offset for w in resumed] == [w.offset for w in whole[2:]]
    assert all(
        np.array_equal(a.channels, b.channels) for a, b in zip(resumed, whole[2:], strict=True)
    )


class _OutOfOrder:
    """A recogniser whose windows finish when the test releases them, in any order: one
    result each, ending where the window ends."""

    def __init__(self, cursors: int) -> None:
        self.limits = Limits(cursors_per_file=cursors)
        self.started: list[float] = []
        self._released: dict[float, asyncio.Event] = {}

    def release(self, offset: float) -> None:
        self._released.setdefault(offset, asyncio.Event()).set()

    async def recognize_samples(
        self, channels: Any, plan: Any, *, offset: float, progress: Any = None
    ) -> list[Result]:
        self.started.append(offset)
        await self._released.setdefault(offset, asyncio.Event()).wait()
        end = offset + channels.shape[1] / SAMPLE_RATE
        return [Result((Alternative(f"window at {offset:g}"),), result_end_time=end)]

    async def tag_speakers(self, found: list[Result], parts: Any, plan: Any) -> list[Result]:
        return found


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(3000):  # a hang guard only
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never met")


async def test_with_windows_in_flight_a_checkpoint_covers_only_the_finished_prefix() -> None:
    # Several windows of one file are recognised at once (cursors): the later ones may finish
    # first, and a checkpoint must never reach past a window that is still being recognised.
    recognizer = _OutOfOrder(cursors=3)
    windows = [
        long_audio.Window(np.zeros((1, 10 * SAMPLE_RATE), np.float32), 10.0 * i) for i in range(4)
    ]
    plan = SimpleNamespace(speakers=None, separate_channels=False)
    saved: list[Checkpoint] = []

    async def keep(reached: Checkpoint) -> None:
        saved.append(reached)

    work = asyncio.create_task(
        long_audio.recognize_windows(recognizer, windows, plan, on_checkpoint=keep)  # type: ignore[arg-type]
    )
    await _until(lambda: recognizer.started == [0.0, 10.0, 20.0])
    recognizer.release(10.0)
    recognizer.release(20.0)  # windows 2 and 3 are done; window 1 is not
    await asyncio.sleep(0.2)
    assert saved == []
    recognizer.release(0.0)
    await _until(lambda: len(saved) == 3)
    assert [c.offset for c in saved] == [10.0, 20.0, 30.0]
    assert [r.alternatives[0].transcript for r in saved[-1].results] == [
        "window at 0",
        "window at 10",
        "window at 20",
    ]
    recognizer.release(30.0)
    recognition = await asyncio.wait_for(work, 60)
    assert [c.offset for c in saved] == [10.0, 20.0, 30.0, 40.0]
    assert saved[-1].results == recognition.results
