"""Issue 12: no word lost when decoding falls behind. Streams of corpus speech, paced, share
an engine slowed far below real time; every spoken word must be in exactly one final.

The engine is a stand-in that knows where each word of each stream is (it finds the window
it is given in the stream's audio and answers the words whose middle lies inside it), so any
word missing or repeated is the streaming code's doing, not the model's. The voice activity is
the real Silero VAD.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from hark.engine import (
    SAMPLE_RATE,
    Decode,
    DecodeOptions,
    Engine,
    Hypothesis,
    ModelInfo,
    Progress,
    Samples,
    Segment,
    Stop,
    Transcript,
    Word,
)
from hark.engine.pool import EnginePool
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import StreamingConfig, StreamingRequest
from hark.speech.types import RecognitionConfig

from audio_samples import encode
from conftest import corpus_file, manifest
from fake_engine import FakeEngine
from wer import wer

pytestmark = pytest.mark.corpus

CLIPS = (
    ("en_cmu_cards_002.wav", "en_librispeech_1089-134686-0001.flac", "en_cmu_cards_001.wav"),
    ("en_ljspeech_LJ001-0002.wav", "en_cmu_cards_003.wav", "en_ljspeech_LJ001-0008.wav"),
    ("en_cmu_cards_001.wav", "en_ljspeech_LJ001-0008.wav", "en_cmu_cards_002.wav"),
    ("en_librispeech_1089-134686-0001.flac", "en_cmu_cards_003.wav", "en_ljspeech_LJ001-0002.wav"),
)
GAP = 1.0
"""Seconds of quiet between clips (the endpoint takes 0.4 s of it)."""
CHUNK = 3200
"""Bytes per message: 100 ms of LINEAR16."""


@dataclass
class _Stream:
    pcm: bytes
    words: list[Word]
    """Every spoken word, with its absolute time in the stream."""


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def _stream(names: Sequence[str], seed: int) -> _Stream:
    """The clips with quiet between them; faint noise makes every stretch of audio unique,
    so a window can be found in the stream by its samples."""
    noise = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    words: list[Word] = []
    at = 0

    def quiet(seconds: float) -> None:
        nonlocal at
        count = int(seconds * SAMPLE_RATE)
        pieces.append(noise.integers(-20, 20, count, dtype=np.int16))
        at += count

    quiet(0.5)
    for name in names:
        clip = np.frombuffer(encode(corpus_file(name), "LINEAR16", 16000), dtype=np.int16)
        loud = np.flatnonzero(np.abs(clip) > 0.1 * np.abs(clip).max())
        first, last = (at + int(loud[0])) / SAMPLE_RATE, (at + int(loud[-1])) / SAMPLE_RATE
        spoken = _words(manifest()[name]["transcript"])
        step = (last - first) / len(spoken)
        words += [
            Word(first + i * step, first + (i + 1) * step, f" {w}", 0.9)
            for i, w in enumerate(spoken)
        ]
        pieces.append(clip + noise.integers(-20, 20, clip.shape[0], dtype=np.int16))
        at += clip.shape[0]
        quiet(GAP)
    quiet(0.5)
    return _Stream(np.concatenate(pieces).astype(np.int16).tobytes(), words)


class _Knowing(FakeEngine):
    """Answers, for a window of any stream, the words whose middle lies inside it."""

    def __init__(self, streams: Sequence[_Stream], delay: float) -> None:
        super().__init__(delay=delay)
        self.streams = streams
        self.calls = 0

    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        self.calls += 1
        duration = len(samples) / SAMPLE_RATE
        start = self._locate(samples)
        words = tuple(
            Word(w.start - start, w.end - start, w.text, w.probability)
            for w in self._found
            if start <= (w.start + w.end) / 2 < start + duration
        )
        segment = Segment(0.0, duration, "".join(w.text for w in words), -0.1, 0.0, words)
        return Transcript((segment,) if words else (), "en", duration)

    def _locate(self, samples: Samples) -> float:
        needle = (np.asarray(samples[:256]) * 32768).round().astype(np.int16).tobytes()
        for stream in self.streams:
            at = stream.pcm.find(needle)
            while at >= 0 and at % 2:
                at = stream.pcm.find(needle, at + 1)
            if at >= 0:
                self._found = stream.words
                return at / 2 / SAMPLE_RATE
        raise AssertionError("a window that is in no stream")


async def _finals(
    streaming: StreamingRecognizer, stream: _Stream, *, interim: bool, pace: float
) -> list[str]:
    async def requests() -> AsyncIterator[StreamingRequest]:
        yield StreamingConfig(
            RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="en"),
            interim_results=interim,
        )
        for offset in range(0, len(stream.pcm), CHUNK):
            await asyncio.sleep(pace)
            yield stream.pcm[offset : offset + CHUNK]

    return [
        result.alternatives[0].transcript
        async for response in streaming.recognize(requests())
        for result in response.results
        if result.is_final
    ]


@pytest.mark.parametrize("interim", [False, True])
@pytest.mark.parametrize(("delay", "pace"), [(0.0, 0.02), (0.2, 0.02), (0.05, 0.0)])
async def test_every_word_is_in_exactly_one_final(interim: bool, delay: float, pace: float) -> None:
    """Four streams at 5x real time (or as fast as they can be sent) on one engine slot;
    with a 0.2 s decode they need ~4x what one slot gives, so finals fall behind."""
    streams = [_stream(names, seed) for seed, names in enumerate(CLIPS)]
    engine = _Knowing(streams, delay)
    pool = EnginePool(engine)
    streaming = StreamingRecognizer(Recognizer(pool, engine.info, Limits()))
    try:
        finals = await asyncio.wait_for(
            asyncio.gather(*(_finals(streaming, s, interim=interim, pace=pace) for s in streams)),
            timeout=120,
        )
    finally:
        await pool.close()
    for stream, got in zip(streams, finals, strict=True):
        spoken = [w.text.strip() for w in stream.words]
        assert _words(" ".join(got)) == spoken
        assert all(text.strip() for text in got)  # no empty finals


class _Slowed:
    """The real engine, ``delay`` seconds slower per call: a machine far busier than this."""

    def __init__(self, inner: Engine, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        time.sleep(self.delay)
        return self.inner.transcribe(samples, options, progress, stop)

    def transcribe_batch(
        self, batch: Sequence[Samples], options: DecodeOptions
    ) -> list[Transcript]:
        time.sleep(self.delay)
        return self.inner.transcribe_batch(batch, options)

    def n_best(self, samples: Samples, options: DecodeOptions, count: int) -> list[Hypothesis]:
        time.sleep(self.delay)
        return self.inner.n_best(samples, options, count)

    def start(self, samples: Samples, options: DecodeOptions) -> Decode:
        return self.inner.start(samples, options)

    def step(self, decodes: Sequence[Decode]) -> None:
        time.sleep(self.delay)
        self.inner.step(decodes)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.slow
@pytest.mark.parametrize("interim", [False, True])
async def test_real_model_slowed_loses_no_words(interim: bool) -> None:
    """Four real-time streams on tiny.en slowed by 0.5 s a decode: the issue's busy machine.
    Before the fix, whole sentences went missing (WER 0.5-0.8 against batch); a word read
    differently from the batch reading is the model's, so the bound allows for that, not
    for a lost phrase."""
    from hark.engine.whisper import WhisperEngine

    engine = _Slowed(WhisperEngine.load("", cpu_threads=2), delay=0.5)
    pool = EnginePool(engine)
    streaming = StreamingRecognizer(Recognizer(pool, engine.info, Limits()))
    streams = [_stream(names, seed) for seed, names in enumerate(CLIPS)]
    batches = [" ".join(_batch(engine.inner, name) for name in names) for names in CLIPS]
    try:
        finals = await asyncio.wait_for(
            asyncio.gather(*(_finals(streaming, s, interim=interim, pace=0.1) for s in streams)),
            timeout=300,
        )
    finally:
        await pool.close()
    for batch, got in zip(batches, finals, strict=True):
        assert wer(batch, " ".join(got)) <= 0.25, (batch, got)


def _batch(engine: Engine, name: str) -> str:
    """The clip read whole, as batch recognition reads it."""
    pcm = np.frombuffer(encode(corpus_file(name), "LINEAR16", 16000), dtype=np.int16)
    transcript = engine.transcribe((pcm / 32768).astype(np.float32), DecodeOptions())
    return " ".join(segment.text for segment in transcript.segments)
