"""N-best rescoring inside the decoder: how phrase boosts change what Whisper writes.

CTranslate2's Whisper ``generate`` takes no logits hook, so a boost cannot bias each token;
instead the beam search returns several finished hypotheses per 30 s window and they are
re-ranked: the decoder's length-normalised log-probability plus the request's bonus for
its phrases (``DecodeOptions.rescore``), that bonus spread over the best hypothesis's
tokens so that every candidate gets the same exchange rate whatever its length (a
truncated hypothesis would otherwise buy the bonus cheaper). faster-whisper then goes on
with the winner as if the beam search had ranked it first: its segments, its seek, its
fallback checks, its word alignment all follow the chosen tokens.

The phrases are in Whisper's prompt too ("hotwords"): re-ranking can only choose among what
the beam heard, and the prompt is what brings a rare word into the beam. But a prompt also
shifts the decoder's style where the phrase is not said ("one two three" becomes "1 2 3",
"woodcutters" "wood cutters": 4 of 41 evaluation cases damaged). So each window is decoded
twice, with and without the hotwords, and the prompted reading is kept only when it earns
more bonus than the plain one, that is when the prompt brought a boosted phrase in.

``RescoringGenerator`` wraps the model's CTranslate2 ``Whisper`` and acts only inside
``rescoring(rescore)`` on the calling thread; outside it, and when ``rescore`` is None,
``generate`` is the model's own call with the caller's arguments, unchanged.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hark.engine import Rescore

RESCORE_HYPOTHESES = 8
"""Beam width and hypotheses returned per window when a request carries boosts (5 without)."""


@dataclass(frozen=True)
class Rescored:
    """A ``WhisperGenerationResult`` look-alike (the fields faster-whisper and Hark read),
    its hypotheses in the re-ranked order; ``scores`` are still the decoder's own."""

    sequences_ids: list[list[int]]
    scores: list[float]
    no_speech_prob: float


class RescoringGenerator:
    """A CTranslate2 ``Whisper`` whose ``generate`` re-ranks hypotheses while a thread is
    inside ``rescoring``; every other attribute is the wrapped model's."""

    def __init__(
        self, model: Any, text_of: Callable[[list[int]], str], *, previous: int, start: int
    ) -> None:
        """``text_of`` turns a hypothesis's token ids into its text (special tokens dropped);
        ``previous`` and ``start`` are the ids of <|startofprev|> and <|startoftranscript|>."""
        self._model = model
        self._text_of = text_of
        self._previous, self._start = previous, start
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    @contextlib.contextmanager
    def rescoring(
        self, rescore: Rescore | None, hotwords: list[int] | None = None
    ) -> Iterator[None]:
        """Re-rank this thread's ``generate`` results by ``rescore`` (None: do nothing).

        ``hotwords`` are the prompt's phrase tokens (as faster-whisper writes them after
        <|startofprev|>): a reading decoded without them is the fallback the prompted one
        must beat on bonus.
        """
        saved = getattr(self._local, "rescore", None), getattr(self._local, "hotwords", None)
        self._local.rescore, self._local.hotwords = rescore, list(hotwords or ())
        try:
            yield
        finally:
            self._local.rescore, self._local.hotwords = saved

    def generate(self, features: Any, prompts: Any, **kwargs: Any) -> list[Any]:
        """The model's ``generate``; inside ``rescoring``, with more hypotheses, re-ranked."""
        rescore: Rescore | None = getattr(self._local, "rescore", None)
        if rescore is None:
            return list(self._model.generate(features, prompts, **kwargs))
        if kwargs.get("beam_size", 5) > 1:  # sampling (beam 1) already returns best_of samples
            width = max(int(kwargs.get("num_hypotheses", 1)), RESCORE_HYPOTHESES)
            kwargs.update(beam_size=max(int(kwargs.get("beam_size", 5)), width))
            kwargs.update(num_hypotheses=width)
        kwargs.update(return_scores=True)
        prompted = [
            rerank(result, rescore, self._text_of)
            for result in self._model.generate(features, prompts, **kwargs)
        ]
        plain_prompts = [self._without_hotwords(list(prompt)) for prompt in prompts]
        if plain_prompts == [list(prompt) for prompt in prompts]:
            return list(prompted)
        plain = [
            rerank(result, rescore, self._text_of)
            for result in self._model.generate(features, plain_prompts, **kwargs)
        ]
        return [
            with_hint
            if self._bonus(with_hint, rescore) > self._bonus(without, rescore)
            else without
            for with_hint, without in zip(prompted, plain, strict=True)
        ]

    def _bonus(self, result: Rescored, rescore: Rescore) -> float:
        return rescore(self._text_of(result.sequences_ids[0])) if result.sequences_ids else 0.0

    def _without_hotwords(self, prompt: list[int]) -> list[int]:
        """``prompt`` less this thread's hotwords (and <|startofprev|> if nothing is left)."""
        hotwords: list[int] = getattr(self._local, "hotwords", [])
        end = 1 + len(hotwords)
        if not hotwords or prompt[:1] != [self._previous] or prompt[1:end] != hotwords:
            return prompt
        rest = prompt[end:]
        return rest if rest[:1] == [self._start] else [self._previous, *rest]


def rerank(result: Any, rescore: Rescore, text_of: Callable[[list[int]], str]) -> Rescored:
    """``result``'s hypotheses, best first by score plus bonus per token of the best one.

    The sort is stable: with no bonus anywhere, the decoder's order is kept.
    """
    ids = [list(tokens) for tokens in result.sequences_ids]
    scores = [float(score) for score in result.scores]
    if not ids:
        return Rescored(ids, scores, float(result.no_speech_prob))
    exchange = 1.0 / (len(ids[0]) + 1)  # +1: the end-of-text token the score counts too
    bonus = [rescore(text_of(tokens)) * exchange for tokens in ids]
    order = sorted(range(len(ids)), key=lambda i: -(scores[i] + bonus[i]))
    return Rescored(
        [ids[i] for i in order], [scores[i] for i in order], float(result.no_speech_prob)
    )
