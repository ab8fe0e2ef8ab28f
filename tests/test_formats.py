"""Subtitle and word-list rendering from word timings (no model: hand-made words)."""

from __future__ import annotations

from hark.speech import formats
from hark.speech.types import Alternative, Result, WordInfo


def timed(
    text: str, start: float = 0.0, step: float = 0.4, pause_after: int = -1
) -> list[WordInfo]:
    words, at = [], start
    for index, word in enumerate(text.split()):
        words.append(WordInfo(word, at, at + step * 0.8, 0.9))
        at += step + (1.5 if index == pause_after else 0.0)
    return words


def result(words: list[WordInfo]) -> Result:
    transcript = " ".join(w.word for w in words)
    return Result((Alternative(transcript, 0.9, tuple(words)),), words[-1].end_time)


def test_cues_keep_the_limits() -> None:
    words = timed(" ".join(f"word{i}" for i in range(200)), step=0.3)
    cues = list(formats.cues(words))
    assert sum(len(" ".join(c.lines).split()) for c in cues) == 200
    for cue in cues:
        assert cue.end - cue.start <= formats.CUE_SECONDS
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines)


def test_cues_break_at_pauses_and_sentence_ends() -> None:
    words = timed("Hello there. General Kenobi you are", pause_after=3) + timed("a bold one", 9.0)
    assert [" ".join(c.lines) for c in formats.cues(words)] == [
        "Hello there.",
        "General Kenobi",
        "you are",
        "a bold one",
    ]


def test_a_full_cue_ends_after_its_last_comma() -> None:
    words = timed(
        "Produced the block books, which were the immediate predecessors of the true printed book,"
    )
    texts = [" ".join(c.lines) for c in formats.cues(words)]
    assert texts[0] == "Produced the block books,"


def test_srt_vtt_and_words() -> None:
    results = [result(timed("one two three.", start=3661.5))]
    assert formats.srt(results) == "1\n01:01:01,500 --> 01:01:02,620\none two three.\n\n"
    assert formats.vtt(results) == "WEBVTT\n\n01:01:01.500 --> 01:01:02.620\none two three.\n\n"
    assert formats.words(results).splitlines()[0] == "3661.500\t3661.820\t0.900\tone"
    assert formats.text(results) == "one two three.\n"


def test_no_cue_ends_at_an_abbreviation_or_as_one_short_word() -> None:
    words = timed("Mr. Jones went out. So. He came back with Dr. Smith and it was late.")
    texts = [" ".join(c.lines) for c in formats.cues(words)]
    assert texts == ["Mr. Jones went out.", "So. He came back with Dr. Smith and it was late."]


def test_subtitles_join_a_hyphenated_word_as_the_transcript_does() -> None:
    words = timed("The flower -fattened fields were seen")
    transcript = "The flower-fattened fields were seen"
    results = [Result((Alternative(transcript, 0.9, tuple(words)),), words[-1].end_time)]
    assert formats.srt(results).splitlines()[2] == transcript
    assert formats.vtt(results).splitlines()[3] == transcript
    assert "\t-fattened" in formats.words(results), "the word list keeps the server's words"
