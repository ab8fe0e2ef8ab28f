"""OpenAI's audio API on a real Hark, with OpenAI's own Python SDK as the client (and curl)."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
from collections.abc import Iterator

import httpx
import numpy as np
import openai
import pytest

from audio_samples import wav_bytes
from conftest import Server, corpus_file, manifest, reference, start_server
from wer import wer

pytestmark = pytest.mark.slow

KEY = "test-key"
MAX_SECONDS = 250
MP3 = "en_ljspeech_LJ001-0010.mp3"
WEBM = "medium_en_4utts_webm_opus.webm"
M4A = "en_librispeech_1272-128104-0000.m4a"
LONG = "long_en_combined_3min.opus"


@pytest.fixture(scope="module")
def hark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One keyed Hark for this module, its duration cap lowered so a test can pass it."""
    running = start_server(
        tmp_path_factory.mktemp("openai"),
        "--api-key", KEY, "--openai-max-seconds", str(MAX_SECONDS),
    )  # fmt: skip
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(hark: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{hark.url}/v1", api_key=KEY, max_retries=0, timeout=300)


def transcribe(client: openai.OpenAI, name: str, **options: object) -> object:
    with open(corpus_file(name), "rb") as audio:
        return client.audio.transcriptions.create(  # type: ignore[call-overload]
            file=audio, model=str(options.pop("model", "whisper-1")), **options
        )


def error_of(raised: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, object]:
    body = raised.value.response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return dict(body["error"])


# -- response formats ----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["whisper-1", "gpt-4o-transcribe", "tiny.en"])
def test_json(client: openai.OpenAI, model: str) -> None:
    result = transcribe(client, MP3, model=model)
    assert isinstance(result, openai.types.audio.Transcription)
    assert wer(reference(MP3), result.text) <= 0.15, result.text
    assert result.usage is not None and result.usage.seconds == 9  # type: ignore[union-attr]


def test_text(client: openai.OpenAI) -> None:
    text = transcribe(client, M4A, response_format="text")
    assert isinstance(text, str)
    assert wer(reference(M4A), text) <= 0.15, text


def cue_times(subtitles: str, separator: str) -> list[tuple[float, float]]:
    def seconds(clock: str) -> float:
        hours, minutes, rest = clock.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))

    return [
        (seconds(line.split(" --> ")[0]), seconds(line.split(" --> ")[1]))
        for line in subtitles.splitlines()
        if " --> " in line and separator in line
    ]


@pytest.mark.parametrize(("response_format", "separator"), [("srt", ","), ("vtt", ".")])
def test_subtitles(client: openai.OpenAI, response_format: str, separator: str) -> None:
    subtitles = transcribe(client, WEBM, response_format=response_format)
    assert isinstance(subtitles, str)
    if response_format == "vtt":
        assert subtitles.startswith("WEBVTT\n")
    times = cue_times(subtitles, separator)
    assert len(times) >= 4
    assert all(start < end for start, end in times)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times)), times
    assert times[-1][1] <= manifest()[WEBM]["duration_s"] + 0.1
    spoken = " ".join(
        line for line in subtitles.splitlines()[1:] if line and " --> " not in line
        and not line.isdigit()
    )  # fmt: skip
    assert wer(reference(WEBM), spoken) <= 0.15, spoken


def test_verbose_json_words_and_segments(client: openai.OpenAI) -> None:
    result = transcribe(
        client,
        WEBM,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert isinstance(result, openai.types.audio.TranscriptionVerbose)
    duration = manifest()[WEBM]["duration_s"]
    assert result.language == "english" and abs(result.duration - duration) < 0.1
    assert wer(reference(WEBM), result.text) <= 0.15, result.text
    words, segments = result.words or [], result.segments or []
    assert wer(reference(WEBM), " ".join(w.word for w in words)) <= 0.15
    assert all(0 <= w.start <= w.end <= duration + 0.01 for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert len(segments) >= 2 and [s.id for s in segments] == list(range(len(segments)))
    assert all(s.start < s.end for s in segments)
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))
    assert " ".join(s.text.strip() for s in segments) == result.text


def test_verbose_json_words_only(client: openai.OpenAI) -> None:
    result = transcribe(
        client, MP3, response_format="verbose_json", timestamp_granularities=["word"]
    )
    assert isinstance(result, openai.types.audio.TranscriptionVerbose)
    assert result.words and result.segments is None


def test_a_long_file_in_windows(client: openai.OpenAI) -> None:
    result = transcribe(client, LONG, response_format="verbose_json")
    assert isinstance(result, openai.types.audio.TranscriptionVerbose)
    assert result.duration > 190  # past one 120 s window
    assert wer(reference(LONG), result.text) <= 0.15
    assert result.segments and result.segments[-1].end > 150


