"""Google's protobuf messages <-> the core's types: the one place that knows both.

The message classes are Google's own, from ``google-cloud-speech`` (v1 and v1p1beta1); their
raw protobuf classes serve REST (through ``json_format``) and gRPC alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from google.cloud import speech_v1, speech_v1p1beta1
from google.protobuf.message import Message

from hark.errors import InvalidArgument, NotFound, invalid_config
from hark.settings import Limits
from hark.speech.models import AUTO_LANGUAGE
from hark.speech.types import (
    Adaptation,
    Alternative,
    AudioSource,
    CustomClass,
    Phrase,
    Recognition,
    RecognitionConfig,
    Replacement,
    Result,
)


@dataclass(frozen=True)
class ApiVersion:
    """One of Google's API versions, and its message classes."""

    name: str
    module: ModuleType

    def message(self, type_name: str) -> type[Message]:
        """The raw protobuf class of ``type_name`` (e.g. "RecognizeRequest") in this version."""
        cls: type[Message] = getattr(self.module, type_name).pb()
        return cls

    @property
    def package(self) -> str:
        return f"google.cloud.speech.{self.name}"


V1 = ApiVersion("v1", speech_v1)
V1P1BETA1 = ApiVersion("v1p1beta1", speech_v1p1beta1)
VERSIONS = {version.name: version for version in (V1, V1P1BETA1)}


def not_found(path: str) -> NotFound:
    """Google's answer for a path it does not serve."""
    return NotFound(f"Requested entity was not found: {path}")


def version_named(name: str, path: str) -> ApiVersion:
    """The API version ``name`` (v1 or v1p1beta1) from a request ``path``; NOT_FOUND if other."""
    try:
        return VERSIONS[name]
    except KeyError:
        raise not_found(path) from None


def config_from_proto(config: Any) -> RecognitionConfig:
    """The core's RecognitionConfig from either version's ``RecognitionConfig`` message."""
    encoding = config.DESCRIPTOR.fields_by_name["encoding"].enum_type.values_by_number.get(
        config.encoding
    )
    if config.language_code == AUTO_LANGUAGE:  # v2's detection; v1 has no such language
        raise invalid_config("bad language code", field="languageCode")
    return RecognitionConfig(
        encoding=encoding.name if encoding else f"UNKNOWN_ENCODING_{config.encoding}",
        sample_rate_hertz=config.sample_rate_hertz,
        audio_channel_count=config.audio_channel_count,
        enable_separate_recognition_per_channel=config.enable_separate_recognition_per_channel,
        language_code=config.language_code,
        alternative_language_codes=tuple(config.alternative_language_codes),
        max_alternatives=config.max_alternatives,
        profanity_filter=config.profanity_filter,
        speech_contexts=tuple(
            Phrase(value, context.boost)
            for context in config.speech_contexts
            for value in context.phrases
        ),
        adaptation=_adaptation(config.adaptation) if config.HasField("adaptation") else None,
        transcript_normalization=tuple(
            Replacement(entry.search, entry.replace, entry.case_sensitive)
            for entry in config.transcript_normalization.entries
        ),
        enable_word_time_offsets=config.enable_word_time_offsets,
        enable_word_confidence=config.enable_word_confidence,
        enable_automatic_punctuation=config.enable_automatic_punctuation,
        enable_spoken_punctuation=_optional_bool(config, "enable_spoken_punctuation"),
        enable_spoken_emojis=_optional_bool(config, "enable_spoken_emojis"),
        enable_speaker_diarization=config.diarization_config.enable_speaker_diarization
        or getattr(config, "enable_speaker_diarization", False),
        min_speaker_count=config.diarization_config.min_speaker_count,
        max_speaker_count=config.diarization_config.max_speaker_count,
        diarization_speaker_count=getattr(config, "diarization_speaker_count", 0),
        model=config.model,
        use_enhanced=config.use_enhanced,
        # Negative boosts penalise in v1p1beta1 only (v1 documents them as ignored).
        anti_biasing=config.DESCRIPTOR.full_name.startswith(V1P1BETA1.package + "."),
    )


