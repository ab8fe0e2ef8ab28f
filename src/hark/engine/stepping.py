"""Whisper decoded one 30 s step at a time, many decodes per engine call (continuous batching).

faster-whisper's ``generate_segments`` is a loop over one file: encode the 30 s window at
``seek``, decode it with the previous text as prompt, cut the tokens into segments at their
timestamps, move ``seek``. Here that loop is turned inside out: a ``WhisperDecode`` holds one
loop's state between calls, and ``step`` runs one turn of the loop for a whole batch of them at
once: one encoder pass over their stacked mel windows, one ``generate`` with a prompt per item
(each decode's own previous text and phrase hints), then faster-whisper's own
``_split_segments_by_timestamps`` moves each ``seek`` and ``add_word_timestamps`` times the
words. Steps of different decodes are independent, so the batch may mix decodes of different
files, or of different stretches of one file.

The constants and rules are faster-whisper's defaults, as ``WhisperModel.transcribe`` applies
them (the unbatched path in ``whisper.py``): temperature fallback on a broken-looking window,
no-speech skipping, prompt reset after a hot fallback. Words are aligned per window after its
decoding, never used to move ``seek`` (see ``whisper._transcribe_speech`` for why).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import (
    TranscriptionOptions,
    get_compression_ratio,
    get_ctranslate2_storage,
    get_suppressed_tokens,
)

from hark.engine import SAMPLE_RATE, DecodeOptions, Samples, Segment, Transcript, Word

PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"
"""faster-whisper's defaults for attaching punctuation to words."""
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
PROMPT_RESET_ON_TEMPERATURE = 0.5
MAX_INITIAL_TIMESTAMP = 1.0
"""faster-whisper's (and Whisper's) defaults for judging and skipping a window."""


@dataclass(eq=False)
class WhisperDecode:
    """One decode's loop state between steps (a cursor, as the scheduler sees it).

    ``features`` is the whole span's log-mel spectrogram (None: nothing to decode, e.g.
    silence); ``seek`` the frame the next step starts at; ``tokens`` all text tokens decoded
    so far, of which those after ``prompt_reset_since`` prompt the next step.
    """

    duration: float
    language: str
    options: DecodeOptions
    tokenizer: Tokenizer
    features: np.ndarray[Any, Any] | None
    seek: int = 0
    tokens: list[int] = field(default_factory=list)
    prompt_reset_since: int = 0
    last_speech: float = 0.0
    segments: list[Segment] = field(default_factory=list)

    @property
    def content_frames(self) -> int:
        return 0 if self.features is None else self.features.shape[-1] - 1

    @property
    def done(self) -> bool:
        return self.seek >= self.content_frames

    @property
    def decoded_seconds(self) -> float:
        if self.done:
            return self.duration
        return min(self.duration, self.seek / self.content_frames * self.duration)

    @property
    def batch_key(self) -> Hashable:
        # What one ``generate`` call shares: its search, and its phrase boosts (the hypotheses
        # are re-ranked call by call). Prompts and languages are per item.
        options = self.options
        return (
            options.beam_size,
            options.max_new_tokens,
            options.temperature,
            options.task,
            options.rescore,
            options.prompt,
        )

    def transcript(self) -> Transcript:
        return Transcript(
            segments=tuple(self.segments), language=self.language, duration=self.duration
        )


def start(
    model: WhisperModel,
    samples: Samples,
    language: str,
    options: DecodeOptions,
    *,
    speaks: bool = True,
) -> WhisperDecode:
    """A decode of ``samples`` in ``language``, before its first step. Without speech it is
    done at once, with no segments (Whisper would invent words for silence)."""
    tokenizer = Tokenizer(
        model.hf_tokenizer, model.model.is_multilingual, task=options.task, language=language
    )
    # Only the spectrogram is kept: a quarter of the samples' size, all the steps need.
    features = model.feature_extractor(samples) if speaks else None
    decode = WhisperDecode(samples.shape[0] / SAMPLE_RATE, language, options, tokenizer, features)
    if options.initial_prompt:
        decode.tokens.extend(tokenizer.encode(" " + options.initial_prompt.strip()))
    return decode


