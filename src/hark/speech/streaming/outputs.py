"""What the streaming policy emits for the driver to send: interim and final results of the
utterances it hears, and Google's speech events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hark.engine import Word


class SpeechEvent(Enum):
    """Google's StreamingRecognizeResponse.SpeechEventType, with its values."""

    END_OF_SINGLE_UTTERANCE = 1
    SPEECH_ACTIVITY_BEGIN = 2
    SPEECH_ACTIVITY_END = 3
    SPEECH_ACTIVITY_TIMEOUT = 4


@dataclass(frozen=True)
class Interim:
    """The utterance so far: committed words (stable) and the newest guess after them."""

    committed: tuple[Word, ...]
    tentative: tuple[Word, ...]


@dataclass(frozen=True)
class Final:
    """One finished utterance."""

    words: tuple[Word, ...]


@dataclass(frozen=True)
class Event:
    """A speech event at ``time`` seconds of audio."""

    kind: SpeechEvent
    time: float


Output = Interim | Final | Event
