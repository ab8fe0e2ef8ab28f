"""The CLI's hand-written Google JSON is the JSON the server's protobuf rendering writes."""

from hark.api import convert, jsonbody
from hark.speech.types import Alternative, Recognition, Result, WordInfo
from hark.transcribe import rest_json

WORDS = (
    WordInfo("hello", start_time=0.0, end_time=0.4, confidence=0.91),
    WordInfo("world", start_time=0.4, end_time=1.2345678, confidence=0.333333),
)
RECOGNITION = Recognition(
    results=(
        Result(
            alternatives=(
                Alternative("hello world", confidence=0.87654321, words=WORDS),
                Alternative("hollow world", confidence=0.1),
            ),
            result_end_time=1.25,
            channel_tag=2,
            language_code="en-us",
        ),
        Result(alternatives=(Alternative("", confidence=0.0),), result_end_time=3.0),
    ),
    total_billed_seconds=4,
    request_id=1234567890123,
)


def test_recognize_response_matches_protobuf() -> None:
    for recognition in (RECOGNITION, Recognition(results=())):
        expected = jsonbody.render(convert.recognize_response(recognition, convert.V1))
        assert rest_json.recognize_response(recognition) == expected


def test_recognition_round_trips() -> None:
    body = rest_json.recognize_response(RECOGNITION)
    parsed = rest_json.recognition_from_json(body)
    assert rest_json.recognize_response(parsed) == body
    assert parsed.request_id == RECOGNITION.request_id
