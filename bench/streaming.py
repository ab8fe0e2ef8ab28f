"""Streaming benchmark, measured the way a client sees it: corpus clips at real-time pace.

Drives ``StreamingRecognizer`` in process (the same core the WebSocket and gRPC transports
wrap; no network), with the real model. Each stream sends one clip as LINEAR16 16 kHz in
100 ms chunks at real time, then 1.5 s of silence (a live microphone keeps sending), then
half-closes. 16 English clips of 3-11 s (LibriSpeech, LibriVox, LJ Speech, AMI, JFK).

Measures, per number of concurrent streams (1, 2, 4, 8 by default; each stream its own clip):
final latency = arrival of the clip's last final minus the moment the clip's last audio
chunk was sent (not the end of speech: that is what a client can time); endpoint = when the
end of its last utterance was detected (the SPEECH_ACTIVITY_END event), from that moment; first interim =
seconds from the stream's first audio to its first interim result; WER of the streamed
finals against the batch reading (beam 5, whole clip) and against the references; streams
whose finals lost more than a fifth of the batch words.

    PYTHONPATH=src python bench/streaming.py [--streams 1,2,4,8] [--no-interim] [--hog] [--workers N]
        [--clips N] [--tune NAME=VALUE]

``--hog`` runs one busy CPU loop (``python3 -c 'while 1: pass'``) beside the benchmark,
killed by its PID at the end; ``--no-interim`` streams with interim results off (the client
libraries' default); ``--clips`` uses the first N clips per concurrency (default 8).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hark.engine import DecodeOptions
from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.outputs import SpeechEvent
from hark.speech.streaming.policy import PolicyOptions
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import StreamingConfig, StreamingRequest
from hark.speech.types import RecognitionConfig

from audio_samples import encode
from conftest import CORPUS
from conftest import manifest as corpus_manifest
from wer import normalize, wer

CLIPS = [
    "en_librispeech_1272-128104-0000.wav",
    "en_librispeech_1089-134686-0000.flac",
    "en_librivox_sense_and_sensibility_0870.wav",
    "en_librivox_sense_and_sensibility_0890.wav",
    "en_ljspeech_LJ001-0001.wav",
    "en_ljspeech_LJ001-0004.wav",
    "en_ljspeech_LJ001-0006.wav",
    "en_ljspeech_LJ001-0009.wav",
    "en_ljspeech_LJ001-0011.wav",
    "en_ami_meeting_ES2011a_40-46s.wav",
    "en_jfk_inaugural.flac",
    "en_librispeech_1089-134686-0001.flac",
    "en_librivox_sense_and_sensibility_0880.wav",
    "en_ljspeech_LJ001-0003.wav",
    "en_ljspeech_LJ001-0005.wav",
    "en_ljspeech_LJ001-0007.wav",
]
TAIL = bytes(48_000)  # 1.5 s of silence
CHUNK = 3200  # 100 ms


@dataclass
class Outcome:
    clip: str
    latency: float
    endpoint: float
    """When the end of the last utterance was detected, from the same moment."""
    first_interim: float | None
    text: str


async def one_stream(
    streaming: StreamingRecognizer, name: str, pcm: bytes, interim: bool
) -> Outcome:
    config = StreamingConfig(
        RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="en-US"),
        interim_results=interim,
        enable_voice_activity_events=True,
    )
    audio = pcm + TAIL
    start = time.monotonic()
    clip_sent = start + len(pcm) / 32_000  # replaced by the real moment once it is sent

    async def requests() -> AsyncIterator[StreamingRequest]:
        nonlocal clip_sent
        yield config
        for offset in range(0, len(audio), CHUNK):
            await asyncio.sleep(max(0.0, start + (offset + CHUNK) / 32_000 - time.monotonic()))
            yield audio[offset : offset + CHUNK]
            if offset < len(pcm) <= offset + CHUNK:
                clip_sent = time.monotonic()

    finals: list[tuple[float, str]] = []
    first_interim: float | None = None
    endpoint = float("nan")
    async for response in streaming.recognize(requests()):
        now = time.monotonic()
        if response.speech_event is SpeechEvent.SPEECH_ACTIVITY_END:
            endpoint = now
        for result in response.results:
            if result.is_final:
                finals.append((now, result.alternatives[0].transcript))
            elif first_interim is None:
                first_interim = now - start
    last = finals[-1][0] if finals else float("nan")
    return Outcome(
        name, last - clip_sent, endpoint - clip_sent, first_interim, " ".join(t for _, t in finals)
    )


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def main(
    counts: list[int], clips_per: int, interim: bool, tuning: PolicyOptions, workers: int
) -> None:
    engine = WhisperEngine.load("tiny.en", num_workers=workers)
    pool = EnginePool(engine, workers=engine.parallelism.workers)
    recognizer = Recognizer(pool, engine.info, Limits(max_streams=0))
    streaming = StreamingRecognizer(recognizer, slots=pool.workers, tuning=tuning)
    print(f"engine: {engine.parallelism}")
    manifest = corpus_manifest()
    names = CLIPS[: max(clips_per, *counts)]
    clips = {name: encode(CORPUS / name, "LINEAR16", 16000) for name in names}
    batch = {}
    for name, pcm in clips.items():
        samples = (np.frombuffer(pcm, "<i2") / 32768).astype(np.float32)
        transcript = engine.transcribe(samples, DecodeOptions(beam_size=5))
        batch[name] = " ".join(s.text for s in transcript.segments)
    print(f"interim results {'on' if interim else 'off'}; load average {os.getloadavg()[0]:.1f}")
    print(
        "| streams | final p50 | p95 | max | endpoint p50 | first interim p50 | WER vs batch | vs reference"
        " (batch) | streams losing >20 % of words |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in counts:
        outcomes: list[Outcome] = []
        for base in range(0, max(clips_per, n), n):
            group = [names[(base + k) % len(names)] for k in range(n)]
            outcomes += await asyncio.gather(
                *(one_stream(streaming, c, clips[c], interim) for c in group)
            )
        latencies = [o.latency for o in outcomes]
        endpoints = [o.endpoint for o in outcomes]
        firsts = [o.first_interim for o in outcomes if o.first_interim is not None]
        vs_batch = [wer(batch[o.clip], o.text) for o in outcomes]
        vs_ref = [wer(manifest[o.clip]["transcript"], o.text) for o in outcomes]
        batch_ref = [wer(manifest[o.clip]["transcript"], batch[o.clip]) for o in outcomes]
        lost = sum(
            len(normalize(o.text).split()) < 0.8 * len(normalize(batch[o.clip]).split())
            for o in outcomes
        )
        first = f"{pct(firsts, 50):.2f} s" if interim else "-"
        print(
            f"| {n} | {pct(latencies, 50):.2f} s | {pct(latencies, 95):.2f} s"
            f" | {max(latencies):.2f} s | {pct(endpoints, 50):.2f} s | {first} | {statistics.mean(vs_batch):.3f}"
            f" | {statistics.mean(vs_ref):.3f} ({statistics.mean(batch_ref):.3f})"
            f" | {lost} of {len(outcomes)} |",
            flush=True,
        )
    await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", default="1,2,4,8", help="concurrency levels, e.g. 1,2,4,8")
    parser.add_argument("--clips", type=int, default=8, help="clips per concurrency level")
    parser.add_argument("--no-interim", action="store_true", help="interim results off")
    parser.add_argument("--hog", action="store_true", help="one busy CPU loop beside it")
    parser.add_argument("--workers", type=int, default=0, help="engine calls at once (0 = auto)")
    parser.add_argument(
        "--tune",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a PolicyOptions tuning value, e.g. --tune endpoint_silence=0.3",
    )
    args = parser.parse_args()
    overrides: dict[str, Any] = {k: float(v) for k, v in (t.split("=", 1) for t in args.tune)}
    counts = [int(n) for n in args.streams.split(",")]
    hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if args.hog else None
    try:
        print("tuning:", " ".join(args.tune) or "defaults", "| CPU hog:", "yes" if hog else "no")
        tuning = PolicyOptions(**overrides)
        asyncio.run(main(counts, args.clips, not args.no_interim, tuning, args.workers))
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
