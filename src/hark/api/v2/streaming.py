"""v2's StreamingRecognize messages <-> the core's streaming session.

The first message names the ``recognizer`` and carries ``streaming_config{config,
config_mask, streaming_features}``; the recognizer's defaults are merged under the config as
for Recognize. Every later message is ``audio``, at most ``MAX_AUDIO_BYTES`` (v2's 15 KB).
Responses are v2's: ``result_end_offset``, ``language_code`` per result,
``speech_event_offset``, and the billing in ``metadata`` of the last one. v2 has no
speech-activity-timeout event: when ``speech_start_timeout`` passes, the stream just ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from google.protobuf.message import Message

from hark.api.convert import nanos
from hark.api.v2.convert import fill_result, message
from hark.api.v2.service import SpeechV2
from hark.errors import InvalidArgument, OutOfRange
from hark.speech.streaming.outputs import SpeechEvent
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import (
    MALORDERED,
    StreamingConfig,
    StreamingRequest,
    StreamingResponse,
)

MAX_AUDIO_BYTES = 15_360
"""Audio bytes in one v2 streaming message (Google's v2 limit: 15 KB)."""
_V2_EVENTS = frozenset(
    {
        SpeechEvent.END_OF_SINGLE_UTTERANCE,
        SpeechEvent.SPEECH_ACTIVITY_BEGIN,
        SpeechEvent.SPEECH_ACTIVITY_END,
    }
)


class _Stream:
    """One stream's conversion state: the language its results default to."""

    def __init__(self, speech: SpeechV2) -> None:
        self.speech = speech
        self.language = ""

    async def core_requests(self, requests: AsyncIterator[Any]) -> AsyncIterator[StreamingRequest]:
        """The core's config first, then the audio; MALORDERED for anything else."""
        first = True
        async for request in requests:
            which = request.WhichOneof("streaming_request")
            if first and which == "streaming_config":
                yield await self.config(request)
            elif not first and which == "audio":
                if len(request.audio) > MAX_AUDIO_BYTES:
                    raise OutOfRange(
                        f"Request audio content of {len(request.audio)} bytes exceeds the limit"
                        f" of {MAX_AUDIO_BYTES} bytes per streaming message."
                    )
                yield bytes(request.audio)
            else:
                raise InvalidArgument(MALORDERED)
            first = False

    async def config(self, request: Any) -> StreamingConfig:
        streaming = request.streaming_config
        mask = streaming.config_mask if streaming.HasField("config_mask") else None
        core = await self.speech.core_config(request.recognizer, streaming.config, mask)
        self.language = core.language_code.lower()
        features = streaming.streaming_features
        start = end = None
        if features.enable_voice_activity_events and features.HasField("voice_activity_timeout"):
            timeout = features.voice_activity_timeout
            if timeout.HasField("speech_start_timeout"):
                start = timeout.speech_start_timeout.ToNanoseconds() / 1e9
            if timeout.HasField("speech_end_timeout"):
                end = timeout.speech_end_timeout.ToNanoseconds() / 1e9
        return StreamingConfig(
            config=core,
            interim_results=features.interim_results,
            enable_voice_activity_events=features.enable_voice_activity_events,
            speech_start_timeout=start,
            speech_end_timeout=end,
        )

    def response(self, response: StreamingResponse) -> Message | None:
        """v2's ``StreamingRecognizeResponse``; None for an event v2 does not have."""
        reply: Any = message("StreamingRecognizeResponse")()
        for result in response.results:
            added = reply.results.add()
            fill_result(added, result, self.language)
            added.is_final = result.is_final
            added.stability = result.stability
        if response.speech_event is not None:
            if response.speech_event not in _V2_EVENTS:
                return None
            reply.speech_event_type = response.speech_event.value
            reply.speech_event_offset.FromNanoseconds(nanos(response.speech_event_time))
        if response.total_billed_seconds is not None:
            reply.metadata.total_billed_duration.seconds = response.total_billed_seconds
        return reply


async def streaming_recognize(
    speech: SpeechV2, streaming: StreamingRecognizer, requests: AsyncIterator[Any]
) -> AsyncGenerator[Message, None]:
    """v2's StreamingRecognize: request messages in, response messages out (the core stream
    closed as soon as this one is)."""
    stream = _Stream(speech)
    core = streaming.recognize(stream.core_requests(requests))
    async with contextlib.aclosing(core) as responses:
        async for response in responses:
            reply = stream.response(response)
            if reply is not None:
                yield reply
