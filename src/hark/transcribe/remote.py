"""A REST client for a Hark (or Google-compatible) server: Recognize, or a long-running operation.

How the audio travels: the file is decoded here and mixed to 16 kHz mono. Up to
``SYNC_SECONDS`` it goes as inline FLAC to ``speech:recognize``. Longer audio goes inline as
Ogg Opus (24 kbit/s, about 11 MB an hour) to ``speech:longrunningrecognize``, and the
operation is polled until done. Google, and Hark by default, refuse inline audio over about
a minute for long-running requests: start Hark with a lifted inline limit for long files.

A server's limits cannot be asked for through Google's API, so before encoding a long file
its first ``PROBE_SECONDS`` go as a LongRunningRecognize: a server at Google's limit refuses
that at once, and the command fails in a second instead of after encoding the whole file;
a server that accepts it has a lifted limit, and the probe's operation is deleted.

Server errors come back as the ``SpeechError`` of their ``google.rpc`` status, with the
server's own message; an unreachable server is ``Unavailable``.
"""

from __future__ import annotations

import base64
import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from hark import media
from hark.engine import SAMPLE_RATE
from hark.errors import Code, SpeechError, Unavailable, Unimplemented, error_for_code
from hark.samples import Array
from hark.speech.types import Recognition, RecognitionConfig
from hark.transcribe import rest_json

SYNC_SECONDS = 55.0
"""Audio up to this long goes to ``recognize``; Google's sync limit is about a minute."""
PROBE_SECONDS = 61.0
"""Just over Google's (and Hark's default) 60 s inline limit for long-running requests."""
OPUS_BYTES_PER_SECOND = 3_200
"""Ogg Opus at 24 kbit/s with its framing: Hark's default 10 MiB request holds about 55 min."""
_DEFAULT_MAX_REQUEST_BYTES = 10_485_760
_POLL_FIRST, _POLL_MAX = 0.5, 5.0


@dataclass(frozen=True)
class Endpoint:
    """A server's base URL (``http://host:port``), an API key, and the API version to call."""

    url: str
    api_key: str = ""
    version: str = "v1"
    timeout: float = 600.0


def base_url(server: str) -> str:
    """``--server`` as a base URL: ``127.0.0.1:8080`` means ``http://127.0.0.1:8080``."""
    server = server.strip().rstrip("/")
    return server if "://" in server else f"http://{server}"


def recognize_file(
    endpoint: Endpoint,
    path: str,
    config: RecognitionConfig,
    on_progress: Callable[[float], object] | None = None,
) -> tuple[dict[str, Any], Recognition]:
    """Transcribe ``path`` on the server: (the server's RecognizeResponse JSON, as core types).

    ``on_progress(percent)`` is called while a long-running operation is polled.
    """
    length = media.duration(path)
    with httpx.Client(
        base_url=endpoint.url, timeout=endpoint.timeout, headers=_headers(endpoint)
    ) as client:
        if length is not None and length <= SYNC_SECONDS:
            audio = media.encode(media.mono(media.iter_any(path)), "flac")
            body = _request(client, "POST", f"/{endpoint.version}/speech:recognize", config, audio)
        else:
            if length is None or length > PROBE_SECONDS:
                _probe_inline_limit(client, endpoint, config, path, length)
            audio = media.encode(media.mono(media.iter_any(path)), "opus")
            body = _long_running(client, endpoint, config, audio, length, on_progress=on_progress)
    return body, rest_json.recognition_from_json(body)


def _probe_inline_limit(
    client: httpx.Client,
    endpoint: Endpoint,
    config: RecognitionConfig,
    path: str,
    length: float | None,
) -> None:
    """Refused at once by a server at Google's inline limit; else its operation is deleted."""
    # The decoder is left unfinished; dropping the generator closes the file.
    probe = media.encode(_head(media.mono(media.iter_any(path)), PROBE_SECONDS), "opus")
    operation = _submit(client, endpoint, config, probe, length)
    with contextlib.suppress(SpeechError):  # a server without DELETE keeps a short job
        _call(client, "DELETE", f"/{endpoint.version}/operations/{operation['name']}", None)


def _head(chunks: Iterable[Array], seconds: float) -> Iterator[Array]:
    """The first ``seconds`` of 16 kHz ``chunks``; the rest is not decoded."""
    left = round(seconds * SAMPLE_RATE)
    for chunk in chunks:
        yield chunk[:, :left]
        left -= chunk.shape[1]
        if left <= 0:
            return


def _headers(endpoint: Endpoint) -> dict[str, str]:
    return {"x-goog-api-key": endpoint.api_key} if endpoint.api_key else {}


