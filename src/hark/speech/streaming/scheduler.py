"""``DecodeScheduler``: the engine's decode slots, shared by every stream."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading


class DecodeScheduler:
    """Decode slots shared by all streams: urgent (final) requests first, then FIFO.

    ``final_waiting`` is set while an urgent request waits for a slot; interim decodes
    running on the engine's thread read it to give their slot up early (see ``Stop``).
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a decode scheduler needs at least one slot")
        self._free = slots
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.final_waiting = threading.Event()

    async def acquire(self, *, urgent: bool) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (0 if urgent else 1, next(self._order), granted))
        self._flag()
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted just as the waiter went away: pass it on
            raise
        finally:
            self._flag()

    def release(self) -> None:
        try:
            while self._waiting:
                _, _, granted = heapq.heappop(self._waiting)
                if not granted.done():
                    granted.set_result(None)
                    return
            self._free += 1
        finally:
            self._flag()

    def _flag(self) -> None:
        urgent = any(rank == 0 and not f.done() for rank, _, f in self._waiting)
        if urgent:
            self.final_waiting.set()
        else:
            self.final_waiting.clear()
