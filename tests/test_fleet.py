"""The fleet's failure drills: 2 API replicas and 3 workers on a real PostgreSQL, workers
SIGKILLed, SIGSTOPped, SIGTERMed, the database restarted, jobs duplicated, poisoned and hung.

Workers run the real worker over a deterministic fake engine (tests/fleet_worker.py): each
engine call takes 1 s, a 360 s file is 3 windows. The pass criteria are the issue's:
every operation completes exactly once (counted from the workers' own logs of fenced
completions that matched), none is lost, a zombie's writes change nothing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx
import procrastinate
import psycopg
import pytest
from google.cloud import speech_v1
from google.cloud.speech_v1.services.speech.transports import SpeechGrpcTransport
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2

from conftest import corpus_file, reference
from fleet_processes import ALICE, BOB, Fleet, migrate, wait_until
from wer import wer

pytestmark = pytest.mark.slow

REAL = "en_librispeech_1089-134686-0000.flac"
LONG = 360.0
"""Seconds of audio in a drill job: 3 windows, about 3 s of fake decoding."""


@pytest.fixture(scope="module")
def fleet(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    database = postgres.database()
    assert "2 Hark migration(s) applied" in migrate(database)
    assert "0 Hark migration(s) applied" in migrate(database)  # idempotent
    running = Fleet(tmp_path_factory.mktemp("fleet"), database)
    try:
        running.start_apis(2)
        running.ensure_workers(3)
        yield running
    finally:
        running.stop()


def test_created_on_one_replica_run_once_seen_on_the_other(fleet: Fleet) -> None:
    name = fleet.submit(0, fleet.uri("plain.wav", LONG))
    done = fleet.done(name, api=1)
    assert done["response"]["results"] and done["metadata"]["progressPercent"] == 100
    assert fleet.completions(name) == 1 and fleet.row(name)["attempt"] == 1


def test_operator_sees_workers_and_queues(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    metrics = httpx.get(f"{fleet.apis[1].url}/metrics", timeout=30).text
    assert 'hark_fleet_workers{health="alive"} 3.0' in metrics
    assert 'hark_fleet_jobs{model="tiny.en",state="waiting"}' in metrics
    command = [sys.executable, "-m", "hark", "jobs", "--database", fleet.database]
    listed = subprocess.run(
        [*command, "--stalled-seconds", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count(" alive") == 3 and "\ntiny.en  0  0" in listed.stdout


def test_google_clients_on_one_replica_see_operations_of_the_other(fleet: Fleet) -> None:
    created = speech_v1.SpeechClient(
        transport="rest", client_options={"api_endpoint": fleet.apis[0].url, "api_key": ALICE}
    ).long_running_recognize(
        config=speech_v1.RecognitionConfig(language_code="en-US"),
        audio=speech_v1.RecognitionAudio(uri=fleet.uri("plain.wav", LONG)),
    )
    name = created.operation.name
    over_rest = speech_v1.SpeechClient(
        transport="rest", client_options={"api_endpoint": fleet.apis[1].url, "api_key": ALICE}
    )
    assert over_rest.transport.operations_client.get_operation(name).name == name
    channel = grpc.insecure_channel(fleet.apis[1].grpc_target)
    over_grpc = speech_v1.SpeechClient(transport=SpeechGrpcTransport(channel=channel))
    # A new metadata list for each call: OperationsClient.get_operation appends its routing
    # header to the list it is given, so a shared one grows by an entry per poll, and past
    # gRPC's 8 KB of request metadata the server refuses calls RESOURCE_EXHAUSTED (its message,
    # listing the keys, too long to send: the client sees no details).
    wait_until(
        lambda: (
            over_grpc.transport.operations_client.get_operation(
                name, metadata=[("x-goog-api-key", ALICE)]
            ).done
        ),
        60,
        "not done over gRPC",
    )
    assert created.result(timeout=60).results  # type: ignore[no-untyped-call]  # polls replica 0


def test_wait_operation_on_one_replica_returns_when_another_finishes(fleet: Fleet) -> None:
    name = fleet.submit(0, fleet.uri("plain.wav", LONG))
    with grpc.insecure_channel(fleet.apis[1].grpc_target) as channel:
        wait = channel.unary_unary(
            "/google.longrunning.Operations/WaitOperation",
            request_serializer=operations_pb2.WaitOperationRequest.SerializeToString,
            response_deserializer=operations_pb2.Operation.FromString,
        )
        request = operations_pb2.WaitOperationRequest(
            name=name, timeout=duration_pb2.Duration(seconds=120)
        )
        operation = wait(request, metadata=[("x-goog-api-key", ALICE)], timeout=150)
    assert operation.done and operation.HasField("response")


def test_worker_killed_mid_job_completes_once_elsewhere(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    name = fleet.submit(0, fleet.uri("kill.wav", LONG))
    victim = fleet.running_on(name)
    wait_until(lambda: fleet.row(name)["progress"] >= 30, 30, "no progress")
    fleet.signal(victim, signal.SIGKILL)
    fleet.done(name, api=1)
    assert fleet.completions(name) == 1
    row = fleet.row(name)
    assert row["attempt"] == 2 and row["worker"] != f"{victim.pid}"


def test_worker_killed_after_a_window_resumes_past_it(fleet: Fleet) -> None:
    # 7 windows, 4 of them recognised at once (continuous batching's cursors): later windows
    # may finish before earlier ones, and a checkpoint covers only those finished in order.
    # The worker dies after the first checkpoint; the retry, elsewhere, resumes past it, and
    # the result is the one an uninterrupted run of the same audio gives.
    fleet.ensure_workers(3)
    uri = fleet.uri("resume.wav", 840.0)
    name = fleet.submit(0, uri)
    victim = fleet.running_on(name)
    wait_until(lambda: _checkpoint(fleet, name) > 0, 90, "no checkpoint")
    fleet.signal(victim, signal.SIGKILL)
    resumed = fleet.done(name, api=1, timeout=120)
    assert fleet.completions(name) == 1 and fleet.row(name)["attempt"] == 2
    logs = [w for w in fleet.workers if f"operation {name}: resuming at" in w.log()]
    assert len(logs) == 1 and logs[0].pid != victim.pid
    whole = fleet.done(fleet.submit(1, uri), api=0, timeout=120)
    assert resumed["response"]["results"] == whole["response"]["results"]
    assert resumed["response"]["totalBilledTime"] == whole["response"]["totalBilledTime"]


def _checkpoint(fleet: Fleet, name: str) -> float:
    """The offset of the operation's stored checkpoint (0 while it has none)."""
    with psycopg.connect(fleet.database) as db:
        row = db.execute(
            "SELECT checkpoint::json->>'offset' FROM hark_operations WHERE name = %s", (name,)
        ).fetchone()
    return float(row[0]) if row and row[0] else 0.0


