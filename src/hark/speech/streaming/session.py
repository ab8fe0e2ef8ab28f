"""Streaming recognition: the async driver around the sans-IO policy (``policy.py``).

``StreamingRecognizer.recognize(requests)`` takes the client's messages (a ``StreamingConfig``
first, then audio bytes) and yields ``StreamingResponse``s. Per stream, one task reads and
decodes audio and runs the voice activity detector; another asks the engine for hypotheses.

Sharing the engine: every stream's decodes go through one ``DecodeScheduler`` with as many
slots as the engine has workers, so streams never flood the pool's queue; a stream holds at
most one decode, and the window is chosen when its slot comes up (the newest audio; stale
windows are never decoded). Finals waiting for a decode go before interim decodes, and an
interim decode already running gives the engine up after its encoder pass when a final (of
any stream) is waiting: its text would be replaced anyway, and the final would wait ~0.15 s
for it. A client that goes away cancels its tasks; its slot and buffers are released at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hark import audio
from hark.engine import SAMPLE_RATE, DecodeOptions, Samples, Stopped, Word
from hark.engine.vad import StreamingVad
from hark.errors import InvalidArgument, OutOfRange, ResourceExhausted, SpeechError
from hark.samples import mixdown
from hark.settings import Limits
from hark.speech import results, scripts
from hark.speech.plan import Plan
from hark.speech.recognizer import Recognizer, billed_seconds
from hark.speech.streaming.outputs import Event, Final, Interim, Output
from hark.speech.streaming.pace import Pace, next_message
from hark.speech.streaming.policy import DecodeWindow, PolicyOptions, StreamingPolicy
from hark.speech.streaming.scheduler import DecodeScheduler
from hark.speech.streaming.types import (
    MALORDERED,
    StreamingConfig,
    StreamingRequest,
    StreamingResponse,
    StreamingResult,
)
from hark.speech.types import Alternative

INTERIM_BEAM_SIZE = 1
"""Interim decodes are greedy: each hypothesis only has to be good enough to agree with the
next one. Final windows use the plan's beam (5 by default): greedy finals cost 1.8x the
batch WER on the bench clips (bench/RESULTS.md)."""
TOKENS_PER_SECOND = 8
"""Token budget per second of window: fast speech is ~5 tokens/s with punctuation, and a
decoder looping on a phrase would otherwise run to 448 tokens (2+ s of engine time)."""
AHEAD_SLACK = 1.0
"""Seconds of audio a stream may run ahead of the wall clock before it counts as sent faster
than real time (then it waits for overdue interim readings: see ``_keep_pace``)."""
STABLE, UNSTABLE = 0.9, 0.01
"""Interim stability of committed words and of the guess after them."""


class StreamingRecognizer:
    """Google's StreamingRecognize over the shared engine pool."""

    def __init__(
        self,
        recognizer: Recognizer,
        *,
        slots: int = 1,
        tuning: PolicyOptions | None = None,
    ) -> None:
        """``tuning`` overrides the policy's tuning defaults (benchmarks sweep them)."""
        self.recognizer = recognizer
        self.engine = recognizer.engine
        self.limits: Limits = recognizer.limits
        self.scheduler = DecodeScheduler(slots)
        self.tuning = tuning or PolicyOptions()
        self.active = 0
        """Streams admitted and not yet ended."""

    async def recognize(
        self, requests: AsyncIterator[StreamingRequest]
    ) -> AsyncGenerator[StreamingResponse, None]:
        """Responses for one stream; raises SpeechError to end the stream with that status.

        A stream beyond ``limits.max_streams`` is refused before any of its messages is
        read: one admitted and starved would get its finals ever later (issue 12)."""
        limit = self.limits.max_streams
        if limit and self.active >= limit:
            raise ResourceExhausted(
                f"Hark is serving its limit of {limit} concurrent streams; retry later."
            )
        self.active += 1
        try:
            first = await next_message(requests, self.limits.stream_audio_timeout)
            if not isinstance(first, StreamingConfig):
                raise InvalidArgument(MALORDERED)
            first = replace(first, config=await self.recognizer.resolved(first.config))
            session = _Session(self, first)
            async for response in session.run(requests):
                yield response
        finally:
            self.active -= 1


def policy_options(config: StreamingConfig, tuning: PolicyOptions) -> PolicyOptions:
    """The client's choices from ``config`` over the tuning in ``tuning``."""
    return replace(
        tuning,
        interim_results=config.interim_results,
        single_utterance=config.single_utterance,
        voice_events=config.enable_voice_activity_events,
        speech_start_timeout=config.speech_start_timeout,
        speech_end_timeout=config.speech_end_timeout,
    )


