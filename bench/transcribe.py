"""``hark transcribe`` on long files against the raw engine, in one run.

Each long corpus file goes through the real command (``python -m hark transcribe FILE
--format srt``, in-process mode, so the wall time includes process start, model load,
decoding, windowing and writing subtitles) and straight into faster-whisper in this process
(model already loaded; ``decode_audio`` then ``transcribe`` with beam 5, word timestamps,
int8, English: the settings Hark uses). Runs are interleaved so load drift hits both.
Prints wall time, the ratio, the real-time factor (wall / audio length) and WER of both.

    .venv/bin/python bench/transcribe.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from baseline import raw_model, raw_transcribe  # noqa: E402

from conftest import CORPUS, manifest  # noqa: E402
from wer import wer  # noqa: E402

FILES = [
    "long_en_multispeaker_16k.wav",
    "long_en_ljspeech_LJ001-0001-0016_16k.flac",
    "long_en_combined_3min.opus",
]


def hark_srt(path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "hark", "transcribe", str(path), "--format", "srt"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    blocks = [block.split("\n")[2:] for block in done.stdout.strip().split("\n\n")]
    return " ".join(line for lines in blocks for line in lines)


def raw_text(model: object, path: Path) -> str:
    from faster_whisper import decode_audio

    return raw_transcribe(model, decode_audio(str(path)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    model = raw_model()
    references = manifest()
    print(
        f"{'file':44} {'audio s':>7} {'hark s':>7} {'raw s':>7} {'ratio':>6} "
        f"{'RTF hark':>8} {'RTF raw':>8} {'WER hark':>8} {'WER raw':>8}"
    )
    totals = {"audio": 0.0, "hark": 0.0, "raw": 0.0}
    for name in FILES:
        path = CORPUS / name
        seconds = float(references[name]["duration_s"])
        reference = str(references[name]["transcript"])
        timings: dict[str, list[float]] = {"hark": [], "raw": []}
        texts: dict[str, str] = {}
        for _ in range(args.repeat):
            started = time.perf_counter()
            texts["hark"] = hark_srt(path)
            timings["hark"].append(time.perf_counter() - started)
            started = time.perf_counter()
            texts["raw"] = raw_text(model, path)
            timings["raw"].append(time.perf_counter() - started)
        hark, raw = (statistics.median(timings[key]) for key in ("hark", "raw"))
        totals["audio"] += seconds
        totals["hark"] += hark
        totals["raw"] += raw
        print(
            f"{name[:44]:44} {seconds:7.1f} {hark:7.2f} {raw:7.2f} {hark / raw:6.2f} "
            f"{hark / seconds:8.3f} {raw / seconds:8.3f} "
            f"{wer(reference, texts['hark']):8.3f} {wer(reference, texts['raw']):8.3f}"
        )
    print(
        f"total: {totals['audio']:.0f} s of audio; hark transcribe {totals['hark']:.2f} s "
        f"(RTF {totals['hark'] / totals['audio']:.3f}), raw engine {totals['raw']:.2f} s "
        f"(RTF {totals['raw'] / totals['audio']:.3f}), ratio {totals['hark'] / totals['raw']:.2f}"
    )


if __name__ == "__main__":
    main()
