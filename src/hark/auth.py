"""API keys, checked the same way for every transport.

Google takes the key as ``?key=`` or the ``x-goog-api-key`` header (gRPC metadata). With no
keys configured Hark is open, which is why it binds to localhost by default.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from hark.errors import ErrorInfo, InvalidArgument, PermissionDenied


class ApiKeys:
    """The set of keys a server accepts; empty means every request is let in."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = tuple(keys)

    def check(self, presented: str | None) -> None:
        """Raise Google's error for a missing (403) or wrong (400) key."""
        if not self._keys:
            return
        if not presented:
            raise PermissionDenied("The request is missing a valid API key.")
        # Compare every key in constant time so timing does not reveal a prefix; as UTF-8
        # bytes, since compare_digest refuses non-ASCII str.
        given = presented.encode("utf-8", "surrogatepass")
        if not any(hmac.compare_digest(given, key.encode()) for key in self._keys):
            raise InvalidArgument(
                "API key not valid. Please pass a valid API key.",
                error_info=ErrorInfo(reason="API_KEY_INVALID"),
            )
