"""How fast a stream's audio must come: Google's "approximately at real time", from below.

``next_message`` waits for one message with the Audio Timeout; ``Pace`` adds the lag rule.
Sans-engine and sans-IO apart from the clock, so the session stays about decoding and results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from hark.errors import OutOfRange
from hark.speech.streaming.types import StreamingRequest

AUDIO_TIMEOUT = (
    "Audio Timeout Error: Long duration elapsed without audio. Audio should be sent close to"
    " real time."
)
TOO_SLOW = (
    "Audio data is being streamed too slow. Please stream audio data approximately at real time."
)


async def next_message(
    requests: AsyncIterator[StreamingRequest], timeout: float
) -> StreamingRequest | None:
    """The next message, None at the end; OUT_OF_RANGE after ``timeout`` s of nothing."""
    try:
        return await asyncio.wait_for(anext(requests), timeout)
    except StopAsyncIteration:
        return None
    except TimeoutError:
        raise OutOfRange(AUDIO_TIMEOUT) from None


class Pace:
    """The audio messages of one stream, at about real time or OUT_OF_RANGE.

    No message for ``timeout`` s is the Audio Timeout; and from its first message on, a
    stream's decoded audio may lag the clock by at most twice that (30 s by default), so a
    trickle of bytes, or bytes that never decode, cannot hold a stream open ("too slow").
    Twice: a client that simply stops gets the Audio Timeout, not "too slow". Sending faster
    than real time is allowed (clients stream files; Google would say "too fast").
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.allowed = 2 * timeout
        self.start: float | None = None

    async def next(
        self, requests: AsyncIterator[StreamingRequest], received: float
    ) -> StreamingRequest | None:
        """The next message, given ``received`` seconds of audio decoded so far."""
        if self.start is None:
            item = await next_message(requests, self.timeout)
            self.start = time.monotonic()
            return item
        left = self.allowed - (time.monotonic() - self.start - received)
        if left <= 0:
            raise OutOfRange(TOO_SLOW)
        try:
            return await asyncio.wait_for(anext(requests), min(left, self.timeout))
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise OutOfRange(AUDIO_TIMEOUT if left >= self.timeout else TOO_SLOW) from None
