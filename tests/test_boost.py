"""Phrase boosts without a model: the bonus a hypothesis earns, the re-ranking of a beam, and
how a config's phrases become the engine's options (version split, classes, boost 0)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from google.cloud import speech_v1, speech_v1p1beta1

from hark.api.convert import config_from_proto
from hark.engine import DecodeOptions, ModelInfo
from hark.engine.rescoring import RESCORE_HYPOTHESES, RescoringGenerator, rerank
from hark.errors import InvalidArgument
from hark.settings import Limits
from hark.speech.boost import BOOST_SCALE, PhraseBoosts, phrase_boosts
from hark.speech.plan import validate
from hark.speech.types import Adaptation, CustomClass, Phrase, RecognitionConfig

ENGLISH = ModelInfo("tiny.en", multilingual=False, languages=frozenset({"en"}))


def boosts(*phrases: tuple[str, float]) -> PhraseBoosts:
    found = phrase_boosts([Phrase(value, boost) for value, boost in phrases])
    assert found is not None
    return found


def decode_options(**fields: Any) -> DecodeOptions:
    return validate(RecognitionConfig(language_code="en-US", **fields), ENGLISH, Limits()).decode


def test_a_phrase_earns_its_boost_per_whole_word_occurrence() -> None:
    fare = boosts(("fare", 10))
    assert fare("The word is fare.") == pytest.approx(10 * BOOST_SCALE)
    assert fare("The word is fair.") == 0
    assert fare("Farewell to welfare, fares and fare-dodgers") == pytest.approx(5)
    assert fare("Fare, FARE!") == pytest.approx(2 * 10 * BOOST_SCALE)


def test_multi_word_phrases_match_words_in_a_row_whatever_the_case_and_punctuation() -> None:
    phrase = boosts(("ill disposed", 4), ("Claflin", 20))
    assert phrase("He was not an ill-disposed young man.") == pytest.approx(4 * BOOST_SCALE)
    assert phrase("ill, and disposed") == 0
    assert phrase("I'm Abigail CLAFLIN.") == pytest.approx(20 * BOOST_SCALE)


def test_negative_boosts_are_penalties_and_boost_zero_is_no_rescoring() -> None:
    assert boosts(("fair", -10))("the word is fair") == pytest.approx(-10 * BOOST_SCALE)
    assert phrase_boosts([Phrase("fare", 0)]) is None
    assert phrase_boosts([]) is None
    assert phrase_boosts([Phrase("...", 10)]) is None  # no words to match


def test_builtin_classes_match_what_whisper_writes_for_them() -> None:
    address = boosts(("$ADDRESSNUM Main Street", 10))
    assert address("I live at 1600 Main Street.") == pytest.approx(5)
    assert address("twelve Main Street") == pytest.approx(5)
    assert address("Main Street") == 0
    assert address("and main street") == 0
    assert boosts(("born in $MONTH", 10))("He was born in March.") == pytest.approx(5)
    assert boosts(("$UNHEARD_OF_CLASS street", 10))("elm street") == pytest.approx(5)


def test_equal_boosts_are_equal_options_so_requests_can_share_a_batch() -> None:
    first = DecodeOptions(rescore=boosts(("fare", 10), ("word", 20)))
    second = DecodeOptions(rescore=boosts(("word", 20), ("fare", 10)))
    assert first == second and hash(first) == hash(second)
    assert boosts(("fare", 10), ("Fare", 5)) == boosts(("fare", 10))  # strongest counts


@dataclass
class FakeResult:
    sequences_ids: list[list[int]]
    scores: list[float]
    no_speech_prob: float = 0.1


TEXTS = {1: "the word is fair", 2: "the word is fare", 3: "the word"}


def text_of(tokens: list[int]) -> str:
    return TEXTS[tokens[0]]


def test_rerank_adds_the_bonus_at_the_best_hypothesis_exchange_rate() -> None:
    beam = FakeResult([[1, 0, 0], [2, 0, 0], [3]], [-0.2, -0.5, -0.9])  # best first
    # Nothing boosted: the decoder's order stays (a stable sort).
    kept = rerank(beam, boosts(("banana", 10)), text_of)
    assert kept.sequences_ids == beam.sequences_ids and kept.scores == beam.scores
    # "fare" is worth 5 nats spread over 4 tokens (3 + end of text): 1.25 per token.
    chosen = rerank(beam, boosts(("fare", 10)), text_of)
    assert chosen.sequences_ids[0] == [2, 0, 0]
    assert chosen.scores[0] == -0.5  # the decoder's own score: confidences stay honest
    assert chosen.no_speech_prob == 0.1
    # A weak boost does not outweigh the decoder's preference.
    assert rerank(beam, boosts(("fare", 1)), text_of).sequences_ids[0] == [1, 0, 0]
    # A penalty pushes its phrase down.
    assert rerank(beam, boosts(("fair", -10)), text_of).sequences_ids[-1] == [1, 0, 0]


PREVIOUS, START, HOTWORD = 50, 60, 70


@dataclass
class FakeWhisper:
    """Hears "fair" first and "fare" second; with the hotword in its prompt, only "fare"."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    is_multilingual: bool = False

    def generate(self, features: Any, prompts: Any, **kwargs: Any) -> list[FakeResult]:
        self.calls.append(kwargs)
        self.prompts.append(prompts)
        return [
            FakeResult([[2]], [-0.2]) if HOTWORD in prompt else FakeResult([[1], [2]], [-0.2, -0.9])
            for prompt in prompts
        ]


