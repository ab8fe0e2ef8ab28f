"""``FakeEngine``: a deterministic stand-in for plumbing tests. It recognises nothing.

Two modes:

* scripted (``FakeEngine(["hello world", "second segment"])``): those texts, one segment
  each, spread evenly over the audio, words evenly within each segment;
* energy (no script): one segment per stretch of audio louder than ``threshold``, with
  words ``word1 word2 ...`` numbered across the transcript, one per ``seconds_per_word``.

``delay`` makes every call sleep first, and ``peak_concurrency`` records how many calls
overlapped, for queue and concurrency tests.

Stepping (``start``/``step``, the scheduler's calls): a ``FakeDecode`` knows its whole transcript
from the start and reveals it ``STEP_SECONDS`` per step; ``steps`` records which decodes
(by ``ident``, numbered in start order) each ``step`` call advanced.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from hark.engine import (
    SAMPLE_RATE,
    Decode,
    DecodeOptions,
    Hypothesis,
    ModelInfo,
    Progress,
    Samples,
    Segment,
    Stop,
    Stopped,
    Transcript,
    Word,
)

STEP_SECONDS = 30.0
FRAME_SECONDS = 0.02
MIN_GAP_SECONDS = 0.3
"""Quieter gaps shorter than this do not split a segment (pauses between words)."""

_FAKE_INFO = ModelInfo(name="fake", multilingual=False, languages=frozenset({"en"}))


class FakeEngine:
    """Implements ``Engine`` deterministically; see the module docstring."""

    def __init__(
        self,
        script: Sequence[str] | None = None,
        *,
        info: ModelInfo = _FAKE_INFO,
        delay: float = 0.0,
        threshold: float = 0.01,
        seconds_per_word: float = 0.4,
    ) -> None:
        self._script = tuple(script) if script is not None else None
        self._info = info
        self.delay = delay
        self.threshold = threshold
        self.seconds_per_word = seconds_per_word
        self.peak_concurrency = 0
        self.closed = False
        self.batch_sizes: list[int] = []
        self.steps: list[list[int]] = []
        self._started = 0
        self._active = 0
        self._lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        """The ModelInfo given to the constructor ("fake", English only, by default)."""
        return self._info

    def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        """Scripted or energy-derived segments; ``options`` only choose the language.
        ``stop`` is asked once, after the delay (the "encoder pass")."""
        with self._busy():
            if stop is not None and stop():
                raise Stopped()
            transcript = self.transcript(samples, options)
        if progress is not None:
            progress(transcript.duration)
        return transcript

    def transcribe_batch(
        self, batch: Sequence[Samples], options: DecodeOptions
    ) -> list[Transcript]:
        """One call (one ``delay``) for the whole batch; sizes are kept in ``batch_sizes``."""
        with self._busy():
            self.batch_sizes.append(len(batch))
            return [self.transcript(samples, options) for samples in batch]

    def start(self, samples: Samples, options: DecodeOptions) -> FakeDecode:
        """A decode that reveals ``transcript(samples)`` a step at a time (no engine time)."""
        if self.closed:
            raise RuntimeError("the engine is closed")
        self._started += 1
        return FakeDecode(self._started, self.transcript(samples, options), options)

    def step(self, decodes: Sequence[Decode]) -> None:
        """One ``delay`` for the whole batch; each decode moves ``STEP_SECONDS`` on."""
        own = [decode for decode in decodes if isinstance(decode, FakeDecode)]
        assert len(own) == len(decodes) and all(not d.done for d in own)
        with self._busy():
            self.steps.append([decode.ident for decode in own])
            for decode in own:
                decode.position = min(decode.full.duration, decode.position + STEP_SECONDS)

    def n_best(self, samples: Samples, options: DecodeOptions, count: int) -> list[Hypothesis]:
        """The transcript text, then ``"<text> (alternative N)"``; confidence 0.9, 0.8, ..."""
        with self._busy():
            segments = self.transcript(samples, options).segments
        text = " ".join(s.text.strip() for s in segments)
        if not text:
            return []
        texts = [text] + [f"{text} (alternative {i})" for i in range(2, count + 1)]
        return [Hypothesis(t, round(max(0.9 - 0.1 * i, 0.05), 2)) for i, t in enumerate(texts)]

    def close(self) -> None:
        """Mark closed; later calls raise ``RuntimeError`` like the real engine."""
        self.closed = True

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """Record the call's overlap with others, and apply the delay."""
        if self.closed:
            raise RuntimeError("the engine is closed")
        with self._lock:
            self._active += 1
            self.peak_concurrency = max(self.peak_concurrency, self._active)
        try:
            if self.delay:
                time.sleep(self.delay)
            yield
        finally:
            with self._lock:
                self._active -= 1

    def transcript(self, samples: Samples, options: DecodeOptions) -> Transcript:
        """What every method answers for ``samples``: override it to change them all."""
        duration = len(samples) / SAMPLE_RATE
        if self._script is not None:
            segments = _scripted(self._script, duration)
        else:
            segments = self._from_energy(np.asarray(samples, dtype=np.float32))
        return Transcript(segments, _language(options), duration)

    def _from_energy(self, audio: Samples) -> tuple[Segment, ...]:
        segments: list[Segment] = []
        n = 0
        for start, end in _loud_stretches(audio, self.threshold):
            count = max(1, round((end - start) / self.seconds_per_word))
            names = [f"word{n + i + 1}" for i in range(count)]
            n += count
            segments.append(_segment(names, start, end))
        return tuple(segments)


