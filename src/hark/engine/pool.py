"""``EnginePool``: the one owner of the process's engine, and the queue in front of it.

Callers on the event loop ``await pool.transcribe(...)``; the call becomes an entry in a bounded
FIFO queue; ``workers`` worker tasks take entries in order and run them, one each, on a thread
pool of the same size, so the event loop never blocks on the model.

Batching: when a worker takes a ``transcribe`` entry and the entries right behind it in the queue
are ``transcribe`` entries with the same options, it takes them too (up to ``max_batch``) and runs
them as one ``Engine.transcribe_batch`` call. Only the head of the queue is ever taken, so the
order stays FIFO; batches form by themselves while the engine is busy, and a lone request is
never held back waiting for company.

Long audio (over 30 s, or any call that wants progress reports) is not one call: it becomes a
cursor of the pool's ``StepScheduler`` (continuous batching, ``engine/scheduler.py``), whose
steps advance up to ``max_batch`` cursors at once and queue here like any other call.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from hark.engine import (
    SAMPLE_RATE,
    DecodeOptions,
    Engine,
    Hypothesis,
    ModelInfo,
    Progress,
    Samples,
    Stop,
    Transcript,
)
from hark.engine.scheduler import Prepare, StepScheduler
from hark.errors import ResourceExhausted, Unavailable

T = TypeVar("T")

STEP_SAMPLES = 30 * SAMPLE_RATE
"""Longer samples are decoded by the scheduler (Whisper sees 30 s per step)."""


class PoolObserver(Protocol):
    """Told of every engine call and refusal (the server's metrics); must not block."""

    def engine_call(self, seconds: float, audio_seconds: float) -> None:
        """One engine call (a batch counts once, with its clips' audio summed) took ``seconds``."""

    def rejected(self) -> None:
        """A call was refused because the queue was full."""


class _Unobserved:
    def engine_call(self, seconds: float, audio_seconds: float) -> None:
        pass

    def rejected(self) -> None:
        pass


@dataclass(frozen=True)
class _Call:
    """One blocking engine call and where its outcome goes; ``samples``/``options`` are set
    for a ``transcribe`` call, which may join others in a batch."""

    call: Callable[[], Any]
    future: asyncio.Future[Any]
    samples: Samples | None = None
    options: DecodeOptions | None = None
    audio_seconds: float = 0.0
    prepare: Prepare | None = None
    """For a scheduler's step: chooses the call (and its audio seconds) on the event loop
    when a worker takes the entry, so cursors that arrived while it waited join it."""

    def joins(self, first: _Call) -> bool:
        return (
            self.samples is not None
            and self.options is not None
            and (self.options == first.options)
        )


class _CallQueue(asyncio.Queue[_Call]):
    """A FIFO ``asyncio.Queue`` whose head can be looked at (extended through ``_init``, as
    ``asyncio.LifoQueue`` is)."""

    def _init(self, maxsize: int) -> None:
        self._queue: deque[_Call] = deque()

    def head(self) -> _Call | None:
        return self._queue[0] if self._queue else None


class EnginePool:
    """Runs engine calls off the event loop, ``workers`` at a time, FIFO.

    At most ``max_queue`` calls wait (not counting the ones running); one more raises
    ``ResourceExhausted``. A caller that is cancelled while waiting never reaches the
    engine; one cancelled while running lets the call finish and drops the result (a
    CTranslate2 call cannot be interrupted).
    """

    def __init__(
        self, engine: Engine, *, workers: int = 1, max_queue: int = 16, max_batch: int = 1
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if max_queue < 0:
            raise ValueError("max_queue must not be negative")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._max_batch = max_batch
        self._engine = engine
        self._workers = workers
        self._max_queue = max_queue
        self._queue = _CallQueue()
        # Entries accepted and not yet finished (waiting + running). Capacity is checked on this
        # count, not on the queue's size: an entry put in the queue stays there until its worker
        # task is scheduled, so a burst within one loop tick would otherwise count the entries
        # about to start as waiting.
        self._admitted = 0
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hark-engine")
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.observer: PoolObserver = _Unobserved()
        self.scheduler = StepScheduler(
            engine, self._run_step, max_batch=max_batch, steppers=workers
        )
        """Where long transcriptions are decoded, a step at a time, batched across callers."""

    @property
    def closed(self) -> bool:
        """True once ``close`` began: the pool takes no more calls."""
        return self._closed

    @property
    def workers(self) -> int:
        """Engine calls this pool runs at once."""
        return self._workers

    @property
    def waiting(self) -> int:
        """Calls accepted and not yet running (the queue depth)."""
        return self._queue.qsize()

    @property
    def info(self) -> ModelInfo:
        """The engine's model description (for validating requests before queueing them)."""
        return self._engine.info

    async def transcribe(
        self,
        samples: Samples,
        options: DecodeOptions,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Transcript:
        """``Engine.transcribe`` on a worker thread, after the calls queued before it.

        Over 30 s, or with ``progress``, the samples are decoded by the scheduler, a window at
        a time among the other long decodes (``stop`` is then asked between windows).
        """
        if progress is not None or len(samples) > STEP_SAMPLES:
            self.check_capacity()
            return await self.scheduler.transcribe(samples, options, progress, stop)
        if stop is not None:
            # A batched call cannot stop one clip: this one runs alone.
            return await self._run(
                lambda: self._engine.transcribe(samples, options, stop=stop),
                audio=samples,
            )
        return await self._run(
            lambda: self._engine.transcribe(samples, options),
            audio=samples,
            batchable=True,
            options=options,
        )

    async def n_best(
        self, samples: Samples, options: DecodeOptions, count: int
    ) -> list[Hypothesis]:
        """``Engine.n_best`` on a worker thread, after the calls queued before it."""
        return await self._run(lambda: self._engine.n_best(samples, options, count), audio=samples)

    def check_capacity(self) -> None:
        """Raise what a call made now would raise (shutting down, queue full), before the
        caller spends work (decoding its audio) on a call that would be refused."""
        if self._closed:
            raise Unavailable("Hark is shutting down.")
        if self._admitted >= self._workers + self._max_queue:
            self.observer.rejected()
            raise ResourceExhausted(
                f"Hark is at capacity: {self._max_queue} requests are queued; retry later."
            )

    async def close(self) -> None:
        """Refuse new calls, fail waiting ones with ``Unavailable``, let running ones finish,
        then close the engine. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.scheduler.close()
        while not self._queue.empty():
            entry = self._queue.get_nowait()
            _settle(entry, exc=Unavailable("Hark is shutting down."))
            self._admitted -= 1
            self._queue.task_done()
        await self._queue.join()  # the entries already running
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=True)
        self._engine.close()

    async def _run(
        self,
        call: Callable[[], T],
        *,
        audio: Samples,
        batchable: bool = False,
        options: DecodeOptions | None = None,
    ) -> T:
        self.check_capacity()
        entry = _Call(
            call,
            asyncio.get_running_loop().create_future(),
            audio if batchable else None,
            options,
            audio_seconds=len(audio) / SAMPLE_RATE,
        )
        return cast(T, await self._enqueue(entry))

    async def _run_step(self, prepare: Prepare) -> Any:
        """A scheduler's call: queued behind the others, never refused for a full queue (its
        cursors were admitted when their transcriptions began)."""
        if self._closed:
            raise Unavailable("Hark is shutting down.")
        future = asyncio.get_running_loop().create_future()
        return await self._enqueue(_Call(_unprepared, future, prepare=prepare))

    async def _enqueue(self, entry: _Call) -> Any:
        self._start_workers()
        self._admitted += 1
        self._queue.put_nowait(entry)
        return await entry.future

    def _start_workers(self) -> None:
        # Started on first use because tasks need the running loop.
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(), name=f"hark-engine-{i}")
                for i in range(self._workers)
            ]

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            entries = [await self._queue.get()]
            while len(entries) < self._max_batch:
                head = self._queue.head()
                if head is None or not head.joins(entries[0]):
                    break
                entries.append(self._queue.get_nowait())
            try:
                live = [
                    entry for entry in entries if not entry.future.done()
                ]  # callers still waiting
                if len(live) == 1:
                    await self._run_one(loop, live[0])
                elif live:
                    await self._run_batch(loop, live)
            finally:
                for _ in entries:
                    self._admitted -= 1
                    self._queue.task_done()

    async def _run_one(self, loop: asyncio.AbstractEventLoop, entry: _Call) -> None:
        started = time.monotonic()
        call, audio_seconds = entry.call, entry.audio_seconds
        try:
            if entry.prepare is not None:
                # One turn of the loop first: callers whose calls just ended (a cursor's
                # start) register their cursors, and join this step.
                await asyncio.sleep(0)
                call, audio_seconds = entry.prepare()
            result = await loop.run_in_executor(self._executor, call)
        except Exception as exc:
            _settle(entry, exc=exc)
        else:
            _settle(entry, result=result)
        finally:
            self.observer.engine_call(time.monotonic() - started, audio_seconds)

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, entries: list[_Call]) -> None:
        batch = [entry.samples for entry in entries if entry.samples is not None]
        options = entries[0].options or DecodeOptions()
        started = time.monotonic()
        try:
            results = await loop.run_in_executor(
                self._executor, self._engine.transcribe_batch, batch, options
            )
        except Exception as exc:
            for entry in entries:
                _settle(entry, exc=exc)
        else:
            for entry, result in zip(entries, results, strict=True):
                _settle(entry, result=result)
        finally:
            audio = sum(entry.audio_seconds for entry in entries)
            self.observer.engine_call(time.monotonic() - started, audio)


def _unprepared() -> None:
    raise RuntimeError("a step's call is chosen by its prepare")


def _settle(entry: _Call, *, result: Any = None, exc: BaseException | None = None) -> None:
    """Deliver an outcome unless the caller already went away (cancelled future)."""
    if entry.future.done():
        return
    if exc is not None:
        entry.future.set_exception(exc)
    else:
        entry.future.set_result(result)
