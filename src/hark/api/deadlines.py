"""uvicorn's HTTP/1.1 protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections, but not a client that connects and then sends
its headers slowly or never: each such connection is held for ever. ``header_deadline`` makes
a protocol class that closes a connection whose next request's headers have not arrived within
the deadline, counted from the connection or from the end of the previous response. (The body
has its own deadline in ``RestApi``; connections as a whole are capped by ``limit_concurrency``.)
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


class _HeaderDeadline(H11Protocol):
    header_seconds = 120.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def _arm(self) -> None:
        waiting_after = self.cycle  # a new request replaces it
        self.loop.call_later(self.header_seconds, self._expire, waiting_after)

    def _expire(self, waiting_after: object) -> None:
        # Not if a request started since, or the connection closed or became a WebSocket.
        if self.cycle is waiting_after and self in self.connections:
            self.transport.close()


def header_deadline(seconds: float) -> type[asyncio.Protocol]:
    """An HTTP/1.1 protocol class for ``uvicorn.Config(http=...)`` with this header deadline."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadline,), {"header_seconds": seconds})
