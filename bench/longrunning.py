"""Long-running recognition: worker-pool throughput against the raw engine, and flat memory.

1. Throughput: 8 jobs of 2 minutes each (slices of corpus speech) submitted at once to a real
   ``hark serve`` through ``POST /v1/speech:longrunningrecognize`` (gs:// in the local bucket),
   polled until all are done; audio seconds per wall second, with ``--job-workers`` 1 and 2.
   In the same run, faster-whisper transcribes the same 8 files one after another with the
   same model (beam 5, word timestamps, int8): the ratio is Hark's throughput over the raw one.
2. Memory: peak RSS of a fresh server that recognises one 60-minute file, against one that
   recognises one 2-minute file.

    .venv/bin/python bench/longrunning.py [--skip-memory]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from baseline import peak_rss_mb, raw_model, raw_transcribe, wav_bytes  # noqa: E402

from conftest import CORPUS, Server, start_server  # noqa: E402

SOURCES = [
    "long_en_ljspeech_LJ001-0001-0016_16k.flac",
    "long_en_multispeaker_16k.wav",
    "long_en_combined_3min.opus",
]
JOBS = 8
JOB_SECONDS = 120.0


def speech() -> np.ndarray:
    from faster_whisper import decode_audio

    return np.concatenate([decode_audio(str(CORPUS / name)) for name in SOURCES])


def slices(all_speech: np.ndarray) -> list[np.ndarray]:
    """``JOBS`` different 2-minute stretches of the corpus speech (wrapping around)."""
    size = int(JOB_SECONDS * 16000)
    tiled = np.tile(all_speech, int(np.ceil(JOBS * size / len(all_speech))) + 1)
    step = len(all_speech) // JOBS
    return [tiled[i * step : i * step + size] for i in range(JOBS)]


def run_jobs(server: Server, names: list[str], timeout: float = 3600) -> float:
    """Submit one job per bucket object at once; wall seconds until all are done."""
    client = httpx.Client(timeout=60)
    started = time.perf_counter()
    operations = []
    for name in names:
        body = {"config": {"languageCode": "en-US"}, "audio": {"uri": f"gs://bench/{name}"}}
        reply = client.post(f"{server.url}/v1/speech:longrunningrecognize", json=body)
        reply.raise_for_status()
        operations.append(reply.json()["name"])
    pending = set(operations)
    while pending and time.perf_counter() - started < timeout:
        for operation in list(pending):
            state = client.get(f"{server.url}/v1/operations/{operation}").json()
            if state.get("done"):
                assert "response" in state, state
                pending.discard(operation)
        time.sleep(0.2)
    if pending:  # a stalled run has no throughput to report
        raise TimeoutError(f"{len(pending)} operations not done after {timeout:.0f} s")
    return time.perf_counter() - started


def hark_server(tmp: Path, files: dict[str, np.ndarray], *args: str) -> Server:
    bucket = tmp / "data" / "buckets" / "bench"
    bucket.mkdir(parents=True, exist_ok=True)
    for name, samples in files.items():
        (bucket / name).write_bytes(wav_bytes(samples))
    return start_server(tmp, *args)


def throughput(jobs: list[np.ndarray]) -> None:
    audio_seconds = sum(len(samples) for samples in jobs) / 16000
    files = {f"job{i}.wav": samples for i, samples in enumerate(jobs)}
    results = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            server = hark_server(Path(tmp), files, "--job-workers", str(workers))
            try:
                results[f"hark, {workers} job worker(s)"] = run_jobs(server, list(files))
            finally:
                server.stop()
    model = raw_model()
    started = time.perf_counter()
    for samples in jobs:
        raw_transcribe(model, samples)
    results["raw engine, sequential"] = time.perf_counter() - started
    raw = audio_seconds / results["raw engine, sequential"]
    print(f"{JOBS} jobs x {JOB_SECONDS:.0f} s = {audio_seconds:.0f} s of audio")
    for label, wall in results.items():
        rate = audio_seconds / wall
        print(f"  {label:28} wall {wall:7.1f} s  {rate:6.1f} audio s/s  ratio {rate / raw:5.2f}")


def memory(all_speech: np.ndarray) -> None:
    peaks = {}
    for minutes in (2, 60):
        size = int(minutes * 60 * 16000)
        samples = np.tile(all_speech, int(np.ceil(size / len(all_speech))))[:size]
        with tempfile.TemporaryDirectory() as tmp:
            server = hark_server(Path(tmp), {f"m{minutes}.wav": samples})
            try:
                wall = run_jobs(server, [f"m{minutes}.wav"])
                peaks[minutes] = peak_rss_mb(server.process.pid)
            finally:
                server.stop()
        print(
            f"  {minutes:2d}-minute file: {wall:6.1f} s wall, server peak RSS {peaks[minutes]:.0f} MB"
        )
    print(f"  60-minute minus 2-minute peak RSS: {peaks[60] - peaks[2]:+.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    all_speech = speech()
    throughput(slices(all_speech))
    if not args.skip_memory:
        memory(all_speech)
    print("reproduce: .venv/bin/python bench/longrunning.py")


if __name__ == "__main__":
    main()
