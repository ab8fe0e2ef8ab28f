"""Stored PhraseSets and CustomClasses with Google's own clients against a live Hark: v1's
Adaptation service (gRPC and REST), v2's resources, and a stored phrase set referenced from
a request changing what is recognised."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech_v1, speech_v2
from google.cloud.speech_v1.services.adaptation.transports import AdaptationGrpcTransport
from google.cloud.speech_v1.services.speech.transports import (
    SpeechGrpcTransport as V1SpeechGrpcTransport,
)
from google.cloud.speech_v2.services.speech.transports import SpeechGrpcTransport

from conftest import Server, corpus_file, reference
from wer import normalize, wer

pytestmark = pytest.mark.slow

PARENT = "projects/hark-adaptation/locations/global"
HINTED = "en_librivox_sense_and_sensibility_0880.wav"  # "he was not an ill disposed young man"
TRANSPORTS = pytest.mark.parametrize("transport", ["grpc", "rest"])


def adaptation_client(server: Server, transport: str) -> Any:
    if transport == "grpc":
        channel = grpc.insecure_channel(server.grpc_target)
        return speech_v1.AdaptationClient(transport=AdaptationGrpcTransport(channel=channel))
    return speech_v1.AdaptationClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": server.url},
    )


def v2_client(server: Server) -> Any:
    channel = grpc.insecure_channel(server.grpc_target)
    return speech_v2.SpeechClient(transport=SpeechGrpcTransport(channel=channel))


@TRANSPORTS
def test_v1_adaptation_resources(server: Server, transport: str) -> None:
    adaptation = adaptation_client(server, transport)
    custom_class = adaptation.create_custom_class(
        parent=PARENT,
        custom_class_id=f"colours-{transport}",
        custom_class=speech_v1.CustomClass(items=[{"value": "red"}, {"value": "blue"}]),
    )
    assert custom_class.custom_class_id == f"colours-{transport}"
    phrase_set = adaptation.create_phrase_set(
        parent=PARENT,
        phrase_set_id=f"phrases-{transport}",
        phrase_set=speech_v1.PhraseSet(
            phrases=[{"value": f"${{{custom_class.name}}} car"}], boost=5
        ),
    )
    assert adaptation.get_phrase_set(name=phrase_set.name).boost == 5
    assert phrase_set.name in [p.name for p in adaptation.list_phrase_set(parent=PARENT)]
    updated = adaptation.update_phrase_set(
        phrase_set=speech_v1.PhraseSet(name=phrase_set.name, boost=15),
        update_mask={"paths": ["boost"]},
    )
    assert updated.boost == 15 and len(updated.phrases) == 1  # phrases kept: not in the mask
    with pytest.raises(exceptions.Conflict):  # ALREADY_EXISTS (409 over REST)
        adaptation.create_custom_class(
            parent=PARENT, custom_class_id=f"colours-{transport}", custom_class={}
        )
    # One store: the v2 API sees what v1 made.
    assert v2_client(server).get_phrase_set(name=phrase_set.name).boost == 15
    adaptation.delete_phrase_set(name=phrase_set.name)
    adaptation.delete_custom_class(name=custom_class.name)
    with pytest.raises(exceptions.NotFound):
        adaptation.get_phrase_set(name=phrase_set.name)
    with pytest.raises(exceptions.NotFound):  # another project sees nothing of this one
        adaptation.get_custom_class(name=custom_class.name.replace("hark-adaptation", "other"))


def test_a_stored_phrase_set_changes_the_outcome(server: Server) -> None:
    speech = v2_client(server)
    manner = speech.create_custom_class(
        parent=PARENT,
        custom_class_id="manner",
        custom_class=speech_v2.CustomClass(items=[{"value": "ill"}]),
    ).result()
    hints = speech.create_phrase_set(
        parent=PARENT,
        phrase_set_id="disposition",
        phrase_set=speech_v2.PhraseSet(
            phrases=[{"value": f"${{{manner.name}}} disposed"}], boost=10
        ),
    ).result()
    content = corpus_file(HINTED).read_bytes()
    config = speech_v2.RecognitionConfig(auto_decoding_config={}, language_codes=["en-US"])
    plain = speech.recognize(recognizer=f"{PARENT}/recognizers/_", config=config, content=content)
    plain_text = " ".join(r.alternatives[0].transcript for r in plain.results)
    assert "ill" not in normalize(plain_text).split()  # tiny.en hears "old-sposed"
    config.adaptation = speech_v2.SpeechAdaptation(phrase_sets=[{"phrase_set": hints.name}])
    hinted = speech.recognize(recognizer=f"{PARENT}/recognizers/_", config=config, content=content)
    hinted_text = " ".join(r.alternatives[0].transcript for r in hinted.results)
    assert "ill" in normalize(hinted_text).split()
    assert wer(reference(HINTED), hinted_text) < wer(reference(HINTED), plain_text)
    # v1's phrase_set_references resolve the same stored set.
    v1 = speech_v1.SpeechClient(
        transport=V1SpeechGrpcTransport(channel=grpc.insecure_channel(server.grpc_target))
    )
    v1_config = speech_v1.RecognitionConfig(
        language_code="en-US",
        adaptation=speech_v1.SpeechAdaptation(phrase_set_references=[hints.name]),
    )
    v1_hinted = v1.recognize(config=v1_config, audio=speech_v1.RecognitionAudio(content=content))
    assert "ill" in normalize(v1_hinted.results[0].alternatives[0].transcript).split()
    with pytest.raises(exceptions.InvalidArgument, match="was not found"):
        v1_config.adaptation.phrase_set_references[:] = [f"{PARENT}/phraseSets/never-made"]
        v1.recognize(config=v1_config, audio=speech_v1.RecognitionAudio(content=content))