@dataclass(frozen=True)
class _Window:
    """One step's input for one decode: its padded mel window and how much of it is audio."""

    mel: np.ndarray[Any, Any]
    frames: int


@dataclass(frozen=True)
class _Outcome:
    """One decode's ``generate`` result, as faster-whisper's ``generate_with_fallback`` gives it."""

    result: Any
    avg_logprob: float
    temperature: float
    compression_ratio: float


def step(model: WhisperModel, decodes: Sequence[WhisperDecode]) -> None:
    """Advance each of ``decodes`` (unfinished, equal ``batch_key``) by one window."""
    windows = [_window(model, decode) for decode in decodes]
    per_item = _encode(model, [window.mel for window in windows])
    prompts = [prompt(model, decode) for decode in decodes]
    with _rescoring(model, decodes[0]):
        first = _generate_grouped(model, per_item, prompts, decodes)
    for index, (decode, window, result) in enumerate(zip(decodes, windows, first, strict=True)):
        own = ctranslate2.StorageView.from_array(np.ascontiguousarray(per_item[index : index + 1]))
        outcome = _judged(result, decode.tokenizer, decode.options.temperature)
        if _needs_fallback(outcome):
            with _rescoring(model, decode):
                outcome = _fallback(model, own, prompts[index], decode)
        _advance(model, decode, window, own, outcome)


def _rescoring(model: WhisperModel, decode: WhisperDecode) -> AbstractContextManager[None]:
    """Phrase boosts re-ranking the hypotheses of ``decode``'s ``generate`` calls (and of
    every decode sharing its ``batch_key``): ``engine.rescoring``; nothing without boosts."""
    rescoring = getattr(model.model, "rescoring", None)
    if rescoring is None or decode.options.rescore is None:
        return nullcontext()
    hotwords = hotword_tokens(model, decode.tokenizer, decode.options.prompt)
    context: AbstractContextManager[None] = rescoring(decode.options.rescore, hotwords)
    return context


def hotword_tokens(model: WhisperModel, tokenizer: Tokenizer, hotwords: str | None) -> list[int]:
    """The prompt's phrase tokens exactly as faster-whisper's ``get_prompt`` writes them."""
    if not hotwords:
        return []
    tokens = tokenizer.encode(" " + hotwords.strip())
    limit = model.max_length // 2
    return list(tokens[: limit - 1] if len(tokens) >= limit else tokens)


