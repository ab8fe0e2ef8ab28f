"""The config rules the README promises, checked on the core without a model."""

from __future__ import annotations

import pytest

from hark.engine import ModelInfo
from hark.errors import InvalidArgument
from hark.settings import Limits
from hark.speech import text
from hark.speech.plan import validate
from hark.speech.types import Adaptation, Phrase, RecognitionConfig

ENGLISH = ModelInfo("tiny.en", multilingual=False, languages=frozenset({"en"}))


def planned(**fields: object) -> object:
    return validate(RecognitionConfig(language_code="en-US", **fields), ENGLISH, Limits())  # type: ignore[arg-type]


def test_spoken_punctuation_becomes_marks() -> None:
    assert text.spoken_punctuation("is it ready question mark yes comma now period") == (
        "is it ready? yes, now."
    )


def test_spoken_punctuation_defaults_on_for_command_and_search_only() -> None:
    assert planned(model="command_and_search").spoken_punctuation is True  # type: ignore[attr-defined]
    assert planned(model="latest_long").spoken_punctuation is False  # type: ignore[attr-defined]
    explicit = planned(model="command_and_search", enable_spoken_punctuation=False)
    assert explicit.spoken_punctuation is False  # type: ignore[attr-defined]


def test_short_models_do_not_condition_on_earlier_text() -> None:
    for model in ("latest_short", "telephony_short", "command_and_search"):
        assert planned(model=model).decode.condition_on_previous_text is False  # type: ignore[attr-defined]
    for model in ("", "default", "latest_long", "video", "phone_call", "telephony"):
        assert planned(model=model).decode.condition_on_previous_text is True  # type: ignore[attr-defined]
    assert planned(model="phone_call", use_enhanced=True).decode.beam_size == 5  # type: ignore[attr-defined]


def test_phrase_boosts_order_the_prompt_negative_ones_are_ignored() -> None:
    phrases = (Phrase("low", 1), Phrase("ignored", -5), Phrase("high", 50), Phrase("mid", 10))
    assert planned(speech_contexts=phrases).decode.prompt == "high, mid, low"  # type: ignore[attr-defined]


def test_phrase_limits_and_refusals() -> None:
    with pytest.raises(InvalidArgument, match="too many phrases: 5001"):
        planned(speech_contexts=tuple(Phrase(f"p{i}") for i in range(5001)))
    with pytest.raises(InvalidArgument, match="total 100100 characters"):
        planned(speech_contexts=tuple(Phrase("x" * 100) for _ in range(1001)))
    with pytest.raises(InvalidArgument, match="ABNF grammars are not supported"):
        planned(adaptation=Adaptation(abnf_grammar=("#ABNF 1.0;",)))
