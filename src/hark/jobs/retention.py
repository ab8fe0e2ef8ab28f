"""Retention: finished operations are deleted once they have been over for the retention time.

Each queue runs ``purge_forever`` while it serves: the embedded server's over its SQLite
store, every API replica of a fleet over the shared PostgreSQL one, where the store's purge
holds an advisory lock, so one replica at a time does the work and the others' turns skip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def interval(retention_seconds: float) -> float:
    """Seconds between purges: a few per retention period, at least one every 10 minutes."""
    return min(600.0, max(0.5, retention_seconds / 4))


async def purge_forever(purge: Callable[[float], Awaitable[int]], retention_seconds: float) -> None:
    """Call ``purge(finished_before)`` every ``interval`` until cancelled. A failed turn (the
    database restarting) is logged and the next one tries again."""
    while True:
        try:
            purged = await purge(time.time() - retention_seconds)
        except Exception as error:
            log.warning("purging finished operations failed (%r); trying again later", error)
        else:
            if purged:
                log.info("purged %d finished operations", purged)
        await asyncio.sleep(interval(retention_seconds))
