"""The durable job store and audio storage, without the model: claims, finishes, purges, paths."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hark.errors import InvalidArgument, NotFound
from hark.jobs import Job, JobError, JobState, serial
from hark.jobs.local import LocalJobQueue
from hark.jobs.sqlite import SqliteJobStore
from hark.settings import StorageSettings
from hark.speech.types import (
    Adaptation,
    Alternative,
    CustomClass,
    Phrase,
    Recognition,
    RecognitionConfig,
    Result,
    WordInfo,
)
from hark.storage import AudioStorage

CONFIG = RecognitionConfig(
    language_code="en-US",
    speech_contexts=(Phrase("hark", 5.0),),
    adaptation=Adaptation(
        phrase_sets=((Phrase("a"), Phrase("b", 2.0)),),
        custom_classes=(CustomClass("names", ("ann", "bob")),),
    ),
    enable_spoken_punctuation=True,
)
RESULT = Recognition(
    results=(
        Result(
            (Alternative("hello there", 0.9, (WordInfo("hello", 0.0, 0.5, 0.8),)),),
            result_end_time=1.25,
            language_code="en-us",
        ),
    ),
    total_billed_seconds=2,
    request_id=2**62,
)


def job(name: str, version: str = "v1") -> Job:
    now = time.time()
    return Job(name, version, CONFIG, uri="gs://bkt/a.flac", start_time=now, last_update_time=now)


def test_core_types_survive_json() -> None:
    assert serial.loads(RecognitionConfig, serial.dumps(CONFIG)) == CONFIG
    assert serial.loads(Recognition, serial.dumps(RESULT)) == RESULT


async def test_claim_and_finish_happen_once(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    await store.create(job("1"), None)
    await store.create(job("2"), b"inline")
    claims = await asyncio.gather(*(store.claim(time.time()) for _ in range(5)))
    assert sorted(claimed.name for claimed in claims if claimed) == ["1", "2"]
    assert await store.content("2") == b"inline"
    assert await store.finish("1", JobState.DONE, time.time(), result=RESULT)
    assert not await store.finish("1", JobState.DONE, time.time(), result=RESULT)
    cancelled = JobError(1, "Operation cancelled.")
    assert await store.finish("2", JobState.CANCELLED, time.time(), error=cancelled)
    assert not await store.progress("2", 50, time.time())  # a cancelled job takes no progress
    done = await store.get("1")
    assert done is not None and done.result == RESULT and done.progress_percent == 100
    assert await store.content("2") is None  # inline audio is dropped once the job ends
    await store.close()


async def test_running_jobs_are_requeued_after_a_crash(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    await store.create(job("7"), None)
    assert await store.claim(time.time()) is not None
    await store.close()  # the process "dies" with job 7 running
    reopened = SqliteJobStore(tmp_path / "jobs.db")
    assert await reopened.requeue_running() == 1
    claimed = await reopened.claim(time.time())
    assert claimed is not None and claimed.name == "7" and claimed.config == CONFIG
    await reopened.close()


async def test_listing_pages_and_filters(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    for index in range(5):
        await store.create(job(str(index), "v1p1beta1" if index == 4 else "v1"), None)
    await store.finish("0", JobState.DONE, time.time(), result=RESULT)
    first = await store.list(api_version="v1", done=None, page_size=2, page_token="")
    second = await store.list(api_version="v1", done=None, page_size=2, page_token=first.next_token)
    assert [j.name for j in first.jobs + second.jobs] == ["0", "1", "2", "3"]
    assert not second.next_token
    open_jobs = await store.list(api_version=None, done=False, page_size=50, page_token="")
    assert [j.name for j in open_jobs.jobs] == ["1", "2", "3", "4"]
    with pytest.raises(InvalidArgument):
        await store.list(api_version=None, done=None, page_size=2, page_token="bogus")
    await store.close()


async def test_finished_jobs_are_purged_after_retention(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    await store.create(job("old"), None)
    await store.create(job("open"), None)
    await store.finish("old", JobState.FAILED, time.time(), error=JobError(3, "bad"))
    queue = LocalJobQueue(store, workers=1, max_queue=10, retention_seconds=0.2)

    async def forever(_: Job) -> Recognition:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    await queue.start(forever)
    await asyncio.sleep(0.8)
    await queue.close()
    assert await store.get("old") is None
    still_open = await store.get("open")
    assert still_open is not None and still_open.state is JobState.RUNNING  # stays for a re-run
    await store.close()


def test_a_missing_object_logs_the_local_path_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = AudioStorage(StorageSettings(), tmp_path / "data")
    with pytest.raises(NotFound, match=r"^Requested entity was not found\.$"):
        asyncio.run(storage.check("gs://my-bucket/talk.flac"))
    expected = (tmp_path / "data" / "buckets" / "my-bucket" / "talk.flac").resolve()
    assert f"gs://my-bucket/talk.flac not found: {expected} no such file" in caplog.text


async def test_a_failed_operation_is_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    await store.create(job("doomed"), b"audio")
    queue = LocalJobQueue(store, workers=1, max_queue=10, retention_seconds=3600)

    async def refuse(_: Job) -> Recognition:
        raise InvalidArgument("Audio data does not appear to be in a supported encoding.")

    await queue.start(refuse)
    for _ in range(100):
        failed = await store.get("doomed")
        if failed is not None and failed.state is JobState.FAILED:
            break
        await asyncio.sleep(0.05)
    await queue.close()
    await store.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "operation doomed failed: INVALID_ARGUMENT"
        " Audio data does not appear to be in a supported encoding."
    ]


def test_storage_keeps_paths_inside_their_roots(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bucket = data / "buckets" / "my-bucket"
    bucket.mkdir(parents=True)
    (bucket / "ok.wav").write_bytes(b"RIFF")
    (bucket / "escape.wav").symlink_to("/etc/passwd")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "in.wav").write_bytes(b"RIFF")
    (allowed / "out.wav").symlink_to("/etc/hostname")
    storage = AudioStorage(StorageSettings(file_roots=(allowed,)), data)

    async def check(uri: str) -> None:
        await storage.check(uri)

    asyncio.run(check("gs://my-bucket/ok.wav"))
    asyncio.run(check(f"file://{allowed}/in.wav"))
    for uri in ("gs://my-bucket/../../../../etc/passwd", "gs://my-bucket/escape.wav",
                "gs://my-bucket/missing.wav", "gs://other-bucket/ok.wav"):  # fmt: skip
        with pytest.raises(NotFound, match="Requested entity was not found"):
            asyncio.run(check(uri))
    for uri in ("file:///etc/passwd", f"file://{allowed}/out.wav", f"file://{allowed}/../x",
                "ftp://host/a.wav", "gs://b/a.wav", "s3://bucket/a.wav"):  # fmt: skip
        with pytest.raises(InvalidArgument, match="Request contains an invalid argument"):
            asyncio.run(check(uri))
