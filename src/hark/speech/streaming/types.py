"""The core's vocabulary for streaming recognition: Google's streaming messages, wire-free."""

from __future__ import annotations

from dataclasses import dataclass

from hark.speech.streaming.outputs import SpeechEvent
from hark.speech.types import RecognitionConfig, Result

MALORDERED = "Malordered Data Received. Send exactly one config, followed by audio data."


@dataclass(frozen=True)
class StreamingConfig:
    """Google's StreamingRecognitionConfig (v1p1beta1 voice-activity fields included)."""

    config: RecognitionConfig
    single_utterance: bool = False
    interim_results: bool = False
    enable_voice_activity_events: bool = False
    speech_start_timeout: float | None = None
    speech_end_timeout: float | None = None


StreamingRequest = StreamingConfig | bytes
"""One client message: the config (first, once) or a piece of audio."""


@dataclass(frozen=True)
class StreamingResult(Result):
    """A Result as it streams: an interim with its ``stability``, or the ``is_final`` one."""

    is_final: bool = False
    stability: float = 0.0


@dataclass(frozen=True)
class StreamingResponse:
    """One StreamingRecognizeResponse: results, or a speech event, or only the billing."""

    results: tuple[StreamingResult, ...] = ()
    speech_event: SpeechEvent | None = None
    speech_event_time: float = 0.0
    total_billed_seconds: int | None = None
    """Set on the last response of a stream only."""
