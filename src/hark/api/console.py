"""The web console: its page at ``/``, its files under ``/console/``, and one upload route.

The page (``src/hark/console/``: hand-written HTML, CSS and ES modules, no build step, nothing
from a CDN) talks to Hark only through the public API: REST v1 JSON, the streaming WebSocket
and the operations routes, so the requests it shows a person are the ones it really sent.

Its one route of its own is ``POST /console/uploads``. Google's API, and Hark by default,
refuse more than about a minute of inline audio for ``LongRunningRecognize``; Google's own
console uploads a long file into a Cloud Storage bucket and names it by ``gs://`` URI. The
console does the same against Hark's local stand-in: the body (the file's bytes, sent as
``application/octet-stream``) is stored as ``<data-dir>/buckets/hark-console/<random name>``
and the answer names it, ``{"uri": "gs://hark-console/NAME", "bytes": N}``; the console then
submits an ordinary ``longrunningrecognize`` with that ``uri``. So a server started with
default flags takes long files, and no limit of the API itself is relaxed. The route has the
API's guards: the same API key check, the ``Host`` check (middleware), a size cap
(``console_upload_max_bytes``), a per-chunk deadline, and a content type a cross-site page
cannot send without a preflight (which Hark never grants). Uploads older than the operation
retention are deleted at the next upload, so the bucket does not grow without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hark.api.rest import RestApi
from hark.errors import Cancelled, DeadlineExceeded, FailedPrecondition, InvalidArgument

BUCKET = "hark-console"
"""The local bucket console uploads go to (``gs://hark-console/...``)."""
UPLOAD_TYPE = "application/octet-stream"
NOT_LOCAL = "Console uploads need local buckets (gcs = local); submit a gs:// URI instead."
EMPTY = "The upload is empty."
_PART = ".part-"
"""Prefix of an upload still arriving; never named to a client, removed when it fails."""
_PAGE_HEADERS = {
    # The console's own files and its own server only; no framing by other sites.
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:;"
        " img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def static_dir() -> Path:
    """The console's files, shipped inside the ``hark`` package."""
    return Path(str(resources.files("hark").joinpath("console")))


class Console:
    """The console's routes over one ``RestApi`` (its key check and limits)."""

    def __init__(
        self,
        rest: RestApi,
        buckets: Path,
        *,
        uploads: bool = True,
        max_bytes: int,
        keep_seconds: float,
    ) -> None:
        """``buckets`` is the local buckets' root; ``uploads`` False (real Cloud Storage)
        refuses uploads with FAILED_PRECONDITION."""
        self.rest = rest
        self.folder = buckets / BUCKET
        self.uploads = uploads
        self.max_bytes = max_bytes
        self.keep_seconds = keep_seconds

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.page, methods=["GET", "HEAD"]),
            Route("/console/uploads", self.upload, methods=["POST"]),
            Mount("/console", StaticFiles(directory=static_dir()), name="console"),
        ]

    async def page(self, request: Request) -> Response:
        return FileResponse(static_dir() / "index.html", headers=_PAGE_HEADERS)

    async def upload(self, request: Request) -> Response:
        """Store the body in the console's bucket; answer its ``gs://`` URI."""
        self.rest.authorize(request)
        if not self.uploads:
            raise FailedPrecondition(NOT_LOCAL)
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != UPLOAD_TYPE:
            raise InvalidArgument(f"Send the audio as {UPLOAD_TYPE}.")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()
        self.folder.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._prune)
        name = secrets.token_hex(16)
        size = await self._receive(request, self.folder / name)
        return JSONResponse({"uri": f"gs://{BUCKET}/{name}", "bytes": size})

    async def _receive(self, request: Request, target: Path) -> int:
        """Write the body to ``target`` (atomically: a part file renamed when whole)."""
        part = target.with_name(_PART + target.name)
        size = 0
        try:
            with part.open("wb") as file:
                async for chunk in _timed(request, self.rest.limits.request_timeout_seconds):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large()
                    file.write(chunk)
            if size == 0:
                raise InvalidArgument(EMPTY)
            part.rename(target)
        finally:
            part.unlink(missing_ok=True)
        return size

    def _too_large(self) -> InvalidArgument:
        return InvalidArgument(
            f"The upload exceeds {self.max_bytes} bytes; the server's"
            " --console-upload-max-bytes sets the limit."
        )

    def _prune(self) -> None:
        """Delete uploads (and stale parts) older than the operation retention."""
        oldest = time.time() - self.keep_seconds
        for path in self.folder.iterdir():
            with contextlib.suppress(OSError):  # another request may have removed it
                if path.stat().st_mtime < oldest:
                    path.unlink()


async def _timed(request: Request, seconds: float) -> AsyncIterator[bytes]:
    """The body's chunks; DEADLINE_EXCEEDED when one takes more than ``seconds`` to arrive
    (a long upload may take long in all, but a stalled one must not hold the server)."""
    chunks = request.stream()
    while True:
        try:
            chunk = await asyncio.wait_for(anext(chunks), seconds)
        except StopAsyncIteration:
            return
        except ClientDisconnect:
            raise Cancelled("The client closed the request.") from None
        except TimeoutError:
            raise DeadlineExceeded("The upload stalled.") from None
        if chunk:
            yield chunk
