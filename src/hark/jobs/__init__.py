"""Long-running recognition, all of it: the job record and the Protocols here; the service
every transport calls (``service.LongRunningRecognizer``); the store's serialisation
(``serial``); the SQLite store (``sqlite``) and the in-process queue (``local``).

A job is accepted once (``JobStore.create``), claimed by exactly one worker
(``JobStore.claim``: queued -> running in one transaction), and finished exactly once
(``JobStore.finish``: the result is written in the same statement that leaves ``running``).
The embedded implementations are ``sqlite.SqliteJobStore`` and ``local.LocalJobQueue``;
a PostgreSQL store or a distributed queue fits behind the same Protocols.

Jobs hold the core's own types (``RecognitionConfig``, ``Recognition``), never wire
messages: the transports render a job for whichever API version created it.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from hark.speech.checkpoint import Checkpoint
from hark.speech.types import Recognition, RecognitionConfig


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in {JobState.DONE, JobState.CANCELLED, JobState.FAILED}


@dataclass(frozen=True)
class JobError:
    """A ``google.rpc.Status`` in core terms: a numeric code and a message."""

    code: int
    message: str


@dataclass(frozen=True)
class Job:
    """One long-running recognition, as stored."""

    name: str
    """A bare numeric string, as Google names operations."""
    api_version: str
    """The API version that created it (``v1``, ``v1p1beta1``, ``v1beta1``): it is rendered so."""
    config: RecognitionConfig
    uri: str = ""
    """The audio's URI; empty for inline content (kept apart, see ``JobStore.content``)."""
    output_uri: str = ""
    """``outputConfig.gcsUri``: where the response JSON is also written."""
    state: JobState = JobState.QUEUED
    progress_percent: int = 0
    start_time: float = 0.0
    """When the request was received (epoch seconds)."""
    last_update_time: float = 0.0
    end_time: float = 0.0
    """When it finished (0 while not); retention counts from here."""
    result: Recognition | None = None
    error: JobError | None = None
    owner: str = ""
    """Who created it: the API key's name (or a hash of the key), never the key itself."""
    output_error: JobError | None = None
    """Why writing the result to ``output_uri`` failed (the result is kept all the same)."""

    @property
    def done(self) -> bool:
        return self.state.finished


@dataclass(frozen=True)
class Page:
    """One page of a listing; ``next_token`` is empty on the last page."""

    jobs: tuple[Job, ...]
    next_token: str = ""


class JobStore(Protocol):
    """Durable jobs. Every method is atomic on its own."""

    async def create(self, job: Job, content: bytes | None) -> None:
        """Store a new queued job and its inline audio (None when it has a URI)."""

    async def get(self, name: str) -> Job | None: ...

    async def content(self, name: str) -> bytes | None:
        """The inline audio of a job, if it has any."""

    async def list(
        self,
        *,
        api_version: str | None,
        done: bool | None,
        page_size: int,
        page_token: str,
        owner: str | None = None,
    ) -> Page:
        """Jobs oldest first (only ``owner``'s unless None); INVALID_ARGUMENT for a token this
        store did not issue."""

    async def count_queued(self) -> int: ...

    async def count_by_state(self) -> dict[str, int]:
        """How many jobs are in each state (by ``JobState.value``; absent states: none)."""

    async def claim(self, now: float) -> Job | None:
        """Atomically move the oldest queued job to running and return it (None if none)."""

    async def progress(self, name: str, percent: int, now: float) -> bool:
        """Record progress of a running job; False when it is no longer running."""

    async def save_checkpoint(self, name: str, checkpoint: Checkpoint) -> bool:
        """Record how far a running job got (replacing the last checkpoint); False when it is
        no longer running (fenced like ``progress``)."""

    async def checkpoint(self, name: str) -> Checkpoint | None:
        """The last checkpoint of job ``name``, if one was saved and it has not finished."""

    async def finish(
        self,
        name: str,
        state: JobState,
        now: float,
        *,
        result: Recognition | None = None,
        error: JobError | None = None,
    ) -> bool:
        """End a job that is queued or running; False (and no change) if it already ended.
        Its checkpoint is dropped."""

    async def output_failed(self, name: str, error: JobError) -> bool:
        """Record that a running job's result could not be written to its ``output_uri``."""

    async def delete(self, name: str) -> bool: ...

    async def requeue_running(self) -> int:
        """Put jobs left running by a dead process back in the queue; how many."""

    async def purge(self, finished_before: float) -> int:
        """Delete jobs that finished before ``finished_before``; how many."""

    async def changed(self, name: str, timeout: float) -> None:
        """Return when job ``name`` may have ended, or after at most ``timeout`` seconds (a
        store that cannot tell returns after a short poll interval)."""

    async def close(self) -> None: ...


Runner = Callable[[Job], Awaitable[Recognition]]
"""Does the work of one claimed job; raises ``SpeechError`` to fail it."""


class JobQueue(Protocol):
    """Runs stored jobs: admits new ones (bounded), claims them, stops them."""

    async def start(self, runner: Runner) -> None:
        """Resume jobs a previous process left, then run jobs as they come."""

    async def submit(self, job: Job, content: bytes | None) -> None:
        """Store and schedule ``job``; RESOURCE_EXHAUSTED when the queue is full."""

    async def stop_work(self, name: str) -> None:
        """Stop the work on ``name`` if it is running here (after it was cancelled or deleted)."""

    async def close(self) -> None:
        """Stop every worker; jobs they were running stay ``running`` and are re-run later."""