@dataclass
class _Audio:
    """The stream's mono samples from ``origin`` seconds on (older ones are dropped)."""

    samples: Samples
    origin: float = 0.0

    @property
    def end(self) -> float:
        return self.origin + int(self.samples.shape[0]) / SAMPLE_RATE

    def append(self, more: Samples) -> None:
        self.samples = np.concatenate([self.samples, more])

    def drop_before(self, time: float) -> None:
        cut = int((time - self.origin) * SAMPLE_RATE)
        if cut > 0:
            self.samples = self.samples[cut:]
            self.origin += cut / SAMPLE_RATE

    def window(self, start: float, end: float) -> Samples:
        first = max(0, int((start - self.origin) * SAMPLE_RATE))
        return self.samples[first : max(first, int((end - self.origin) * SAMPLE_RATE))]


class _Session:
    def __init__(self, owner: StreamingRecognizer, config: StreamingConfig) -> None:
        self.scheduler = owner.scheduler
        self.limits = owner.limits
        self.plan: Plan = owner.recognizer.validate(config.config)
        # Shared with every stream, through the scheduler's slots.
        self.engine = owner.recognizer.engine_for(self.plan)
        if self.plan.separate_channels:
            raise InvalidArgument(
                "Hark does not support separate recognition per channel in streaming."
            )
        if self.plan.speakers is not None:
            raise InvalidArgument(
                "Hark does not support speaker diarization in streaming recognition;"
                " use Recognize or LongRunningRecognize."
            )
        self.policy = StreamingPolicy(policy_options(config, owner.tuning))
        limit = audio.Limit(self.limits.stream_max_seconds, self._too_long)
        self.decoder = audio.StreamDecoder(self.plan.audio, limit, mono=True)
        self.vad = StreamingVad()
        self.audio = _Audio(np.zeros(0, dtype=np.float32))
        self.received = 0.0
        self.queue: asyncio.Queue[StreamingResponse | SpeechError | None] = asyncio.Queue()
        self.wake = asyncio.Event()
        self.turn = asyncio.Event()
        """Set when a decode starts or ends: a reader keeping pace waits for it."""
        self.started = time.monotonic()
        self.final_wanted = threading.Event()
        self.billed = False

    async def run(
        self, requests: AsyncIterator[StreamingRequest]
    ) -> AsyncIterator[StreamingResponse]:
        tasks = [
            asyncio.create_task(self._guard(self._read(requests))),
            asyncio.create_task(self._guard(self._decode_loop())),
        ]
        try:
            while (item := await self.queue.get()) is not None:
                if isinstance(item, SpeechError):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.decoder.abort()  # a container's demuxer thread ends now, not at GC

    async def _guard(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except SpeechError as error:
            await self.queue.put(error)

    # -- audio in ------------------------------------------------------------------------

    async def _read(self, requests: AsyncIterator[StreamingRequest]) -> None:
        pace = Pace(self.limits.stream_audio_timeout)
        while self.policy.accepting:
            item = await pace.next(requests, self.received)
            if item is None:
                await self._take(await asyncio.to_thread(self._decode_tail))
                self.policy.finish()
                break
            if isinstance(item, StreamingConfig):
                raise InvalidArgument(MALORDERED)
            if len(item) > self.limits.stream_max_message_bytes:
                raise OutOfRange(
                    f"Request audio content of {len(item)} bytes exceeds the limit of"
                    f" {self.limits.stream_max_message_bytes} bytes per streaming message."
                )
            await self._take(await asyncio.to_thread(self._decode_chunk, item))
        self._publish()

    def _too_long(self) -> OutOfRange:
        return OutOfRange(
            "Exceeded maximum allowed stream duration of"
            f" {self.limits.stream_max_seconds:g} seconds."
        )

    def _decode_chunk(self, data: bytes) -> tuple[Samples, list[float]]:
        samples = mixdown(self.decoder.feed(data))
        return samples, self.vad.feed(samples)

    def _decode_tail(self) -> tuple[Samples, list[float]]:
        samples = mixdown(self.decoder.close())
        pad = np.zeros(512, dtype=np.float32)  # completes the VAD's last partial frame
        return samples, self.vad.feed(np.concatenate([samples, pad]))

    async def _take(self, decoded: tuple[Samples, list[float]]) -> None:
        samples, probabilities = decoded
        self.received += samples.shape[0] / SAMPLE_RATE
        self.audio.append(samples)
        for probability in probabilities:
            await self._keep_pace()
            self.policy.advance([probability])
        self._publish()

    async def _keep_pace(self) -> None:
        """Audio sent faster than real time waits for an overdue interim reading to start,
        so a file sent at once gets interim results (Google gives them); a client at real
        time never waits here, so its finals are never delayed for interims."""
        while self.policy.interim_overdue and self._ahead():
            self._publish()  # wakes the decode loop
            self.turn.clear()
            await self.turn.wait()

    def _ahead(self) -> bool:
        return self.received - (time.monotonic() - self.started) > AHEAD_SLACK

    # -- decodes -------------------------------------------------------------------------

    async def _decode_loop(self) -> None:
        scheduler = self.scheduler
        while not self.policy.done:
            if not self._ready():
                self.wake.clear()
                await self.wake.wait()
                continue
            await scheduler.acquire(urgent=self.policy.urgent)
            try:
                await self._decode_one()
            finally:
                scheduler.release()
            self._publish()
        self._publish()
        if not self.billed:
            await self.queue.put(StreamingResponse(total_billed_seconds=self._billed()))
        await self.queue.put(None)

    def _ready(self) -> bool:
        policy = self.policy
        return not policy.done and policy.wants_decode

    async def _decode_one(self) -> None:
        window = self.policy.next_window()
        if window is None:
            return
        self.turn.set()
        samples = self.audio.window(window.start, window.end)
        options = self._options(window)
        stop = None if window.final else self._interim_stop
        try:
            transcript = await self.engine.transcribe(samples, options, stop=stop)
        except Stopped:
            self.policy.cancel(window)  # a final wants the engine; this reading is moot
            return
        except BaseException:
            self.policy.cancel(window)
            raise
        words = [
            Word(w.start + window.start, w.end + window.start, w.text, w.probability)
            for segment in transcript.segments
            for w in segment.words
        ]
        self.policy.hypothesis(window, words)

    def _interim_stop(self) -> bool:
        """Whether an interim decode should give the engine up (asked on the engine's
        thread after its encoder pass): a final of this stream or another one is waiting.
        The interim's decoding would delay that final by ~0.15 s for text soon replaced."""
        return self.final_wanted.is_set() or self.scheduler.final_waiting.is_set()

    def _options(self, window: DecodeWindow) -> DecodeOptions:
        return replace(
            self.plan.decode,
            beam_size=self.plan.decode.beam_size if window.final else INTERIM_BEAM_SIZE,
            initial_prompt=window.prompt or None,
            condition_on_previous_text=False,
            word_timestamps=True,
            max_new_tokens=int(TOKENS_PER_SECOND * (window.end - window.start)) + 16,
        )

    # -- responses out -------------------------------------------------------------------

    def _publish(self) -> None:
        """Queue the policy's outputs as responses; the billing rides on the last one."""
        self.audio.drop_before(self.policy.keep_from)
        if self.policy.urgent:
            self.final_wanted.set()
        else:
            self.final_wanted.clear()
        responses = [self._response(output) for output in self.policy.take()]
        if responses and self.policy.done and not self.billed:
            responses[-1] = replace(responses[-1], total_billed_seconds=self._billed())
            self.billed = True
        for response in responses:
            self.queue.put_nowait(response)
        self.wake.set()
        self.turn.set()

    def _billed(self) -> int:
        return billed_seconds(self.received, self.plan)

    def _response(self, output: Output) -> StreamingResponse:
        if isinstance(output, Event):
            return StreamingResponse(speech_event=output.kind, speech_event_time=output.time)
        if isinstance(output, Final):
            utterance = results.Utterance(output.words, self._language())
            result = results.make_result(
                utterance, [results.top_alternative(utterance, self.plan)], self.plan
            )
            return StreamingResponse(
                results=(
                    StreamingResult(
                        result.alternatives,
                        is_final=True,
                        result_end_time=result.result_end_time,
                        language_code=result.language_code,
                    ),
                )
            )
        return StreamingResponse(results=self._interim(output))

    def _interim(self, interim: Interim) -> tuple[StreamingResult, ...]:
        found: list[StreamingResult] = []
        language = self._language()
        for words, stability in ((interim.committed, STABLE), (interim.tentative, UNSTABLE)):
            transcript = results.render("".join(w.text for w in words), self.plan, language)
            if not transcript:
                continue
            if found and not scripts.unspaced(language):  # the two read as one text
                transcript = " " + transcript
            found.append(
                StreamingResult(
                    (Alternative(transcript),),
                    stability=stability,
                    result_end_time=round(words[-1].end, 3),
                    language_code=self._language_code(),
                )
            )
        return tuple(found)

    def _language(self) -> str:
        return self.plan.decode.language or "en"

    def _language_code(self) -> str:
        return self.plan.language_tags.get(self._language(), self.plan.config.language_code.lower())
