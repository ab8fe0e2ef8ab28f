"""The speech engine behind a small Protocol.

Only ``engine/`` (whisper, loading, vad) imports faster_whisper / ctranslate2; an
import-linter contract checks it. Everything else sees these dataclasses: audio goes in as
16 kHz mono float32 samples, timed words come out. Times are seconds from the start of the
samples given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
"""Every engine takes 16 kHz mono float32 samples in [-1, 1]."""

Samples = npt.NDArray[np.float32]
Progress = Callable[[float], None]
"""Told how many seconds of the samples have been decoded so far."""
Stop = Callable[[], bool]
"""Asked between a decode's steps; True abandons the decode (``Stopped``)."""
Rescore = Callable[[str], float]
"""A bonus (or, negative, a penalty) in log-probability for a hypothesis's text: phrase boosts.
Hashable and comparable by value (a frozen dataclass), so equal requests can share a batch."""


_NON_WORD = re.compile(r"[^\w']+|_")


def comparable(text: str) -> str:
    """``text`` as words are compared: lower case, punctuation out (apostrophes kept), single
    spaces. Two n-best alternatives, or two readings of a streamed word, are "the same" when
    this is."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


class Stopped(Exception):
    """A decode was abandoned because its ``stop`` said so; it produced nothing."""


@dataclass(frozen=True)
class Word:
    """One recognised word; ``text`` keeps the engine's leading space and punctuation."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """A stretch of decoded text with its words (Whisper's segment)."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: tuple[Word, ...]


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode; built by the core from a RecognitionConfig and model profile.

    ``language`` is a Whisper language code ("en"); None asks the engine to detect it,
    limited to ``candidate_languages`` when those are given.
    ``prompt`` biases decoding toward phrases (Whisper hotwords); None for no bias.
    ``initial_prompt`` is text said just before the samples (Whisper's previous-text prompt),
    so a stream decoded in pieces continues its sentence; None for none.
    ``max_new_tokens`` caps the tokens decoded per 30 s window (None: the model's limit), so
    a decoder caught in a repetition loop stops early.
    ``rescore``, when given, re-ranks the beam's hypotheses of each 30 s window: the decoder's
    length-normalised log-probability plus ``rescore(text)`` spread over the best hypothesis's
    tokens (phrase boosts); with a ``prompt`` as well, each window is also decoded without the
    prompt, and the prompted reading is kept only when it earns more (engine/rescoring.py).
    None decodes exactly as without it.
    ``task`` is Whisper's: "transcribe", or "translate" (speech in any language written in
    English; multilingual models only). ``temperature`` is the first sampling temperature:
    0 decodes greedily/by beam and falls back to sampling at rising temperatures (up to 1)
    only when a window's decode looks broken, as Whisper does; above 0 starts sampling there.
    """

    language: str | None = "en"
    candidate_languages: tuple[str, ...] = ()
    beam_size: int = 5
    prompt: str | None = None
    condition_on_previous_text: bool = True
    word_timestamps: bool = True
    initial_prompt: str | None = None
    max_new_tokens: int | None = None
    task: str = "transcribe"
    temperature: float = 0.0
    rescore: Rescore | None = None


@dataclass(frozen=True)
class Transcript:
    """What one transcription of one channel produced."""

    segments: tuple[Segment, ...]
    language: str
    duration: float


@dataclass(frozen=True)
class Hypothesis:
    """One entry of an n-best list: a transcript and its confidence (0..1)."""

    text: str
    confidence: float


@dataclass(frozen=True)
class ModelInfo:
    """What the loaded model can do, for validation before any audio is decoded."""

    name: str
    multilingual: bool
    languages: frozenset[str] = field(default_factory=frozenset)
    weight_bytes: int = 0
    """Size of the weights on disk: how models loaded side by side compare in cost and
    accuracy (tiny < base < small ...) when a request's ``model`` field chooses between them."""


class Decode(Protocol):
    """One long decode in progress (a cursor): the engine's own state between ``Engine.step``
    calls. Only the engine that started it reads or advances it."""

    @property
    def done(self) -> bool:
        """True once every sample is decoded; ``transcript`` is then final."""
        ...

    @property
    def decoded_seconds(self) -> float:
        """How far into the samples decoding has got."""
        ...

    @property
    def batch_key(self) -> Hashable:
        """Decodes with equal keys may share one ``Engine.step`` call."""
        ...

    def transcript(self) -> Transcript:
        """What was decoded so far (all of it once ``done``)."""
        ...


class Engine(Protocol):
    """A loaded speech model. Methods block; callers run them off the event loop."""

    @property
    def info(self) -> ModelInfo: ...

    def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        """Transcribe ``samples`` (any length) into timed segments.

        ``progress(seconds)``, when given, is called from the engine's thread as decoding
        passes ``seconds`` into the samples. ``stop()``, when given, is asked from the
        engine's thread after each window is encoded; True raises ``Stopped``.
        """
        ...

    def transcribe_batch(
        self, batch: Sequence[Samples], options: DecodeOptions
    ) -> list[Transcript]:
        """``transcribe`` of each of ``batch``, in order, with shared engine calls where the
        engine can (a batched decoder pass over clips of ≤30 s)."""
        ...

    def start(self, samples: Samples, options: DecodeOptions) -> Decode:
        """Begin decoding ``samples`` (any length) a window at a time; nothing is decoded yet
        unless the samples need no step at all (silence: ``done`` at once)."""
        ...

    def step(self, decodes: Sequence[Decode]) -> None:
        """Advance each of ``decodes`` (unfinished, started here, equal ``batch_key``) by one
        window of at most 30 s, in one shared engine call where the engine can. A decode
        stepped to its end gives the same transcript as ``transcribe`` of its samples, up to
        the numerical noise of batching."""
        ...

    def n_best(self, samples: Samples, options: DecodeOptions, count: int) -> list[Hypothesis]:
        """Up to ``count`` distinct transcripts of one short span (≤30 s), best first.

        Distinct means different after lower-casing and dropping punctuation. The first is
        the engine's best reading. Raises ``ValueError`` for more than 30 s of audio.
        """
        ...

    def close(self) -> None:
        """Release the model. Idempotent; calls after it raise ``RuntimeError``."""
        ...
