"""v2's ``RecognitionConfig`` -> the core's, and the core's Recognition -> v2's results.

v2 differs from v1 on the wire, not in meaning: decoding is ``auto_decoding_config`` or
``explicit_decoding_config``, languages are a list (``language_codes``), the features sit in
``features``, model names are v2's (``long``, ``short``, ``telephony``, ``chirp*``...), and
results carry ``start_offset``/``end_offset``, a ``language_code`` each and
``metadata{request_id, total_billed_duration}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from google.cloud import speech_v2
from google.protobuf.message import Message

from hark.api.convert import nanos
from hark.audio.checks import AUTO_DETECT
from hark.errors import InvalidArgument, invalid_config
from hark.speech.models import AUTO_LANGUAGE
from hark.speech.types import (
    Adaptation,
    Alternative,
    CustomClass,
    Phrase,
    Recognition,
    RecognitionConfig,
    Replacement,
    Result,
)

PACKAGE = "google.cloud.speech.v2"
MODELS = {
    "long": "latest_long",
    "short": "latest_short",
    "telephony": "telephony",
    "telephony_short": "telephony_short",
    "chirp": "latest_long",
    "chirp_2": "latest_long",
    "chirp_3": "latest_long",
    "latest_long": "latest_long",
    "latest_short": "latest_short",
}
"""v2 model -> the v1 model name the core routes by (``speech.models``): the long and chirp
models to the most accurate loaded model that speaks the language, the short ones to the
fastest."""
_UNSUPPORTED_ENCODINGS = frozenset({"MP4_AAC", "M4A_AAC", "MOV_AAC"})
MAX_BOOST = 20.0
_SEPARATE_CHANNELS = 1
"""``RecognitionFeatures.MultiChannelMode.SEPARATE_RECOGNITION_PER_CHANNEL``."""


def message(type_name: str) -> type[Message]:
    """The raw protobuf class of the v2 message ``type_name``."""
    cls: type[Message] = getattr(speech_v2, type_name).pb()
    return cls


def config_from_proto(config: Any, location: str) -> RecognitionConfig:
    """The core's RecognitionConfig from a (merged) v2 ``RecognitionConfig``."""
    _refuse_unsupported(config)
    encoding, rate, channels = _decoding(config)
    languages = list(config.language_codes)
    if not languages:
        raise invalid_config("language_codes is required", field="languageCodes")
    if AUTO_LANGUAGE in languages and len(languages) > 1:
        # "auto" detects among every language the model has; a list would contradict it.
        raise invalid_config(
            "language 'auto' must be the only entry of 'language_codes'", field="languageCodes"
        )
    features = config.features
    return RecognitionConfig(
        encoding=encoding,
        sample_rate_hertz=rate,
        audio_channel_count=channels,
        enable_separate_recognition_per_channel=features.multi_channel_mode == _SEPARATE_CHANNELS,
        language_code=languages[0],
        alternative_language_codes=tuple(languages[1:]),
        max_alternatives=features.max_alternatives,
        profanity_filter=features.profanity_filter,
        adaptation=_adaptation(config.adaptation) if config.HasField("adaptation") else None,
        transcript_normalization=tuple(
            Replacement(entry.search, entry.replace, entry.case_sensitive)
            for entry in config.transcript_normalization.entries
        ),
        enable_word_time_offsets=features.enable_word_time_offsets,
        enable_word_confidence=features.enable_word_confidence,
        enable_automatic_punctuation=features.enable_automatic_punctuation,
        # v2's flags are plain bools: False leaves the model's default.
        enable_spoken_punctuation=True if features.enable_spoken_punctuation else None,
        enable_spoken_emojis=features.enable_spoken_emojis,
        enable_speaker_diarization=features.HasField("diarization_config"),
        min_speaker_count=features.diarization_config.min_speaker_count,
        max_speaker_count=features.diarization_config.max_speaker_count,
        model=core_model(config.model, location),
    )


def core_model(model: str, location: str) -> str:
    """The v1 name the core knows for v2's ``model``; Google's error for one it lacks."""
    if not model:
        return ""
    try:
        return MODELS[model]
    except KeyError:
        raise InvalidArgument(
            f'The model "{model}" does not exist in the location named "{location}".'
        ) from None


