"""StreamingRecognize messages <-> the core's streaming session, for any transport.

``streaming_recognize(streaming, requests, version)`` takes an async iterator of Google's
``StreamingRecognizeRequest`` messages (either version's raw protobuf class) and yields
``StreamingRecognizeResponse`` messages of the same version. A gRPC method or the browser
WebSocket is a thin loop around it; errors are raised as ``SpeechError`` for the transport to
turn into its status.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from google.protobuf.message import Message

from hark.api.convert import ApiVersion, config_from_proto, fill_result, nanos
from hark.errors import InvalidArgument
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import (
    MALORDERED,
    StreamingConfig,
    StreamingRequest,
    StreamingResponse,
)


def streaming_config_from_proto(message: Any) -> StreamingConfig:
    """The core's StreamingConfig from a ``StreamingRecognitionConfig`` of either version."""
    start = end = None
    if getattr(message, "enable_voice_activity_events", False) and message.HasField(
        "voice_activity_timeout"
    ):
        timeout = message.voice_activity_timeout
        if timeout.HasField("speech_start_timeout"):
            start = timeout.speech_start_timeout.ToNanoseconds() / 1e9
        if timeout.HasField("speech_end_timeout"):
            end = timeout.speech_end_timeout.ToNanoseconds() / 1e9
    return StreamingConfig(
        config=config_from_proto(message.config),
        single_utterance=message.single_utterance,
        interim_results=message.interim_results,
        enable_voice_activity_events=getattr(message, "enable_voice_activity_events", False),
        speech_start_timeout=start,
        speech_end_timeout=end,
    )


async def core_requests(requests: AsyncIterator[Any]) -> AsyncIterator[StreamingRequest]:
    """Each request message as the core's config or audio bytes (order is the core's job)."""
    async for request in requests:
        which = request.WhichOneof("streaming_request")
        if which == "streaming_config":
            if not request.streaming_config.HasField("config"):
                raise InvalidArgument(MALORDERED)
            yield streaming_config_from_proto(request.streaming_config)
        elif which == "audio_content":
            yield bytes(request.audio_content)
        else:
            raise InvalidArgument(MALORDERED)


def response_message(response: StreamingResponse, version: ApiVersion) -> Message:
    """Google's ``StreamingRecognizeResponse`` for a core StreamingResponse."""
    message: Any = version.message("StreamingRecognizeResponse")()
    for result in response.results:
        added = message.results.add()
        fill_result(added, result)
        added.is_final = result.is_final
        added.stability = result.stability
    if response.speech_event is not None:
        message.speech_event_type = response.speech_event.value
        message.speech_event_time.FromNanoseconds(nanos(response.speech_event_time))
    if response.total_billed_seconds is not None:
        message.total_billed_time.seconds = response.total_billed_seconds
    return message


async def streaming_recognize(
    streaming: StreamingRecognizer, requests: AsyncIterator[Any], version: ApiVersion
) -> AsyncGenerator[Message, None]:
    """Google's StreamingRecognize: request messages in, response messages out.

    The core stream is closed as soon as this one is (its stream slot and demuxer thread are
    released then, not when the garbage collector finds it)."""
    async with contextlib.aclosing(streaming.recognize(core_requests(requests))) as responses:
        async for response in responses:
            yield response_message(response, version)
