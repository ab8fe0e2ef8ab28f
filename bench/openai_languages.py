"""OpenAI's routes on a server started as ``make serve`` does (``--model tiny.en --model base``):
every corpus language through the official ``openai`` SDK, with ``language`` and without it
(base detects it), the translation of each to English, and the cost of converting Chinese.

    .venv/bin/python bench/openai_languages.py

Prints Markdown tables for bench/RESULTS.md. Needs ``hark[multilingual]`` and the corpus.
"""

from __future__ import annotations

import sys
import tempfile
import time
import timeit
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from hark.speech import scripts

from conftest import corpus_file, reference, start_server
from wer import cer, wer

LANGUAGES = ["de", "es", "fr", "it", "pt", "ja", "ko", "en"]
FILES = {language: f"{language}_picovoice_test_{language}.wav" for language in LANGUAGES}
FILES["en"] = "en_librispeech_1089-134686-0000.flac"
TRADITIONAL = "極端的實在的判斷的知識是成立的" * 10


def timed(
    client: openai.OpenAI, path: Path, translate: bool = False, **fields: str
) -> tuple[float, str, str]:
    """(seconds, text, language reported) of one request."""
    started = time.perf_counter()
    with open(path, "rb") as audio:
        if translate:
            result = client.audio.translations.create(
                file=audio, model="whisper-1", response_format="verbose_json"
            )
        else:
            result = client.audio.transcriptions.create(  # type: ignore[call-overload]
                file=audio, model="whisper-1", response_format="verbose_json", **fields
            )
    return time.perf_counter() - started, result.text, str(result.language)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), "--model", "tiny.en", "--model", "base")
        try:
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="-", max_retries=0)
            print("| file | given: s | error | detected: s | language | error | to English: s |")
            print("|---|---|---|---|---|---|---|")
            for language in LANGUAGES:
                path = corpus_file(FILES[language])
                measure = cer if language in ("ja", "ko") else wer
                given, text, _ = timed(client, path, language=language)
                detected, heard, found = timed(client, path)
                if language != "en":
                    translated, english, _ = timed(client, path, translate=True)
                    translation = f"{translated:.2f} ({english.strip()!r})"
                else:
                    translation = "-"
                print(
                    f"| {FILES[language]} | {given:.2f} | {measure(reference(FILES[language]), text):.3f}"
                    f" | {detected:.2f} | {found} | {measure(reference(FILES[language]), heard):.3f}"
                    f" | {translation} |"
                )
        finally:
            server.stop()
    convert = scripts.converter("cmn-Hans-CN")
    assert convert is not None
    convert(TRADITIONAL)  # loads the dictionaries
    seconds = min(timeit.repeat(lambda: convert(TRADITIONAL), number=100, repeat=5)) / 100
    print(f"\nOpenCC t2s: {seconds * 1e6:.0f} µs for {len(TRADITIONAL)} characters")


if __name__ == "__main__":
    main()