def test_all_workers_killed_with_four_in_flight(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    names = [fleet.submit(index % 2, fleet.uri("four.wav", LONG)) for index in range(4)]
    wait_until(lambda: sum(fleet.row(n)["state"] == "running" for n in names) >= 3, 30)
    for worker in fleet.live():
        fleet.signal(worker, signal.SIGKILL)
    fleet.ensure_workers(3)
    for name in names:
        assert "response" in fleet.done(name, timeout=90)
    assert [fleet.completions(name) for name in names] == [1, 1, 1, 1]


def test_zombie_wakes_up_and_its_writes_are_rejected(fleet: Fleet) -> None:
    for worker in fleet.live():  # the zombie must be the one that takes the job
        fleet.signal(worker, signal.SIGTERM)
    # Paused longer than the drills' 4 s watchdog, which would otherwise end it on waking.
    zombie = fleet.start_worker("--hang-seconds", "120")
    name = fleet.submit(0, fleet.uri("zombie.wav", LONG))
    assert fleet.running_on(name) is zombie
    fleet.signal(zombie, signal.SIGSTOP)
    try:
        fleet.ensure_workers(3)
        done = fleet.done(name, api=1)
    finally:
        fleet.signal(zombie, signal.SIGCONT)
    wait_until(lambda: f"operation {name}: attempt 1's" in zombie.log(), 30, "zombie silent")
    assert "discarded" in zombie.log()
    assert fleet.completions(name) == 1 and fleet.row(name)["attempt"] == 2
    assert fleet.done(name, api=0) == done


def test_postgres_restarted_mid_job(fleet: Fleet, postgres: Any) -> None:
    fleet.ensure_workers(3)
    name = fleet.submit(0, fleet.uri("restart.wav", LONG))
    fleet.running_on(name)
    postgres.restart()
    assert "response" in fleet.done(name, api=1, timeout=90)
    assert fleet.completions(name) == 1
    assert len(fleet.live()) >= 3  # the workers rode it out


def test_cancel_and_delete_across_replicas(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    cancelled = fleet.submit(0, fleet.uri("cancel.wav", 1200.0))
    worker = fleet.running_on(cancelled)
    reply = fleet.call("POST", 1, f"operations/{cancelled}:cancel", ALICE)
    assert reply.status_code == 200
    assert fleet.operation(0, cancelled)["error"]["code"] == 1  # CANCELLED at once
    deleted = fleet.submit(1, fleet.uri("cancel.wav", 1200.0))
    fleet.running_on(deleted)
    assert fleet.call("DELETE", 0, f"operations/{deleted}", ALICE).status_code == 200
    assert fleet.call("GET", 1, f"operations/{deleted}", ALICE).status_code == 404
    # Both workers stop within about a window and take the next job.
    follow = [fleet.submit(0, fleet.uri("plain.wav", LONG)) for _ in range(3)]
    for name in follow:
        fleet.done(name)
    assert f"operation {cancelled}: completed" not in worker.log()
    assert fleet.completions(cancelled) == 0 and fleet.completions(deleted) == 0


def test_poison_job_fails_after_max_attempts(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    name = fleet.submit(0, fleet.uri("poison.wav", 30.0, peak=0.95))
    done = fleet.done(name, timeout=60)
    assert done["error"]["code"] == 13 and "lost 2 times" in done["error"]["message"]
    fleet.ensure_workers(3)
    assert "response" in fleet.done(fleet.submit(1, fleet.uri("plain.wav", LONG)))


def test_hung_engine_exits_its_worker(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    name = fleet.submit(0, fleet.uri("hang.wav", 30.0, peak=0.8))
    hung = fleet.running_on(name)
    wait_until(lambda: hung.process.poll() is not None, 60, "the watchdog did not fire")
    assert hung.process.returncode == 70 and "the engine hangs" in hung.log()
    # Retried elsewhere (where it would hang again): stop it there for the next drills.
    wait_until(lambda: fleet.row(name)["attempt"] == 2, 30, "not retried")
    again = fleet.running_on(name)
    fleet.call("POST", 1, f"operations/{name}:cancel", ALICE)
    fleet.signal(again, signal.SIGKILL)


def test_sigterm_past_the_grace_puts_the_job_back(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    name = fleet.submit(0, fleet.uri("cancel.wav", 1200.0))  # 10 windows: past the 5 s grace
    leaving = fleet.running_on(name)
    fleet.signal(leaving, signal.SIGTERM)
    assert leaving.process.returncode == 0
    assert f"operation {name}: put back in the queue" in leaving.log()
    assert "response" in fleet.done(name, timeout=90)
    assert fleet.completions(name) == 1 and fleet.row(name)["attempt"] == 2


async def test_duplicate_delivery_completes_once(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    name = fleet.submit(0, fleet.uri("duplicate.wav", LONG))
    fleet.running_on(name)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=fleet.database))
    async with app.open_async():
        await app.configure_task("hark.recognize", queue="asr.tiny.en").defer_async(name=name)
    fleet.done(name)
    wait_until(lambda: fleet.row(name)["attempt"] == 2, 30, "the duplicate never ran")
    assert fleet.completions(name) == 1


def test_flooding_key_does_not_starve_another(fleet: Fleet) -> None:
    fleet.ensure_workers(3)
    flood = [fleet.submit(0, fleet.uri("plain.wav", LONG), key=ALICE) for _ in range(9)]
    late = fleet.submit(1, fleet.uri("plain.wav", LONG), key=BOB)
    fleet.running_on(late)
    waiting = sum(fleet.row(name)["state"] == "queued" for name in flood)
    assert waiting >= 3, "bob's job waited behind alice's backlog"
    for name in flood:
        fleet.done(name, timeout=120)


def test_listing_while_operations_complete(fleet: Fleet) -> None:
    # Late in the module: the jobs left queued need not be cleared, since the drills after
    # it stop the workers, and a new key's job (rank 0) goes before bob's backlog.
    fleet.ensure_workers(3)
    uri = fleet.uri("short.wav", 2.0)
    with ThreadPoolExecutor(8) as clients:
        created = list(clients.map(lambda i: fleet.submit(i % 2, uri, key=BOB), range(200)))
    seen: list[str] = []
    token = ""
    while True:
        params = {"pageSize": "7", **({"pageToken": token} if token else {})}
        reply = fleet.call("GET", len(seen) % 2, "operations", BOB, params=params)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        seen += [operation["name"] for operation in page.get("operations", [])]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert len(seen) == len(set(seen)) and set(created) <= set(seen)
    bad = fleet.call("GET", 0, "operations", BOB, params={"pageToken": "bm9wZQ=="})
    assert bad.status_code == 400


def test_no_worker_for_the_model(fleet: Fleet, tmp_path: Path) -> None:
    for worker in fleet.live():
        fleet.signal(worker, signal.SIGTERM)  # graceful: each removes its heartbeat row
    reply = fleet.call(
        "POST",
        0,
        "speech:longrunningrecognize",
        ALICE,
        json={"config": {"languageCode": "en-US"}, "audio": {"uri": fleet.uri("plain.wav", 1)}},
    )
    assert reply.status_code == 400 and reply.json()["error"]["status"] == "FAILED_PRECONDITION"
    fleet.ensure_workers(1)


def test_end_to_end_on_the_real_model(fleet: Fleet) -> None:
    for worker in fleet.live():  # the fake ones: the real worker must take the job
        fleet.signal(worker, signal.SIGKILL)
    real = ("--model", "tiny.en", "--cpu-threads", "1", "--hang-seconds", "300")
    fleet.start_worker(*real, fake=False)
    target = fleet.data_dir / "buckets" / "drill" / REAL
    target.write_bytes(corpus_file(REAL).read_bytes())
    name = fleet.submit(0, f"gs://drill/{REAL}", enableWordTimeOffsets=True)
    done = fleet.done(name, api=1, timeout=180)
    text = " ".join(r["alternatives"][0]["transcript"] for r in done["response"]["results"])
    assert wer(reference(REAL), text) <= 0.2
    assert fleet.completions(name) == 1
