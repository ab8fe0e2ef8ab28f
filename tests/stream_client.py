"""A real-time WebSocket streaming client, shared by the tests and bench/streaming.py."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

CHUNK_SECONDS = 0.1


@dataclass
class Received:
    """Every response of one stream with its arrival time (seconds after the first chunk).

    ``sent_at`` holds, for each message, the seconds of audio the client had sent when it
    arrived: tests assert on that (a busy machine slows both sides alike), the benchmark on
    the wall-clock times.
    """

    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    sent_seconds: float = 0.0
    close_code: int | None = None

    def finals(self) -> list[tuple[float, dict[str, Any]]]:
        return [(t, r) for t, m in self.messages for r in m.get("results", []) if r.get("isFinal")]

    def transcript(self) -> str:
        return " ".join(r["alternatives"][0]["transcript"] for _, r in self.finals())

    def interims_sent_at(self) -> list[float]:
        """For each interim response, the seconds of audio sent when it arrived."""
        return [
            sent
            for sent, (_, message) in zip(self.sent_at, self.messages, strict=True)
            if any(not r.get("isFinal") for r in message.get("results", []))
        ]

    def events(self) -> list[str]:
        return [m["speechEventType"] for _, m in self.messages if "speechEventType" in m]

    @property
    def error(self) -> dict[str, Any] | None:
        errors = [m["error"] for _, m in self.messages if "error" in m]
        return errors[0] if errors else None


async def stream(
    url: str,
    config: dict[str, Any],
    pcm: bytes,
    *,
    bytes_per_second: int = 32_000,
    pace: float = 1.0,
    chunk_bytes: int | None = None,
    first: Any = None,
    until_final: bool = False,
) -> Received:
    """Send ``config`` then ``pcm`` in 100 ms chunks at ``pace`` × real time; collect all.

    ``first`` replaces the config message (to test malordered streams). ``until_final`` ends
    the audio as soon as a final result has arrived, as a person who stopped talking would.
    """
    size = chunk_bytes or int(bytes_per_second * CHUNK_SECONDS)
    received = Received()
    async with websockets.connect(url, max_size=None) as socket:
        await socket.send(json.dumps(config) if first is None else first)
        start = time.monotonic()

        async def send() -> None:
            for offset in range(0, len(pcm), size):
                due = start + (offset + size) / bytes_per_second * pace
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if until_final and received.finals():
                    break
                try:
                    await socket.send(pcm[offset : offset + size])
                except websockets.ConnectionClosed:
                    return
                received.sent_seconds = min(len(pcm), offset + size) / bytes_per_second
            try:
                await socket.send(b"")
            except websockets.ConnectionClosed:
                return

        sender = asyncio.create_task(send())
        try:
            async for message in socket:
                received.messages.append((time.monotonic() - start, json.loads(message)))
                received.sent_at.append(received.sent_seconds)
        except websockets.ConnectionClosed:
            pass
        received.close_code = socket.close_code
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    return received
