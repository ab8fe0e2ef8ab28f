"""Speakers in Google's result shape: every word, with its speaker, in one last result.

Google's diarized responses keep their results as usual and add a last result whose top
alternative holds every word of the recording with its ``speakerTag``: a running aggregate,
so the final result alone tells who said what. Its transcript is left empty, so a client
that joins the transcripts of all results reads each word once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hark.speech.types import Alternative, Result, WordInfo


def spoken_words(found: Sequence[Result]) -> list[WordInfo]:
    """The words of the top alternatives of ``found``, in order."""
    return [
        word for result in found if result.alternatives for word in result.alternatives[0].words
    ]


def with_speakers(found: Sequence[Result], speakers: Sequence[int]) -> list[Result]:
    """``found`` and a last result of all its words, each with its speaker (``speakers``
    has one per word of ``spoken_words(found)``); ``found`` alone if it has no words."""
    words = spoken_words(found)
    if not words:
        return list(found)
    tagged = tuple(
        replace(word, speaker=speaker) for word, speaker in zip(words, speakers, strict=True)
    )
    last = found[-1]
    return [
        *found,
        Result(
            alternatives=(Alternative(transcript="", words=tagged),),
            result_end_time=max(result.result_end_time for result in found),
            language_code=last.language_code,
        ),
    ]
