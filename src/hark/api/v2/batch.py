"""v2's BatchRecognize on the long-running machinery: one job per file, one Operation for all.

``submit`` checks the request, merges each file's config (recognizer defaults, then the
request's, then the file's own), and submits one ``jobs`` job per file; a file refused at
once (a missing object, a bad config) gets its error in the response instead of failing the
batch. The batch is kept as a record beside the other v2 operations; its Operation is built
from the jobs when asked for, with ``progress_percent`` overall and per file. When the last
file finishes, the outputs are written (``gcs_output_config``: a ``BatchRecognizeResults``
JSON per file, and SRT/VTT captions when asked) and the response is kept in the record, so
the jobs may then be purged. A watcher does this as soon as the files are done; after a
restart the next poll does it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from google.longrunning import operations_pb2
from google.rpc import status_pb2

from hark.api import jsonbody
from hark.api.v2.config import merged as merge_config
from hark.api.v2.convert import PACKAGE, fill_results, message
from hark.errors import Aborted, InvalidArgument, NotFound, SpeechError, Unavailable
from hark.jobs import Job
from hark.jobs.service import LongRunningRecognizer
from hark.resources.lifecycle import Resources
from hark.resources.names import ResourceName, parse_name
from hark.speech import formats
from hark.speech.types import AudioSource, Recognition, RecognitionConfig
from hark.storage import AudioStorage

MAX_FILES = 15
"""Google's limit of files in one BatchRecognize request."""
BATCH_TAG = b"B"
"""The first byte of a stored batch record. A finished operation is stored as its serialised
``Operation``, which starts with a field tag of 0x0A to 0x2A, never this."""
WAIT_SECONDS = 60.0
CoreConfig = Callable[[str, Any, Any], Awaitable[RecognitionConfig]]
"""``SpeechV2.core_config``: (recognizer, config, config_mask) -> the core's config."""


@dataclass
class BatchRecord:
    """What is kept of one batch: the request, each file's job or error, the final response."""

    request: bytes
    jobs: list[str]
    errors: list[tuple[int, str] | None]
    create_time: float
    owner: str
    response: bytes | None = None

    def dumps(self) -> bytes:
        document = {
            "request": base64.b64encode(self.request).decode(),
            "jobs": self.jobs,
            "errors": self.errors,
            "create_time": self.create_time,
            "owner": self.owner,
            "response": base64.b64encode(self.response).decode() if self.response else None,
        }
        return BATCH_TAG + json.dumps(document).encode()

    @staticmethod
    def loads(payload: bytes) -> BatchRecord:
        document = json.loads(payload[len(BATCH_TAG) :])
        response = document["response"]
        return BatchRecord(
            request=base64.b64decode(document["request"]),
            jobs=list(document["jobs"]),
            errors=[tuple(error) if error else None for error in document["errors"]],
            create_time=float(document["create_time"]),
            owner=str(document["owner"]),
            response=base64.b64decode(response) if response else None,
        )