def _decoding(config: Any) -> tuple[str, int, int]:
    """(encoding, sample rate, channels) from the decoding oneof."""
    which = config.WhichOneof("decoding_config")
    if which == "auto_decoding_config":
        return AUTO_DETECT, 0, 0
    if which != "explicit_decoding_config":
        raise invalid_config(
            "one of 'auto_decoding_config' or 'explicit_decoding_config' is required",
            field="decodingConfig",
        )
    explicit = config.explicit_decoding_config
    enum = explicit.DESCRIPTOR.fields_by_name["encoding"].enum_type.values_by_number
    known = enum.get(explicit.encoding)
    name = known.name if known else ""
    if not known or explicit.encoding == 0 or name in _UNSUPPORTED_ENCODINGS:
        raise invalid_config("bad encoding.", field="explicitDecodingConfig.encoding")
    return name, explicit.sample_rate_hertz, explicit.audio_channel_count


def _refuse_unsupported(config: Any) -> None:
    if config.HasField("translation_config"):
        raise invalid_config(
            "translation is not supported by Hark; recognise in the spoken language",
            field="translationConfig",
        )
    if config.HasField("denoiser_config"):
        raise invalid_config("denoising is not supported by Hark", field="denoiserConfig")
    if config.features.HasField("custom_prompt_config"):
        raise invalid_config(
            "custom prompts are not supported by Hark", field="features.customPromptConfig"
        )


def _adaptation(adaptation: Any) -> Adaptation:
    """Inline phrase sets and custom classes; references are kept for the core to judge."""
    inline: list[tuple[Phrase, ...]] = []
    references: list[str] = []
    for entry in adaptation.phrase_sets:
        if entry.WhichOneof("value") == "phrase_set":
            references.append(entry.phrase_set)
        else:
            inline.append(phrases_of(entry.inline_phrase_set))
    return Adaptation(
        phrase_sets=tuple(inline),
        phrase_set_references=tuple(references),
        custom_classes=tuple(custom_class_of(cls) for cls in adaptation.custom_classes),
    )


def phrases_of(phrase_set: Any) -> tuple[Phrase, ...]:
    """A v2 ``PhraseSet``'s phrases; v2 refuses boosts outside 0..20 (v1 ignores negatives)."""
    phrases = []
    for phrase in phrase_set.phrases:
        boost = phrase.boost or phrase_set.boost
        if not 0 <= boost <= MAX_BOOST:
            raise invalid_config(
                f"boost must be between 0 and {MAX_BOOST:g}", field="adaptation.phraseSets"
            )
        phrases.append(Phrase(phrase.value, boost))
    return tuple(phrases)


def custom_class_of(cls: Any) -> CustomClass:
    """A v2 ``CustomClass`` (inline, or stored: its id is the last name segment)."""
    class_id = cls.name.rpartition("/")[2] or cls.name
    return CustomClass(class_id, tuple(item.value for item in cls.items))


def recognize_response(recognition: Recognition, config: RecognitionConfig) -> Message:
    """v2's ``RecognizeResponse`` for a core Recognition made with ``config``."""
    response: Any = message("RecognizeResponse")()
    fill_results(response.results, recognition.results, config.language_code.lower())
    response.metadata.request_id = str(uuid.uuid4())
    response.metadata.total_billed_duration.seconds = recognition.total_billed_seconds
    return response


def fill_results(results: Any, found: tuple[Result, ...] | list[Result], language: str) -> None:
    """Append ``found`` as v2 ``SpeechRecognitionResult``s (``language`` when none detected)."""
    for result in found:
        fill_result(results.add(), result, language)


def fill_result(target: Any, result: Result, language: str) -> None:
    """A v2 ``SpeechRecognitionResult`` or ``StreamingRecognitionResult``."""
    for alternative in result.alternatives:
        fill_alternative(target.alternatives.add(), alternative)
    if result.channel_tag:
        target.channel_tag = result.channel_tag
    if result.result_end_time:
        target.result_end_offset.FromNanoseconds(nanos(result.result_end_time))
    target.language_code = result.language_code or language


def fill_alternative(target: Any, alternative: Alternative) -> None:
    target.transcript = alternative.transcript
    target.confidence = alternative.confidence
    for word in alternative.words:
        info = target.words.add()
        info.word = word.word
        info.confidence = word.confidence
        if word.start_time or word.end_time:
            info.start_offset.FromNanoseconds(nanos(word.start_time))
            info.end_offset.FromNanoseconds(nanos(word.end_time))
        if word.speaker is not None:
            info.speaker_label = str(word.speaker)
