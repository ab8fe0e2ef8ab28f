"""Long audio in windows: cuts fall in pauses, offsets stay absolute, nothing doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from hark.audio import AudioSpec, iter_file
from hark.engine import SAMPLE_RATE, DecodeOptions, rescoring
from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import Limits
from hark.speech import long_audio
from hark.speech.boost import phrase_boosts
from hark.speech.recognizer import Recognizer
from hark.speech.types import Phrase, RecognitionConfig

from conftest import corpus_file, manifest
from wer import wer


def test_windows_cut_in_the_quietest_place() -> None:
    rng = np.random.default_rng(0)
    # 300 s of "speech" (noise) with 0.5 s silences at 115 s and 230 s.
    signal = rng.uniform(-0.5, 0.5, 300 * SAMPLE_RATE).astype(np.float32)
    for pause in (115, 230):
        signal[pause * SAMPLE_RATE : pause * SAMPLE_RATE + SAMPLE_RATE // 2] = 0
    chunks = [signal[None, i : i + 7 * SAMPLE_RATE] for i in range(0, len(signal), 7 * SAMPLE_RATE)]
    found = list(long_audio.windows(chunks))
    assert len(found) == 3 and found[0].offset == 0.0
    assert 115.1 < found[1].offset < 115.4 and 230.1 < found[2].offset < 230.4
    assert sum(w.channels.shape[1] for w in found) == len(signal)
    assert all(w.channels.shape[1] <= long_audio.WINDOW_SECONDS * SAMPLE_RATE for w in found)


@pytest.mark.slow
async def test_two_minutes_of_speech_with_absolute_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small windows, so the 115 s file crosses several cuts.
    monkeypatch.setattr(long_audio, "WINDOW_SECONDS", 40.0)
    name = "long_en_ljspeech_LJ001-0001-0016_16k.flac"
    engine = WhisperEngine.load("tiny.en", compute_type="int8")
    pool = EnginePool(engine)
    recognizer = Recognizer(pool, engine.info, Limits())
    plan = recognizer.validate(
        RecognitionConfig(language_code="en-US", enable_word_time_offsets=True)
    )
    progress: list[float] = []
    chunks = iter_file(corpus_file(name), plan.audio, chunk_seconds=10)
    recognition = await long_audio.recognize_windows(
        recognizer, long_audio.windows(chunks), plan, on_progress=progress.append
    )
    results = recognition.results
    await pool.close()
    text = " ".join(result.alternatives[0].transcript for result in results)
    assert wer(manifest()[name]["transcript_normalized"], text) <= 0.1
    words = [word for result in results for word in result.alternatives[0].words]
    starts = [word.start_time for word in words]
    assert starts == sorted(starts) and words[-1].end_time <= 115.5
    assert words[-1].end_time > 100
    assert progress == sorted(progress) and progress[-1] == pytest.approx(115.485, abs=0.05)
    assert recognition.total_billed_seconds == 116


@pytest.mark.slow
async def test_long_files_through_batched_steps_keep_their_accuracy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two long corpus files at once, each with several windows in flight: their steps share
    engine calls (continuous batching), and each transcript stays within the WER that one
    window per engine call gives (multispeaker 0.18, LJ Speech 0.04 with 120 s windows)."""
    monkeypatch.setattr(long_audio, "WINDOW_SECONDS", 60.0)  # two windows per file
    engine = WhisperEngine.load("tiny.en", compute_type="int8")
    pool = EnginePool(engine, max_batch=8)
    recognizer = Recognizer(pool, engine.info, Limits(cursors_per_file=2))
    plan = recognizer.validate(
        RecognitionConfig(language_code="en-US", enable_word_time_offsets=True)
    )
    bounds = {
        "long_en_multispeaker_16k.wav": 0.25,
        "long_en_ljspeech_LJ001-0001-0016_16k.flac": 0.1,
    }

    async def recognized(name: str) -> tuple[str, list[float]]:
        chunks = iter_file(corpus_file(name), plan.audio, chunk_seconds=10)
        recognition = await long_audio.recognize_windows(
            recognizer, long_audio.windows(chunks), plan
        )
        results = recognition.results
        text = " ".join(result.alternatives[0].transcript for result in results)
        return text, [w.start_time for r in results for w in r.alternatives[0].words]

    found = await asyncio.gather(*(recognized(name) for name in bounds))
    await pool.close()
    for (name, bound), (text, starts) in zip(bounds.items(), found, strict=True):
        assert wer(manifest()[name]["transcript_normalized"], text) <= bound, (name, text)
        assert starts == sorted(starts) and starts
    assert max(pool.scheduler.batch_sizes) >= 3  # windows of both files in one step


@pytest.mark.slow
def test_a_new_cursor_batched_with_a_mature_one_reads_as_alone() -> None:
    """A cursor at its first step (no previous text) shares a step with one whose prompt holds
    a minute of text: it must read what it reads alone (padding its prompt to the other's
    length once made it skip a minute of speech)."""
    engine = WhisperEngine.load("tiny.en", compute_type="int8")
    spec = RecognitionConfig(language_code="en-US")
    plan = Recognizer(EnginePool(engine), engine.info, Limits()).validate(spec)

    def samples(name: str) -> np.ndarray:
        chunks = iter_file(corpus_file(name), plan.audio, chunk_seconds=10)
        return np.concatenate([chunk.mean(axis=0) for chunk in chunks]).astype(np.float32)

    mature = engine.start(samples("long_en_ljspeech_LJ001-0001-0016_16k.flac"), plan.decode)
    for _ in range(3):
        engine.step([mature])
    young = samples("long_en_multispeaker_16k.wav")[: 60 * SAMPLE_RATE]
    alone, batched = engine.start(young, plan.decode), engine.start(young, plan.decode)
    while not alone.done:
        engine.step([alone])
    while not batched.done:
        engine.step([batched, mature] if not mature.done else [batched])
    text = " ".join(segment.text for segment in batched.transcript().segments)
    reference = " ".join(segment.text for segment in alone.transcript().segments)
    assert wer(reference, text) <= 0.1, (reference, text)
    engine.close()


@pytest.mark.slow
async def test_phrase_boosts_rerank_the_batched_steps_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 30 s a decode goes through the scheduler's steps (continuous batching): a request's
    phrase boosts re-rank each step's hypotheses there as on the one-call path, and a request
    without boosts is never re-ranked."""
    reranked: list[object] = []

    def spy(result: Any, rescore: Any, text_of: Any) -> rescoring.Rescored:
        reranked.append(rescore)
        return rerank(result, rescore, text_of)

    rerank = rescoring.rerank
    monkeypatch.setattr(rescoring, "rerank", spy)
    engine = WhisperEngine.load("tiny.en", compute_type="int8")
    pool = EnginePool(engine, max_batch=8)
    chunks = iter_file(corpus_file("long_en_multispeaker_16k.wav"), AudioSpec(), 10)
    audio = np.concatenate([chunk[0] for chunk, _ in zip(chunks, range(4), strict=False)])
    assert audio.shape[0] > 30 * SAMPLE_RATE
    boosts = phrase_boosts([Phrase("Quilter", 10.0)])
    try:
        await pool.transcribe(audio, DecodeOptions(language="en"))
        assert reranked == []
        await pool.transcribe(audio, DecodeOptions(language="en", prompt="Quilter", rescore=boosts))
    finally:
        await pool.close()
    assert reranked and all(rescore is boosts for rescore in reranked)
    assert max(pool.scheduler.batch_sizes) >= 1
