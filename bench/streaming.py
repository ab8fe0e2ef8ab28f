"""Streaming benchmark: corpus clips sent at real-time pace through the session driver.

Drives ``StreamingRecognizer`` in process (the same core the WebSocket and gRPC transports
wrap; no network), with the real model. Each clip is LINEAR16 16 kHz followed by 1.5 s of
silence (a live microphone keeps sending), in 100 ms chunks at real time. 18 English clips of
3-11 s (LibriSpeech, LibriVox, LJ Speech, AMI, JFK; listed in CLIPS).

Measures: final latency = arrival of the clip's last final minus the reference end of speech
(last word end of a batch beam-5 transcription with word timestamps, i.e. the moment that
audio was sent); interim update interval; streaming vs batch WER against the references; p50
latency with 1..4 concurrent streams; process RSS across the runs.

    PYTHONPATH=src python bench/streaming.py [--streams N] [--per-clip] [--tune NAME=VALUE]

``--streams 1`` stops after the single-stream round (quick tuning); ``--per-clip`` prints each
clip's streaming finals next to the batch text and the reference, with both WERs; ``--tune``
overrides a ``PolicyOptions`` tuning value (repeatable), to compare settings in one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hark.engine import DecodeOptions
from hark.engine.pool import EnginePool
from hark.engine.whisper import WhisperEngine
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.policy import PolicyOptions
from hark.speech.streaming.session import StreamingRecognizer
from hark.speech.streaming.types import StreamingConfig, StreamingRequest
from hark.speech.types import RecognitionConfig

from audio_samples import encode
from conftest import CORPUS
from conftest import manifest as corpus_manifest
from wer import wer

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
    "en_ljspeech_LJ001-0010.wav",
    "en_ljspeech_LJ001-0012.wav",
]
TAIL = bytes(48_000)  # 1.5 s of silence
CONFIG = StreamingConfig(
    RecognitionConfig(encoding="LINEAR16", sample_rate_hertz=16000, language_code="en-US"),
    interim_results=True,
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def one_stream(streaming: StreamingRecognizer, pcm: bytes) -> dict[str, object]:
    start = time.monotonic()
    audio = pcm + TAIL

    async def requests() -> AsyncIterator[StreamingRequest]:
        yield CONFIG
        for offset in range(0, len(audio), 3200):
            await asyncio.sleep(max(0.0, start + (offset + 3200) / 32_000 - time.monotonic()))
            yield audio[offset : offset + 3200]

    finals: list[tuple[float, str]] = []
    interims: list[float] = []
    async for response in streaming.recognize(requests()):
        now = time.monotonic() - start
        for result in response.results:
            if result.is_final:
                finals.append((now, result.alternatives[0].transcript))
        if any(not r.is_final for r in response.results):
            interims.append(now)
    return {"finals": finals, "interims": interims}


async def main(max_streams: int, per_clip: bool, tuning: PolicyOptions) -> None:
    engine = WhisperEngine.load("tiny.en")
    pool = EnginePool(engine)
    recognizer = Recognizer(pool, engine.info, Limits())
    streaming = StreamingRecognizer(recognizer, tuning=tuning)
    manifest = corpus_manifest()
    clips = {name: encode(CORPUS / name, "LINEAR16", 16000) for name in CLIPS}
    reference_end, batch_text = {}, {}
    for name, pcm in clips.items():
        samples = (np.frombuffer(pcm, "<i2") / 32768).astype(np.float32)
        transcript = engine.transcribe(samples, DecodeOptions(beam_size=5))
        words = [w for s in transcript.segments for w in s.words]
        reference_end[name] = words[-1].end
        batch_text[name] = "".join(w.text for w in words)
    rss = [("after load + batch", rss_mb())]

    latencies: dict[int, list[float]] = {}
    gaps: list[float] = []
    stream_wer: list[float] = []
    batch_wer: list[float] = []
    for n in range(1, max_streams + 1):
        names = CLIPS if n == 1 else CLIPS[:4]
        latencies[n] = []
        for base in range(0, len(names)):
            group = [names[(base + k) % len(names)] for k in range(n)]
            outs = await asyncio.gather(*(one_stream(streaming, clips[c]) for c in group))
            for name, out in zip(group, outs, strict=True):
                finals = out["finals"]
                assert isinstance(finals, list) and finals, name
                latencies[n].append(finals[-1][0] - reference_end[name])
                if n == 1:
                    interims = out["interims"]
                    assert isinstance(interims, list)
                    gaps += [b - a for a, b in itertools.pairwise(interims)]
                    text = " ".join(t for _, t in finals)
                    reference = manifest[name]["transcript"]
                    stream_wer.append(wer(reference, text))
                    batch_wer.append(wer(reference, batch_text[name]))
                    if per_clip:
                        print(f"{name}: latency {latencies[n][-1]:.2f} s")
                        print(f"  reference        {reference}")
                        print(f"  batch     {batch_wer[-1]:.3f}{batch_text[name]}")
                        print(
                            f"  streaming {stream_wer[-1]:.3f} " + " | ".join(t for _, t in finals)
                        )
        rss.append((f"after {n}-stream runs", rss_mb()))
    await pool.close()

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q))

    print(f"clips: {len(CLIPS)}, streamed at real time in 100 ms chunks (in-process driver)")
    for n, values in latencies.items():
        print(
            f"{n} stream(s): final latency p50 {pct(values, 50):.2f} s,"
            f" p95 {pct(values, 95):.2f} s, max {max(values):.2f} s ({len(values)} finals)"
        )
    print(f"interim update interval: mean {statistics.mean(gaps):.2f} s, p50 {pct(gaps, 50):.2f} s")
    sw, bw = statistics.mean(stream_wer), statistics.mean(batch_wer)
    print(f"WER vs references: streaming {sw:.3f}, batch {bw:.3f}, ratio {sw / max(bw, 1e-9):.2f}")
    sustained = max((n for n, v in latencies.items() if pct(v, 50) <= 1.0), default=0)
    print(f"concurrent real-time streams with p50 <= 1 s: {sustained}")
    for label, value in rss:
        print(f"RSS {label}: {value:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=4, help="concurrency rounds 1..N")
    parser.add_argument("--per-clip", action="store_true", help="print each clip's texts")
    parser.add_argument(
        "--tune",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a PolicyOptions tuning value, e.g. --tune endpoint_silence=0.3",
    )
    args = parser.parse_args()
    overrides: dict[str, Any] = {k: float(v) for k, v in (t.split("=", 1) for t in args.tune)}
    tuning = PolicyOptions(**overrides)
    print("tuning:", " ".join(args.tune) or "defaults")
    asyncio.run(main(args.streams, args.per_clip, tuning))
