"""A fleet on one machine: dispatch overhead, queue latency, scaling 1 -> 2 workers, cancel.

Everything is real but the engine of parts 1 and 3: a PostgreSQL started from the machine's
binaries (tests/pg_server.py), one ``hark serve --database`` API replica, and workers that
are the real ``hark worker`` code (tests/fleet_worker.py: a fake engine for the plumbing
numbers; ``hark worker`` on tiny.en for part 2).

1. Dispatch overhead: 200 one-second jobs submitted by 8 clients at once to 2 fake workers
   (4 slots each, engine delay 0): jobs per second, submit of the first to completion of the
   last; and queue latency (Procrastinate's ``deferred`` -> ``started`` events), p50/p95,
   under that burst and for 30 jobs submitted one at a time to an idle fleet.
2. Throughput of the real model: 4 jobs of 115 s of speech (gs://), 1 worker then 2
   (``--cpu-threads 1`` each); audio seconds per wall second, and the ratio.
3. Cancel latency: a running job (fake engine, 2 s per window) cancelled through the API;
   seconds until its worker has let the job go (Procrastinate's job leaves ``doing``).
4. WaitOperation across processes: seconds from a worker's completion to the return of the
   replica's ``WaitOperation`` (LISTEN/NOTIFY; a 1 s poll behind it).

    .venv/bin/python bench/fleet.py [--parts dispatch cancel wait scaling]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import psycopg
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import corpus_file  # noqa: E402
from fleet_processes import ALICE, Fleet, migrate, tone, wait_until  # noqa: E402
from pg_server import running_postgres  # noqa: E402

SPEECH = "long_en_ljspeech_LJ001-0001-0016_16k.flac"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def done_count(database: str, names: list[str]) -> int:
    with psycopg.connect(database) as db:
        row = db.execute(
            "SELECT count(*) FROM hark_operations WHERE name = ANY(%s) AND state = 'done'",
            (names,),
        ).fetchone()
    return int(row[0]) if row else 0


def queue_latencies(database: str, names: list[str]) -> list[float]:
    """Seconds from ``deferred`` to the first ``started`` of each named operation's job."""
    with psycopg.connect(database) as db:
        rows = db.execute(
            "SELECT extract(epoch FROM min(s.at) - min(d.at))::float8"
            " FROM procrastinate_jobs j"
            " JOIN procrastinate_events d ON d.job_id = j.id AND d.type = 'deferred'"
            " JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started'"
            " WHERE j.args->>'name' = ANY(%s) GROUP BY j.id",
            (names,),
        ).fetchall()
    return [float(row[0]) for row in rows]


def dispatch(fleet: Fleet) -> None:
    for _ in range(2):
        fleet.start_worker("--slots", "4", delay=0.0)
    content = (fleet.data_dir / "one.wav").read_bytes()
    names: list[str] = []
    started = time.monotonic()
    with ThreadPoolExecutor(8) as clients:
        names = list(clients.map(lambda i: fleet.submit_inline(0, content), range(200)))
    wait_until(lambda: done_count(fleet.database, names) == len(names), 600, "burst")
    wall = time.monotonic() - started
    burst = queue_latencies(fleet.database, names)
    print(f"dispatch: {len(names)} jobs in {wall:.1f} s = {len(names) / wall:.1f} jobs/s")
    print(
        f"queue latency under the burst: p50 {percentile(burst, 0.5) * 1000:.0f} ms,"
        f" p95 {percentile(burst, 0.95) * 1000:.0f} ms"
    )
    idle: list[str] = []
    for _ in range(30):
        idle.append(fleet.submit_inline(0, content))
        wait_until(lambda: done_count(fleet.database, idle[-1:]) == 1, 60, "idle job")
    quiet = queue_latencies(fleet.database, idle)
    print(
        f"queue latency, idle fleet: p50 {percentile(quiet, 0.5) * 1000:.0f} ms,"
        f" p95 {percentile(quiet, 0.95) * 1000:.0f} ms"
    )


