"""``hark transcribe`` as a person runs it: the real command, the real model, corpus audio."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hark import media
from hark.errors import InvalidArgument
from hark.speech.types import RecognitionConfig
from hark.transcribe import remote

from audio_samples import encode
from conftest import Server, corpus_file, free_port, reference, start_server
from wer import wer

pytestmark = pytest.mark.slow

LONG = "long_en_ljspeech_LJ001-0001-0016_16k.flac"
JFK = "en_jfk_inaugural.flac"
SHORT = "en_librispeech_1089-134686-0000.flac"
_CLOCK = re.compile(r"^(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)$")


def hark(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hark transcribe ARGS`` and return its outcome (stdout/stderr as text)."""
    return subprocess.run(
        [sys.executable, "-m", "hark", "transcribe", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def one_line_error(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    """Exactly one ``hark:`` line on stderr holding ``parts``, and no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hark: ") and "Traceback" not in result.stderr
    for part in parts:
        assert part in lines[0], lines[0]


def test_stereo_mp3_to_text(tmp_path: Path) -> None:
    mp3 = tmp_path / "jfk stereo.mp3"
    mp3.write_bytes(encode(corpus_file(JFK), "MP3", 44100, 2))
    result = hark(mp3)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert wer(reference(JFK), result.stdout) <= 0.1, result.stdout
    assert set(".,?!") & set(result.stdout), "punctuation is on by default"


def parse_srt(text: str) -> list[tuple[float, float, list[str]]]:
    cues = []
    for number, block in enumerate(text.strip().split("\n\n"), start=1):
        index, clock, *lines = block.split("\n")
        assert index == str(number)
        match = _CLOCK.match(clock)
        assert match, clock
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
        start = h1 * 3600 + m1 * 60 + s1 + ms1 / 1000
        end = h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
        cues.append((start, end, lines))
    return cues


def test_long_file_to_srt(tmp_path: Path) -> None:
    out = tmp_path / "long.srt"
    result = hark(corpus_file(LONG), "--format", "srt", "--output", out)
    assert result.returncode == 0, result.stderr
    cues = parse_srt(out.read_text())
    assert len(cues) > 20
    for (start, end, lines), following in zip(cues, [*cues[1:], None], strict=True):
        assert start < end <= start + 7.0 + 1e-6
        assert 1 <= len(lines) <= 2 and all(0 < len(line) <= 42 for line in lines), lines
        if following is not None:
            assert end <= following[0], "cues are in time order and do not overlap"
    assert 100 < cues[-1][1] <= 116, "the last cue ends near the end of the 115 s file"
    spoken = " ".join(line for _, _, lines in cues for line in lines)
    assert wer(reference(LONG), spoken) <= 0.15


def test_json_through_server(server: Server) -> None:
    result = hark(corpus_file(JFK), "--server", server.url, "--format", "json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) <= {"results", "totalBilledTime", "requestId"}
    assert body["totalBilledTime"] == "11s"
    alternative = body["results"][0]["alternatives"][0]
    transcript = " ".join(r["alternatives"][0]["transcript"] for r in body["results"])
    assert wer(reference(JFK), transcript) <= 0.1
    assert alternative["words"][0]["startTime"].endswith("s")
    assert 0 < alternative["words"][0]["confidence"] <= 1


def test_server_without_a_scheme_is_http(server: Server) -> None:
    result = hark(corpus_file(SHORT), "--server", f"127.0.0.1:{server.port}")
    assert result.returncode == 0, result.stderr
    assert "stew for dinner" in result.stdout.lower()


def test_long_file_on_a_default_server_fails_before_encoding_it(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = hark(corpus_file(LONG), "--server", server.url)
    assert result.returncode == 1 and result.stdout == ""
    one_line_error(result, str(corpus_file(LONG)), "--inline-async-max-seconds 116")
    encoded: list[float] = []
    real_encode = media.encode

    def counting(chunks: Iterable[Any], codec: str) -> bytes:
        samples = 0

        def counted() -> Iterator[Any]:
            nonlocal samples
            for chunk in chunks:
                samples += chunk.shape[1]
                yield chunk

        data: bytes = real_encode(counted(), codec)
        encoded.append(samples / 16000)
        return data

    monkeypatch.setattr(media, "encode", counting)
    endpoint = remote.Endpoint(server.url)
    with pytest.raises(InvalidArgument, match="--inline-async-max-seconds"):
        remote.recognize_file(
            endpoint, str(corpus_file(LONG)), RecognitionConfig(language_code="en-US")
        )
    assert len(encoded) == 1 and encoded[0] <= remote.PROBE_SECONDS + 1, "only the probe"


def test_several_files_one_bad(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("these are not the sounds you are looking for\n")
    out = tmp_path / "out"
    result = hark(corpus_file(SHORT), bad, corpus_file(JFK), "--format", "words", "--output", out)
    assert result.returncode == 1
    one_line_error(result, str(bad), "not an audio or video file")
    assert sorted(p.name for p in out.iterdir()) == [
        f"{Path(JFK).stem}.tsv",
        f"{Path(SHORT).stem}.tsv",
    ]
    rows = [line.split("\t") for line in (out / f"{Path(JFK).stem}.tsv").read_text().splitlines()]
    assert all(len(row) == 4 and float(row[0]) <= float(row[1]) for row in rows)
    assert wer(reference(JFK), " ".join(row[3] for row in rows)) <= 0.1


def test_missing_file_and_not_audio_locally(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp3"
    result = hark(missing, Path(__file__))
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"hark: {missing}: no such file",
        f"hark: {Path(__file__)}: not an audio or video file this tool can read",
    ]


def test_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = hark(corpus_file(SHORT), "--server", url)
    assert result.returncode == 1
    one_line_error(result, "cannot reach the server", url)


def test_bad_key_is_the_servers_message(keyed_server: Server) -> None:
    result = hark(corpus_file(SHORT), "--server", keyed_server.url, "--api-key", "wrong")
    assert result.returncode == 1
    one_line_error(result, "API key not valid. Please pass a valid API key.")
    result = hark(corpus_file(SHORT), "--server", keyed_server.url, "--api-key", "test-key")
    assert result.returncode == 0 and "stew for dinner" in result.stdout.lower(), result.stderr
    log = keyed_server.log()
    assert "INFO hark.access: REST POST /v1/speech:recognize 400 " in log, "the wrong key"
    assert "INFO hark.access: REST POST /v1/speech:recognize 200 " in log
    assert "test-key" not in log


def test_unsupported_language() -> None:
    result = hark(corpus_file(SHORT), "--language", "fr-FR")
    assert result.returncode == 1
    one_line_error(result, "not supported for language", "fr-FR")


def test_ctrl_c_exits_cleanly() -> None:
    # A shell starts background jobs with SIGINT ignored, and a child inherits an ignored
    # signal: while starting the CLI, handle it here, so the child meets a terminal's default.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "hark", "transcribe", str(corpus_file(LONG))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    time.sleep(4)  # loading the model, or recognising the first window: both must stop
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip() == "hark: interrupted"


def test_long_file_through_server_long_running(tmp_path: Path) -> None:
    lifted = start_server(tmp_path, "--inline-async-max-seconds", "600")
    try:
        result = hark(corpus_file(LONG), "--server", lifted.url, "--format", "srt")
        operations = httpx.get(f"{lifted.url}/v1/operations", timeout=30).json()
    finally:
        lifted.stop()
    assert result.returncode == 0, result.stderr
    assert len(operations["operations"]) == 1, "the probe's operation was deleted"
    cues = parse_srt(result.stdout)
    assert 100 < cues[-1][1] <= 116
    spoken = " ".join(line for _, _, lines in cues for line in lines)
    assert wer(reference(LONG), spoken) <= 0.15
