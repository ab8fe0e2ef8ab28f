"""Google's own Python client, REST transport, unmodified, pointed at Hark."""

from __future__ import annotations

from types import ModuleType

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech_v1, speech_v1p1beta1

from conftest import Server, corpus_file, reference
from wer import wer

pytestmark = pytest.mark.slow

NAME = "en_librispeech_1089-134686-0000.flac"


def rest_client(module: ModuleType, server: Server, api_key: str | None = None) -> object:
    options = {"api_endpoint": server.url}
    if api_key:
        return module.SpeechClient(transport="rest", client_options={**options, "api_key": api_key})
    return module.SpeechClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options=options,
    )


@pytest.mark.parametrize("module", [speech_v1, speech_v1p1beta1], ids=["v1", "v1p1beta1"])
def test_recognize_with_words_and_alternatives(server: Server, module: ModuleType) -> None:
    client = rest_client(module, server)
    config = module.RecognitionConfig(
        encoding=module.RecognitionConfig.AudioEncoding.FLAC,
        sample_rate_hertz=16000,
        language_code="en-US",
        enable_word_time_offsets=True,
        enable_word_confidence=True,
        max_alternatives=3,
    )
    audio = module.RecognitionAudio(content=corpus_file(NAME).read_bytes())
    response = client.recognize(config=config, audio=audio)  # type: ignore[attr-defined]
    text = " ".join(result.alternatives[0].transcript for result in response.results)
    assert wer(reference(NAME), text) <= 0.2
    assert response.total_billed_time.total_seconds() == 11
    words = [word for result in response.results for word in result.alternatives[0].words]
    assert words and all(0 < word.confidence <= 1 for word in words)
    assert words[-1].end_time.total_seconds() <= 10.5
    assert any(len(result.alternatives) > 1 for result in response.results)


def test_errors_surface_as_api_core_exceptions(server: Server) -> None:
    client = rest_client(speech_v1, server)
    audio = speech_v1.RecognitionAudio(content=corpus_file(NAME).read_bytes())
    with pytest.raises(exceptions.BadRequest, match="bad language code"):
        client.recognize(  # type: ignore[attr-defined]
            config=speech_v1.RecognitionConfig(language_code="??"), audio=audio
        )
    with pytest.raises(exceptions.BadRequest, match="match the value in the FLAC header"):
        client.recognize(  # type: ignore[attr-defined]
            config=speech_v1.RecognitionConfig(language_code="en-US", sample_rate_hertz=8000),
            audio=audio,
        )


def test_api_key_through_client_options(keyed_server: Server) -> None:
    audio = speech_v1.RecognitionAudio(content=corpus_file(NAME).read_bytes())
    config = speech_v1.RecognitionConfig(language_code="en-US")
    good = rest_client(speech_v1, keyed_server, api_key="test-key")
    assert good.recognize(config=config, audio=audio).results  # type: ignore[attr-defined]
    wrong = rest_client(speech_v1, keyed_server, api_key="wrong")
    with pytest.raises(exceptions.BadRequest, match="API key not valid"):
        wrong.recognize(config=config, audio=audio)  # type: ignore[attr-defined]
    anonymous = rest_client(speech_v1, keyed_server)
    with pytest.raises(exceptions.Forbidden, match="missing a valid API key"):
        anonymous.recognize(config=config, audio=audio)  # type: ignore[attr-defined]
