"""What keeps web pages the operator opens from driving Hark through the operator's browser.

A page on any site may send "simple" cross-site requests (``text/plain`` or form bodies, no
preflight), open WebSockets to any origin, and with DNS rebinding make its own host name point
at 127.0.0.1 and then read the answers. So:

- ``Host`` must name this server (``HostCheck``): on a loopback bind, ``localhost``,
  ``127.0.0.1`` or ``[::1]`` (any port), plus the operator's ``allowed_hosts``; bound elsewhere,
  any name unless ``allowed_hosts`` lists them. A rebinding page's own name is refused.
- A JSON body must not come as one of the types a cross-site form or ``fetch`` may send without
  a preflight (``check_content_type``); no ``Content-Type`` at all stays accepted (scripts).
- A WebSocket that carries an ``Origin`` (a browser) must come from this server's own origin or
  an ``allowed_origins`` entry; none (a script) is let in.

``*`` in either list allows any.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hark.api.status import rest_error
from hark.errors import InvalidArgument

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
"""Body types a browser sends cross-site without asking the server first (CORS "simple")."""
BAD_HOST = "Invalid host header."
"""Host header answer; the server's names are not echoed."""


@dataclass(frozen=True)
class BrowserPolicy:
    """Allowed ``Host`` names (None: any) and extra WebSocket origins."""

    hosts: frozenset[str] | None = None
    origins: frozenset[str] = frozenset()

    @classmethod
    def for_server(
        cls, bind_host: str, allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()
    ) -> BrowserPolicy:
        extra = {_hostname(host) for host in allowed_hosts}
        origins = frozenset(origin.rstrip("/").lower() for origin in allowed_origins)
        if "*" in extra or (bind_host not in LOOPBACK_NAMES and not extra):
            return cls(None, origins)
        return cls(frozenset(LOOPBACK_NAMES | extra | {_hostname(bind_host)}), origins)

    def host_allowed(self, host_header: str) -> bool:
        return self.hosts is None or _hostname(host_header) in self.hosts

    def origin_allowed(self, origin: str | None, host_header: str) -> bool:
        """An absent ``Origin`` (not a browser), this server's own, or a listed one."""
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if "*" in self.origins or origin in self.origins:
            return True
        own = urlsplit(origin).netloc
        return bool(own) and own == host_header.lower() and self.host_allowed(host_header)


class HostCheck:
    """ASGI middleware: requests and WebSockets whose ``Host`` is not allowed are refused
    (400 with Google's error body; a WebSocket is closed before it is accepted)."""

    def __init__(self, app: ASGIApp, policy: BrowserPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if self.policy.host_allowed(host):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            status, body = rest_error(InvalidArgument(BAD_HOST))
            await JSONResponse(body, status_code=status)(scope, receive, send)


def check_content_type(content_type: str | None) -> None:
    """INVALID_ARGUMENT for a JSON body sent as a type cross-site pages may send unasked."""
    if content_type is None:
        return
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type in SIMPLE_TYPES:
        raise InvalidArgument(
            f"Invalid JSON payload received. Content-Type {media_type} is not accepted;"
            " send application/json."
        )


def _hostname(host: str) -> str:
    """``Host``-header or bare name, lower case, without port, brackets or trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")