class Batches:
    """BatchRecognize and the operations it makes."""

    def __init__(
        self,
        core_config: CoreConfig,
        resources: Resources,
        long_running: LongRunningRecognizer,
        storage: AudioStorage,
    ) -> None:
        self.core_config = core_config
        self.resources = resources
        self.long_running = long_running
        self.storage = storage
        self._watchers: set[asyncio.Task[None]] = set()

    async def submit(self, request: Any) -> operations_pb2.Operation:
        """Accept a BatchRecognizeRequest: its Operation, not yet done."""
        recognizer = parse_name(request.recognizer, "recognizers", field="recognizer")
        await self._check(request, recognizer)
        owner = f"v2:{recognizer.parent}"
        jobs: list[str] = []
        errors: list[tuple[int, str] | None] = []
        for file in request.files:
            try:
                job = await self._submit_file(request, file, owner)
                jobs.append(job.name)
                errors.append(None)
            except SpeechError as error:  # this file fails; the others go on
                jobs.append("")
                errors.append((int(error.code), error.message))
        name = ResourceName(
            recognizer.project, recognizer.location, "operations", str(uuid.uuid4())
        )
        kept = request.__class__()
        kept.CopyFrom(request)
        record = BatchRecord(kept.SerializeToString(), jobs, errors, time.time(), owner)
        await self.resources.create(name, record.dumps())
        self._watch(str(name), record)
        return await self.render(str(name), record)

    async def _check(self, request: Any, recognizer: ResourceName) -> None:
        if not request.files:
            raise InvalidArgument("Request must contain at least one file in 'files'.")
        if len(request.files) > MAX_FILES:
            raise InvalidArgument(f"At most {MAX_FILES} files may be sent in one request.")
        output = request.recognition_output_config
        if output.HasField("gcs_output_config"):
            prefix = output.gcs_output_config.uri.rstrip("/")
            await self.storage.check_output(f"{prefix}/check.json")
        elif not output.HasField("inline_response_config"):
            raise InvalidArgument(
                "Request must set 'recognition_output_config' to 'gcs_output_config' or"
                " 'inline_response_config'."
            )
        if not recognizer.implicit:  # a deleted or missing recognizer fails the whole batch
            await self.core_config(request.recognizer, request.config, None)

    async def _submit_file(self, request: Any, file: Any, owner: str) -> Job:
        mask = request.config_mask if request.HasField("config_mask") else None
        config = request.config
        if file.HasField("config"):  # the file's config over the request's
            merged = message("RecognitionConfig")()
            merged.CopyFrom(config)
            file_mask = file.config_mask if file.HasField("config_mask") else None
            config = merge_config(merged, file.config, file_mask)
        core = await self.core_config(request.recognizer, config, mask)
        if _formats(request.recognition_output_config) & {"srt", "vtt"}:
            core = replace(core, enable_word_time_offsets=True)  # captions are timed by word
        return await self.long_running.submit("v2", core, AudioSource(uri=file.uri), owner=owner)

    def _watch(self, name: str, record: BatchRecord) -> None:
        task = asyncio.create_task(self._finish_when_done(name, record))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _finish_when_done(self, name: str, record: BatchRecord) -> None:
        for job_name in record.jobs:
            while job_name:
                try:
                    job = await self.long_running.wait(job_name, WAIT_SECONDS)
                except NotFound:
                    break
                if job.done:
                    break
        with contextlib.suppress(SpeechError):
            await self.finish(name, record)

    async def close(self) -> None:
        """Stop the watchers; an unfinished batch is finished at its next poll."""
        for task in list(self._watchers):
            task.cancel()
        for task in list(self._watchers):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def render(self, name: str, record: BatchRecord) -> operations_pb2.Operation:
        """The batch's Operation now; finishing it first if its last file just ended."""
        jobs = await self._jobs(record)
        if record.response is None and all(job is None or job.done for job in jobs):
            record = await self.finish(name, record, jobs)
        request: Any = message("BatchRecognizeRequest")()
        request.ParseFromString(record.request)
        operation = operations_pb2.Operation(name=name, done=record.response is not None)
        operation.metadata.Pack(_metadata(request, record, jobs))
        if record.response is not None:
            response: Any = message("BatchRecognizeResponse")()
            response.ParseFromString(record.response)
            operation.response.Pack(response)
        return operation

    async def cancel(self, record: BatchRecord) -> None:
        for job_name in record.jobs:
            if job_name:
                with contextlib.suppress(NotFound):
                    await self.long_running.cancel(job_name)

    async def _jobs(self, record: BatchRecord) -> list[Job | None]:
        found: list[Job | None] = []
        for job_name in record.jobs:
            try:
                found.append(await self.long_running.get(job_name) if job_name else None)
            except NotFound:  # purged: only after the batch was finished
                found.append(None)
        return found

    async def finish(
        self, name: str, record: BatchRecord, jobs: list[Job | None] | None = None
    ) -> BatchRecord:
        """Write the outputs and keep the response (once: a second call finds it kept)."""
        record_name = parse_name(name, "operations")
        stored = await self.resources.get(record_name)
        current = BatchRecord.loads(stored.payload)
        if current.response is not None:
            return current
        jobs = jobs if jobs is not None else await self._jobs(current)
        request: Any = message("BatchRecognizeRequest")()
        request.ParseFromString(current.request)
        response: Any = message("BatchRecognizeResponse")()
        billed = 0
        for file, job, error in zip(request.files, jobs, current.errors, strict=True):
            result = response.results[file.uri]
            billed += await self._file_result(result, request, file.uri, job, error)
        response.total_billed_duration.seconds = billed
        current.response = response.SerializeToString()
        payload = current.dumps()
        try:  # the etag: a poll and the watcher finishing at once keep one response
            await self.resources.update(record_name, lambda _: payload, stored.etag)
        except Aborted:
            return BatchRecord.loads((await self.resources.get(record_name)).payload)
        return current

    async def _file_result(
        self,
        result: Any,
        request: Any,
        uri: str,
        job: Job | None,
        error: tuple[int, str] | None,
    ) -> int:
        """Fill one file's ``BatchRecognizeFileResult``; its billed seconds."""
        if job is not None and job.error is not None:
            error = (job.error.code, job.error.message)
        if job is None and error is None:
            error = (int(NotFound.code), f"The results of {uri} are no longer kept.")
        if error is not None or job is None or job.result is None:
            code, text = error or (int(Unavailable.code), "No result.")
            result.error.CopyFrom(status_pb2.Status(code=code, message=text))
            return 0
        recognition = job.result
        language = job.config.language_code.lower()
        results: Any = message("BatchRecognizeResults")()
        fill_results(results.results, recognition.results, language)
        results.metadata.total_billed_duration.seconds = recognition.total_billed_seconds
        result.metadata.total_billed_duration.seconds = recognition.total_billed_seconds
        output = request.recognition_output_config
        formats_asked = _formats(output)
        if output.HasField("gcs_output_config"):
            await self._write(
                result,
                output.gcs_output_config.uri,
                uri,
                results=results,
                formats_asked=formats_asked,
                recognition=recognition,
            )
        else:
            result.inline_result.transcript.CopyFrom(results)
            if "srt" in formats_asked:
                result.inline_result.srt_captions = formats.srt(recognition.results)
            if "vtt" in formats_asked:
                result.inline_result.vtt_captions = formats.vtt(recognition.results)
        return recognition.total_billed_seconds

    async def _write(
        self,
        result: Any,
        prefix: str,
        uri: str,
        *,
        results: Any,
        formats_asked: set[str],
        recognition: Recognition,
    ) -> None:
        """The file's outputs under ``prefix``: ``<name>_transcript.json``, ``.srt``, ``.vtt``."""
        base = f"{prefix.rstrip('/')}/{uri.rpartition('/')[2].rpartition('.')[0] or 'audio'}"
        try:
            if "native" in formats_asked:
                native = json.dumps(jsonbody.render(results), indent=2).encode()
                await self.storage.write(f"{base}_transcript.json", native)
                result.cloud_storage_result.uri = f"{base}_transcript.json"
            if "srt" in formats_asked:
                await self.storage.write(
                    f"{base}_transcript.srt", formats.srt(recognition.results).encode()
                )
                result.cloud_storage_result.srt_format_uri = f"{base}_transcript.srt"
            if "vtt" in formats_asked:
                await self.storage.write(
                    f"{base}_transcript.vtt", formats.vtt(recognition.results).encode()
                )
                result.cloud_storage_result.vtt_format_uri = f"{base}_transcript.vtt"
        except SpeechError as error:
            result.error.CopyFrom(status_pb2.Status(code=int(error.code), message=error.message))


