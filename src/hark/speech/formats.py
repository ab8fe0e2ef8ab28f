"""A transcript as text, one word per line, or subtitles (SRT, WebVTT), from core results.

Subtitles follow common broadcast practice: at most 2 lines of at most 42 characters per cue,
at most 7 seconds per cue; a cue ends at a pause in speech or at the end of a sentence (not
after "Mr." and the like, nor as one short word), and its text breaks into two balanced lines,
after punctuation where there is a choice. Times come from the word offsets of each result's
top alternative; words are spaced as the result's transcript spaces them, and in scripts
written without spaces (``scripts``) each token stands alone and cues join them with none.

With diarization, the last result repeats every word with its speaker (Google's shape): the
formats then show turns instead, ``Speaker 1: ...`` lines of text, cues that never span two
speakers (``Speaker 1: `` in SRT, a ``<v Speaker 1>`` voice span in WebVTT), and a fifth
column of speakers in ``words``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from hark.speech.scripts import unspaced
from hark.speech.types import Result, WordInfo

LINE_CHARS = 42
MAX_LINES = 2
CUE_SECONDS = 7.0
PAUSE_SECONDS = 0.6
"""A gap between words at least this long ends a cue."""
SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
CLAUSE_END = (",", ";", ":", "、", "，", "；", "：", *SENTENCE_END)
ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "prof.", "vs.", "etc.", "e.g.", "i.e."}
)
"""Words whose full stop is not a sentence end: a cue is not cut after them."""
SHORT_CUE_CHARS = 8
"""A sentence end does not close a cue that would hold only one word shorter than this."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]


def text(results: Sequence[Result]) -> str:
    """Each result's best transcript on its own line (results are stretches between pauses);
    with speakers, each turn on its own line after its speaker."""
    results, speakers = _with_speakers(results)
    if speakers:
        return "".join(
            f"Speaker {turn[0].speaker}: {_joined(turn, _space(results))}\n"
            for turn in _turns(_spoken_words(results), speakers)
        )
    lines = [r.alternatives[0].transcript.strip() for r in results if r.alternatives]
    return "".join(f"{line}\n" for line in lines if line)


def words(results: Sequence[Result]) -> str:
    """One word per line: ``start<TAB>end<TAB>confidence<TAB>word``, seconds to 3 decimals
    (and ``<TAB>speaker`` with speakers)."""
    results, speakers = _with_speakers(results)
    return "".join(
        f"{w.start_time:.3f}\t{w.end_time:.3f}\t{w.confidence:.3f}\t{w.word}"
        + (f"\t{speakers.get(w.start_time, '')}\n" if speakers else "\n")
        for w in _words(results)
    )


def srt(results: Sequence[Result]) -> str:
    """SubRip subtitles."""
    blocks = [
        f"{index}\n{_clock(voiced.cue.start, ',')} --> {_clock(voiced.cue.end, ',')}\n"
        + "\n".join(_voiced(voiced, "Speaker {}: "))
        for index, voiced in enumerate(_speaker_cues(results), start=1)
    ]
    return "".join(f"{block}\n\n" for block in blocks)


def vtt(results: Sequence[Result]) -> str:
    """WebVTT subtitles."""
    blocks = [
        f"{_clock(voiced.cue.start, '.')} --> {_clock(voiced.cue.end, '.')}\n"
        + "\n".join(_voiced(voiced, "<v Speaker {}>"))
        for voiced in _speaker_cues(results)
    ]
    return "WEBVTT\n\n" + "".join(f"{block}\n\n" for block in blocks)


def _space(results: Sequence[Result]) -> str:
    """What separates words in cues: nothing if every result is in an unspaced script."""
    return "" if results and all(unspaced(r.language_code) for r in results) else " "


def _with_speakers(results: Sequence[Result]) -> tuple[Sequence[Result], dict[float, int]]:
    """``results`` less diarization's last result, and each word's speaker by start time
    (empty without diarization)."""
    if results and results[-1].alternatives and not results[-1].alternatives[0].transcript:
        tagged = results[-1].alternatives[0].words
        speakers = {w.start_time: w.speaker for w in tagged if w.speaker is not None}
        if speakers:
            return results[:-1], speakers
    return results, {}


def _turns(spoken: Sequence[WordInfo], speakers: dict[float, int]) -> list[list[WordInfo]]:
    """Runs of consecutive words of one speaker, each word given its speaker."""
    turns: list[list[WordInfo]] = []
    for word in spoken:
        who = speakers.get(word.start_time, turns[-1][-1].speaker if turns else 1)
        if not turns or turns[-1][-1].speaker != who:
            turns.append([])
        turns[-1].append(replace(word, speaker=who))
    return turns


@dataclass(frozen=True)
class _SpeakerCue:
    cue: Cue
    speaker: int | None


def _speaker_cues(results: Sequence[Result]) -> Iterator[_SpeakerCue]:
    """Cues, each within one speaker's turn when there are speakers."""
    results, speakers = _with_speakers(results)
    spoken = _spoken_words(results)
    space = _space(results)
    if not speakers:
        yield from (_SpeakerCue(cue, None) for cue in cues(spoken, space))
        return
    for turn in _turns(spoken, speakers):
        yield from (_SpeakerCue(cue, turn[0].speaker) for cue in cues(turn, space))


