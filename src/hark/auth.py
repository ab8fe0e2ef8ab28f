"""API keys, checked the same way for every transport, and who the caller is.

Google takes the key as ``?key=`` or the ``x-goog-api-key`` header (gRPC metadata). With no
keys configured Hark is open, which is why it binds to localhost by default.

Keys may be named (``alice=SECRET``); an unnamed key is known by a hash of it. That name is the
``Caller.owner`` stored with the operations the key creates: another key does not see them
(NOT_FOUND), an admin key sees every operation. A key is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hark.errors import ErrorInfo, InvalidArgument, PermissionDenied

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class Caller:
    """Who made a request: ``owner`` names the key ("" on an open server)."""

    owner: str = ""
    admin: bool = True

    @property
    def sees(self) -> str | None:
        """The owner whose operations this caller may see; None for all of them."""
        return None if self.admin else self.owner


@dataclass(frozen=True)
class Key:
    secret: bytes
    caller: Caller


def parse_key(entry: str) -> tuple[str, str]:
    """``name=secret`` -> (name, secret); a bare ``secret`` is named ``key-<sha256 prefix>``.

    A key that itself contains ``=`` must be given with a name.
    """
    name, equals, secret = entry.partition("=")
    if equals and secret and not secret.startswith("=") and _NAME.match(name):  # not padding
        return name, secret
    return "key-" + hashlib.sha256(entry.encode()).hexdigest()[:16], entry


def secrets(entries: Iterable[str]) -> list[str]:
    """The secret part of each key entry (for the log filter)."""
    return [parse_key(entry)[1] for entry in entries]


class ApiKeys:
    """The keys a server accepts; none means every request is let in (as an admin)."""

    def __init__(self, keys: Sequence[str], admin_keys: Sequence[str] = ()) -> None:
        self._keys = tuple(
            Key(secret.encode(), Caller(name, admin))
            for entries, admin in ((keys, False), (admin_keys, True))
            for name, secret in map(parse_key, entries)
        )

    def check(self, presented: str | None) -> Caller:
        """The caller holding ``presented``; Google's error for a missing (403) or wrong (400)
        key."""
        if not self._keys:
            return Caller()
        if not presented:
            raise PermissionDenied("The request is missing a valid API key.")
        # Compare with every key in constant time so timing reveals neither a prefix nor which
        # key matched; as UTF-8 bytes, since compare_digest refuses non-ASCII str.
        given = presented.encode("utf-8", "surrogatepass")
        found = None
        for key in self._keys:
            if hmac.compare_digest(given, key.secret) and found is None:
                found = key.caller
        if found is None:
            raise InvalidArgument(
                "API key not valid. Please pass a valid API key.",
                error_info=ErrorInfo(reason="API_KEY_INVALID"),
            )
        return found
