"""The core of Hark: one recognition service behind every transport.

``Recognizer.recognize`` is Google's synchronous Recognize: validate the config, decode the
audio, run the engine per channel, shape the results. Long-running and streaming recognition
reuse ``validate`` and ``recognize_samples``. With several models loaded, ``validate`` routes
each request to one (``models.route``) and records it in the plan; the engine calls follow it.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from hark import audio
from hark.engine import (
    SAMPLE_RATE,
    DecodeOptions,
    Hypothesis,
    ModelInfo,
    Progress,
    Samples,
    Stop,
    Transcript,
)
from hark.errors import SYNC_TOO_LONG, FailedPrecondition, InvalidArgument
from hark.samples import Array, mixdown
from hark.settings import Limits
from hark.speech import results, text
from hark.speech.diarization import MISSING_WEIGHTS, Diarizer, SpeechEmbeddings
from hark.speech.models import route
from hark.speech.plan import Plan, validate
from hark.speech.types import (
    Adaptation,
    Alternative,
    AudioSource,
    Recognition,
    RecognitionConfig,
    Result,
)

N_BEST_MAX_SECONDS = 30.0
"""n-best lists come from one decoder pass, which sees at most 30 s of audio."""


class EngineCalls(Protocol):
    """The asynchronous face of the engine (``engine.pool.EnginePool``)."""

    async def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript: ...

    async def n_best(
        self, samples: Samples, options: DecodeOptions, count: int
    ) -> list[Hypothesis]: ...

    def check_capacity(self) -> None:
        """Raise ``ResourceExhausted`` now if a call made now would be refused."""


Fetch = Callable[[str], Awaitable[bytes]]
"""Reads the bytes behind a ``RecognitionAudio.uri``."""
AdaptationResolver = Callable[[Adaptation], Awaitable[Adaptation]]
"""Makes an ``Adaptation``'s stored references (PhraseSets, CustomClasses by name) inline;
the server supplies it (``api.v2.adaptation``), since the resources are stored there."""


@dataclass(frozen=True)
class Served:
    """One loaded model: its engine calls and what it can do."""

    engine: EngineCalls
    info: ModelInfo


class Recognizer:
    """Recognition over the loaded engines, shared by REST, gRPC, streaming and the jobs.

    ``engine``/``model`` are the first (default) model; ``more`` are served beside it.
    """

    def __init__(
        self,
        engine: EngineCalls,
        model: ModelInfo,
        limits: Limits,
        fetch: Fetch | None = None,
        *,
        more: tuple[Served, ...] = (),
        resolve_adaptation: AdaptationResolver | None = None,
        diarizer: Diarizer | None = None,
    ) -> None:
        self.engine = engine
        self.model = model
        self.limits = limits
        self.served = (Served(engine, model), *more)
        self.diarizer = diarizer
        self._fetch = fetch
        self._resolve_adaptation = resolve_adaptation

    async def resolved(self, config: RecognitionConfig) -> RecognitionConfig:
        """``config`` with stored adaptation references made inline (unchanged without a
        resolver: validation then refuses the references)."""
        if config.adaptation is None or self._resolve_adaptation is None:
            return config
        return replace(config, adaptation=await self._resolve_adaptation(config.adaptation))

    def validate(self, config: RecognitionConfig, *, served_by: int | None = None) -> Plan:
        """Validate ``config`` for the model it is routed to (or the one at ``served_by``, which
        a caller with its own routing chose) and this server's limits."""
        index = served_by if served_by is not None else route(config, self.models)
        request_plan = validate(config, self.served[index].info, self.limits)
        if request_plan.speakers is not None:
            self._speaker_diarizer().check()
        return replace(request_plan, served_by=index) if index else request_plan

    @property
    def models(self) -> list[ModelInfo]:
        """What each served model can do, in the operator's order."""
        return [served.info for served in self.served]

    def _speaker_diarizer(self) -> Diarizer:
        if self.diarizer is None:
            raise FailedPrecondition(MISSING_WEIGHTS)
        return self.diarizer

    async def embed_speakers(self, channels: Array, offset: float = 0.0) -> SpeechEmbeddings:
        """The speaker embeddings of (n_channels, n) samples' mixdown, for diarization."""
        return await asyncio.to_thread(self._speaker_diarizer().embed, mixdown(channels), offset)

    async def tag_speakers(
        self, found: list[Result], parts: list[SpeechEmbeddings], request_plan: Plan
    ) -> list[Result]:
        """A whole recording's results with Google's last result of speaker-tagged words."""
        if request_plan.speakers is None:
            return found
        return await asyncio.to_thread(Diarizer.tag, found, parts, request_plan.speakers)

    def engine_for(self, request_plan: Plan) -> EngineCalls:
        """The engine that decodes ``request_plan`` (the one ``validate`` routed it to)."""
        return self.served[request_plan.served_by].engine

    async def recognize(self, config: RecognitionConfig, source: AudioSource) -> Recognition:
        """Google's synchronous Recognize."""
        request_plan = self.validate(await self.resolved(config))
        check_source(source)
        self.engine.check_capacity()  # refuse before fetching and decoding, not after
        content = await self.read(source)
        limit = audio.Limit(self.limits.sync_max_seconds, lambda: InvalidArgument(SYNC_TOO_LONG))
        decoded = await asyncio.to_thread(audio.decode, content, request_plan.audio, limit)
        found = await self.recognize_samples(decoded.channels, request_plan)
        if request_plan.speakers is not None:
            parts = [await self.embed_speakers(decoded.channels)]
            found = await self.tag_speakers(found, parts, request_plan)
        return Recognition(
            results=tuple(found),
            total_billed_seconds=billed_seconds(decoded.duration, request_plan),
            request_id=new_request_id(),
        )

    async def read(self, source: AudioSource) -> bytes:
        """The audio bytes of a request: inline content, or what its URI points at."""
        check_source(source)
        if source.content:
            return source.content
        if self._fetch is None:
            raise InvalidArgument("Request contains an invalid argument.")
        return await self._fetch(source.uri)

    async def recognize_samples(
        self,
        channels: Array,
        request_plan: Plan,
        *,
        offset: float = 0.0,
        progress: Progress | None = None,
    ) -> list[Result]:
        """Results for decoded (n_channels, n) samples: per channel when asked, else for the
        mixdown.

        ``progress(seconds)`` is called on the event loop as the engine moves through the
        audio, in absolute seconds (``offset`` plus the share of the work done).
        """
        separate = request_plan.separate_channels
        duration = channels.shape[1] / SAMPLE_RATE
        passes = list(channels) if separate else [mixdown(channels)]
        found: list[Result] = []
        for index, channel in enumerate(passes):
            share = _share_of_progress(progress, offset, duration, index, len(passes))
            found += await self.recognize_channel(
                channel,
                request_plan,
                channel_tag=index + 1 if separate else 0,
                offset=offset,
                progress=share,
            )
        return found

    async def recognize_channel(
        self,
        samples: Samples,
        request_plan: Plan,
        *,
        channel_tag: int = 0,
        offset: float = 0.0,
        progress: Progress | None = None,
    ) -> list[Result]:
        """Transcribe one channel and shape its results (n-best when asked)."""
        engine = self.engine_for(request_plan)
        transcript = await engine.transcribe(samples, request_plan.decode, progress)
        found = []
        for utterance in results.utterances(
            transcript.segments, transcript.language, offset=offset
        ):
            alternatives = [results.top_alternative(utterance, request_plan)]
            if request_plan.alternatives > 1:
                alternatives += await self._more_alternatives(
                    samples, utterance, alternatives[0], request_plan, offset
                )
            found.append(
                results.make_result(utterance, alternatives, request_plan, channel_tag=channel_tag)
            )
        return found

    async def _more_alternatives(
        self,
        samples: Samples,
        utterance: results.Utterance,
        best: Alternative,
        request_plan: Plan,
        offset: float,
    ) -> list[Alternative]:
        """The n-best list of one utterance's audio, less the transcript already chosen."""
        start = max(0.0, utterance.start - offset - 0.2)
        end = utterance.end - offset + 0.3
        if end - start > N_BEST_MAX_SECONDS:
            return []
        span = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        options = request_plan.decode
        if options.language is None:
            options = _with_language(options, utterance.language)
        hypotheses = await self.engine_for(request_plan).n_best(
            span, options, request_plan.alternatives + 1
        )
        seen = {_comparable(best.transcript)}
        more = []
        for hypothesis in hypotheses:
            transcript = results.render(hypothesis.text, request_plan, utterance.language)
            if transcript and _comparable(transcript) not in seen:
                seen.add(_comparable(transcript))
                more.append(Alternative(transcript, round(hypothesis.confidence, 4)))
        return more[: request_plan.alternatives - 1]


