"""Validating a RecognitionConfig into a ``Plan``: what to decode, and how to shape results.

Checks run in Google's order and with Google's wording where it is known;
every field is either acted on or refused with INVALID_ARGUMENT, never ignored.
Validation is cheap and runs before any audio is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hark.audio import AudioSpec
from hark.engine import DecodeOptions, ModelInfo
from hark.errors import invalid_config
from hark.settings import Limits
from hark.speech.adaptation import phrase_hints, prompt_for
from hark.speech.boost import phrase_boosts
from hark.speech.diarization.bounds import SpeakerBounds, speaker_bounds
from hark.speech.models import (
    AUTO_LANGUAGE,
    profile_for,
    unsupported_language,
    whisper_language,
)
from hark.speech.types import RecognitionConfig

MAX_ALTERNATIVES = 30
MAX_ALTERNATIVE_LANGUAGES = 3
MAX_NORMALIZATION_ENTRIES = 100
MAX_NORMALIZATION_CHARACTERS = 100


@dataclass(frozen=True)
class Plan:
    """A validated config: the audio spec, the engine options, and the output rules."""

    config: RecognitionConfig
    audio: AudioSpec
    decode: DecodeOptions
    language_tags: dict[str, str]
    """Whisper language -> the tag the client asked for, lower-cased as Google reports it."""
    spoken_punctuation: bool
    served_by: int = 0
    """Which of the recogniser's models decodes it (``models.route``); 0 is the first."""
    speakers: SpeakerBounds | None = None
    """How many speakers to tell apart when diarization is asked; None when it is not."""

    @property
    def separate_channels(self) -> bool:
        return (
            self.config.enable_separate_recognition_per_channel
            and self.config.audio_channel_count > 1
        )

    @property
    def alternatives(self) -> int:
        return max(1, self.config.max_alternatives)


def validate(config: RecognitionConfig, info: ModelInfo, limits: Limits) -> Plan:
    """Validate ``config`` against the loaded model and ``limits``; INVALID_ARGUMENT if not."""
    if not config.language_code:
        raise invalid_config("language_code is required", field="languageCode")
    _check_counts(config)
    language_tags = _language_tags(config, info)
    _refuse_unsupported(config)
    profile = profile_for(config.model, config.language_code)
    hints = phrase_hints(config, limits)
    _check_normalization(config)
    detect = len(language_tags) != 1
    decode = DecodeOptions(
        language=None if detect else next(iter(language_tags)),
        candidate_languages=tuple(language_tags) if detect else (),
        beam_size=profile.beam_size,
        prompt=prompt_for(hints),
        condition_on_previous_text=profile.condition_on_previous_text,
        rescore=phrase_boosts(hints),
    )
    spoken = config.enable_spoken_punctuation
    speakers = speaker_bounds(config)
    if (
        speakers
        and config.enable_separate_recognition_per_channel
        and config.audio_channel_count > 1
    ):
        raise invalid_config(
            "Hark does not support speaker diarization together with separate recognition"
            " per channel; each channel is usually one speaker already.",
            field="diarizationConfig",
        )
    return Plan(
        config=config,
        audio=AudioSpec(config.encoding, config.sample_rate_hertz, config.audio_channel_count),
        decode=decode,
        language_tags=language_tags,
        spoken_punctuation=profile.spoken_punctuation if spoken is None else spoken,
        speakers=speakers,
    )


def _language_tags(config: RecognitionConfig, info: ModelInfo) -> dict[str, str]:
    """Whisper language -> the client's tag for each language asked; empty for ``auto``
    (detect among every language the model has; each result reports the one it heard)."""
    if config.language_code == AUTO_LANGUAGE:
        if not info.multilingual or config.alternative_language_codes:
            raise unsupported_language(AUTO_LANGUAGE)
        return {}
    tags = {whisper_language(config.language_code, info): config.language_code.lower()}
    for code in config.alternative_language_codes:
        tags.setdefault(whisper_language(code, info), code.lower())
    return tags


@dataclass(frozen=True)
class WhisperKnobs:
    """Whisper's own decoding knobs, which Google's config has no field for (OpenAI's has).

    ``initial_prompt``: text said before the audio (style, spellings); ``temperature``: the
    first sampling temperature, 0..1; ``task``: "transcribe" or "translate" (to English);
    ``detect_language``: let the engine detect the language (multilingual models only).
    """

    initial_prompt: str | None = None
    temperature: float = 0.0
    task: str = "transcribe"
    detect_language: bool = False


def with_knobs(plan: Plan, knobs: WhisperKnobs) -> Plan:
    """``plan`` (validated) decoding with ``knobs``; with ``detect_language``, each result
    reports the language the engine detected."""
    decode = replace(
        plan.decode,
        initial_prompt=knobs.initial_prompt or None,
        temperature=knobs.temperature,
        task=knobs.task,
    )
    if knobs.detect_language:
        decode = replace(decode, language=None, candidate_languages=())
        config = replace(plan.config, language_code="", alternative_language_codes=())
        return replace(plan, config=config, decode=decode, language_tags={})
    return replace(plan, decode=decode)


def _check_counts(config: RecognitionConfig) -> None:
    if not 0 <= config.max_alternatives <= MAX_ALTERNATIVES:
        raise invalid_config(
            f"max_alternatives must be between 0 and {MAX_ALTERNATIVES}",
            field="maxAlternatives",
        )
    if len(config.alternative_language_codes) > MAX_ALTERNATIVE_LANGUAGES:
        raise invalid_config(
            f"at most {MAX_ALTERNATIVE_LANGUAGES} alternative language codes are allowed",
            field="alternativeLanguageCodes",
        )
    if config.audio_channel_count < 0:
        raise invalid_config("Invalid audio channel count", field="audioChannelCount")


def _refuse_unsupported(config: RecognitionConfig) -> None:
    if config.enable_spoken_emojis:
        raise invalid_config("spoken emojis are not supported by Hark", field="enableSpokenEmojis")


def _check_normalization(config: RecognitionConfig) -> None:
    entries = config.transcript_normalization
    if len(entries) > MAX_NORMALIZATION_ENTRIES:
        raise invalid_config(
            f"at most {MAX_NORMALIZATION_ENTRIES} transcript normalization entries are allowed",
            field="transcriptNormalization",
        )
    for entry in entries:
        longest = max(len(entry.search), len(entry.replace))
        if not entry.search or longest > MAX_NORMALIZATION_CHARACTERS:
            raise invalid_config(
                "transcript normalization 'search' must be 1 to 100 characters and"
                " 'replace' at most 100",
                field="transcriptNormalization",
            )