def generator_over(model: FakeWhisper) -> RescoringGenerator:
    return RescoringGenerator(model, text_of, previous=PREVIOUS, start=START)


def test_the_generator_acts_only_inside_rescoring_on_its_own_thread() -> None:
    model = FakeWhisper()
    generator = generator_over(model)
    assert generator.is_multilingual is False  # everything else is the model's
    plain = generator.generate("features", [[0]], beam_size=5, return_scores=True)
    assert model.calls[-1] == {"beam_size": 5, "return_scores": True}
    assert plain[0].sequences_ids[0] == [1]
    with generator.rescoring(boosts(("fare", 10))):
        rescored = generator.generate("features", [[0], [0]], beam_size=5, return_scores=True)
        sampled = generator.generate("features", [[0]], beam_size=1, num_hypotheses=5)
    assert model.calls[1]["num_hypotheses"] == RESCORE_HYPOTHESES
    assert model.calls[1]["beam_size"] == max(5, RESCORE_HYPOTHESES)
    assert [result.sequences_ids[0] for result in rescored] == [[2], [2]]
    assert model.calls[2]["beam_size"] == 1 and model.calls[2]["num_hypotheses"] == 5
    assert sampled[0].sequences_ids[0] == [2]
    with generator.rescoring(None):
        generator.generate("features", [[0]], beam_size=5)
    assert model.calls[-1] == {"beam_size": 5}


def test_a_config_without_boosts_decodes_exactly_as_before() -> None:
    assert decode_options() == DecodeOptions(beam_size=5)
    unboosted = decode_options(speech_contexts=(Phrase("fare"), Phrase("word", 0)))
    assert unboosted.rescore is None and unboosted.prompt == "fare, word"


def test_v1_ignores_negative_boosts_and_v1p1beta1_penalises_them() -> None:
    phrases = (Phrase("fare", 10), Phrase("fair", -10), Phrase("far", -50))
    v1 = decode_options(speech_contexts=phrases)
    assert v1.prompt == "fare" and v1.rescore == boosts(("fare", 10))
    beta = decode_options(speech_contexts=phrases, anti_biasing=True)
    assert beta.prompt == "fare"  # a penalised phrase is never prompted
    assert beta.rescore == boosts(("fare", 10), ("fair", -10), ("far", -20))  # capped at -20


def test_the_api_version_decides_anti_biasing() -> None:
    assert config_from_proto(speech_v1p1beta1.RecognitionConfig.pb()()).anti_biasing is True
    assert config_from_proto(speech_v1.RecognitionConfig.pb()()).anti_biasing is False


def test_custom_classes_expand_and_builtin_classes_stay_out_of_the_prompt() -> None:
    adaptation = Adaptation(
        phrase_sets=((Phrase("${street} $ADDRESSNUM", 10), Phrase("$MONTH", 5)),),
        custom_classes=(CustomClass("street", ("Elm", "Quilter Lane")),),
    )
    options = decode_options(adaptation=adaptation)
    assert options.prompt == "Elm, Quilter Lane"
    assert options.rescore is not None
    assert options.rescore("Quilter Lane 42") == pytest.approx(10 * BOOST_SCALE)
    assert options.rescore("Quilter Lane 42 in May") == pytest.approx(15 * BOOST_SCALE)
    assert options.rescore("Elm twelve") == pytest.approx(5)
    assert options.rescore("in May") == pytest.approx(2.5)


def test_a_prompted_reading_is_kept_only_when_it_brings_a_boosted_phrase_in() -> None:
    model = FakeWhisper()
    generator = generator_over(model)
    prompt = [PREVIOUS, HOTWORD, START, 1]
    with generator.rescoring(boosts(("fare", 1)), hotwords=[HOTWORD]):  # too weak to re-rank
        chosen = generator.generate("features", [prompt], beam_size=5)
    assert model.prompts[-2:] == [[prompt], [[START, 1]]]  # with, then without the hotwords
    assert chosen[0].sequences_ids == [[2]]  # the prompt brought "fare": its reading is kept
    with generator.rescoring(boosts(("banana", 10)), hotwords=[HOTWORD]):
        chosen = generator.generate("features", [prompt], beam_size=5)
    assert chosen[0].sequences_ids[0] == [1]  # nothing boosted was said: the plain reading
    previous_text = [PREVIOUS, HOTWORD, 5, 6, START]
    with generator.rescoring(boosts(("banana", 10)), hotwords=[HOTWORD]):
        generator.generate("features", [previous_text], beam_size=5)
    assert model.prompts[-1] == [[PREVIOUS, 5, 6, START]]  # earlier text stays in the prompt


def test_v1_has_no_auto_language() -> None:
    config = speech_v1.RecognitionConfig.pb()(language_code="auto")
    with pytest.raises(InvalidArgument, match="bad language code"):
        config_from_proto(config)
