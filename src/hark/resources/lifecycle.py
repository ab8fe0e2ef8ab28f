"""The life cycle every stored resource shares: create, read, list, update with an etag,
soft delete with an expiry, undelete (Google's AIP-133 to AIP-164).

``Resources`` keeps a resource's message as opaque bytes; the transport that wrote them
renders them back, adding what this module tracks (etag, state, times). A deleted resource
stays readable by Get and restorable by Undelete until its ``expire_time``
(``RETENTION_SECONDS`` after the delete), then it is purged as if it never existed.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace

from hark.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from hark.resources import ResourcePage, ResourceStore, StoredResource
from hark.resources.names import ResourceName

RETENTION_SECONDS = 30 * 24 * 3600.0
"""How long a deleted resource can be undeleted (Google keeps deleted recognizers 30 days)."""
DEFAULT_PAGE_SIZE = 5
"""v2's List methods answer 5 per page when ``page_size`` is 0."""
MAX_PAGE_SIZE = 100
NOT_FOUND = "Requested entity was not found."
"""Google's text for a name that names nothing (here: nothing in that project and location)."""
_CONFLICT_RETRIES = 3


class Resources:
    """Stored resources over a ``ResourceStore``; ``clock`` is injectable for the expiry."""

    def __init__(self, store: ResourceStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def create(self, name: ResourceName, payload: bytes) -> StoredResource:
        """Store a new resource; ALREADY_EXISTS when the name is taken (even if deleted)."""
        now = self.clock()
        resource = StoredResource(
            name=str(name),
            collection=name.collection,
            parent=name.parent,
            payload=payload,
            etag=_etag(payload, now),
            create_time=now,
            update_time=now,
        )
        await self._purge_if_expired(str(name))
        if not await self.store.insert(resource):
            raise AlreadyExists(f"{name.kind} {name} already exists.")
        return resource

    async def get(self, name: ResourceName) -> StoredResource:
        """The resource, deleted or not; NOT_FOUND when there is none (or it expired)."""
        found = await self._purge_if_expired(str(name))
        if found is None:
            raise NotFound(NOT_FOUND)
        return found

    async def active(self, name: ResourceName) -> StoredResource:
        """The resource for use; FAILED_PRECONDITION when it is deleted."""
        found = await self.get(name)
        if found.deleted:
            raise FailedPrecondition(f"{name.kind} {name} is deleted; undelete it to use it.")
        return found

    async def list(
        self, parent: str, collection: str, page_size: int, page_token: str, show_deleted: bool
    ) -> ResourcePage:
        """One page of ``collection`` under ``parent``, oldest first."""
        if page_size < 0:
            raise InvalidArgument("page_size must not be negative.")
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _position(page_token)
        found = await self.store.list(
            parent, collection, after=after, limit=limit + 1, deleted=show_deleted
        )
        page = found[:limit]
        now = self.clock()
        kept = tuple(r for _, r in page if not (r.deleted and r.expire_time <= now))
        token = _token(page[-1][0]) if len(found) > limit else ""
        return ResourcePage(kept, token)

    async def update(
        self, name: ResourceName, change: Callable[[bytes], bytes], etag: str = ""
    ) -> StoredResource:
        """Rewrite an active resource's payload with ``change``; ABORTED on a stale ``etag``."""

        def updated(current: StoredResource, now: float) -> StoredResource:
            if current.deleted:
                raise FailedPrecondition(f"{name.kind} {name} is deleted; undelete it first.")
            payload = change(current.payload)
            return replace(current, payload=payload, etag=_etag(payload, now), update_time=now)

        return await self._write(name, etag, updated)

    async def delete(self, name: ResourceName, etag: str = "") -> StoredResource:
        """Mark deleted, to expire after ``RETENTION_SECONDS``; NOT_FOUND if already deleted."""

        def deleted(current: StoredResource, now: float) -> StoredResource:
            if current.deleted:
                raise NotFound(NOT_FOUND)
            return replace(
                current,
                etag=_etag(current.payload, now),
                update_time=now,
                delete_time=now,
                expire_time=now + RETENTION_SECONDS,
            )

        return await self._write(name, etag, deleted)

    async def undelete(self, name: ResourceName, etag: str = "") -> StoredResource:
        """Restore a deleted resource; FAILED_PRECONDITION when it is not deleted."""

        def restored(current: StoredResource, now: float) -> StoredResource:
            if not current.deleted:
                raise FailedPrecondition(f"{name.kind} {name} is not deleted.")
            return replace(
                current,
                etag=_etag(current.payload, now),
                update_time=now,
                delete_time=0.0,
                expire_time=0.0,
            )

        return await self._write(name, etag, restored)

    async def _write(
        self,
        name: ResourceName,
        etag: str,
        step: Callable[[StoredResource, float], StoredResource],
    ) -> StoredResource:
        """Apply ``step`` to the current resource and store it if nobody wrote in between."""
        for _ in range(_CONFLICT_RETRIES):
            current = await self.get(name)
            if etag and etag != current.etag:
                raise _stale(name)
            written = step(current, self.clock())
            if await self.store.replace(written, current.etag):
                return written
        raise Aborted(f"{name.kind} {name} is being changed concurrently; try again.")

    async def _purge_if_expired(self, name: str) -> StoredResource | None:
        found = await self.store.get(name)
        if found is not None and found.deleted and found.expire_time <= self.clock():
            await self.store.remove(name)
            return None
        return found


def _stale(name: ResourceName) -> Aborted:
    return Aborted(
        f"The etag given for {name.kind} {name} does not match its current etag:"
        " it has changed since it was read."
    )


def _etag(payload: bytes, now: float) -> str:
    digest = hashlib.sha256(payload + repr(now).encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def _token(position: int) -> str:
    return base64.urlsafe_b64encode(f"after:{position}".encode()).decode()


def _position(token: str) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix == "after" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidArgument("Invalid page token.")
