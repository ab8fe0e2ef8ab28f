"""``StepScheduler``: continuous batching of long decodes, one 30 s step per cursor per call.

A long transcription becomes a *cursor*: the engine's ``Decode`` state plus who waits for it.
Steppers (one per engine worker) repeatedly take up to ``max_batch`` free cursors (at most
their share of all cursors, so each stepper has some) in round-robin order and advance each
by one window in a single ``Engine.step`` call: cursors of different jobs, and of different
stretches of one file, share the encoder pass and the beam search. A cursor leaves the
rotation when it is done (its caller gets the transcript), when its ``stop`` says so
(``Stopped``) or when its caller went away, always between steps: a step already running
finishes. Round-robin means an 8-hour file's cursors take their turn
like anyone's, and a short job that arrives late is in the very next batch that has room.

Engine calls go through the pool's FIFO queue (``run``), so steps interleave with the
pool's one-shot calls (short clips, n-best) in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hark.engine import Decode, DecodeOptions, Engine, Progress, Samples, Stop, Stopped, Transcript
from hark.errors import Unavailable

Prepare = Callable[[], tuple[Callable[[], Any], float]]
"""Chooses, on the event loop, a blocking engine call and the seconds of audio it covers."""
RunCall = Callable[[Prepare], Awaitable[Any]]
"""Queues an engine call, to be chosen by ``Prepare`` when the engine is free for it, and
returns its result."""

STEP_SECONDS = 30.0
"""Audio one step covers at most (Whisper's window): what a step is reported as covering."""


@dataclass(eq=False)
class _Cursor:
    decode: Decode
    future: asyncio.Future[Transcript]
    progress: Progress | None
    stop: Stop | None
    busy: bool = False

    @property
    def gone(self) -> bool:
        """Its caller has its outcome, or stopped waiting."""
        return self.future.done()


class StepScheduler:
    """Advances every live cursor a step at a time, ``max_batch`` cursors per engine call."""

    def __init__(self, engine: Engine, run: RunCall, *, max_batch: int, steppers: int) -> None:
        self._engine = engine
        self._run = run
        self._max_batch = max_batch
        self._steppers = steppers
        self._cursors: deque[_Cursor] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.batch_sizes: Counter[int] = Counter()
        """How many steps advanced how many cursors (for the bench and metrics)."""

    @property
    def cursors(self) -> int:
        """Cursors in the rotation now."""
        return len(self._cursors)

    async def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        """``Engine.transcribe`` of ``samples``, decoded as a cursor among the others.

        ``progress(seconds)`` is called on the event loop after each of its steps; ``stop()``
        is asked before each of its steps, and True raises ``Stopped``.
        """
        engine = self._engine
        decode: Decode = await self._run(lambda: (lambda: engine.start(samples, options), 0.0))
        if decode.done:
            return decode.transcript()
        future: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
        self._cursors.append(_Cursor(decode, future, progress, stop))
        self._start_steppers()
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Fail every waiting cursor with ``Unavailable`` and end the steppers."""
        for cursor in self._cursors:
            if not cursor.gone:
                cursor.future.set_exception(Unavailable("Hark is shutting down."))
        self._cursors.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start_steppers(self) -> None:
        # Started on first use because tasks need the running loop.
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._stepper(), name=f"hark-steps-{i}")
                for i in range(self._steppers)
            ]

    async def _stepper(self) -> None:
        while True:
            if not any(not cursor.busy for cursor in self._cursors):
                self._wake.clear()
                await self._wake.wait()
                continue
            batch: list[_Cursor] = []
            try:
                await self._step(batch)
            finally:
                for cursor in batch:
                    cursor.busy = False
                self._wake.set()  # a cursor freed may complete another stepper's batch

    def _take(self) -> list[_Cursor]:
        """Up to ``max_batch`` free cursors of one batch key, oldest turn first; they go to
        the back of the rotation.

        A step takes at most its share of the cursors (all of them over the steppers), so
        that with several engine calls at once each has cursors to advance: on a CPU two
        calls side by side do more than one call with every cursor.
        """
        self._drop_finished()
        share = min(self._max_batch, -(-len(self._cursors) // self._steppers))
        batch: list[_Cursor] = []
        for cursor in self._cursors:
            if len(batch) == share:
                break
            if cursor.busy or (batch and cursor.decode.batch_key != batch[0].decode.batch_key):
                continue
            batch.append(cursor)
        for cursor in batch:
            cursor.busy = True
            self._cursors.remove(cursor)
            self._cursors.append(cursor)
        return batch

    def _drop_finished(self) -> None:
        """Out of the rotation: cursors whose caller went away or whose ``stop`` says so."""
        for cursor in list(self._cursors):
            if cursor.busy:
                continue
            if not cursor.gone and cursor.stop is not None:
                _ask_stop(cursor)
            if cursor.gone:
                self._cursors.remove(cursor)

    async def _step(self, batch: list[_Cursor]) -> None:
        """One engine call for the cursors free when the engine is (they fill ``batch``)."""
        engine = self._engine

        def prepare() -> tuple[Callable[[], Any], float]:
            batch.extend(self._take())
            if batch:
                self.batch_sizes[len(batch)] += 1
            decodes = [cursor.decode for cursor in batch]
            return (lambda: engine.step(decodes) if decodes else None), STEP_SECONDS * len(batch)

        try:
            await self._run(prepare)
        except Exception as exc:
            for cursor in batch:
                self._finish(cursor, exc=exc)
            return
        for cursor in batch:
            if cursor.decode.done:
                self._finish(cursor)
            elif not cursor.gone:
                _report(cursor)

    def _finish(self, cursor: _Cursor, *, exc: Exception | None = None) -> None:
        if cursor in self._cursors:
            self._cursors.remove(cursor)
        if cursor.gone:
            return
        if exc is not None:
            cursor.future.set_exception(exc)
        elif _report(cursor):
            cursor.future.set_result(cursor.decode.transcript())


def _ask_stop(cursor: _Cursor) -> None:
    """Ask the cursor's ``stop``; True (or a failure of its own) ends the cursor's decode."""
    assert cursor.stop is not None
    try:
        if cursor.stop():
            cursor.future.set_exception(Stopped())
    except Exception as exc:  # the caller's hook: its failure is the caller's, not the batch's
        cursor.future.set_exception(exc)


def _report(cursor: _Cursor) -> bool:
    """Tell the cursor's ``progress`` how far it got; False if that failed (the cursor's
    caller then gets the failure)."""
    if cursor.progress is None:
        return True
    try:
        cursor.progress(cursor.decode.decoded_seconds)
    except Exception as exc:
        cursor.future.set_exception(exc)
        return False
    return True
