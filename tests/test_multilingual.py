"""Every language on the multilingual base model, beside the fast English tiny.en.

One server for the module, started as the README's ``make serve`` does (``--model tiny.en
--model base``): requests in German, Spanish, French, Italian, Portuguese, Japanese and Korean
must reach base (tiny.en would refuse them), through REST and Google's own Python client.

Bounds: measured on base (int8, CPU) over these one-sentence corpus files, the WERs were de 0.20
(2 of 10 words), es 0.00 (of 12; its two results split at a pause), fr 0.00 (of 13), it 0.45 (5 of 11: base is weak on this
Italian speaker), pt 0.00 (of 8), and the CERs ja 0.10 (2 of 20 characters), ko 0.21 (4 of 19).
Each bound allows two or three more errors than measured (int8 kernels differ across CPUs, and a
model update may trade one word for another); a model that heard the wrong language, or nothing,
scores near 1.0, far above every bound.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech_v1, speech_v1p1beta1

from conftest import Server, corpus_file, reference, start_server
from wer import cer, wer

pytestmark = pytest.mark.slow

# file language -> (Google's code for it, error measure, bound)
LANGUAGES = {
    "de": ("de-DE", wer, 0.40),
    "es": ("es-ES", wer, 0.25),
    "fr": ("fr-FR", wer, 0.25),
    "it": ("it-IT", wer, 0.65),
    "pt": ("pt-BR", wer, 0.30),
    "ja": ("ja-JP", cer, 0.25),
    "ko": ("ko-KR", cer, 0.40),
}


def corpus_name(language: str) -> str:
    return f"{language}_picovoice_test_{language}.wav"


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("multilingual"), "--model", "tiny.en", "--model", "base"
    )
    yield running
    running.stop()


def client(server: Server) -> speech_v1.SpeechClient:
    return speech_v1.SpeechClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": server.url},
    )


@pytest.mark.parametrize("language", ["de", "es", "fr", "it", "pt", "ja", "ko"])
def test_each_language_through_rest(both: Server, language: str) -> None:
    code, measure, bound = LANGUAGES[language]
    name = corpus_name(language)
    body = {
        "config": {"languageCode": code},
        "audio": {"content": base64.b64encode(corpus_file(name).read_bytes()).decode()},
    }
    reply = httpx.post(f"{both.url}/v1/speech:recognize", json=body, timeout=120)
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    heard = " ".join(result["alternatives"][0]["transcript"] for result in results)
    assert measure(reference(name), heard) <= bound, heard
    assert {result["languageCode"] for result in results} == {code.lower()}


@pytest.mark.parametrize("language", ["de", "fr"])
def test_googles_client_gets_the_language_it_asked_for(both: Server, language: str) -> None:
    code, measure, bound = LANGUAGES[language]
    name = corpus_name(language)
    response = client(both).recognize(
        config=speech_v1.RecognitionConfig(language_code=code),
        audio=speech_v1.RecognitionAudio(content=corpus_file(name).read_bytes()),
    )
    heard = " ".join(result.alternatives[0].transcript for result in response.results)
    assert measure(reference(name), heard) <= bound, heard


def test_english_still_works_beside_base(both: Server) -> None:
    name = "en_librispeech_1089-134686-0000.flac"
    response = client(both).recognize(
        config=speech_v1.RecognitionConfig(language_code="en-US"),
        audio=speech_v1.RecognitionAudio(content=corpus_file(name).read_bytes()),
    )
    heard = " ".join(result.alternatives[0].transcript for result in response.results)
    assert wer(reference(name), heard) <= 0.2


def test_a_language_whisper_lacks_gets_googles_error(both: Server) -> None:
    with pytest.raises(exceptions.BadRequest, match="not supported for language : xh-ZA"):
        client(both).recognize(
            config=speech_v1.RecognitionConfig(language_code="xh-ZA"),
            audio=speech_v1.RecognitionAudio(content=corpus_file(corpus_name("de")).read_bytes()),
        )


def test_an_english_only_server_still_refuses_german(server: Server) -> None:
    with pytest.raises(exceptions.BadRequest) as refused:
        client(server).recognize(
            config=speech_v1.RecognitionConfig(language_code="de-DE"),
            audio=speech_v1.RecognitionAudio(content=corpus_file(corpus_name("de")).read_bytes()),
        )
    assert "The requested model is currently not supported for language : de-DE" in str(
        refused.value
    )


def test_transcribe_detects_the_language_without_language_flag() -> None:
    name = corpus_name("fr")
    command = ["transcribe", "--model", "base", "--format", "json", str(corpus_file(name))]
    done = subprocess.run(
        [sys.executable, "-m", "hark", *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert {result["languageCode"] for result in results} == {"fr"}
    heard = " ".join(result["alternatives"][0]["transcript"] for result in results)
    assert wer(reference(name), heard) <= LANGUAGES["fr"][2], heard


@pytest.mark.parametrize("language", ["fr", "de"])
def test_the_language_is_detected_among_the_alternatives(both: Server, language: str) -> None:
    name = corpus_name(language)
    response = speech_v1p1beta1.SpeechClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": both.url},
    ).recognize(
        config=speech_v1p1beta1.RecognitionConfig(
            language_code="en-US", alternative_language_codes=["de-DE", "fr-FR"]
        ),
        audio=speech_v1p1beta1.RecognitionAudio(content=corpus_file(name).read_bytes()),
    )
    assert {result.language_code for result in response.results} == {LANGUAGES[language][0].lower()}
