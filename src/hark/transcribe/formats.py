"""A transcript as text, one word per line, or subtitles (SRT, WebVTT), from core results.

Subtitles follow common broadcast practice: at most 2 lines of at most 42 characters per cue,
at most 7 seconds per cue; a cue ends at a pause in speech or at the end of a sentence, and
its text breaks into two balanced lines, after punctuation where there is a choice. Times come
from the word offsets of each result's top alternative.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from hark.speech.types import Result, WordInfo

LINE_CHARS = 42
MAX_LINES = 2
CUE_SECONDS = 7.0
PAUSE_SECONDS = 0.6
"""A gap between words at least this long ends a cue."""
SENTENCE_END = (".", "?", "!", "…")
CLAUSE_END = (",", ";", ":", *SENTENCE_END)

SUFFIXES = {"text": ".txt", "json": ".json", "srt": ".srt", "vtt": ".vtt", "words": ".tsv"}
"""The file name suffix of each output format, for ``--output DIR``."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]


def text(results: Sequence[Result]) -> str:
    """Each result's best transcript on its own line (results are stretches between pauses)."""
    lines = [r.alternatives[0].transcript.strip() for r in results if r.alternatives]
    return "".join(f"{line}\n" for line in lines if line)


def words(results: Sequence[Result]) -> str:
    """One word per line: ``start<TAB>end<TAB>confidence<TAB>word``, seconds to 3 decimals."""
    return "".join(
        f"{w.start_time:.3f}\t{w.end_time:.3f}\t{w.confidence:.3f}\t{w.word}\n"
        for w in _words(results)
    )


def srt(results: Sequence[Result]) -> str:
    """SubRip subtitles."""
    blocks = [
        f"{index}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n" + "\n".join(cue.lines)
        for index, cue in enumerate(cues(_words(results)), start=1)
    ]
    return "".join(f"{block}\n\n" for block in blocks)


def vtt(results: Sequence[Result]) -> str:
    """WebVTT subtitles."""
    blocks = [
        f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n" + "\n".join(cue.lines)
        for cue in cues(_words(results))
    ]
    return "WEBVTT\n\n" + "".join(f"{block}\n\n" for block in blocks)


def _words(results: Sequence[Result]) -> list[WordInfo]:
    return [word for r in results if r.alternatives for word in r.alternatives[0].words]


def cues(all_words: Iterable[WordInfo]) -> Iterator[Cue]:
    """Group words into cues that fit the limits, cut at pauses and sentence ends.

    When a cue fills up mid-clause, it is cut after its last comma (or other mark), so
    the clause's tail starts the next cue instead of dangling alone.
    """
    group: list[WordInfo] = []
    for word in all_words:
        if group and word.start_time - group[-1].end_time >= PAUSE_SECONDS:
            yield _cue(group)
            group = []
        elif group and _overflows([*group, word]):
            cut = _clause_cut(group)
            yield _cue(group[:cut])
            group = group[cut:]
            if group and _overflows([*group, word]):
                yield _cue(group)
                group = []
        group.append(word)
        if _ends(word, SENTENCE_END) or (
            _ends(word, CLAUSE_END) and len(_joined(group)) > LINE_CHARS
        ):
            yield _cue(group)
            group = []
    if group:
        yield _cue(group)


def _overflows(group: list[WordInfo]) -> bool:
    return (
        group[-1].end_time - group[0].start_time > CUE_SECONDS
        or len(textwrap.wrap(_joined(group), LINE_CHARS)) > MAX_LINES
    )


def _clause_cut(group: list[WordInfo]) -> int:
    """Where to end a full cue: after its last punctuated word (keeping 3 words), else all."""
    for index in range(len(group) - 1, 1, -1):
        if _ends(group[index], CLAUSE_END):
            return index + 1
    return len(group)


def _ends(word: WordInfo, marks: tuple[str, ...]) -> bool:
    return word.word.rstrip("\"')»”’").endswith(marks)


def _joined(group: Sequence[WordInfo]) -> str:
    return " ".join(word.word.strip() for word in group)


def _cue(group: list[WordInfo]) -> Cue:
    start, end = group[0].start_time, group[-1].end_time
    return Cue(start, max(end, start + 0.1), _lines([w.word.strip() for w in group]))


def _lines(tokens: list[str]) -> tuple[str, ...]:
    """One line if it fits, else two lines as even as possible, split after punctuation if near."""
    whole = " ".join(tokens)
    if len(whole) <= LINE_CHARS or len(tokens) == 1:
        return (whole,)

    def cost(split: int) -> float:
        top, bottom = " ".join(tokens[:split]), " ".join(tokens[split:])
        overflow = max(len(top), len(bottom)) > LINE_CHARS
        bonus = 6 if tokens[split - 1].endswith(CLAUSE_END) else 0
        return 1000 * overflow + abs(len(top) - len(bottom)) - bonus

    best = min(range(1, len(tokens)), key=cost)
    return (" ".join(tokens[:best]), " ".join(tokens[best:]))


def _clock(seconds: float, comma: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{comma}{millis:03d}"
