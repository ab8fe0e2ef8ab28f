"""Issue 11, finding 7: no API key or URL credential is ever written to the server's log."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Iterator

import httpx
import pytest
import websockets

from hark.cli import RedactSecrets

from conftest import Server, start_server

KEY = "k3y-SECRET-0042"
PASSWORD = "pa55-SECRET-0042"


def test_filter_redacts_queries_userinfo_and_keys() -> None:
    redact = RedactSecrets([KEY]).redact
    line = f'"WebSocket /ws/v1/speech:streamingrecognize?key={KEY}&x=1" [accepted]'
    assert redact(line) == '"WebSocket /ws/v1/speech:streamingrecognize?key=***&x=1" [accepted]'
    assert redact(f"GET http://bob:{PASSWORD}@10.0.0.1/a") == "GET http://***@10.0.0.1/a"
    assert redact(f"x-goog-api-key was {KEY}.") == "x-goog-api-key was ***."


def test_filter_rewrites_records_and_tracebacks() -> None:
    try:
        raise ValueError(f"bad {KEY}")
    except ValueError as error:
        record = logging.LogRecord(
            "uvicorn.error",
            logging.ERROR,
            "",
            0,
            "%s?key=%s",
            ("/ws", KEY),
            (ValueError, error, None),
        )
    assert RedactSecrets([KEY]).filter(record)
    assert record.getMessage() == "/ws?key=***"
    assert KEY not in (record.exc_text or "")


@pytest.fixture(scope="module")
def logging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("secrets"),
        *("--api-key", KEY, "--http-audio", "--http-allow", "127.0.0.1/32"),
        *("--log-level", "debug"),
    )
    yield running
    running.stop()


@pytest.mark.slow
async def test_server_log_holds_no_secret(logging_server: Server) -> None:
    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    try:
        ws = f"ws://127.0.0.1:{logging_server.port}/ws/v1/speech:streamingrecognize?key={KEY}"
        async with websockets.connect(ws) as socket:
            await socket.send(json.dumps({"config": {"languageCode": "en-US"}}))
            await socket.send(b"")
            async for _ in socket:
                pass
        uri = f"http://bob:{PASSWORD}@127.0.0.1:{origin.server_address[1]}/missing.wav"
        body = {"config": {"languageCode": "en-US"}, "audio": {"uri": uri}}
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(
                f"{logging_server.url}/v1/speech:recognize?key={KEY}", json=body
            )
            assert answer.status_code == 400
            await client.get(f"{logging_server.url}/v1/operations?key={KEY}")
    finally:
        origin.shutdown()
    log = logging_server.log()
    assert "WebSocket" in log and "HTTP Request" in log  # the lines that used to leak are there
    assert KEY not in log
    assert PASSWORD not in log
