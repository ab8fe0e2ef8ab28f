"""Shaping engine output into Google's results: split at pauses, text rules, word infos.

Pure functions, no engine calls: the recognizer and the streaming session both use them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hark.engine import Segment, Word
from hark.speech import profanity, scripts, text
from hark.speech.plan import Plan
from hark.speech.types import Alternative, Result, WordInfo

PAUSE_SECONDS = 0.8
"""A silence at least this long between two words ends one result and starts the next."""


@dataclass(frozen=True)
class Utterance:
    """Words between two pauses, in absolute time."""

    words: tuple[Word, ...]
    language: str

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def raw_text(self) -> str:
        return "".join(word.text for word in self.words).strip()


def utterances(
    segments: Iterable[Segment], language: str, *, offset: float = 0.0
) -> list[Utterance]:
    """Group the words of ``segments`` into utterances split at pauses, shifted by ``offset``."""
    groups: list[list[Word]] = []
    previous_end = None
    for word in _words(segments, offset):
        if previous_end is None or word.start - previous_end >= PAUSE_SECONDS:
            groups.append([])
        groups[-1].append(word)
        previous_end = word.end
    return [Utterance(tuple(group), language) for group in groups]


def _words(segments: Iterable[Segment], offset: float) -> Iterable[Word]:
    """Every word, shifted and made monotonic (a word never starts before the last ended)."""
    last_end = offset
    for segment in segments:
        # A segment without word timings still counts, as one "word" spanning it.
        words = segment.words or (
            Word(segment.start, segment.end, segment.text, _probability(segment)),
        )
        for word in words:
            start = max(word.start + offset, last_end)
            end = max(word.end + offset, start)
            last_end = end
            yield Word(start, end, word.text, word.probability)


def _probability(segment: Segment) -> float:
    return math.exp(segment.avg_logprob)


def render(raw: str, plan: Plan, language: str = "") -> str:
    """Apply the config's text rules to a transcript in ``language`` (Whisper's code: how its
    script is written, ``scripts``), in Google's order."""
    config = plan.config
    if convert := _converter(plan, language):
        raw = convert(raw)
    if scripts.unspaced(language):
        raw = scripts.close_up(raw)
        keep = config.enable_automatic_punctuation
        rendered = raw.strip() if keep else scripts.strip_marks(raw)
    elif config.enable_automatic_punctuation:
        rendered = raw.strip()
    else:
        rendered = text.strip_punctuation(raw)
    if config.profanity_filter:
        rendered = profanity.mask_text(rendered)
    if plan.spoken_punctuation:
        rendered = text.spoken_punctuation(rendered)
    return text.transcript_normalization(rendered, config.transcript_normalization)


def top_alternative(utterance: Utterance, plan: Plan) -> Alternative:
    """The best transcript of ``utterance``, with words and confidences as the config asks."""
    words = utterance.words
    if convert := _converter(plan, utterance.language):
        words = scripts.in_script(words, convert)
    confidence = sum(word.probability for word in words) / len(words)
    raw = "".join(word.text for word in words).strip()
    return Alternative(
        transcript=render(raw, plan, utterance.language),
        confidence=round(confidence, 4),
        words=word_infos(words, plan, utterance.language),
    )


def _converter(plan: Plan, language: str) -> scripts.Convert | None:
    """The Chinese script conversion the client's code for ``language`` asks for, if any."""
    tag = plan.language_tags.get(language)
    return scripts.converter(tag) if tag else None


def word_infos(words: Sequence[Word], plan: Plan, language: str = "") -> tuple[WordInfo, ...]:
    """Google's WordInfo list: only when word offsets or word confidence are asked for. In an
    unspaced script each is one of the engine's tokens (``scripts``)."""
    config = plan.config
    # Diarization gives each word its speaker and times (in the last result), so it needs them.
    timed = config.enable_word_time_offsets or plan.speakers is not None
    if not (timed or config.enable_word_confidence):
        return ()
    unspaced = scripts.unspaced(language)
    infos = []
    for word in words:
        rendered = word.text.strip()
        if not config.enable_automatic_punctuation:
            rendered = (
                scripts.strip_marks(rendered) if unspaced else text.strip_punctuation_word(rendered)
            )
        if config.profanity_filter:
            rendered = profanity.mask_word(rendered)
        if not rendered:
            continue
        infos.append(
            WordInfo(
                word=rendered,
                start_time=round(word.start, 3) if timed else 0.0,
                end_time=round(word.end, 3) if timed else 0.0,
                confidence=round(word.probability, 4) if config.enable_word_confidence else 0.0,
            )
        )
    return tuple(infos)


def make_result(
    utterance: Utterance,
    alternatives: Sequence[Alternative],
    plan: Plan,
    *,
    channel_tag: int = 0,
) -> Result:
    return Result(
        alternatives=tuple(alternatives),
        result_end_time=round(utterance.end, 3),
        channel_tag=channel_tag,
        # A plan that lets the engine detect any language reports what it detected.
        language_code=plan.language_tags.get(utterance.language)
        or (plan.config.language_code.lower() if plan.language_tags else utterance.language),
    )
