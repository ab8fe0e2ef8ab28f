"""Google's LongRunningRecognize and the Operations service, over durable jobs.

``LongRunningRecognizer`` is what every transport calls: ``submit`` (LongRunningRecognize),
``get``/``list``/``cancel``/``delete``/``wait`` (google.longrunning.Operations). It returns
core ``Job`` records; each transport renders them for the job's API version.

``submit`` validates what Google validates before accepting: the config (``Recognizer.validate``),
the audio source, a ``gs://`` object's existence, the inline duration limit. Problems found
while decoding end the operation with an ``error`` instead. ``run`` is the work of one job:
the audio is decoded and recognised window by window (``long_audio``) so memory stays flat
for any duration, progress is stored at most once a second, a checkpoint after each window
(a retried attempt resumes from it: ``speech.checkpoint``), and a cancelled job stops
between windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from hark import audio
from hark.errors import Cancelled, Code, InvalidArgument, NotFound, SpeechError, Unavailable
from hark.jobs import Job, JobError, JobQueue, JobState, JobStore, Page
from hark.settings import Limits
from hark.speech import checkpoint, long_audio
from hark.speech.plan import Plan
from hark.speech.recognizer import Recognizer, check_source
from hark.speech.types import AudioSource, Recognition, RecognitionConfig
from hark.storage import AudioStorage

log = logging.getLogger(__name__)

OUTPUT_FAILED = "Unable to write the transcript to the output URI."
INLINE_TOO_LONG = "Inline audio exceeds duration limit. Please use a GCS URI."
CANCELLED = "Operation cancelled."
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
PROGRESS_SECONDS = 1.0
"""Progress is written to the store at most this often per job."""
CHUNK_SECONDS = 10.0
_FILTER = re.compile(r"^\s*done\s*[=:]\s*(true|false)\s*$", re.IGNORECASE)

RenderOutput = Callable[[Job, Recognition], bytes]
"""The response JSON written to ``outputConfig.gcsUri`` (wire format: from the api layer)."""


class LongRunningRecognizer:
    """Long-running recognition as durable operations."""

    def __init__(
        self,
        recognizer: Recognizer,
        *,
        store: JobStore,
        queue: JobQueue,
        storage: AudioStorage,
        limits: Limits,
        render_output: RenderOutput,
    ) -> None:
        self.recognizer = recognizer
        self.store = store
        self.queue = queue
        self.storage = storage
        self.limits = limits
        self.render_output = render_output

    async def submit(
        self,
        api_version: str,
        config: RecognitionConfig,
        source: AudioSource,
        output_uri: str = "",
        *,
        owner: str = "",
    ) -> Job:
        """Accept a LongRunningRecognize request, or raise what Google raises at once.

        ``owner`` (the caller's key name) is the only one, besides an admin, who sees the job.
        """
        config = await self.recognizer.resolved(config)  # a job keeps the phrases of now
        request_plan = self.recognizer.validate(config)
        check_source(source)
        if source.content:
            await self._check_inline(source.content, request_plan)
        else:
            await self.storage.check(source.uri)
        if output_uri:
            await self.storage.check_output(output_uri)
        now = time.time()
        job = Job(
            name=str(random.SystemRandom().randrange(1, 2**63)),
            api_version=api_version,
            config=config,
            uri=source.uri,
            output_uri=output_uri,
            owner=owner,
            start_time=now,
            last_update_time=now,
        )
        await self.queue.submit(job, None if source.uri else source.content)
        return job

    async def get(self, name: str, owner: str | None = None) -> Job:
        """The operation ``name``; NOT_FOUND if there is none (or it was purged), or it is not
        ``owner``'s (None: anyone's)."""
        job = await self.store.get(name)
        if job is None or (owner is not None and job.owner != owner):
            raise NotFound(f"Operation not found: {name}")
        return job

    async def list(
        self,
        *,
        api_version: str | None = None,
        filter_text: str = "",
        page_size: int = 0,
        page_token: str = "",
        owner: str | None = None,
    ) -> Page:
        """Operations oldest first; ``filter_text`` may be ``done=true`` or ``done=false``."""
        done = None
        if filter_text.strip():
            match = _FILTER.match(filter_text)
            if match is None:
                raise InvalidArgument(f"Invalid filter: {filter_text}")
            done = match.group(1).lower() == "true"
        if page_size < 0:
            raise InvalidArgument("page_size must not be negative.")
        size = min(page_size or PAGE_SIZE, MAX_PAGE_SIZE)
        return await self.store.list(
            api_version=api_version, done=done, page_size=size, page_token=page_token, owner=owner
        )

    async def cancel(self, name: str, owner: str | None = None) -> Job:
        """End the operation with CANCELLED unless it already ended; its work stops."""
        await self.get(name, owner)
        error = JobError(Code.CANCELLED, CANCELLED)
        if await self.store.finish(name, JobState.CANCELLED, time.time(), error=error):
            await self.queue.stop_work(name)
        return await self.get(name, owner)

    async def delete(self, name: str, owner: str | None = None) -> None:
        """Forget the operation; if it was still running, its work stops."""
        await self.get(name, owner)
        if not await self.store.delete(name):
            raise NotFound(f"Operation not found: {name}")
        await self.queue.stop_work(name)

    async def wait(self, name: str, timeout: float, owner: str | None = None) -> Job:
        """The operation once done, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not (job := await self.get(name, owner)).done and time.monotonic() < deadline:
            await self.store.changed(name, deadline - time.monotonic())
        return job

    async def run(self, job: Job) -> Recognition:
        """The work of one claimed job (the ``Runner`` of the job queue)."""
        request_plan = self.recognizer.validate(job.config)
        async with self._audio_file(job) as path:
            duration, _, _ = await asyncio.to_thread(audio.probe, path, request_plan.audio)
            limit = self._limit(inline=not job.uri)
            if duration > limit.seconds:  # what the header claims: refused before decoding
                raise limit.error()
            progress = _StoredProgress(self.store, job.name, duration)
            # ... and what it does not claim is counted as it is decoded.
            chunks = audio.iter_file(path, request_plan.audio, CHUNK_SECONDS, limit)
            resume = await self.store.checkpoint(job.name)  # a retried attempt: skip ahead
            if resume is not None:
                log.info("operation %s: resuming at %.2f s", job.name, resume.offset)
                chunks = checkpoint.skip(chunks, resume.samples)
            recognition = await long_audio.recognize_windows(
                self.recognizer,
                long_audio.windows(chunks, start=resume.offset if resume else 0.0),
                request_plan,
                on_progress=progress.update,
                resume=resume,
                on_checkpoint=functools.partial(self._save_checkpoint, job.name),
            )
        if job.output_uri:
            await self._write_output(job, recognition)
        return recognition

    async def _save_checkpoint(self, name: str, reached: checkpoint.Checkpoint) -> None:
        if not await self.store.save_checkpoint(name, reached):
            raise Cancelled(CANCELLED)  # cancelled or deleted, or another attempt took over

    def _limit(self, *, inline: bool) -> audio.Limit:
        """The duration limit of a job's audio, with Google's text for passing it."""
        if inline:
            return audio.Limit(
                self.limits.inline_async_max_seconds, lambda: InvalidArgument(INLINE_TOO_LONG)
            )
        minutes = self.limits.async_max_seconds / 60
        return audio.Limit(
            self.limits.async_max_seconds,
            lambda: InvalidArgument(
                f"Audio exceeds the duration limit of {minutes:g} minutes for LongRunningRecognize."
            ),
        )

    async def _write_output(self, job: Job, recognition: Recognition) -> None:
        """Write the result to ``outputConfig.gcsUri``; a failure becomes the response's
        ``outputError`` and the operation keeps its result (what Google's field is for)."""
        try:
            await self.storage.write(job.output_uri, self.render_output(job, recognition))
        except Exception as failure:
            error = failure if isinstance(failure, SpeechError) else Unavailable(OUTPUT_FAILED)
            log.warning("operation %s: writing %s failed: %r", job.name, job.output_uri, failure)
            await self.store.output_failed(job.name, JobError(error.code, error.message))

    async def _check_inline(self, content: bytes, request_plan: Plan) -> None:
        """Refuse inline audio over the limit; audio that cannot be read fails the job later."""
        async with _temporary(self.storage.work_dir, content) as path:
            try:
                duration, _, _ = await asyncio.to_thread(audio.probe, path, request_plan.audio)
            except SpeechError:
                return
        if duration > self.limits.inline_async_max_seconds:
            raise InvalidArgument(INLINE_TOO_LONG)

    @contextlib.asynccontextmanager
    async def _audio_file(self, job: Job) -> AsyncIterator[Path]:
        if job.uri:
            async with self.storage.open(job.uri) as path:
                yield path
            return
        content = await self.store.content(job.name)
        if not content:
            raise InvalidArgument("RecognitionAudio not set.")
        async with _temporary(self.storage.work_dir, content) as path:
            yield path


class _StoredProgress:
    """Turns seconds recognised into ``progressPercent`` writes, at most once a second."""

    def __init__(self, store: JobStore, name: str, duration: float) -> None:
        self.store = store
        self.name = name
        self.duration = duration
        self._written = 0.0

    async def update(self, seconds: float) -> None:
        if time.monotonic() - self._written < PROGRESS_SECONDS:
            return
        self._written = time.monotonic()
        # 100 only once the results exist (Google's guarantee), so at most 99 while working.
        percent = min(99, int(100 * seconds / self.duration)) if self.duration > 0 else 0
        if not await self.store.progress(self.name, percent, time.time()):
            raise Cancelled(CANCELLED)  # cancelled or deleted, perhaps by another process


@contextlib.asynccontextmanager
async def _temporary(directory: Path, content: bytes) -> AsyncIterator[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=directory, suffix=".audio")
    try:
        with os.fdopen(handle, "wb") as out:
            await asyncio.to_thread(out.write, content)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
