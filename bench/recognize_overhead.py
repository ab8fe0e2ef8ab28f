"""Hark's overhead on synchronous Recognize, against the raw engine, in one run.

The same clips (5 s to 60 s of corpus speech) go through ``POST /v1/speech:recognize`` on a
real ``hark serve`` and straight into faster-whisper with the same model and settings
(beam 5, word timestamps, int8). It prints wall time per clip for both, their ratio, WER of
both against the references, and the server's peak RSS.

    .venv/bin/python bench/recognize_overhead.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from baseline import peak_rss_mb, raw_model, raw_transcribe, wav_bytes  # noqa: E402

from conftest import CORPUS, manifest, start_server  # noqa: E402
from wer import wer  # noqa: E402

CLIPS = [
    "en_librispeech_1272-128104-0000.wav",
    "en_jfk_inaugural.flac",
    "medium_en_mixed_short_utts_16k.flac",
    "medium_en_ljspeech_5utts_16k.wav",
    "long_en_ljspeech_LJ001-0001-0016_16k.flac",  # cut to its first 58 s below
]
MAX_SECONDS = 58.0


def load_clips() -> list[tuple[str, bytes, np.ndarray, str]]:
    """(name, bytes sent to Hark, samples given to the raw engine, reference) per clip."""
    from faster_whisper import decode_audio

    references = manifest()
    clips = []
    for name in CLIPS:
        samples = decode_audio(str(CORPUS / name))
        reference = references[name]["transcript_normalized"]
        if len(samples) > MAX_SECONDS * 16000:
            samples = samples[: int(MAX_SECONDS * 16000)]
            reference = ""  # a cut clip has no exact reference
        clips.append((name, wav_bytes(samples), samples, reference))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import tempfile

    from faster_whisper import BatchedInferencePipeline

    clips = load_clips()
    model = raw_model()
    batched = BatchedInferencePipeline(model)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            run(clips, server, model, batched, args.repeat)
        finally:
            server.stop()


def run(clips: list[Any], server: Any, model: Any, batched: Any, repeat: int) -> None:
    client = httpx.Client(timeout=300)
    print(
        f"{'clip':44} {'sec':>5} {'hark s':>7} {'raw s':>7} {'ratio':>6} {'rawB s':>7} "
        f"{'WER hark':>8} {'WER raw':>8} {'WER rawB':>8}"
    )
    totals = {"hark": 0.0, "raw": 0.0, "rawb": 0.0}
    for name, content, samples, reference in clips:
        seconds = len(samples) / 16000
        body = {
            "config": {"languageCode": "en-US"},
            "audio": {"content": base64.b64encode(content).decode()},
        }
        timings: dict[str, list[float]] = {"hark": [], "raw": [], "rawb": []}
        texts: dict[str, str] = {}
        for _ in range(repeat):  # interleaved, so drift in machine load hits all three alike
            started = time.perf_counter()
            response = client.post(f"{server.url}/v1/speech:recognize", json=body)
            timings["hark"].append(time.perf_counter() - started)
            results = response.json().get("results", [])
            texts["hark"] = " ".join(r["alternatives"][0]["transcript"] for r in results)
            started = time.perf_counter()
            texts["raw"] = raw_transcribe(model, samples)
            timings["raw"].append(time.perf_counter() - started)
            started = time.perf_counter()
            texts["rawb"] = raw_transcribe(batched, samples, batch_size=8)
            timings["rawb"].append(time.perf_counter() - started)
        median = {key: statistics.median(values) for key, values in timings.items()}
        for key in totals:
            totals[key] += median[key]
        errors = {
            key: (f"{wer(reference, text):8.3f}" if reference else "     n/a")
            for key, text in texts.items()
        }
        print(
            f"{name[:44]:44} {seconds:5.1f} {median['hark']:7.2f} {median['raw']:7.2f} "
            f"{median['hark'] / median['raw']:6.2f} {median['rawb']:7.2f} "
            f"{errors['hark']} {errors['raw']} {errors['rawb']}"
        )
    print(
        f"total: hark {totals['hark']:.2f} s, raw sequential {totals['raw']:.2f} s, raw batched "
        f"{totals['rawb']:.2f} s; hark/raw = {totals['hark'] / totals['raw']:.3f}"
    )
    print(f"hark server peak RSS: {peak_rss_mb(server.process.pid):.0f} MB")
    print("reproduce: .venv/bin/python bench/recognize_overhead.py --repeat", repeat)


if __name__ == "__main__":
    main()