def check_source(source: AudioSource) -> None:
    """Google's rule for ``RecognitionAudio``: exactly one of ``content`` and ``uri``."""
    if source.content is not None and source.uri:
        raise InvalidArgument("RecognitionAudio must set exactly one of 'content' or 'uri'.")
    if not source.content and not source.uri:
        raise InvalidArgument("RecognitionAudio not set.")


def _share_of_progress(
    progress: Progress | None, offset: float, duration: float, index: int, count: int
) -> Progress | None:
    """An engine-thread callback reporting channel ``index`` of ``count`` into ``progress``."""
    if progress is None or duration <= 0:
        return None
    loop = asyncio.get_running_loop()
    report = progress

    def engine_progress(seconds: float) -> None:  # runs on the engine's thread
        done = offset + duration * (index + min(seconds, duration) / duration) / count
        loop.call_soon_threadsafe(report, done)

    return engine_progress


def billed_seconds(duration: float, request_plan: Plan) -> int:
    """Google bills whole seconds, rounded up, per recognised channel."""
    channels = request_plan.config.audio_channel_count if request_plan.separate_channels else 1
    return math.ceil(round(duration, 3)) * channels


def new_request_id() -> int:
    """A unique positive int64, as Google's ``requestId``."""
    return random.SystemRandom().randrange(1, 2**63)


def _comparable(transcript: str) -> str:
    return " ".join(text.strip_punctuation(transcript).lower().split())


def _with_language(options: DecodeOptions, language: str) -> DecodeOptions:
    return replace(options, language=language, candidate_languages=())