def cancel_latency(fleet: Fleet) -> None:
    fleet.start_worker(delay=2.0)
    uri = fleet.uri("cancel.wav", 1200.0)
    seconds: list[float] = []
    for _ in range(5):
        name = fleet.submit(0, uri)
        fleet.running_on(name)
        time.sleep(1.0)  # inside an engine call
        started = time.monotonic()
        fleet.call("POST", 0, f"operations/{name}:cancel", ALICE)
        wait_until(lambda: not job_doing(fleet.database, name), 60, "cancel")  # noqa: B023
        seconds.append(time.monotonic() - started)
    print(
        f"cancel latency (fake engine, 2 s windows): median {statistics.median(seconds):.2f} s,"
        f" max {max(seconds):.2f} s over {len(seconds)}"
    )


def wait_latency(fleet: Fleet) -> None:
    """Seconds from a worker's completion (its ``end_time``) to the return of a
    ``WaitOperation`` that the API replica was serving meanwhile."""
    fleet.start_worker(delay=0.5)
    uri = fleet.uri("wait.wav", 360.0)
    lags: list[float] = []
    with grpc.insecure_channel(fleet.apis[0].grpc_target) as channel:
        wait = channel.unary_unary(
            "/google.longrunning.Operations/WaitOperation",
            request_serializer=operations_pb2.WaitOperationRequest.SerializeToString,
            response_deserializer=operations_pb2.Operation.FromString,
        )
        for _ in range(10):
            name = fleet.submit(0, uri)
            request = operations_pb2.WaitOperationRequest(
                name=name, timeout=duration_pb2.Duration(seconds=60)
            )
            wait(request, metadata=[("x-goog-api-key", ALICE)], timeout=90)
            returned = time.time()
            with psycopg.connect(fleet.database) as db:
                row = db.execute(
                    "SELECT end_time FROM hark_operations WHERE name = %s", (name,)
                ).fetchone()
            assert row is not None and row[0] > 0
            lags.append(returned - float(row[0]))
    print(
        f"WaitOperation after another process's completion: median"
        f" {statistics.median(lags) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms over {len(lags)}"
    )


def job_doing(database: str, name: str) -> bool:
    with psycopg.connect(database) as db:
        row = db.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE args->>'name' = %s AND status = 'doing'",
            (name,),
        ).fetchone()
    return bool(row and row[0])


def scaling(fleet: Fleet) -> None:
    target = fleet.data_dir / "buckets" / "drill" / SPEECH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(corpus_file(SPEECH).read_bytes())
    real = ("--model", "tiny.en", "--cpu-threads", "1", "--hang-seconds", "600")
    rates = []
    for count in (1, 2):
        while len(fleet.live()) < count:
            fleet.start_worker(*real, fake=False)
        started = time.monotonic()
        names = [fleet.submit(0, f"gs://drill/{SPEECH}") for _ in range(4)]
        wait_until(lambda: done_count(fleet.database, names) == 4, 1200, "scaling")  # noqa: B023
        wall = time.monotonic() - started
        rates.append(4 * 115.5 / wall)
        print(
            f"tiny.en, {count} worker(s): 4 x 115 s in {wall:.1f} s = {rates[-1]:.1f} x real time"
        )
    print(f"throughput ratio 2 workers / 1: {rates[1] / rates[0]:.2f}")


def stop_workers(fleet: Fleet) -> None:
    for worker in fleet.live():
        worker.process.terminate()
        worker.process.wait(timeout=60)


PARTS = {"dispatch": dispatch, "cancel": cancel_latency, "wait": wait_latency, "scaling": scaling}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parts = parser.parse_args().parts
    with running_postgres() as server, tempfile.TemporaryDirectory() as tmp:
        assert server is not None, "PostgreSQL is not installed"
        database = server.database()
        migrate(database)
        fleet = Fleet(Path(tmp), database)
        tone(fleet.data_dir / "one.wav", 1.0, 0.3)
        try:
            fleet.start_apis(1)
            for part in parts:
                PARTS[part](fleet)
                stop_workers(fleet)
        finally:
            fleet.stop()


if __name__ == "__main__":
    main()
