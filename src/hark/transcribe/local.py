"""Transcribing files in this process: the engine and core of ``hark serve``, without a server.

The core comes from ``app.build_core`` (the same model loading, pool and Recognizer);
files are read by ``media.iter_any`` and recognised in windows by ``speech.long_audio``. The
JSON is Google's RecognizeResponse, made by the same code the REST API answers with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hark.api import convert, jsonbody
from hark.app import Core, build_core
from hark.engine.loading import ModelUnavailable
from hark.errors import FailedPrecondition
from hark.settings import build_settings
from hark.speech.config import Plan
from hark.speech.long_audio import recognize_windows, windows
from hark.speech.types import Recognition, RecognitionConfig
from hark.transcribe import media
from hark.transcribe.command import Progress, Transcriber

_CHUNK_SECONDS = 30.0


@contextmanager
def local_transcriber(model: str, config: RecognitionConfig) -> Iterator[Transcriber]:
    """Load ``model`` (the embedded one if empty) once; yield a transcriber for ``config``.

    The core is asynchronous; each file runs to completion on a private event loop.
    Raises InvalidArgument if the config does not suit the model (e.g. its language),
    FailedPrecondition if the model cannot be loaded.
    """
    loop = asyncio.new_event_loop()
    try:
        try:
            core = loop.run_until_complete(build_core(build_settings({"model": model or None})))
        except ModelUnavailable as error:
            raise FailedPrecondition(str(error)) from None
        try:
            plan = core.recognizer.plan(config)

            def transcribe(path: str, progress: Progress) -> tuple[dict[str, Any], Recognition]:
                return loop.run_until_complete(_transcribe(core, plan, path, progress))

            yield transcribe
        finally:
            loop.run_until_complete(core.close())
    finally:
        loop.close()


async def _transcribe(
    core: Core, plan: Plan, path: str, progress: Progress
) -> tuple[dict[str, Any], Recognition]:
    total = await asyncio.to_thread(media.duration, path)
    chunks = media.iter_any(path, _CHUNK_SECONDS)
    recognition = await recognize_windows(
        core.recognizer,
        windows(chunks),
        plan,
        on_progress=lambda seconds: progress(seconds / total if total else 0.0),
    )
    response = convert.recognize_response(recognition, convert.V1)
    return jsonbody.render(response), recognition