def _optional_bool(config: Any, name: str) -> bool | None:
    return bool(getattr(config, name).value) if config.HasField(name) else None


def _adaptation(adaptation: Any) -> Adaptation:
    return Adaptation(
        phrase_sets=tuple(
            tuple(
                Phrase(phrase.value, phrase.boost or phrase_set.boost)
                for phrase in phrase_set.phrases
            )
            for phrase_set in adaptation.phrase_sets
        ),
        phrase_set_references=tuple(adaptation.phrase_set_references),
        custom_classes=tuple(
            CustomClass(cls.custom_class_id, tuple(item.value for item in cls.items))
            for cls in adaptation.custom_classes
        ),
        abnf_grammar=tuple(adaptation.abnf_grammar.abnf_strings),
    )


def audio_from_proto(audio: Any) -> AudioSource:
    """The core's AudioSource from a ``RecognitionAudio`` message."""
    which = audio.WhichOneof("audio_source")
    if which == "content":
        return AudioSource(content=audio.content)
    if which == "uri":
        return AudioSource(uri=audio.uri)
    return AudioSource()


def fill_results(results: Any, found: tuple[Result, ...] | list[Result]) -> None:
    """Append ``found`` to a repeated ``SpeechRecognitionResult`` field of any version."""
    for result in found:
        fill_result(results.add(), result)


def fill_result(message: Any, result: Result) -> None:
    """A ``SpeechRecognitionResult`` or ``StreamingRecognitionResult`` of any version."""
    for alternative in result.alternatives:
        fill_alternative(message.alternatives.add(), alternative)
    if result.channel_tag:
        message.channel_tag = result.channel_tag
    if result.result_end_time:
        message.result_end_time.FromNanoseconds(nanos(result.result_end_time))
    if result.language_code:
        message.language_code = result.language_code


def fill_alternative(message: Any, alternative: Alternative) -> None:
    message.transcript = alternative.transcript
    message.confidence = alternative.confidence
    for word in alternative.words:
        info = message.words.add()
        info.word = word.word
        info.confidence = word.confidence
        if word.start_time or word.end_time:
            info.start_time.FromNanoseconds(nanos(word.start_time))
            info.end_time.FromNanoseconds(nanos(word.end_time))
        if word.speaker is not None:
            info.speaker_tag = word.speaker
            if "speaker_label" in info.DESCRIPTOR.fields_by_name:
                info.speaker_label = str(word.speaker)


def recognize_response(recognition: Recognition, version: ApiVersion) -> Message:
    """Google's ``RecognizeResponse`` for a core Recognition."""
    response: Any = version.message("RecognizeResponse")()
    fill_recognition(response, recognition)
    return response


def fill_recognition(message: Any, recognition: Recognition) -> None:
    """Results, billed time and request id into a Recognize or LongRunningRecognize response."""
    fill_results(message.results, recognition.results)
    message.total_billed_time.seconds = recognition.total_billed_seconds
    message.request_id = recognition.request_id


def nanos(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def recognize_args(request: Any) -> tuple[RecognitionConfig, AudioSource]:
    """The core's arguments from a ``RecognizeRequest`` of either version (config required)."""
    if not request.HasField("config"):
        raise invalid_config("request must contain 'config' field")
    return config_from_proto(request.config), audio_from_proto(request.audio)


def check_request_size(request: Message, limits: Limits) -> None:
    """Google's refusal of a request whose payload is over ``limits.max_request_bytes``."""
    if request.ByteSize() > limits.max_request_bytes:
        raise request_too_large(limits)


def request_too_large(limits: Limits) -> InvalidArgument:
    return InvalidArgument(
        f"Request payload size exceeds the limit: {limits.max_request_bytes} bytes."
    )
