"""The core's vocabulary: a recognition request and its results, free of any wire format.

Names follow Google's fields. ``api/convert.py`` is the one place that maps these to and
from Google's protobuf messages; times here are float seconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phrase:
    """A phrase hint and its boost (0 = no boost given)."""

    value: str
    boost: float = 0.0


@dataclass(frozen=True)
class CustomClass:
    """An inline custom class: phrases refer to it as ``${custom_class_id}``."""

    custom_class_id: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Adaptation:
    """Google's ``SpeechAdaptation``, inline parts only; references are refused by the core."""

    phrase_sets: tuple[tuple[Phrase, ...], ...] = ()
    phrase_set_references: tuple[str, ...] = ()
    custom_classes: tuple[CustomClass, ...] = ()
    abnf_grammar: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replacement:
    """One ``TranscriptNormalization`` entry."""

    search: str
    replace: str
    case_sensitive: bool = False


@dataclass(frozen=True)
class RecognitionConfig:
    """Google's RecognitionConfig, every field the core acts on (or refuses)."""

    encoding: str = "ENCODING_UNSPECIFIED"
    sample_rate_hertz: int = 0
    audio_channel_count: int = 0
    enable_separate_recognition_per_channel: bool = False
    language_code: str = ""
    alternative_language_codes: tuple[str, ...] = ()
    max_alternatives: int = 0
    profanity_filter: bool = False
    speech_contexts: tuple[Phrase, ...] = ()
    adaptation: Adaptation | None = None
    transcript_normalization: tuple[Replacement, ...] = ()
    enable_word_time_offsets: bool = False
    enable_word_confidence: bool = False
    enable_automatic_punctuation: bool = False
    enable_spoken_punctuation: bool | None = None
    enable_spoken_emojis: bool | None = None
    enable_speaker_diarization: bool = False
    min_speaker_count: int = 0
    """``diarizationConfig.minSpeakerCount``; 0 = unset (Google's default, 2)."""
    max_speaker_count: int = 0
    """``diarizationConfig.maxSpeakerCount``; 0 = unset (Google's default, 6)."""
    diarization_speaker_count: int = 0
    """v1p1beta1's deprecated ``diarizationSpeakerCount``: exactly this many; 0 = unset."""
    model: str = ""
    use_enhanced: bool = False
    anti_biasing: bool = False
    """Whether negative boosts penalise their phrases (v1p1beta1); v1 ignores them."""


@dataclass(frozen=True)
class AudioSource:
    """Google's ``RecognitionAudio``: inline bytes or a URI (exactly one of them)."""

    content: bytes | None = None
    uri: str = ""


@dataclass(frozen=True)
class WordInfo:
    word: str
    start_time: float = 0.0
    end_time: float = 0.0
    confidence: float = 0.0
    speaker: int | None = None
    """The speaker (1..N) who said the word, when diarization is asked; else None."""


@dataclass(frozen=True)
class Alternative:
    transcript: str
    confidence: float = 0.0
    words: tuple[WordInfo, ...] = ()


@dataclass(frozen=True)
class Result:
    """One stretch of audio between pauses (or one channel's stretch)."""

    alternatives: tuple[Alternative, ...]
    result_end_time: float = 0.0
    channel_tag: int = 0
    language_code: str = ""


@dataclass(frozen=True)
class Recognition:
    """What ``Recognize`` answers: Google's RecognizeResponse, wire-free."""

    results: tuple[Result, ...] = ()
    total_billed_seconds: int = 0
    request_id: int = 0