@dataclass(eq=False)
class FakeDecode:
    """``FakeEngine``'s cursor state: the transcript it will give, and how much is decoded."""

    ident: int
    full: Transcript
    options: DecodeOptions
    position: float = field(default=0.0)

    @property
    def done(self) -> bool:
        return self.position >= self.full.duration

    @property
    def decoded_seconds(self) -> float:
        return self.position

    @property
    def batch_key(self) -> Hashable:
        return self.options.beam_size

    def transcript(self) -> Transcript:
        segments = tuple(s for s in self.full.segments if s.end <= self.position)
        return Transcript(segments, self.full.language, self.full.duration)


def _language(options: DecodeOptions) -> str:
    if options.language:
        return options.language
    return options.candidate_languages[0] if options.candidate_languages else "en"


def _scripted(script: tuple[str, ...], duration: float) -> tuple[Segment, ...]:
    if not script:
        return ()
    span = duration / len(script)
    return tuple(_segment(text.split(), i * span, (i + 1) * span) for i, text in enumerate(script))


def _segment(words: Sequence[str], start: float, end: float) -> Segment:
    step = (end - start) / max(1, len(words))
    timed = tuple(
        Word(start + i * step, start + (i + 1) * step, f" {w}", 0.9) for i, w in enumerate(words)
    )
    text = "".join(w.text for w in timed)
    return Segment(start, end, text, avg_logprob=-0.1, no_speech_prob=0.0, words=timed)


def _loud_stretches(audio: Samples, threshold: float) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches whose 20 ms RMS exceeds ``threshold``."""
    frame = int(FRAME_SECONDS * SAMPLE_RATE)
    n_frames = len(audio) // frame
    if n_frames == 0:
        return []
    rms = np.sqrt(np.mean(audio[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > threshold)
    stretches: list[tuple[float, float]] = []
    max_gap = round(MIN_GAP_SECONDS / FRAME_SECONDS)
    for index in loud.tolist():
        start, end = index * FRAME_SECONDS, (index + 1) * FRAME_SECONDS
        if stretches and index - round(stretches[-1][1] / FRAME_SECONDS) < max_gap:
            stretches[-1] = (stretches[-1][0], end)
        else:
            stretches.append((start, end))
    return stretches
