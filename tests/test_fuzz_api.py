"""Issue 11, proof in CI: a hypothesis fuzz suite over what a client can send, in process over
FakeEngine: REST JSON bodies (random JSON and Google-shaped requests with random values), query
strings, raw and structured gRPC messages, WebSocket config frames.

Wanted for every case: no 5xx, no INTERNAL/UNKNOWN, no hang, nothing logged at ERROR or above.
Derandomized (the same cases every run) so CI is not flaky; a few thousand cases in all.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import resource
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from hark.api.rpc_server import RpcServer
from hark.auth import ApiKeys
from hark.settings import Limits

from audio_samples import tone, wav_bytes
from cores import build_cores, rest_app
from fake_engine import FakeEngine

KEY = "fuzz-key-1"
HANG_GUARD = 30.0
session_loop = pytest.mark.asyncio(loop_scope="session")  # the loop of the async fixtures
TINY_WAV = wav_bytes(tone(0.02))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- strategies -------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["LINEAR16", "FLAC", "MULAW", "OGG_OPUS", "WEBM_OPUS", "MP3", "en-US",
                      "latest_long", "video", "1e400", "-1", "NaN", "true", "AAAA"])
)  # fmt: skip


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)


json_values = st.recursive(scalars, _nested, max_leaves=16)
CONFIG_FIELDS = [
    "encoding", "sampleRateHertz", "audioChannelCount", "enableSeparateRecognitionPerChannel",
    "languageCode", "alternativeLanguageCodes", "maxAlternatives", "profanityFilter",
    "speechContexts", "enableWordTimeOffsets", "enableWordConfidence", "enableAutomaticPunctuation",
    "model", "useEnhanced", "metadata", "adaptation", "diarizationConfig", "enable_word_time_offsets",
    "language_code", "sample_rate_hertz",
]  # fmt: skip
speech_contexts = st.lists(
    st.fixed_dictionaries(
        {}, optional={"phrases": st.lists(st.text(max_size=30), max_size=5), "boost": scalars}
    ),
    max_size=3,
)
configs = st.dictionaries(
    st.sampled_from(CONFIG_FIELDS), scalars | speech_contexts | json_values, max_size=6
)
contents = st.sampled_from([TINY_WAV, b"", b"RIFF", b"fLaC\0\0\0\x22", b"OggS"]) | st.binary(
    max_size=64
)
audios = st.fixed_dictionaries(
    {},
    optional={
        "content": contents.map(lambda data: base64.b64encode(data).decode()) | scalars,
        "uri": st.sampled_from(["gs://bkt/a.wav", "gs://bkt/../x", "file:///etc/passwd",
                                "http://169.254.169.254/", "gs://" + "b" * 300 + "/o",
                                "gs://[bkt/o", "http://[::1/x", "gs://bkt/" + "o" * 300])
        | st.text(max_size=30),
    },
)  # fmt: skip
requests = st.fixed_dictionaries(
    {},
    optional={
        "config": configs | json_values,
        "audio": audios | json_values,
        "outputConfig": st.fixed_dictionaries({"gcsUri": st.text(max_size=40)}) | json_values,
        "streamingConfig": json_values,
    },
)
REST_PATHS = [
    "/v1/speech:recognize", "/v1p1beta1/speech:recognize", "/v1/speech:longrunningrecognize",
    "/v1beta1/speech:syncrecognize", "/v1beta1/speech:asyncrecognize", "/v2/speech:recognize",
]  # fmt: skip
QUERY_KEYS = ["pageSize", "page_size", "pageToken", "filter", "$alt", "key", "name", "x"]


# --- the app under test, on its own event loop ------------------------------------------------


@dataclass
class Target:
    """The app on the test session's event loop; ``run`` is called from hypothesis's thread."""

    loop: asyncio.AbstractEventLoop
    peak_rss_before: int
    """``ru_maxrss`` (KiB) when the fuzzing began."""
    app: Starlette
    rest: httpx.AsyncClient
    channel: grpc.aio.Channel
    errors: list[logging.LogRecord]

    def run(self, coroutine: Any) -> Any:
        guarded = asyncio.wait_for(coroutine, HANG_GUARD)
        return asyncio.run_coroutine_threadsafe(guarded, self.loop).result()


class _Collect(logging.Handler):
    """Keeps records at ERROR and above, and access lines of calls that ended INTERNAL or
    UNKNOWN (the server's own word on a call, whatever its client saw)."""

    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        failed = record.name == "hark.access" and (
            " INTERNAL " in message or " UNKNOWN " in message
        )
        if record.levelno >= logging.ERROR or failed:
            self.into.append(record)


@pytest.fixture(scope="module")
async def target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Target]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    (data_dir / "buckets" / "bkt").mkdir(parents=True)
    (data_dir / "buckets" / "bkt" / "a.wav").write_bytes(TINY_WAV)
    cores = await build_cores(FakeEngine(["hello world"]), data_dir)
    keys = ApiKeys([KEY])
    app = rest_app(cores, keys)
    rpc = RpcServer(cores.recognizer, cores.long_running, cores.streaming, keys, Limits())
    port = await rpc.start("127.0.0.1", 0)
    errors: list[logging.LogRecord] = []
    handler = _Collect(errors)
    logging.getLogger().addHandler(handler)
    access = logging.getLogger("hark.access")
    level = access.level
    access.setLevel(logging.INFO)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as rest,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        yield Target(asyncio.get_running_loop(), peak, app, rest, channel, errors)
    logging.getLogger().removeHandler(handler)
    access.setLevel(level)
    await rpc.stop(1)
    await cores.close()


