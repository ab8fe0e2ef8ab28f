"""http(s):// audio URIs (issue 11, finding 2): off by default, an address policy checked on
every hop and pinned for the connection, one deadline, a size cap while streaming, one
generic error text. Storage in process against a local HTTP origin; one real server at the end.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hark.errors import InvalidArgument
from hark.fetch import AddressPolicy, redact
from hark.settings import StorageSettings
from hark.storage import FETCH_FAILED, INVALID, AudioStorage

from conftest import Server, corpus_file, free_port, start_server

WAV = b"RIFF" + b"\0" * 60


class _Origin(http.server.BaseHTTPRequestHandler):
    """``/audio``: 64 bytes; ``/redirect?to=URL``: 302; ``/endless``: chunked forever;
    ``/slow``: one byte a second; ``/missing``: 404. ``sent`` counts body bytes written."""

    sent = 0

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/audio":
            self._reply(200, WAV)
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query.removeprefix("to="))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/endless":
            self.send_response(200)
            self.end_headers()  # no length: the body ends when the connection does
            with contextlib.suppress(OSError):
                for _ in range(10_000):
                    self.wfile.write(b"\0" * 65536)
                    type(self).sent += 65536
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(1000):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    time.sleep(1)
        else:
            self._reply(404, b"no")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def storage(tmp_path: Path, **settings: object) -> AudioStorage:
    return AudioStorage(StorageSettings(**settings), tmp_path)  # type: ignore[arg-type]


async def test_http_uris_are_refused_by_default(tmp_path: Path, origin: str) -> None:
    with pytest.raises(InvalidArgument, match=INVALID):
        await storage(tmp_path).read(f"{origin}/audio")


async def test_allowed_origin_is_fetched(tmp_path: Path, origin: str) -> None:
    fetched = await storage(tmp_path, http_audio=True, http_allow=("127.0.0.1/32",)).read(
        f"{origin}/audio"
    )
    assert fetched == WAV


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "169.254.169.254",
        "10.1.2.3",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
    ],
)
async def test_internal_addresses_are_refused_with_one_text(tmp_path: Path, host: str) -> None:
    # Port 9 (discard) is closed here, the origin's port open: the answer must not differ.
    store = storage(tmp_path, http_audio=True, http_timeout_seconds=5)
    with pytest.raises(InvalidArgument) as refused:
        await store.read(f"http://{host}:9/a.wav")
    assert refused.value.message == FETCH_FAILED


@pytest.mark.parametrize("uri", ["http://[::1/a.wav", "gs://[bkt/o", "https://exa mple.com/"])
async def test_malformed_uris_are_invalid_argument(tmp_path: Path, uri: str) -> None:
    store = storage(tmp_path, http_audio=True, http_timeout_seconds=5)
    with pytest.raises(InvalidArgument):
        await store.read(uri)


async def test_closed_and_open_ports_answer_alike(tmp_path: Path, origin: str) -> None:
    store = storage(tmp_path, http_audio=True, http_allow=("127.0.0.0/8",))
    answers = []
    for url in (f"http://127.0.0.1:{free_port()}/x", f"{origin}/missing"):
        with pytest.raises(InvalidArgument) as failed:
            await store.read(url)
        answers.append((failed.value.code, failed.value.message))
    assert answers[0] == answers[1] == (answers[0][0], FETCH_FAILED)


async def test_every_redirect_is_checked(tmp_path: Path, origin: str) -> None:
    store = storage(tmp_path, http_audio=True, http_allow=("127.0.0.1/32",))
    port = origin.rsplit(":", 1)[1]
    assert await store.read(f"{origin}/redirect?to=/audio") == WAV  # same host: followed
    # 127.0.0.2 is loopback too, but outside the allow-list: refused, not connected.
    with pytest.raises(InvalidArgument, match=FETCH_FAILED):
        await store.read(f"{origin}/redirect?to=http://127.0.0.2:{port}/audio")
    with pytest.raises(InvalidArgument, match=FETCH_FAILED):
        await store.read(f"{origin}/redirect?to=http://169.254.169.254/latest/meta-data/")


async def test_size_cap_applies_while_streaming(tmp_path: Path, origin: str) -> None:
    store = storage(tmp_path, http_audio=True, http_allow=("127.0.0.1/32",), http_max_bytes=1 << 20)
    before = _Origin.sent
    async with contextlib.AsyncExitStack() as stack:
        with pytest.raises(InvalidArgument, match="larger than 1048576 bytes"):
            await stack.enter_async_context(store.open(f"{origin}/endless"))
    # The origin writes into socket buffers ahead of the reader; far less than its 640 MB.
    assert _Origin.sent - before < 64 << 20
    assert not list((tmp_path / "tmp").iterdir())


async def test_one_deadline_for_the_whole_fetch(tmp_path: Path, origin: str) -> None:
    store = storage(
        tmp_path, http_audio=True, http_allow=("127.0.0.1/32",), http_timeout_seconds=1.5
    )
    started = time.monotonic()
    with pytest.raises(InvalidArgument, match=FETCH_FAILED):
        await store.read(f"{origin}/slow")
    assert time.monotonic() - started < 60  # a hang guard; the deadline itself is 1.5 s


async def test_the_checked_address_is_the_one_connected(
    tmp_path: Path, origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once; a second answer is never asked for."""
    port = int(origin.rsplit(":", 1)[1])
    answers = iter(["127.0.0.1", "10.9.9.9"])
    calls = []

    def resolve(host: str, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    store = storage(tmp_path, http_audio=True, http_allow=("127.0.0.1/32",))
    assert await store.read(f"http://rebind.example:{port}/audio") == WAV
    assert calls == ["rebind.example"]


def test_policy_and_redaction() -> None:
    policy = AddressPolicy(["10.0.0.0/8"])
    assert policy.permits(ipaddress.ip_address("10.1.2.3"))
    assert policy.permits(ipaddress.ip_address("8.8.8.8"))
    for refused in ("192.168.1.1", "100.100.100.200", "fd00:ec2::254", "224.0.0.1", "::"):
        assert not policy.permits(ipaddress.ip_address(refused)), refused
    assert redact("https://user:pw@example.com/a?b") == "https://***@example.com/a?b"
    with pytest.raises(ValueError):
        AddressPolicy(["not-a-network"])


@pytest.fixture(scope="module")
def fetching_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("fetching"), "--http-audio", "--http-allow", "127.0.0.1/32"
    )
    yield running
    running.stop()


class _Corpus(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.slow
@pytest.mark.corpus
def test_real_server_fetches_only_what_it_may(fetching_server: Server) -> None:
    wav = corpus_file("en_librispeech_1272-128104-0000.wav")
    handler = lambda *a: _Corpus(*a, directory=str(wav.parent))  # noqa: E731
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    try:
        url = f"{fetching_server.url}/v1/speech:recognize"
        config = {"languageCode": "en-US"}
        allowed = f"http://127.0.0.1:{files.server_address[1]}/{wav.name}"
        answer = httpx.post(url, json={"config": config, "audio": {"uri": allowed}}, timeout=120)
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"]
        for refused in (
            f"http://127.0.0.2:{files.server_address[1]}/{wav.name}",
            "http://169.254.169.254/",
        ):
            answer = httpx.post(url, json={"config": config, "audio": {"uri": refused}}, timeout=60)
            assert answer.status_code == 400
            assert answer.json()["error"]["message"] == FETCH_FAILED
    finally:
        files.shutdown()
    assert "Traceback" not in fetching_server.log()
