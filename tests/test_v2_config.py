"""v2's RecognitionConfig: defaults merged by ``config_mask`` as Google defines it, and the
mapping onto the core's config (models, decoding, features, refusals)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from google.cloud import speech_v2
from google.protobuf import field_mask_pb2

from hark.api.v2.config import merged
from hark.api.v2.convert import config_from_proto
from hark.audio.checks import AUTO_DETECT
from hark.errors import InvalidArgument


def pb(**fields: Any) -> Any:
    return speech_v2.RecognitionConfig(**fields)._pb


DEFAULT = pb(
    explicit_decoding_config={"encoding": "LINEAR16", "sample_rate_hertz": 8000},
    language_codes=["en-US", "fr-FR"],
    model="telephony",
    features={"profanity_filter": True, "max_alternatives": 2},
)


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def test_no_mask_overrides_each_field_the_request_sets() -> None:
    request = pb(features={"enable_word_time_offsets": True}, language_codes=["de-DE"])
    result = merged(DEFAULT, request, None)
    assert list(result.language_codes) == ["de-DE"]  # replaced, not appended
    assert result.features.enable_word_time_offsets
    assert result.features.profanity_filter  # the default's sibling is kept
    assert result.model == "telephony"
    assert result.explicit_decoding_config.sample_rate_hertz == 8000


def test_a_mask_overrides_only_its_paths_even_to_unset() -> None:
    request = pb(model="short", features={"max_alternatives": 0, "profanity_filter": False})
    result = merged(DEFAULT, request, mask("features.profanity_filter"))
    assert not result.features.profanity_filter
    assert result.features.max_alternatives == 2
    assert result.model == "telephony"


def test_wildcard_replaces_the_default_whole() -> None:
    request = pb(auto_decoding_config={}, language_codes=["en-GB"])
    result = merged(DEFAULT, request, mask("*"))
    assert result.WhichOneof("decoding_config") == "auto_decoding_config"
    assert not result.model and not result.features.profanity_filter


def test_an_empty_auto_decoding_config_still_switches_the_decoding() -> None:
    result = merged(DEFAULT, pb(auto_decoding_config={}), None)
    assert result.WhichOneof("decoding_config") == "auto_decoding_config"


def test_an_unknown_mask_path_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="Invalid config_mask"):
        merged(DEFAULT, pb(), mask("features.no_such_field"))


def test_the_implicit_recognizer_takes_the_request_config_as_it_is() -> None:
    request = pb(auto_decoding_config={}, language_codes=["en-US"])
    assert merged(None, request, mask("model")) == request


@pytest.mark.parametrize(
    ("model", "core"),
    [("long", "latest_long"), ("short", "latest_short"), ("telephony", "telephony"),
     ("chirp_3", "latest_long"), ("latest_short", "latest_short"), ("", "")],
)  # fmt: skip
def test_models_map_onto_the_core_router(model: str, core: str) -> None:
    config = config_from_proto(pb(auto_decoding_config={}, language_codes=["en"], model=model), "g")
    assert config.model == core


def test_mapping_of_decoding_languages_and_features() -> None:
    config = config_from_proto(DEFAULT, "global")
    assert (config.encoding, config.sample_rate_hertz) == ("LINEAR16", 8000)
    assert (config.language_code, config.alternative_language_codes) == ("en-US", ("fr-FR",))
    assert config.profanity_filter and config.max_alternatives == 2
    auto = config_from_proto(
        pb(
            auto_decoding_config={},
            language_codes=["en-US"],
            features={"multi_channel_mode": "SEPARATE_RECOGNITION_PER_CHANNEL"},
        ),
        "global",
    )
    assert auto.encoding == AUTO_DETECT and auto.enable_separate_recognition_per_channel


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": "nope"}, 'The model "nope" does not exist in the location named "global".'),
        ({"language_codes": []}, "language_codes is required"),
        ({"language_codes": ["auto", "de-DE"]}, "language 'auto' must be the only entry"),
        ({"translation_config": {"target_language": "fr"}}, "translation is not supported"),
        ({"denoiser_config": {"denoise_audio": True}}, "denoising is not supported"),
        ({"explicit_decoding_config": {"encoding": "MP4_AAC"}}, "bad encoding"),
        ({"auto_decoding_config": None}, "auto_decoding_config' or 'explicit_decoding_config"),
    ],
)
def test_refusals(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"auto_decoding_config": {}, "language_codes": ["en-US"]}
    config = pb(**{key: value for key, value in {**base, **fields}.items() if value is not None})
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        config_from_proto(config, "global")


def test_auto_alone_passes_to_the_core_which_detects() -> None:
    config = config_from_proto(pb(auto_decoding_config={}, language_codes=["auto"]), "global")
    assert config.language_code == "auto" and not config.alternative_language_codes