def no_errors_logged(target: Target) -> None:
    assert not target.errors, [record.getMessage() for record in target.errors[:3]]


# --- REST ---------------------------------------------------------------------------------------


@session_loop
async def test_fuzz_rest_json_bodies(target: Target) -> None:
    @fuzz(1500)
    @given(path=st.sampled_from(REST_PATHS), body=requests | json_values, raw=st.booleans())
    def case(path: str, body: Any, raw: bool) -> None:
        content = json.dumps(body).encode()
        if raw:  # the same bytes, cut short: malformed JSON
            content = content[: len(content) // 2]
        headers = {"Content-Type": "application/json", "x-goog-api-key": KEY}
        answer = target.run(target.rest.post(path, content=content, headers=headers))
        assert answer.status_code < 500, (path, content[:300], answer.text[:300])
        if answer.status_code >= 400:  # Google's error body, always
            assert answer.json()["error"]["code"] == answer.status_code

    await asyncio.to_thread(case)
    no_errors_logged(target)


@session_loop
async def test_fuzz_rest_bytes_and_query_strings(target: Target) -> None:
    @fuzz(700)
    @given(
        method_path=st.sampled_from(
            [("GET", "/v1/operations"), ("GET", "/v1p1beta1/operations/123"),
             ("POST", "/v1/operations/1:cancel"), ("DELETE", "/v1beta1/operations/9"),
             ("POST", "/v1/speech:recognize"), ("GET", "/v1/operations/" + "9" * 40)]
        ),
        query=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), st.text(max_size=30)), max_size=4),
        body=st.binary(max_size=200),
        content_type=st.sampled_from([None, "application/json", "text/plain", "application/json; charset=latin-1"]),
    )  # fmt: skip
    def case(
        method_path: tuple[str, str],
        query: list[tuple[str, str]],
        body: bytes,
        content_type: str | None,
    ) -> None:
        method, path = method_path
        params: list[tuple[str, str | int | float | bool | None]] = [*query, ("key", KEY)]
        headers = {"Content-Type": content_type} if content_type else {}
        send = target.rest.request(
            method,
            path,
            params=httpx.QueryParams(params),
            content=body if method != "GET" else None,
            headers=headers,
        )
        answer = target.run(send)
        assert answer.status_code < 500, (method, path, params, body[:100], answer.text[:300])

    await asyncio.to_thread(case)
    no_errors_logged(target)


# --- gRPC ---------------------------------------------------------------------------------------

UNARY_METHODS = [
    "/google.cloud.speech.v1.Speech/Recognize",
    "/google.cloud.speech.v1p1beta1.Speech/Recognize",
    "/google.cloud.speech.v1.Speech/LongRunningRecognize",
    "/google.longrunning.Operations/GetOperation",
    "/google.longrunning.Operations/ListOperations",
    "/google.longrunning.Operations/WaitOperation",
    "/google.longrunning.Operations/CancelOperation",
    "/google.longrunning.Operations/DeleteOperation",
]
BAD_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}


def _protobuf(body: Any) -> bytes:
    """A Google-shaped request as protobuf bytes when it parses as one, else its JSON bytes."""
    from google.cloud.speech_v1.types import cloud_speech
    from google.protobuf import json_format

    message = cloud_speech.RecognizeRequest.pb()()
    try:
        json_format.ParseDict(body, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError, RecursionError):
        return json.dumps(body).encode()
    data: bytes = message.SerializeToString()
    return data


