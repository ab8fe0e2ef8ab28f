"""Stored API resources (v2 Recognizers, PhraseSets, CustomClasses): records and the store.

Wire-free: a resource's message is kept as opaque bytes (``payload``) that only the transport
that made it reads back. What this package owns is the life cycle Google's resource APIs share
(AIP-154, AIP-164): names scoped to ``projects/*/locations/*``, an ``etag`` that changes with
every write, and soft deletion with an expiry. ``ResourceStore`` is the Protocol a store
implements; ``sqlite.SqliteResourceStore`` is the embedded one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredResource:
    """One resource as stored. Times are Unix seconds (0 = not set)."""

    name: str
    """``projects/{project}/locations/{location}/{collection}/{id}``."""
    collection: str
    """``recognizers``, ``phraseSets`` or ``customClasses``."""
    parent: str
    """``projects/{project}/locations/{location}``: lists never cross it."""
    payload: bytes
    etag: str
    create_time: float
    update_time: float
    delete_time: float = 0.0
    expire_time: float = 0.0

    @property
    def deleted(self) -> bool:
        return bool(self.delete_time)


@dataclass(frozen=True)
class ResourcePage:
    """One page of a list, in creation order, and the token of the next ("" at the end)."""

    resources: tuple[StoredResource, ...]
    next_page_token: str = ""


class ResourceStore(Protocol):
    """Durable storage of resources by name. Implementations serialise their own writes."""

    async def get(self, name: str) -> StoredResource | None:
        """The resource named ``name`` (deleted or not), or None."""

    async def insert(self, resource: StoredResource) -> bool:
        """Store a new resource; False (and nothing written) when the name is taken."""

    async def replace(self, resource: StoredResource, etag: str) -> bool:
        """Overwrite the stored resource of that name if its etag is still ``etag``."""

    async def remove(self, name: str) -> None:
        """Forget ``name`` for good (a purge)."""

    async def list(
        self, parent: str, collection: str, *, after: int, limit: int, deleted: bool
    ) -> list[tuple[int, StoredResource]]:
        """Up to ``limit`` resources of ``collection`` under ``parent`` stored after position
        ``after`` (deleted ones too when ``deleted``), each with its position."""

    async def close(self) -> None: ...