# -- streaming -----------------------------------------------------------------------------


def test_streaming(client: openai.OpenAI) -> None:
    with open(corpus_file(WEBM), "rb") as audio:
        stream = client.audio.transcriptions.create(
            file=audio, model="gpt-4o-mini-transcribe", stream=True
        )
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[-1] == "transcript.text.done" and kinds.count("transcript.text.done") == 1
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert len(deltas) >= 2, "one delta per stretch of speech"
    done = events[-1]
    assert done.type == "transcript.text.done"
    assert "".join(deltas) == done.text
    assert wer(reference(WEBM), done.text) <= 0.15


# -- translations --------------------------------------------------------------------------


def test_translation_needs_a_multilingual_model(client: openai.OpenAI) -> None:
    with (
        open(corpus_file("fr_picovoice_test_fr.wav"), "rb") as audio,
        pytest.raises(openai.BadRequestError) as raised,
    ):
        client.audio.translations.create(file=audio, model="whisper-1")
    error = error_of(raised)
    assert error["param"] == "model" and error["code"] == "model_not_supported"
    assert "tiny.en" in str(error["message"]) and "multilingual" in str(error["message"])


# -- models --------------------------------------------------------------------------------


def test_models(client: openai.OpenAI) -> None:
    names = {model.id for model in client.models.list()}
    assert names == {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "tiny.en"}
    assert client.models.retrieve("whisper-1").owned_by == "hark"
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("whisper-2")
    assert error_of(raised)["code"] == "model_not_found"


# -- errors --------------------------------------------------------------------------------


def test_bad_response_format(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, MP3, response_format="xml")
    assert error_of(raised)["param"] == "response_format"


def test_unsupported_and_malformed_language(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, MP3, language="fr")
    assert error_of(raised)["code"] == "unsupported_language"
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, MP3, language="english")
    assert error_of(raised)["code"] == "invalid_language_format"


def test_unknown_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        transcribe(client, MP3, model="whisper-2")
    assert error_of(raised)["param"] == "model"


def test_wrong_or_missing_key(hark: Server) -> None:
    wrong = openai.OpenAI(base_url=f"{hark.url}/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        transcribe(wrong, MP3)
    assert error_of(raised)["code"] == "invalid_api_key"
    reply = httpx.get(f"{hark.url}/v1/models")
    assert reply.status_code == 401 and reply.json()["error"]["type"] == "invalid_request_error"


def test_missing_file(hark: Server) -> None:
    reply = httpx.post(
        f"{hark.url}/v1/audio/transcriptions",
        headers={"Authorization": f"Bearer {KEY}"},
        files={"model": (None, "whisper-1")},
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "file"


def test_not_audio(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(
            file=("notes.mp3", b"these are not the droids"), model="whisper-1"
        )
    assert error_of(raised)["param"] == "file"


def test_over_the_25_mb_limit(client: openai.OpenAI) -> None:
    too_big = wav_bytes(np.zeros(13_200_000, dtype=np.float32))  # 26.4 MB of silence
    with pytest.raises(openai.APIStatusError) as raised:
        client.audio.transcriptions.create(file=("big.wav", too_big), model="whisper-1")
    assert raised.value.status_code == 413
    assert error_of(raised)["code"] == "file_too_large"


def test_over_the_duration_cap(client: openai.OpenAI) -> None:
    longer = wav_bytes(np.zeros((MAX_SECONDS + 10) * 8000, dtype=np.float32), rate=8000)
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(file=("long.wav", io.BytesIO(longer)), model="whisper-1")
    assert error_of(raised)["code"] == "audio_too_long"


def test_curl(hark: Server) -> None:
    """Plain ``curl -F``, as the scripts that call OpenAI do."""
    result = subprocess.run(
        [
            "curl", "-sS", f"{hark.url}/v1/audio/transcriptions",
            "-H", f"Authorization: Bearer {KEY}",
            "-F", f"file=@{corpus_file(M4A)}", "-F", "model=whisper-1",
            "-F", "response_format=verbose_json", "-F", "timestamp_granularities[]=word",
        ],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    body = json.loads(result.stdout)
    assert wer(reference(M4A), body["text"]) <= 0.15
    assert body["words"] and body["task"] == "transcribe"


def test_access_log_covers_the_routes(hark: Server, client: openai.OpenAI) -> None:
    client.models.list()
    transcribe(client, MP3)
    with pytest.raises(openai.BadRequestError):
        client.audio.translations.create(file=("a.wav", b"RIFF"), model="whisper-1")
    log = hark.log()
    assert "REST GET /v1/models 200" in log
    assert "REST POST /v1/audio/transcriptions 200" in log and "audio=" in log
    assert "REST POST /v1/audio/translations 400" in log
    assert KEY not in log
