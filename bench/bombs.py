"""Decode bombs against a real ``hark serve`` (issue 11): peak RSS above rest and CPU seconds.

Starts ``python -m hark serve`` (from this tree, or from ``--src DIR``, e.g. main's sources
extracted with ``git archive``), warms it with one real request, then sends each bomb alone and
measures the server from /proc: peak resident memory (VmHWM, reset before each bomb) above the
resident memory before it, and CPU seconds (user + system) until the answer. Then 8 of a bomb
at once. The bombs are built byte by byte in tests/audio_bombs.py.

    .venv/bin/python bench/bombs.py                  # this tree
    .venv/bin/python bench/bombs.py --src /tmp/hark-main/src --only wav-1hz,ws-flac-2kb

Aim (issue 11): no input under 1 MB costs more than 100 MB above rest or 2 s of CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from audio_bombs import flac_constant, wav_at, wav_list_chunk
from audio_samples import tone, wav_bytes
from proc_usage import measure, threads

Outcome = str
Bomb = Callable[[str], Outcome]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(src: Path | None, tmp: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environ = {**os.environ, **env}
    if src is not None:
        environ["PYTHONPATH"] = str(src)
    command = [
        sys.executable, "-m", "hark", "serve", "--port", str(port),
        "--grpc-port", str(free_port()), "--data-dir", str(tmp / "data"),
    ]  # fmt: skip
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - the server process owns it
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environ)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("hark serve did not start: see " + str(tmp / "server.log"))


def recognize(url: str, content: bytes, config: dict[str, Any]) -> Outcome:
    body = {"config": config, "audio": {"content": base64.b64encode(content).decode()}}
    reply = httpx.post(f"{url}/v1/speech:recognize", json=body, timeout=600)
    text = reply.json().get("error", {}).get("message", "ok")
    return f"{reply.status_code} {text[:60]}"


def long_running(url: str, content: bytes) -> Outcome:
    body = {
        "config": {"languageCode": "en-US"},
        "audio": {"content": base64.b64encode(content).decode()},
    }
    reply = httpx.post(f"{url}/v1/speech:longrunningrecognize", json=body, timeout=60).json()
    if "error" in reply:
        return f"submit: {reply['error']['message'][:60]}"
    while True:
        operation = httpx.get(f"{url}/v1/operations/{reply['name']}", timeout=60).json()
        if operation.get("done"):
            if "error" in operation:
                return f"job: {operation['error']['message'][:60]}"
            return f"job: ok, billed {operation['response'].get('totalBilledTime')}"
        time.sleep(0.5)


def websocket(url: str, config: dict[str, Any], messages: list[bytes]) -> Outcome:
    async def run() -> Outcome:
        ws_url = url.replace("http", "ws") + "/ws/v1/speech:streamingrecognize"
        async with websockets.connect(ws_url, max_size=None) as ws:
            await ws.send(json.dumps({"config": config}))
            try:
                for message in messages:
                    await ws.send(message)
                await ws.send(b"")
                async for reply in ws:
                    if "error" in (body := json.loads(reply)):
                        return f"ws: {body['error']['message'][:60]}"
            except websockets.ConnectionClosed:
                pass
            return f"ws: closed {ws.close_code}"

    return asyncio.run(run())


FLAC_8K = flac_constant(8000, 2000)  # 26 KB: 4.5 hours at 8 kHz
FLAC_8K_2KB = flac_constant(8000, 150)  # 2 KB: 20 minutes
LIAR = flac_constant(8000, 200, claimed_samples=8000)  # claims 1 s, holds 27 minutes
BOMBS: dict[str, tuple[int, Bomb]] = {
    "wav-1hz": (
        len(wav_at(1, 6000)),
        lambda u: recognize(u, wav_at(1, 6000), {"languageCode": "en-US"}),
    ),
    "flac-1hz-55b": (55, lambda u: recognize(u, flac_constant(1, 1), {"languageCode": "en-US"})),
    "flac-8k-sync": (len(FLAC_8K), lambda u: recognize(u, FLAC_8K, {"languageCode": "en-US"})),
    "ws-flac-2kb": (
        len(FLAC_8K_2KB),
        lambda u: websocket(u, {"encoding": "FLAC", "languageCode": "en-US"}, [FLAC_8K_2KB]),
    ),
    "ws-list-30mb": (
        30 << 20,
        lambda u: websocket(
            u,
            {"encoding": "LINEAR16", "languageCode": "en-US"},
            [wav_list_chunk(30 << 20), *[bytes(25_600)] * ((30 << 20) // 25_600)],
        ),
    ),
    "lro-inline-liar": (len(LIAR), lambda u: long_running(u, LIAR)),
}


def run_bomb(pid: int, url: str, bomb: Bomb, count: int) -> tuple[str, float, float, float]:
    with measure(pid) as usage, ThreadPoolExecutor(count) as pool:
        outcomes = list(pool.map(lambda _: bomb(url), range(count)))
    return outcomes[0], usage.rest_mb, usage.above_rest_mb, usage.cpu_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, help="run the server from this source directory")
    parser.add_argument("--only", help="comma-separated bomb names (default: all)")
    parser.add_argument("--concurrent", type=int, default=8)
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BOMBS)
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start(args.src, Path(tmp), {})
        try:
            print(recognize(url, wav_bytes(tone(2.0)), {"languageCode": "en-US"}), "(warm-up)")
            print(f"server threads at rest: {threads(process.pid)}\n")
            print("| bomb | bytes | answer | rest MB | peak above rest MB | CPU s |")
            print("|---|---|---|---|---|---|")
            for name in names:
                size, bomb = BOMBS[name]
                outcome, rest, above, cpu = run_bomb(process.pid, url, bomb, 1)
                print(f"| {name} | {size} | {outcome} | {rest:.0f} | {above:.0f} | {cpu:.2f} |")
            if args.concurrent:
                for name in ("flac-8k-sync", "ws-flac-2kb"):
                    if name in names:
                        size, bomb = BOMBS[name]
                        outcome, rest, above, cpu = run_bomb(
                            process.pid, url, bomb, args.concurrent
                        )
                        print(
                            f"| {args.concurrent} x {name} | {size} | {outcome} | {rest:.0f}"
                            f" | {above:.0f} | {cpu:.2f} |"
                        )
            print(f"server threads at the end: {threads(process.pid)}")
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