def _request(
    client: httpx.Client, method: str, path: str, config: RecognitionConfig, audio: bytes
) -> dict[str, Any]:
    encoding = "FLAC" if audio[:4] == b"fLaC" else "OGG_OPUS"
    payload = {
        "config": rest_json.config_json(config, encoding),
        "audio": {"content": base64.b64encode(audio).decode("ascii")},
    }
    return _call(client, method, path, payload)


def _long_running(
    client: httpx.Client,
    endpoint: Endpoint,
    config: RecognitionConfig,
    audio: bytes,
    length: float | None,
    *,
    on_progress: Callable[[float], object] | None,
) -> dict[str, Any]:
    operation = _submit(client, endpoint, config, audio, length)
    wait = _POLL_FIRST
    while not operation.get("done"):
        if on_progress is not None:
            on_progress(float(operation.get("metadata", {}).get("progressPercent", 0)))
        time.sleep(wait)
        wait = min(wait * 1.5, _POLL_MAX)
        name = operation["name"]
        operation = _call(client, "GET", f"/{endpoint.version}/operations/{name}", None)
    if "error" in operation:
        status = operation["error"]
        raise error_for_code(int(status.get("code", 2)), str(status.get("message", "")))
    if on_progress is not None:
        on_progress(100.0)
    response: dict[str, Any] = operation.get("response", {})
    return {key: value for key, value in response.items() if key != "@type"}


def _submit(
    client: httpx.Client,
    endpoint: Endpoint,
    config: RecognitionConfig,
    audio: bytes,
    length: float | None,
) -> dict[str, Any]:
    """POST a LongRunningRecognize: the Operation, or the error naming the setting to change."""
    try:
        return _request(
            client, "POST", f"/{endpoint.version}/speech:longrunningrecognize", config, audio
        )
    except SpeechError as error:
        if error.code in (Code.NOT_FOUND, Code.UNIMPLEMENTED):
            raise Unimplemented(
                f"the server does not offer long-running recognition ({error.message});"
                f" audio over {SYNC_SECONDS:.0f} s needs it"
            ) from None
        hint = _limit_hint(error, length)
        if hint:
            raise type(error)(f"{error.message} ({hint})") from None
        raise


def _limit_hint(error: SpeechError, length: float | None) -> str:
    """Which ``hark serve`` setting lets this file through, for a refusal over a limit."""
    if error.code != Code.INVALID_ARGUMENT:
        return ""
    message = error.message.lower()
    seconds = math.ceil(length) if length else 0
    size = seconds * OPUS_BYTES_PER_SECOND
    raise_bytes = f"--max-request-bytes {size}" if size > _DEFAULT_MAX_REQUEST_BYTES else ""
    if "inline" in message:
        needed = f" {seconds}" if seconds else ""
        also = f" and {raise_bytes}" if raise_bytes else ""
        return f"for long files start Hark with --inline-async-max-seconds{needed}{also}"
    if "payload size" in message:
        return f"start Hark with {raise_bytes or '--max-request-bytes'} or more"
    return ""


def _call(
    client: httpx.Client, method: str, path: str, payload: dict[str, Any] | None
) -> dict[str, Any]:
    try:
        reply = client.request(method, path, json=payload)
    except httpx.TimeoutException:
        raise Unavailable(f"the server at {client.base_url} did not answer in time") from None
    except httpx.HTTPError as error:
        raise Unavailable(f"cannot reach the server at {client.base_url}: {error}") from None
    try:
        body = reply.json()
    except ValueError:
        body = None
    if reply.is_success and isinstance(body, dict):
        return body
    raise _server_error(reply, body)


def _server_error(reply: httpx.Response, body: object) -> SpeechError:
    """The SpeechError of Google's REST error body, or of the bare HTTP status."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        try:
            code = Code[str(error.get("status", ""))]
        except KeyError:
            code = _HTTP_CODES.get(reply.status_code, Code.UNKNOWN)
        return error_for_code(code, str(error["message"]))
    code = _HTTP_CODES.get(reply.status_code, Code.UNKNOWN)
    text = reply.text.strip().splitlines()[0][:200] if reply.text.strip() else reply.reason_phrase
    return error_for_code(code, f"HTTP {reply.status_code} from the server: {text}")


_HTTP_CODES = {
    400: Code.INVALID_ARGUMENT,
    401: Code.UNAUTHENTICATED,
    403: Code.PERMISSION_DENIED,
    404: Code.NOT_FOUND,
    429: Code.RESOURCE_EXHAUSTED,
    501: Code.UNIMPLEMENTED,
    503: Code.UNAVAILABLE,
}
