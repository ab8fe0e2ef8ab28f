"""Test helper: a fleet of real processes on one real PostgreSQL. API replicas are
``hark serve --database`` (tiny.en loaded for validation and sync calls); workers are
``tests/fleet_worker.py`` (the real worker over a deterministic fake engine) or, for the
end-to-end run, ``hark worker`` itself. Processes are handled by PID only."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest

from conftest import Server, start_server

ALICE = "alice-key-0001"
BOB = "bob-key-0002"
KEYS = ("--api-key", f"alice={ALICE}", "--api-key", f"bob={BOB}")
BUCKET = "drill"
CLOCKS = ("--heartbeat-seconds", "0.5", "--stalled-seconds", "2")
"""Fast clocks: a dead worker is found within about 2.5 s."""
API_FLAGS = ("--stalled-seconds", "2", "--job-queue", "1000")
WORKER_FLAGS = (
    *CLOCKS, "--max-attempts", "2", "--hang-seconds", "15", "--shutdown-grace-seconds", "5"
)  # fmt: skip
"""The hang watchdog at 15 s: with several windows of a file in flight (continuous batching),
a loaded machine's step can pass 4 s, and a watchdog that fires then kills healthy workers."""
FAKE = str(Path(__file__).parent / "fleet_worker.py")


def tone(path: Path, seconds: float, peak: float) -> None:
    """A 16 kHz WAV of 220 Hz bursts (1.2 s on, 0.8 s off) at ``peak``."""
    rate = 16_000
    t = np.arange(int(rate * seconds)) / rate
    samples = peak * np.sin(2 * np.pi * 220 * t) * ((t % 2) < 1.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def started(self) -> bool:
        """Whether it serves (it logs a line then); a worker that exited fails the test."""
        assert self.process.poll() is None, self.log()
        return "Hark worker" in self.log()


@dataclass
class Fleet:
    """Two API replicas and any number of workers on one database and one data dir."""

    tmp: Path
    database: str
    apis: list[Server] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    """Every worker started, dead ones too (their logs count completions)."""

    @property
    def data_dir(self) -> Path:
        return self.tmp / "data"

    def start_apis(self, count: int = 2) -> None:
        with ThreadPoolExecutor(count) as starting:  # each loads tiny.en: at once
            started = starting.map(
                lambda _: start_server(self.tmp, "--database", self.database, *KEYS, *API_FLAGS),
                range(count),
            )
            self.apis.extend(started)

    def start_worker(
        self, *args: str, fake: bool = True, delay: float = 1.0, wait: bool = True
    ) -> Worker:
        number = len(self.workers)
        log_path = self.tmp / f"worker-{number}.log"
        program = [sys.executable, FAKE] if fake else [sys.executable, "-m", "hark", "worker"]
        command = [
            *program, "--database", self.database, "--data-dir", str(self.data_dir),
            *WORKER_FLAGS, *args,
        ]  # fmt: skip
        env = {**os.environ, "HARK_FAKE_DELAY": str(delay)}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        worker = Worker(process, log_path)
        self.workers.append(worker)
        if wait:
            wait_until(worker.started, 60, "worker not started")
        return worker

    def live(self) -> list[Worker]:
        return [worker for worker in self.workers if worker.process.poll() is None]

    def ensure_workers(self, count: int) -> list[Worker]:
        """Start workers (at once) until ``count`` live."""
        started = [self.start_worker(wait=False) for _ in range(count - len(self.live()))]
        for worker in started:
            wait_until(worker.started, 60, "worker not started")
        return self.live()

    def signal(self, worker: Worker, signum: signal.Signals) -> None:
        os.kill(worker.pid, signum)
        if signum in {signal.SIGKILL, signal.SIGTERM}:
            worker.process.wait(timeout=60)

    def stop(self) -> None:
        for worker in self.live():
            os.kill(worker.pid, signal.SIGCONT)
            worker.process.terminate()
        for worker in self.workers:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        for api in self.apis:
            api.stop()

    # -- the API, as a client sees it

    def uri(self, name: str, seconds: float, peak: float = 0.3) -> str:
        path = self.data_dir / "buckets" / BUCKET / name
        if not path.exists():
            tone(path, seconds, peak)
        return f"gs://{BUCKET}/{name}"

    def submit(self, api: int, uri: str, key: str = ALICE, **config: Any) -> str:
        body = {"config": {"languageCode": "en-US", **config}, "audio": {"uri": uri}}
        reply = self.call("POST", api, "speech:longrunningrecognize", key, json=body)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["name"])

    def submit_inline(self, api: int, content: bytes, key: str = ALICE) -> str:
        audio = {"content": base64.b64encode(content).decode()}
        body = {"config": {"languageCode": "en-US"}, "audio": audio}
        reply = self.call("POST", api, "speech:longrunningrecognize", key, json=body)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["name"])

    def operation(self, api: int, name: str, key: str = ALICE) -> dict[str, Any]:
        reply = self.call("GET", api, f"operations/{name}", key)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def call(
        self,
        method: str,
        api: int,
        path: str,
        key: str,
        params: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        url = f"{self.apis[api].url}/v1/{path}"
        return httpx.request(
            method, url, params={"key": key, **(params or {})}, timeout=30, **kwargs
        )

    def done(self, name: str, api: int = 0, timeout: float = 60) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def finished() -> bool:
            found.update(self.operation(api, name))
            return bool(found.get("done"))

        wait_until(finished, timeout, f"operation {name} not done")
        return found

    # -- what only the database and the logs show

    def row(self, name: str) -> dict[str, Any]:
        with psycopg.connect(self.database) as db:
            cursor = db.execute(
                "SELECT state, attempt, worker, progress FROM hark_operations WHERE name = %s",
                (name,),
            )
            row = cursor.fetchone()
        assert row is not None, f"no operation {name}"
        return dict(zip(("state", "attempt", "worker", "progress"), row, strict=True))

    def running_on(self, name: str, timeout: float = 30) -> Worker:
        """The worker running ``name`` once it has started it."""
        wait_until(lambda: self.row(name)["state"] == "running", timeout, f"{name} not running")
        pid = int(self.row(name)["worker"].rsplit(":", 1)[1])
        return next(worker for worker in self.workers if worker.pid == pid)

    def completions(self, name: str) -> int:
        """How many workers completed ``name`` (the fenced completion matched its row)."""
        return sum(worker.log().count(f"operation {name}: completed") for worker in self.workers)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` s (a hang guard, not a timing)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} after {timeout} s")
        time.sleep(0.1)


def migrate(database: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "hark", "db", "migrate", "--database", database],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
