"""Hark over gRPC and over REST against the raw engine, and Hark under concurrent clients.

Part 1 (overhead): the same clips go through Google's Python client over gRPC, through
``POST /v1/speech:recognize``, and straight into faster-whisper (same model, beam 5, word
timestamps, int8), interleaved, in one run; medians and ratios to raw.

Part 2 (concurrency): N clients (1, 2, 4, 8) each send ``--per-client`` 10-second clips over
gRPC, all at once; throughput (audio seconds per wall second), p50/p95 latency, and throughput
relative to N=1 (the sequential figure).

    .venv/bin/python bench/grpc_overhead.py [--repeat 3] [--per-client 2] [-- serve flags]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from baseline import raw_model, raw_transcribe, wav_bytes  # noqa: E402

from conftest import CORPUS, Server, manifest, start_server  # noqa: E402
from wer import wer  # noqa: E402

OVERHEAD_CLIPS = [
    "en_librispeech_1272-128104-0000.wav",
    "en_jfk_inaugural.flac",
    "medium_en_ljspeech_5utts_16k.wav",
]
# 10-second clips for the concurrency test: the first 10 s of these files.
CONCURRENT_SOURCES = [
    "medium_en_ljspeech_5utts_16k.wav",
    "medium_en_mixed_short_utts_16k.flac",
    "long_en_ljspeech_LJ001-0001-0016_16k.flac",
    "long_en_multispeaker_16k.wav",
]
CLIP_SECONDS = 10.0


def decode(name: str) -> np.ndarray:
    from faster_whisper import decode_audio

    return np.asarray(decode_audio(str(CORPUS / name)), dtype=np.float32)


def grpc_client(server: Server) -> Any:
    from google.cloud import speech_v1
    from google.cloud.speech_v1.services.speech.transports import SpeechGrpcTransport

    channel = grpc.insecure_channel(server.grpc_target)
    return speech_v1.SpeechClient(transport=SpeechGrpcTransport(channel=channel))


def grpc_recognize(client: Any, content: bytes) -> str:
    from google.cloud import speech_v1

    response = client.recognize(
        config=speech_v1.RecognitionConfig(language_code="en-US"),
        audio=speech_v1.RecognitionAudio(content=content),
        timeout=600,
    )
    return " ".join(result.alternatives[0].transcript for result in response.results)


def rest_recognize(http: httpx.Client, server: Server, content: bytes) -> str:
    body = {
        "config": {"languageCode": "en-US"},
        "audio": {"content": base64.b64encode(content).decode()},
    }
    results = http.post(f"{server.url}/v1/speech:recognize", json=body).json().get("results", [])
    return " ".join(r["alternatives"][0]["transcript"] for r in results)


def overhead(server: Server, repeat: int) -> None:
    model = raw_model()
    client, http = grpc_client(server), httpx.Client(timeout=600)
    references = manifest()
    print(
        f"{'clip':40} {'sec':>5} {'grpc s':>7} {'rest s':>7} {'raw s':>7} {'grpc/raw':>8} {'rest/raw':>8} {'WER grpc':>8} {'WER rest':>8} {'WER raw':>8}"
    )
    totals = dict.fromkeys(("grpc", "rest", "raw"), 0.0)
    for name in OVERHEAD_CLIPS:
        samples = decode(name)
        content = wav_bytes(samples)
        timings: dict[str, list[float]] = {key: [] for key in totals}
        texts: dict[str, str] = {}
        calls = {
            "grpc": partial(grpc_recognize, client, content),
            "rest": partial(rest_recognize, http, server, content),
            "raw": partial(raw_transcribe, model, samples),
        }
        for _ in range(repeat):  # interleaved, so drift in machine load hits all alike
            for key, call in calls.items():
                started = time.perf_counter()
                texts[key] = call()
                timings[key].append(time.perf_counter() - started)
        median = {key: statistics.median(values) for key, values in timings.items()}
        for key in totals:
            totals[key] += median[key]
        reference = references[name]["transcript_normalized"]
        errors = {key: wer(reference, text) for key, text in texts.items()}
        print(
            f"{name[:40]:40} {len(samples) / 16000:5.1f} {median['grpc']:7.2f} {median['rest']:7.2f} "
            f"{median['raw']:7.2f} {median['grpc'] / median['raw']:8.3f} {median['rest'] / median['raw']:8.3f} "
            f"{errors['grpc']:8.3f} {errors['rest']:8.3f} {errors['raw']:8.3f}"
        )
    print(
        f"total: grpc {totals['grpc']:.2f} s, rest {totals['rest']:.2f} s, raw {totals['raw']:.2f} s;"
        f" grpc/raw {totals['grpc'] / totals['raw']:.3f}, rest/raw {totals['rest'] / totals['raw']:.3f}"
    )


def concurrency(server: Server, per_client: int, levels: list[int]) -> None:
    clips = [wav_bytes(decode(name)[: int(CLIP_SECONDS * 16000)]) for name in CONCURRENT_SOURCES]
    client = grpc_client(server)
    grpc_recognize(client, clips[0])  # warm up
    print(
        f"{'clients':>7} {'requests':>8} {'wall s':>7} {'audio s/s':>9} {'x seq':>6} {'p50 s':>6} {'p95 s':>6}"
    )
    baseline = 0.0
    for clients in levels:

        def one_client(index: int) -> list[float]:
            latencies = []
            for k in range(per_client):
                started = time.perf_counter()
                grpc_recognize(client, clips[(index + k) % len(clips)])
                latencies.append(time.perf_counter() - started)
            return latencies

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = [t for ts in pool.map(one_client, range(clients)) for t in ts]
        wall = time.perf_counter() - started
        throughput = len(latencies) * CLIP_SECONDS / wall
        baseline = baseline or throughput
        p50, p95 = np.percentile(latencies, [50, 95])
        print(
            f"{clients:7d} {len(latencies):8d} {wall:7.2f} {throughput:9.2f} "
            f"{throughput / baseline:6.2f} {p50:6.2f} {p95:6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-client", type=int, default=2)
    parser.add_argument("--levels", default="1,2,4,8")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("serve_flags", nargs="*", help="extra `hark serve` flags")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), *args.serve_flags)
        try:
            if not args.skip_overhead:
                overhead(server, args.repeat)
            concurrency(server, args.per_client, [int(n) for n in args.levels.split(",")])
        finally:
            server.stop()
    print("reproduce: .venv/bin/python bench/grpc_overhead.py", " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