def _encode(model: WhisperModel, mels: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """The encoder's output for each window, stacked. A GPU encodes them in one call; a CPU
    one at a time: its cost grows with the batch anyway, and a batch's attention buffers
    (1500 x 1500 per head and window) overflow the caches (measured: 8 windows in one call
    took 1.5x as long as 8 calls)."""
    if model.model.device == "cuda":
        stacked = get_ctranslate2_storage(np.stack(mels))
        return np.asarray(model.model.encode(stacked, to_cpu=True))
    return np.concatenate(
        [
            np.asarray(model.model.encode(get_ctranslate2_storage(mel[None]), to_cpu=True))
            for mel in mels
        ]
    )


def prompt(model: WhisperModel, decode: WhisperDecode) -> list[int]:
    """The prompt of ``decode``'s next step: its phrase hints and its previous text.

    This is the per-item place where a decode's own hints enter the shared ``generate``
    call; a per-decode rescoring of hypotheses would sit beside it, in ``step``'s loop.
    """
    previous = decode.tokens[decode.prompt_reset_since :]
    return list(
        model.get_prompt(
            decode.tokenizer, previous, without_timestamps=False, hotwords=decode.options.prompt
        )
    )


def _window(model: WhisperModel, decode: WhisperDecode) -> _Window:
    assert decode.features is not None  # only unfinished decodes are stepped
    frames = min(model.feature_extractor.nb_max_frames, decode.content_frames - decode.seek)
    return _Window(pad_or_trim(decode.features[:, decode.seek : decode.seek + frames]), frames)


def _generate_grouped(
    model: WhisperModel,
    encoded: np.ndarray[Any, Any],
    prompts: list[list[int]],
    decodes: Sequence[WhisperDecode],
) -> list[Any]:
    """The first pass of every item: one ``generate`` call per prompt length.

    CTranslate2's batched ``generate`` needs every prompt's start-of-transcript token at one
    position. Padding shorter previous texts does not work: a new cursor padded with spaces
    next to a cursor with a full prompt skipped its first 60 s of speech. Cursors with a full
    previous-text prompt (the 223-token cap, after a minute or so of speech) all have one
    length and share a call; young ones share theirs only with prompts as long.
    """
    groups: dict[int, list[int]] = {}
    for index, item in enumerate(prompts):
        groups.setdefault(len(item), []).append(index)
    results: list[Any] = [None] * len(prompts)
    for indices in groups.values():
        together = ctranslate2.StorageView.from_array(np.ascontiguousarray(encoded[indices]))
        first = decodes[indices[0]]
        found = _generate(
            model, together, [prompts[i] for i in indices], first.options, first.tokenizer
        )
        for index, result in zip(indices, found, strict=True):
            results[index] = result
    return results


def _generate(
    model: WhisperModel,
    encoded: Any,
    prompts: list[list[int]],
    options: DecodeOptions,
    tokenizer: Tokenizer,
) -> list[Any]:
    """The first decoding pass of every item at the options' first temperature, in one call."""
    longest = max(len(p) for p in prompts)
    max_length = model.max_length
    if options.max_new_tokens is not None:
        max_length = min(max_length, longest + options.max_new_tokens)
    search: dict[str, Any] = (
        {"beam_size": options.beam_size, "patience": 1.0}
        if options.temperature == 0
        else {"beam_size": 1, "sampling_topk": 0, "sampling_temperature": options.temperature}
    )
    return list(
        model.model.generate(
            encoded,
            prompts,
            length_penalty=1.0,
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
            max_initial_timestamp_index=round(MAX_INITIAL_TIMESTAMP / model.time_precision),
            **search,
        )
    )


def _judged(result: Any, tokenizer: Tokenizer, temperature: float) -> _Outcome:
    """A result with the measures faster-whisper judges it by (its length-normalised score
    turned back into an average log-probability per token, end-of-text included)."""
    tokens = result.sequences_ids[0]
    avg_logprob = float(result.scores[0]) * len(tokens) / (len(tokens) + 1)
    ratio = get_compression_ratio(tokenizer.decode(tokens).strip())
    return _Outcome(result, avg_logprob, temperature, ratio)


def _needs_fallback(outcome: _Outcome) -> bool:
    """faster-whisper's test of a broken window: too repetitive or too improbable, unless
    it is silence (then the window is skipped, not retried), or already sampled hottest."""
    if outcome.temperature >= 1.0:
        return False
    improbable = outcome.avg_logprob < LOG_PROB_THRESHOLD
    if improbable and outcome.result.no_speech_prob > NO_SPEECH_THRESHOLD:
        return False
    return improbable or outcome.compression_ratio > COMPRESSION_RATIO_THRESHOLD


def _fallback(
    model: WhisperModel, encoded: Any, item_prompt: list[int], decode: WhisperDecode
) -> _Outcome:
    """The window decoded alone up Whisper's temperature ladder (faster-whisper's own loop)."""
    options = decode.options
    first = round(options.temperature + 0.2, 6)  # the rungs above the first pass's
    steps = max(0, round((1.0 - first) / 0.2))
    ladder = [round(first + 0.2 * i, 6) for i in range(steps + 1)]
    result, avg_logprob, temperature, ratio = model.generate_with_fallback(
        encoded, item_prompt, decode.tokenizer, _fw_options(options, ladder, decode.tokenizer)
    )
    return _Outcome(result, float(avg_logprob), float(temperature), float(ratio))


def _fw_options(
    options: DecodeOptions, temperatures: list[float], tokenizer: Tokenizer
) -> TranscriptionOptions:
    return TranscriptionOptions(
        beam_size=options.beam_size,
        best_of=5,
        patience=1.0,
        length_penalty=1.0,
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        log_prob_threshold=LOG_PROB_THRESHOLD,
        no_speech_threshold=NO_SPEECH_THRESHOLD,
        compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
        condition_on_previous_text=options.condition_on_previous_text,
        prompt_reset_on_temperature=PROMPT_RESET_ON_TEMPERATURE,
        temperatures=temperatures,
        initial_prompt=None,
        prefix=None,
        suppress_blank=True,
        suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
        without_timestamps=False,
        max_initial_timestamp=MAX_INITIAL_TIMESTAMP,
        word_timestamps=False,
        prepend_punctuations=PREPEND_PUNCTUATION,
        append_punctuations=APPEND_PUNCTUATION,
        multilingual=False,
        max_new_tokens=options.max_new_tokens,
        clip_timestamps="0",
        hallucination_silence_threshold=None,
        hotwords=options.prompt,
    )


def _advance(
    model: WhisperModel, decode: WhisperDecode, window: _Window, encoded: Any, outcome: _Outcome
) -> None:
    """Move ``decode`` past this step: its segments, words and new ``seek``."""
    if (
        outcome.result.no_speech_prob > NO_SPEECH_THRESHOLD
        and outcome.avg_logprob <= LOG_PROB_THRESHOLD
    ):
        decode.seek += window.frames  # silence: on to the next window
        return
    time_per_frame = model.feature_extractor.time_per_frame
    pieces, seek, _ = model._split_segments_by_timestamps(
        tokenizer=decode.tokenizer,
        tokens=outcome.result.sequences_ids[0],
        time_offset=decode.seek * time_per_frame,
        segment_size=window.frames,
        segment_duration=window.frames * time_per_frame,
        seek=decode.seek,
    )
    decode.seek = seek
    kept = [
        piece
        for piece in pieces
        if piece["start"] != piece["end"] and decode.tokenizer.decode(piece["tokens"]).strip()
    ]
    texts = [str(decode.tokenizer.decode(piece["tokens"])) for piece in kept]
    for piece in kept:
        decode.tokens.extend(piece["tokens"])
    if decode.options.word_timestamps and kept:
        decode.last_speech = model.add_word_timestamps(
            [kept], decode.tokenizer, encoded, window.frames,
            PREPEND_PUNCTUATION, APPEND_PUNCTUATION, decode.last_speech,
        )  # fmt: skip
    decode.segments += [_segment(piece, text, outcome, decode.duration) for piece, text in
                        zip(kept, texts, strict=True)]  # fmt: skip
    if (
        not decode.options.condition_on_previous_text
        or outcome.temperature > PROMPT_RESET_ON_TEMPERATURE
    ):
        decode.prompt_reset_since = len(decode.tokens)


def _segment(piece: dict[str, Any], text: str, outcome: _Outcome, duration: float) -> Segment:
    return Segment(
        start=_clamp(piece["start"], duration),
        end=_clamp(piece["end"], duration),
        text=text,
        avg_logprob=outcome.avg_logprob,
        no_speech_prob=float(outcome.result.no_speech_prob),
        words=tuple(
            Word(
                start=_clamp(w["start"], duration),
                end=_clamp(w["end"], duration),
                text=str(w["word"]),
                probability=float(w["probability"]),
            )
            for w in piece.get("words", ())
        ),
    )


def _clamp(t: float, duration: float) -> float:
    # Timestamps come from 20 ms tokens and DTW; the last one can overshoot the end.
    return min(max(float(t), 0.0), duration)