async def _unary(channel: grpc.aio.Channel, method: str, data: bytes) -> tuple[Any, str]:
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        await call(data, metadata=[("x-goog-api-key", KEY)], timeout=HANG_GUARD)
    except grpc.aio.AioRpcError as error:
        return error.code(), str(error.details())
    return grpc.StatusCode.OK, ""


async def _stream(channel: grpc.aio.Channel, messages: list[bytes]) -> tuple[Any, str]:
    call = channel.stream_stream(
        "/google.cloud.speech.v1.Speech/StreamingRecognize",
        request_serializer=None,
        response_deserializer=None,
    )

    async def requests() -> Any:
        for message in messages:
            yield message

    try:
        async for _ in call(requests(), metadata=[("x-goog-api-key", KEY)], timeout=HANG_GUARD):
            pass
    except grpc.aio.AioRpcError as error:
        return error.code(), str(error.details())
    return grpc.StatusCode.OK, ""


@session_loop
async def test_fuzz_grpc_messages(target: Target) -> None:
    wait = operations_pb2.WaitOperationRequest(name="1")
    wait.timeout.seconds = 0
    structured = requests.map(_protobuf)

    @fuzz(900)
    @given(
        method=st.sampled_from(UNARY_METHODS),
        data=st.binary(max_size=300) | structured | st.just(wait.SerializeToString()),
    )
    def unary(method: str, data: bytes) -> None:
        code, details = target.run(_unary(target.channel, method, data))
        assert code not in BAD_CODES, (method, data[:100], code, details)

    @fuzz(300)
    @given(messages=st.lists(st.binary(max_size=100) | structured, min_size=0, max_size=3))
    def stream(messages: list[bytes]) -> None:
        code, details = target.run(_stream(target.channel, messages))
        # The server may end a stream (malordered, say) while the client still writes: grpc's
        # client then reports its own INTERNAL; the server's code is in its access line.
        if details != "Internal error from Core":
            assert code not in BAD_CODES, (messages, code, details)

    await asyncio.to_thread(unary)
    await asyncio.to_thread(stream)
    no_errors_logged(target)


# --- WebSocket ----------------------------------------------------------------------------------


async def _websocket(app: Starlette, frames: list[str | bytes]) -> list[MutableMapping[str, Any]]:
    """One socket through the ASGI app: the frames, then end of audio, then a disconnect."""
    incoming: list[dict[str, Any]] = [{"type": "websocket.connect"}]
    for frame in [*frames, b""]:
        kind = "text" if isinstance(frame, str) else "bytes"
        incoming.append({"type": "websocket.receive", kind: frame})
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(0.01)
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket", "path": "/ws/v1/speech:streamingrecognize", "raw_path": b"",
        "query_string": f"key={KEY}".encode(), "headers": [(b"host", b"localhost")],
        "scheme": "ws", "server": ("localhost", 80), "client": ("1.2.3.4", 5), "subprotocols": [],
    }  # fmt: skip
    await app(scope, receive, send)
    return sent


@session_loop
async def test_fuzz_websocket_config_frames(target: Target) -> None:
    stream_configs = st.fixed_dictionaries(
        {},
        optional={"config": configs | json_values, "interimResults": scalars,
                  "singleUtterance": scalars, "enableVoiceActivityEvents": scalars},
    )  # fmt: skip
    frames = stream_configs.map(json.dumps) | json_values.map(json.dumps) | st.text(max_size=50)

    @fuzz(500)
    @given(first=frames, then=st.lists(frames | contents, max_size=2))
    def case(first: str, then: list[str | bytes]) -> None:
        sent = target.run(_websocket(target.app, [first, *then]))
        closes = [message for message in sent if message["type"] == "websocket.close"]
        codes = {close.get("code") for close in closes}
        assert not codes & {4002, 4013}, (first, then, sent[-2:])

    await asyncio.to_thread(case)
    no_errors_logged(target)


def test_fuzzing_kept_memory_bounded(target: Target) -> None:
    """Runs last: every case above together left the process's peak RSS bounded.

    A guard against growth per case (a leak over ~3,900 cases would reach gigabytes), not a
    measure: in one pytest process the peak moves with what earlier tests left in the
    allocator (37 MB alone, up to ~200 MB after the whole fast suite). The 100 MB per-input
    aim is measured on a real server's RSS by tests/test_bombs_server.py and bench/bombs.py.
    """
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - target.peak_rss_before
    assert grown_kib < 500 * 1024, f"peak RSS grew {grown_kib / 1024:.0f} MB while fuzzing"
