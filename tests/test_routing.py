"""Several models in one server: each request goes to the model that serves it.

Fast, over fake engines (routing is plumbing); the slow multilingual tests route real speech.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hark.engine import ModelInfo
from hark.engine.pool import EnginePool
from hark.errors import InvalidArgument
from hark.settings import Limits, build_settings
from hark.speech.models import route, whisper_language
from hark.speech.recognizer import Recognizer, Served
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import StreamingConfig, StreamingRequest
from hark.speech.types import AudioSource, RecognitionConfig

from audio_samples import encode, tone, wav_bytes
from conftest import corpus_file
from fake_engine import FakeEngine

WHISPER_LANGUAGES = frozenset({"en", "de", "fr", "es", "it", "pt", "ja", "ko", "zh"})
TINY_EN = ModelInfo("tiny.en", multilingual=False, languages=frozenset({"en"}), weight_bytes=40)
BASE = ModelInfo("base", multilingual=True, languages=WHISPER_LANGUAGES, weight_bytes=145)
SMALL = ModelInfo("small", multilingual=True, languages=WHISPER_LANGUAGES, weight_bytes=480)


def config(language: str, model: str = "", *alternatives: str) -> RecognitionConfig:
    return RecognitionConfig(
        language_code=language, model=model, alternative_language_codes=alternatives
    )


def test_language_first_then_the_first_model_given() -> None:
    models = [TINY_EN, BASE]
    assert route(config("en-US"), models) == 0
    assert route(config("de-DE"), models) == 1
    assert route(config("pt-BR"), models) == 1
    # Order is the operator's: English goes to whichever model was given first.
    assert route(config("en-US"), [BASE, TINY_EN]) == 0


def test_alternatives_prefer_a_model_that_speaks_them_all() -> None:
    assert route(config("en-US", "", "de-DE"), [TINY_EN, BASE]) == 1


def test_googles_model_field_picks_by_size_among_those_that_speak_the_language() -> None:
    models = [BASE, TINY_EN, SMALL]
    assert route(config("en-US", "latest_short"), models) == 1
    assert route(config("en-US", "command_and_search"), models) == 1
    assert route(config("en-US", "latest_long"), models) == 2
    assert route(config("en-US", "phone_call"), models) == 2
    assert route(config("en-US", "default"), models) == 0
    # Never to a model without the language, whatever the field asks.
    assert route(config("de-DE", "latest_short"), models) == 0


def test_no_model_for_the_language_falls_to_the_first_for_googles_error() -> None:
    assert route(config("de-DE"), [TINY_EN, TINY_EN]) == 0


def test_hark_model_takes_several_comma_separated() -> None:
    settings = build_settings({}, {"HARK_MODEL": "tiny.en, base"})
    assert settings.engine.model == ("tiny.en", "base")
    assert build_settings({}, {}).engine.model == ("tiny.en",)


async def test_each_request_is_decoded_by_its_model() -> None:
    english = EnginePool(FakeEngine(["english words"], info=TINY_EN), workers=1, max_queue=4)
    multilingual = EnginePool(FakeEngine(["deutsche wörter"], info=BASE), workers=1, max_queue=4)
    recognizer = Recognizer(english, TINY_EN, Limits(), more=(Served(multilingual, BASE),))
    audio = AudioSource(content=wav_bytes(tone(1.0)))
    try:
        heard = {}
        for language in ("en-US", "de-DE"):
            recognition = await recognizer.recognize(config(language), audio)
            heard[language] = recognition.results[0].alternatives[0].transcript
            assert recognition.results[0].language_code == language.lower()
        assert "english" in heard["en-US"].lower()
        assert "deutsche" in heard["de-DE"].lower()
        with pytest.raises(InvalidArgument, match="not supported for language : xh-ZA"):
            await recognizer.recognize(config("xh-ZA"), audio)
    finally:
        await english.close()
        await multilingual.close()


def test_every_whisper_language_maps_from_its_google_codes() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    everything = ModelInfo("base", multilingual=True, languages=frozenset(_LANGUAGE_CODES))
    for language in _LANGUAGE_CODES:
        assert whisper_language(language, everything) == language
        assert whisper_language(f"{language}-XX", everything) == language
    google = {"cmn-Hans-CN": "zh", "zh-TW": "zh", "yue-Hant-HK": "yue", "iw-IL": "he"}
    google |= {"fil-PH": "tl", "nb-NO": "no", "jv-ID": "jw", "pt-BR": "pt", "pt-PT": "pt"}
    for code, language in google.items():
        assert whisper_language(code, everything) == language, code
    # Cantonese on a model without "yue" is written as Chinese.
    assert whisper_language("yue-Hant-HK", BASE) == "zh"
    for lacking in ("xh-ZA", "zu-ZA", "st-ZA", "rw-RW", "ceb-PH"):
        with pytest.raises(InvalidArgument, match=f"not supported for language : {lacking}"):
            whisper_language(lacking, everything)


async def test_streams_are_routed_too() -> None:
    english = EnginePool(FakeEngine(["english words"], info=TINY_EN), workers=1, max_queue=4)
    multilingual = EnginePool(FakeEngine(["deutsche wörter"], info=BASE), workers=1, max_queue=4)
    recognizer = Recognizer(english, TINY_EN, Limits(), more=(Served(multilingual, BASE),))
    streaming = StreamingRecognizer(recognizer)
    pcm = encode(corpus_file("en_librispeech_1272-128104-0000.wav"), "LINEAR16", 16000)

    async def requests() -> AsyncIterator[StreamingRequest]:
        yield StreamingConfig(
            RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="de-DE")
        )
        for offset in range(0, len(pcm), 16_000):
            yield pcm[offset : offset + 16_000]

    try:
        finals = [
            result
            async for response in streaming.recognize(requests())
            for result in response.results
            if result.is_final
        ]
    finally:
        await english.close()
        await multilingual.close()
    assert finals and all("deutsche" in r.alternatives[0].transcript for r in finals)
    assert {r.language_code for r in finals} == {"de-de"}


def test_auto_goes_to_a_multilingual_model_by_googles_model_field() -> None:
    assert route(config("auto"), [TINY_EN, BASE]) == 1
    assert route(config("auto", "latest_long"), [TINY_EN, BASE, SMALL]) == 2
    assert route(config("auto", "latest_short"), [SMALL, TINY_EN, BASE]) == 2
    # None can detect: the first, whose validation refuses in Google's words.
    assert route(config("auto"), [TINY_EN, TINY_EN]) == 0


async def test_auto_detects_on_the_multilingual_model_and_reports_what_it_heard() -> None:
    english = EnginePool(FakeEngine(["english words"], info=TINY_EN), workers=1, max_queue=4)
    multilingual = EnginePool(FakeEngine(["deutsche wörter"], info=BASE), workers=1, max_queue=4)
    recognizer = Recognizer(english, TINY_EN, Limits(), more=(Served(multilingual, BASE),))
    alone = Recognizer(english, TINY_EN, Limits())
    audio = AudioSource(content=wav_bytes(tone(1.0)))
    try:
        recognition = await recognizer.recognize(config("auto"), audio)
        with pytest.raises(InvalidArgument, match="not supported for language : auto"):
            await alone.recognize(config("auto"), audio)
    finally:
        await english.close()
        await multilingual.close()
    result = recognition.results[0]
    assert "deutsche" in result.alternatives[0].transcript.lower()
    # The fake engine "detects" English when asked for no language; never "auto".
    assert result.language_code == "en"
