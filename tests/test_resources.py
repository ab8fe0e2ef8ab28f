"""Stored resources (``hark.resources``): names, etags, soft delete and expiry, pages,
isolation by project and location, and durability across a reopened store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hark.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from hark.resources.lifecycle import RETENTION_SECONDS, Resources
from hark.resources.names import ResourceName, new_name, parse_name, parse_parent
from hark.resources.sqlite import SqliteResourceStore

ON_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures

PARENT = "projects/p/locations/global"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def resources(tmp_path: Path, clock: Clock) -> AsyncIterator[Resources]:
    store = SqliteResourceStore(tmp_path / "resources.sqlite3")
    yield Resources(store, clock)
    await store.close()


def named(resource_id: str, parent: str = PARENT) -> ResourceName:
    return new_name(parent, "recognizers", resource_id, "recognizer_id")


@pytest.mark.parametrize(
    "text",
    [
        "recognizers/abcd",
        "projects/p/locations/global/recognizers/",
        "projects/p/locations/global/recognizers/UPPER",
        "projects/p/locations/global/recognizers/abc",
        "projects//locations/global/recognizers/abcd",
        "projects/p/locations/global/phraseSets/abcd",
    ],
)
def test_malformed_names_are_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgument, match="Invalid resource name"):
        parse_name(text, "recognizers")


def test_names_parse_and_print_back() -> None:
    name = parse_name(f"{PARENT}/recognizers/my-recognizer", "recognizers")
    assert (name.project, name.location, name.resource_id) == ("p", "global", "my-recognizer")
    assert str(name) == f"{PARENT}/recognizers/my-recognizer"
    assert parse_name(f"{PARENT}/recognizers/_", "recognizers").implicit
    assert parse_parent(PARENT) == PARENT
    with pytest.raises(InvalidArgument, match="recognizer_id"):
        new_name(PARENT, "recognizers", "_", "recognizer_id")


@ON_SESSION_LOOP
async def test_create_get_and_conflicting_create(resources: Resources) -> None:
    created = await resources.create(named("first"), b"payload")
    assert (await resources.get(named("first"))).payload == b"payload"
    assert created.etag
    with pytest.raises(AlreadyExists, match="already exists"):
        await resources.create(named("first"), b"other")
    with pytest.raises(NotFound, match="Requested entity was not found"):
        await resources.get(named("missing"))


@ON_SESSION_LOOP
async def test_update_checks_the_etag_and_changes_it(resources: Resources, clock: Clock) -> None:
    created = await resources.create(named("first"), b"one")
    clock.now += 1
    with pytest.raises(Aborted, match="etag"):
        await resources.update(named("first"), lambda _: b"two", etag="stale")
    updated = await resources.update(named("first"), lambda old: old + b"+two", created.etag)
    assert updated.payload == b"one+two"
    assert updated.etag != created.etag
    with pytest.raises(Aborted):  # the first etag is stale now
        await resources.update(named("first"), lambda _: b"three", created.etag)


@ON_SESSION_LOOP
async def test_soft_delete_undelete_and_expiry(resources: Resources, clock: Clock) -> None:
    await resources.create(named("first"), b"one")
    deleted = await resources.delete(named("first"))
    assert deleted.deleted and deleted.expire_time == clock.now + RETENTION_SECONDS
    assert (await resources.get(named("first"))).deleted  # Get still sees it
    with pytest.raises(FailedPrecondition, match="deleted"):
        await resources.active(named("first"))
    with pytest.raises(NotFound):
        await resources.delete(named("first"))
    assert not (await resources.list(PARENT, "recognizers", 0, "", False)).resources
    assert (await resources.list(PARENT, "recognizers", 0, "", True)).resources
    restored = await resources.undelete(named("first"))
    assert not restored.deleted and restored.expire_time == 0
    with pytest.raises(FailedPrecondition, match="not deleted"):
        await resources.undelete(named("first"))
    await resources.delete(named("first"))
    clock.now += RETENTION_SECONDS + 1
    with pytest.raises(NotFound):  # purged at its expire_time
        await resources.get(named("first"))
    await resources.create(named("first"), b"again")  # the name is free again


@ON_SESSION_LOOP
async def test_pages_and_isolation(resources: Resources) -> None:
    for index in range(7):
        await resources.create(named(f"rec-{index}"), b"x")
    await resources.create(named("rec-0", "projects/other/locations/global"), b"y")
    await resources.create(named("rec-0", "projects/p/locations/us-central1"), b"z")
    first = await resources.list(PARENT, "recognizers", 0, "", False)
    assert len(first.resources) == 5 and first.next_page_token
    second = await resources.list(PARENT, "recognizers", 0, first.next_page_token, False)
    assert [r.name.rpartition("/")[2] for r in second.resources] == ["rec-5", "rec-6"]
    assert not second.next_page_token
    other = await resources.list("projects/other/locations/global", "recognizers", 10, "", False)
    assert [r.payload for r in other.resources] == [b"y"]
    with pytest.raises(NotFound):
        await resources.get(named("rec-1", "projects/other/locations/global"))
    with pytest.raises(InvalidArgument, match="page token"):
        await resources.list(PARENT, "recognizers", 0, "garbage", False)


@ON_SESSION_LOOP
async def test_resources_survive_a_reopened_store(tmp_path: Path, clock: Clock) -> None:
    store = SqliteResourceStore(tmp_path / "resources.sqlite3")
    created = await Resources(store, clock).create(named("kept"), b"durable")
    await store.close()
    reopened = SqliteResourceStore(tmp_path / "resources.sqlite3")
    found = await Resources(reopened, clock).get(named("kept"))
    await reopened.close()
    assert (found.payload, found.etag) == (b"durable", created.etag)
