"""``diarizationConfig`` validated into speaker-count bounds, with Google's rules and words.

Google's defaults: at least 2 and at most 6 speakers when a bound is unset; v2 allows at most
6, and Hark applies that limit to every version (its clustering is tuned for a handful of
voices). v1p1beta1's deprecated ``diarizationSpeakerCount`` asks for exactly that many.
"""

from __future__ import annotations

from dataclasses import dataclass

from hark.errors import invalid_config
from hark.speech.types import RecognitionConfig

DEFAULT_MIN = 2
DEFAULT_MAX = 6
MOST_SPEAKERS = 6
_FIELD = "diarizationConfig"


@dataclass(frozen=True)
class SpeakerBounds:
    """How many speakers to find: Google's ``minSpeakerCount``/``maxSpeakerCount``."""

    min_count: int = DEFAULT_MIN
    max_count: int = DEFAULT_MAX


def speaker_bounds(config: RecognitionConfig) -> SpeakerBounds | None:
    """The bounds ``config`` asks for, None without diarization; INVALID_ARGUMENT if bad."""
    if not config.enable_speaker_diarization:
        return None
    low, high, exact = (
        config.min_speaker_count,
        config.max_speaker_count,
        config.diarization_speaker_count,
    )
    if low < 0 or high < 0 or exact < 0:
        raise invalid_config(
            "Speaker counts in diarization_config must not be negative", field=_FIELD
        )
    if exact and not (low or high):
        low = high = exact
    if high > MOST_SPEAKERS or low > MOST_SPEAKERS:
        raise invalid_config(
            f"Speaker diarization supports at most {MOST_SPEAKERS} speakers:"
            f" max_speaker_count must be between 1 and {MOST_SPEAKERS}",
            field=f"{_FIELD}.maxSpeakerCount",
        )
    if low and high and low > high:
        raise invalid_config(
            f"min_speaker_count ({low}) must be less than or equal to max_speaker_count ({high})",
            field=f"{_FIELD}.minSpeakerCount",
        )
    # One bound given: the other defaults, but never past it.
    low = low or min(DEFAULT_MIN, high or DEFAULT_MIN)
    high = high or max(DEFAULT_MAX, low)
    return SpeakerBounds(low, high)