def _formats(output: Any) -> set[str]:
    """The formats asked for; ``native`` alone when none is (Google's default)."""
    if not output.HasField("output_format_config"):
        return {"native"}
    asked = {field.name for field, _ in output.output_format_config.ListFields()}
    return asked or {"native"}


def _metadata(request: Any, record: BatchRecord, jobs: list[Job | None]) -> Any:
    metadata: Any = message("OperationMetadata")()
    metadata.create_time.FromNanoseconds(round(record.create_time * 1e9))
    metadata.update_time.GetCurrentTime()
    metadata.resource = request.recognizer
    metadata.method = f"{PACKAGE}.Speech.BatchRecognize"
    metadata.batch_recognize_request.CopyFrom(request)
    percents = []
    for file, job, error in zip(request.files, jobs, record.errors, strict=True):
        entry = metadata.batch_recognize_metadata.transcription_metadata[file.uri]
        entry.uri = file.uri
        percent = 100 if job is None or job.done else job.progress_percent
        entry.progress_percent = percent
        percents.append(percent)
        failure = error or ((job.error.code, job.error.message) if job and job.error else None)
        if failure:
            entry.error.CopyFrom(status_pb2.Status(code=failure[0], message=failure[1]))
    done = record.response is not None
    metadata.progress_percent = 100 if done else min(99, sum(percents) // max(1, len(percents)))
    return metadata
