"""``JobQueue`` in the server process: worker tasks that claim jobs from the store.

The queue *is* the store: a job is scheduled by being stored ``queued``, and a worker takes
it with ``JobStore.claim`` (one transaction), so a job that the process accepted and then
lost to a crash is still there at the next start. ``start`` first puts jobs left
``running`` back in the queue: they are re-run from the beginning (recognition has no side
effects until ``finish``, which writes the result in the same statement that ends the job).

Workers sleep until a submit wakes them, and also look every ``POLL_SECONDS`` so jobs stored
by another process are found. A purge task deletes finished jobs after the retention time
(``retention``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from hark.errors import INTERNAL_MESSAGE, Code, ResourceExhausted, SpeechError
from hark.jobs import Job, JobError, JobState, JobStore, Runner, retention
from hark.speech.types import Recognition

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class LocalJobQueue:
    """``workers`` jobs at a time; at most ``max_queue`` waiting."""

    def __init__(
        self, store: JobStore, *, workers: int, max_queue: int, retention_seconds: float
    ) -> None:
        if workers < 1:
            raise ValueError("job workers must be at least 1")
        self._store = store
        self._workers = workers
        self._max_queue = max_queue
        self._retention = retention_seconds
        self._wake = asyncio.Event()
        self._admit = asyncio.Lock()
        self._running: dict[str, asyncio.Task[Recognition]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    async def start(self, runner: Runner) -> None:
        resumed = await self._store.requeue_running()
        if resumed:
            log.info("re-running %d operations interrupted by the last shutdown", resumed)
        self._tasks = [
            asyncio.create_task(self._work(runner), name=f"hark-job-worker-{i}")
            for i in range(self._workers)
        ]
        purge = retention.purge_forever(self._store.purge, self._retention)
        self._tasks.append(asyncio.create_task(purge, name="hark-job-purge"))

    async def submit(self, job: Job, content: bytes | None) -> None:
        # The lock makes count-then-insert one step within this process.
        async with self._admit:
            if await self._store.count_queued() >= self._max_queue:
                raise ResourceExhausted(
                    f"Too many long-running operations are waiting ({self._max_queue});"
                    " retry later."
                )
            await self._store.create(job, content)
        self._wake.set()

    async def stop_work(self, name: str) -> None:
        work = self._running.get(name)
        if work is not None:
            work.cancel()

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _work(self, runner: Runner) -> None:
        while True:
            job = await self._store.claim(time.time())
            if job is None:
                # Clear, then look again: a submit after the clear sets the event, and one
                # before it is already in the store, so no wake-up is lost.
                self._wake.clear()
                job = await self._store.claim(time.time())
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                continue
            await self._execute(runner, job)

    async def _execute(self, runner: Runner, job: Job) -> None:
        work: asyncio.Task[Recognition] = asyncio.ensure_future(runner(job))
        self._running[job.name] = work
        try:
            result = await work
        except asyncio.CancelledError:
            if self._closing or not work.cancelled():
                raise  # shutting down: the job stays running in the store, re-run next start
            return  # stopped by stop_work: the store already says cancelled or deleted
        except SpeechError as failure:
            log.warning("operation %s failed: %s %s", job.name, failure.code.name, failure.message)
            await self._finish(job, JobState.FAILED, error=JobError(failure.code, failure.message))
        except Exception:
            log.exception("operation %s failed", job.name)
            internal = JobError(Code.INTERNAL, INTERNAL_MESSAGE)
            await self._finish(job, JobState.FAILED, error=internal)
        else:
            await self._finish(job, JobState.DONE, result=result)
        finally:
            self._running.pop(job.name, None)

    async def _finish(
        self,
        job: Job,
        state: JobState,
        *,
        result: Recognition | None = None,
        error: JobError | None = None,
    ) -> None:
        now = time.time()
        if not await self._store.finish(job.name, state, now, result=result, error=error):
            log.info("operation %s ended elsewhere (cancelled or deleted)", job.name)
