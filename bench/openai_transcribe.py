"""``POST /v1/audio/transcriptions`` on long files: speed and WER through OpenAI's SDK.

Each long corpus file goes to a real ``hark serve`` through the official ``openai`` SDK
(``response_format="verbose_json"``, word timestamps); the same files through the CLI and the
raw engine are in bench/transcribe.py. Prints the wall time, the real-time factor (wall /
audio length) and the WER. It sizes ``--openai-max-seconds``: one request must end well inside
the SDK's default 600 s timeout.

    .venv/bin/python bench/openai_transcribe.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CORPUS, manifest, start_server  # noqa: E402
from wer import wer  # noqa: E402

FILES = [
    "long_en_multispeaker_16k.wav",
    "long_en_ljspeech_LJ001-0001-0016_16k.flac",
    "long_en_combined_3min.opus",
]


def transcribe(client: openai.OpenAI, name: str) -> tuple[float, str]:
    started = time.perf_counter()
    with open(CORPUS / name, "rb") as audio:
        result = client.audio.transcriptions.create(
            file=audio,
            model="whisper-1",
            response_format="verbose_json",
            timestamp_granularities=["word"],
        )
    return time.perf_counter() - started, result.text


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="-", timeout=900)
            rows = []
            for name in FILES:
                runs = [transcribe(client, name) for _ in range(args.repeat)]
                seconds = statistics.median(wall for wall, _ in runs)
                audio = float(manifest()[name]["duration_s"])
                error = wer(str(manifest()[name]["transcript_normalized"]), runs[0][1])
                rows.append((name, audio, seconds))
                print(
                    f"| {name} | {audio:.1f} | {seconds:.2f} | {seconds / audio:.3f} | {error:.3f} |"
                )
            total_audio = sum(audio for _, audio, _ in rows)
            total = sum(wall for _, _, wall in rows)
            print(f"| total | {total_audio:.0f} | {total:.2f} | {total / total_audio:.3f} | |")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