def _voiced(voiced: _SpeakerCue, label: str) -> tuple[str, ...]:
    lines = voiced.cue.lines
    if voiced.speaker is None:
        return lines
    return (label.format(voiced.speaker) + lines[0], *lines[1:])


def _words(results: Sequence[Result]) -> list[WordInfo]:
    return [word for r in results if r.alternatives for word in r.alternatives[0].words]


def _spoken_words(results: Sequence[Result]) -> list[WordInfo]:
    """Each result's words as its transcript spaces them: ``flower`` ``-fattened`` is one word.

    Whisper's tokens for a hyphenated word come as separate words; only the transcript (the
    engine's own join of its tokens) says where there was no space, so it is followed here.
    """
    spoken: list[WordInfo] = []
    for result in results:
        if result.alternatives and unspaced(result.language_code):
            spoken.extend(result.alternatives[0].words)  # every token is written glued
        elif result.alternatives:
            alternative = result.alternatives[0]
            spoken.extend(_merge_glued(alternative.transcript, alternative.words))
    return spoken


def _merge_glued(transcript: str, words: Sequence[WordInfo]) -> Iterator[WordInfo]:
    """``words`` with each run written without spaces in ``transcript`` merged into one.

    A word not found where expected in the transcript (normalized away, masked) stands alone.
    """
    run: list[WordInfo] = []
    cursor = 0
    previous_end = -1  # where the previous word ended in the transcript; -1: not found
    for word in words:
        token = word.word.strip()
        at = transcript.find(token, cursor) if token else -1
        if run and not (at >= 0 and at == previous_end):
            yield _merged(run)
            run = []
        run.append(word)
        previous_end = at + len(token) if at >= 0 else -1
        cursor = max(cursor, previous_end)
    if run:
        yield _merged(run)


def _merged(run: list[WordInfo]) -> WordInfo:
    if len(run) == 1:
        return run[0]
    return WordInfo(
        word="".join(word.word.strip() for word in run),
        start_time=run[0].start_time,
        end_time=run[-1].end_time,
        confidence=min(word.confidence for word in run),
    )


def cues(all_words: Iterable[WordInfo], space: str = " ") -> Iterator[Cue]:
    """Group words into cues that fit the limits, cut at pauses and sentence ends; ``space``
    joins words in a line.

    When a cue fills up mid-clause, it is cut after its last comma (or other mark), so
    the clause's tail starts the next cue instead of dangling alone.
    """
    group: list[WordInfo] = []
    for word in all_words:
        if group and word.start_time - group[-1].end_time >= PAUSE_SECONDS:
            yield _cue(group, space)
            group = []
        elif group and _overflows([*group, word], space):
            cut = _clause_cut(group)
            yield _cue(group[:cut], space)
            group = group[cut:]
            if group and _overflows([*group, word], space):
                yield _cue(group, space)
                group = []
        group.append(word)
        if _sentence_ends(group) or (
            _ends(word, CLAUSE_END) and len(_joined(group, space)) > LINE_CHARS
        ):
            yield _cue(group, space)
            group = []
    if group:
        yield _cue(group, space)


def _overflows(group: list[WordInfo], space: str) -> bool:
    return (
        group[-1].end_time - group[0].start_time > CUE_SECONDS
        or len(textwrap.wrap(_joined(group, space), LINE_CHARS)) > MAX_LINES
    )


def _clause_cut(group: list[WordInfo]) -> int:
    """Where to end a full cue: after its last punctuated word (keeping 3 words), else all."""
    for index in range(len(group) - 1, 1, -1):
        if _ends(group[index], CLAUSE_END):
            return index + 1
    return len(group)


def _sentence_ends(group: list[WordInfo]) -> bool:
    """Whether ``group`` closes a sentence: not at "Mr.", nor as a lone short word ("So.")."""
    last = group[-1]
    if not _ends(last, SENTENCE_END) or _unquoted(last).lower() in ABBREVIATIONS:
        return False
    return len(group) > 1 or len(last.word.strip()) >= SHORT_CUE_CHARS


def _ends(word: WordInfo, marks: tuple[str, ...]) -> bool:
    return _unquoted(word).endswith(marks)


def _unquoted(word: WordInfo) -> str:
    return word.word.strip().rstrip("\"')»”’")


def _joined(group: Sequence[WordInfo], space: str) -> str:
    return space.join(word.word.strip() for word in group)


def _cue(group: list[WordInfo], space: str) -> Cue:
    start, end = group[0].start_time, group[-1].end_time
    return Cue(start, max(end, start + 0.1), _lines([w.word.strip() for w in group], space))


def _lines(tokens: list[str], space: str) -> tuple[str, ...]:
    """One line if it fits, else two lines as even as possible, split after punctuation if near."""
    whole = space.join(tokens)
    if len(whole) <= LINE_CHARS or len(tokens) == 1:
        return (whole,)

    def cost(split: int) -> float:
        top, bottom = space.join(tokens[:split]), space.join(tokens[split:])
        overflow = max(len(top), len(bottom)) > LINE_CHARS
        bonus = 6 if tokens[split - 1].endswith(CLAUSE_END) else 0
        return 1000 * overflow + abs(len(top) - len(bottom)) - bonus

    best = min(range(1, len(tokens)), key=cost)
    return (space.join(tokens[:best]), space.join(tokens[best:]))


def _clock(seconds: float, comma: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{comma}{millis:03d}"
