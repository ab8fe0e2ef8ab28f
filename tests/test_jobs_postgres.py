"""The PostgreSQL job store on a real PostgreSQL, in process: the JobStore contract the
SQLite store keeps (test_jobs_store.py), plus the fleet's own: fenced writes by attempt,
NOTIFY on completion, migrations that can run again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from hark.errors import InvalidArgument
from hark.jobs import Job, JobError, JobState, pg_schema
from hark.jobs.fleet import FleetDatabase, FleetPolicy, FleetQueue, open_fleet
from hark.jobs.postgres import PURGE_LOCK, Listener, PostgresJobStore
from hark.speech.checkpoint import Checkpoint
from hark.speech.types import Recognition
from test_jobs_store import CONFIG, RESULT, job

pytestmark = pytest.mark.slow


@pytest.fixture
def database(postgres: Any) -> str:
    url: str = postgres.database()
    return url


@pytest.fixture
async def fleet(database: str) -> AsyncIterator[FleetDatabase]:
    assert await pg_schema.migrate(database) == (len(pg_schema.MIGRATIONS), True)
    assert await pg_schema.migrate(database) == (0, False)
    opened = await open_fleet(database)
    yield opened
    await opened.close()


@pytest.fixture
def store(fleet: FleetDatabase) -> PostgresJobStore:
    return fleet.store


async def test_jobs_round_trip_and_finish_once(store: PostgresJobStore) -> None:
    await store.create(job("1"), b"audio")
    stored = await store.get("1")
    assert stored is not None and stored.config == CONFIG and stored.state is JobState.QUEUED
    assert await store.content("1") == b"audio" and await store.get("2") is None
    assert await store.finish("1", JobState.DONE, time.time(), result=RESULT)
    assert not await store.finish("1", JobState.FAILED, time.time(), error=JobError(13, "x"))
    done = await store.get("1")
    assert done is not None and done.result == RESULT and done.progress_percent == 100
    assert await store.content("1") is None  # the audio goes with the job's end
    assert await store.count_by_state() == {"done": 1}


async def test_a_zombie_attempt_writes_nothing(store: PostgresJobStore) -> None:
    await store.create(job("7"), None)
    first = await store.begin("7", "worker-a", time.time())
    assert first is not None and first[1] == 1
    second = await store.begin("7", "worker-b", time.time())  # the job was given elsewhere
    assert second is not None and second[1] == 2
    zombie = store.fenced(1, lambda percent: None)
    owner = store.fenced(2, lambda percent: None)
    assert not await zombie.progress("7", 50, time.time())
    assert not await zombie.finish("7", JobState.DONE, time.time(), result=RESULT)
    assert not await zombie.output_failed("7", JobError(14, "gone"))
    assert not await zombie.save_checkpoint("7", Checkpoint(240.0, RESULT.results))
    assert await store.checkpoint("7") is None
    assert await owner.progress("7", 60, time.time())
    assert await owner.save_checkpoint("7", Checkpoint(120.0, RESULT.results))
    assert await store.checkpoint("7") == Checkpoint(120.0, RESULT.results)
    assert await owner.finish("7", JobState.DONE, time.time(), result=RESULT)
    assert await store.begin("7", "worker-c", time.time()) is None  # duplicate delivery
    ended = await store.get("7")
    assert ended is not None and ended.progress_percent == 100 and ended.output_error is None
    assert await store.checkpoint("7") is None  # dropped with the job's end


async def test_listing_pages_filters_and_tokens(store: PostgresJobStore) -> None:
    for number in range(1, 8):
        await store.create(job(str(number), "v1p1beta1" if number == 5 else "v1"), None)
    await store.finish("3", JobState.CANCELLED, time.time(), error=JobError(1, "Cancelled"))
    seen: list[str] = []
    token = ""
    while True:
        page = await store.list(api_version="v1", done=None, page_size=2, page_token=token)
        seen += [listed.name for listed in page.jobs]
        if not (token := page.next_token):
            break
    assert seen == ["1", "2", "3", "4", "6", "7"]
    finished = await store.list(api_version=None, done=True, page_size=10, page_token="")
    assert [listed.name for listed in finished.jobs] == ["3"]
    with pytest.raises(InvalidArgument):
        await store.list(api_version=None, done=None, page_size=2, page_token="YWZ0ZXI6Mw==")


async def test_a_completion_notifies_the_waiters(store: PostgresJobStore, database: str) -> None:
    await store.create(job("9"), None)
    listener = Listener(database)  # another process's, with no poll behind it
    waiting = asyncio.create_task(listener.wait("9", 600.0))
    while not listener.listening:
        await asyncio.sleep(0.05)
    await store.finish("9", JobState.DONE, time.time(), result=RESULT)
    await asyncio.wait_for(waiting, 60.0)  # woken by the NOTIFY, not the 600 s timeout
    await listener.close()


async def test_finished_jobs_are_purged(store: PostgresJobStore) -> None:
    await store.create(job("11"), None)
    await store.create(job("12"), None)
    await store.finish("11", JobState.DONE, 1000.0, result=RESULT)
    assert await store.purge(finished_before=2000.0) == 1
    assert await store.get("11") is None and await store.get("12") is not None


async def test_one_process_purges_at_a_time(store: PostgresJobStore, database: str) -> None:
    await store.create(job("13"), None)
    await store.finish("13", JobState.DONE, 1000.0, result=RESULT)
    async with await psycopg.AsyncConnection.connect(database) as other, other.transaction():
        await other.execute("SELECT pg_advisory_xact_lock(%s)", (PURGE_LOCK,))  # purging
        assert await store.purge(finished_before=2000.0) == 0
        assert await store.get("13") is not None
    assert await store.purge(finished_before=2000.0) == 1


async def test_a_replica_purges_finished_operations_and_their_jobs(fleet: FleetDatabase) -> None:
    policy = FleetPolicy(10, stalled_seconds=2.0, unserved="queue", retention_seconds=1.0)
    queue = FleetQueue(fleet.store, fleet.app, route=lambda config: "tiny.en", policy=policy)
    for name in ("old", "deleted", "open"):
        await queue.submit(job(name), None)
    await fleet.store.finish("old", JobState.DONE, time.time(), result=RESULT)
    await fleet.store.delete("deleted")
    async with fleet.store.pool.connection() as db:  # their jobs end, as a worker ends them
        await db.execute(
            "UPDATE procrastinate_jobs SET status = 'succeeded'"
            " WHERE args->>'name' IN ('old', 'deleted')"
        )
    assert await _jobs(fleet) == {"old": "succeeded", "deleted": "succeeded", "open": "todo"}

    async def never(_: Job) -> Recognition:
        raise AssertionError("an API replica runs no jobs")

    await queue.start(never)
    try:
        for _ in range(300):  # a hang guard, not a timing: purged within a few turns of 0.5 s
            if await fleet.store.get("old") is None and len(await _jobs(fleet)) == 1:
                break
            await asyncio.sleep(0.1)
    finally:
        await queue.close()
    assert await fleet.store.get("old") is None
    assert await fleet.store.get("open") is not None  # open operations are never purged
    assert await _jobs(fleet) == {"open": "todo"}


async def _jobs(fleet: FleetDatabase) -> dict[str, str]:
    """Procrastinate's jobs: operation name -> status."""
    async with fleet.store.pool.connection() as db:
        cursor = await db.execute("SELECT args->>'name', status FROM procrastinate_jobs")
        return {str(name): str(status) for name, status in await cursor.fetchall()}
