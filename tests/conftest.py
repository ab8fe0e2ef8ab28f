"""Shared test fixtures: the corpus, and real Hark servers on ephemeral ports."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from wer import normalize

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("HARK_CORPUS", REPO.parent / "shared" / "corpus"))


# Without the corpus (a fresh clone), the fast tests still run: tests marked ``corpus`` are
# skipped, and modules that read it at import are not collected; the header says so.
collect_ignore = [] if CORPUS.is_dir() else ["test_audio.py"]


def pytest_report_header() -> str:
    if CORPUS.is_dir():
        return f"corpus: {CORPUS}"
    return f"corpus: missing at {CORPUS}; tests marked corpus are skipped, {collect_ignore} not run"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CORPUS.is_dir():
        return
    skip = pytest.mark.skip(reason=f"the corpus is missing at {CORPUS}")
    for item in items:
        if "corpus" in item.keywords:
            item.add_marker(skip)


def corpus_file(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.fail(f"corpus file {path} is missing: tests need ../shared/corpus beside the repo")
    return path


@functools.cache
def manifest() -> dict[str, dict[str, Any]]:
    """The corpus manifest, by file name."""
    with open(corpus_file("manifest.jsonl"), encoding="utf-8") as lines:
        return {entry["file"]: entry for entry in map(json.loads, lines)}


def reference(name: str, channel: int | None = None) -> str:
    """The normalised reference transcript of a corpus file (or of one of its channels)."""
    entry = manifest()[name]
    if channel is None:
        return str(entry["transcript_normalized"])
    return normalize(entry["channel_transcripts"][channel])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A real ``hark serve`` process."""

    process: subprocess.Popen[bytes]
    port: int
    grpc_port: int
    data_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    tmp: Path,
    *args: str,
    env: dict[str, str] | None = None,
    scheme: str = "http",
    verify: str | bool = True,
) -> Server:
    """Start ``python -m hark serve`` on free ports and wait until /healthz answers
    (over ``scheme``; ``verify`` is a CA file for a server started with TLS)."""
    port, grpc_port = free_port(), free_port()
    data_dir = tmp / "data"
    log_path = tmp / f"server-{port}.log"
    command = [
        sys.executable, "-m", "hark", "serve",
        "--port", str(port), "--grpc-port", str(grpc_port), "--data-dir", str(data_dir),
        *args,
    ]  # fmt: skip
    log_file = open(log_path, "wb")  # noqa: SIM115 - the server process owns it
    process = subprocess.Popen(
        command, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    server = Server(process, port, grpc_port, data_dir, log_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"hark serve exited with {process.returncode}:\n{server.log()}")
        try:
            health = f"{scheme}://127.0.0.1:{port}/healthz"
            if httpx.get(health, timeout=1, verify=verify).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"hark serve did not become healthy:\n{server.log()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One open Hark on the embedded model, shared by the tests of a session."""
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Hark that requires the API key ``test-key``."""
    running = start_server(tmp_path_factory.mktemp("keyed"), "--api-key", "test-key")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """One real PostgreSQL for the session (tests/pg_server.py); each fleet module makes its
    own database on it. Missing binaries skip the fleet tests, except in CI (``CI=true``),
    whose script installs them."""
    from pg_server import running_postgres

    with running_postgres() as server:
        if server is None:
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL is not installed (apt-get install -y postgresql)")
            pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
        yield server
