"""Recognising audio of any length in windows, with memory that stays flat.

Long audio arrives as decoded chunks (``audio.iter_file``); this module cuts it into windows
of at most ``WINDOW_SECONDS``, each ending at the quietest moment near its end, so a cut falls
in a pause rather than through a word: nothing is doubled or dropped at the edges. Windows are
long (two minutes) because the engine decodes best with context: inside a window Whisper
moves 30 s at a time conditioned on what it already wrote, while across a cut that context
is lost (28 s windows measured WER 0.153 against 0.057 on long_en_multispeaker_16k.wav).
Each window is recognised with its absolute offset, so ``resultEndTime`` and word offsets
count from the start of the whole audio. Several windows of one file are recognised at once
(``Limits.cursors_per_file``): each is a cursor of the engine's continuous batching, so one
long file alone fills the engine's batches.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hark.engine import SAMPLE_RATE
from hark.speech.checkpoint import Checkpoint
from hark.speech.diarization import SpeechEmbeddings
from hark.speech.plan import Plan
from hark.speech.recognizer import Recognizer, billed_seconds, new_request_id
from hark.speech.types import Recognition, Result

WINDOW_SECONDS = 120.0
"""Longest window: memory per job stays under ~8 MB of samples per channel."""
SEARCH_SECONDS = 10.0
"""A window ends at the quietest 50 ms frame among its last ``SEARCH_SECONDS``."""
_FRAME = SAMPLE_RATE // 20

Channels = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Window:
    """A stretch of audio, (n_channels, n) samples, starting ``offset`` seconds in."""

    channels: Channels
    offset: float

    @property
    def end(self) -> float:
        # In whole samples, as the next window's offset is: the two must be the same float,
        # or progress reported across the cut goes backwards by rounding noise.
        return (round(self.offset * SAMPLE_RATE) + int(self.channels.shape[1])) / SAMPLE_RATE


def windows(chunks: Iterable[Channels], start: float = 0.0) -> Iterator[Window]:
    """Cut decoded ``chunks`` into windows that end in pauses; holds at most two windows.
    ``start``: where the chunks begin in the audio (a checkpoint's offset, so a resumed job's
    windows keep absolute offsets)."""
    longest = int(WINDOW_SECONDS * SAMPLE_RATE)
    pending: Channels | None = None
    offset = round(start * SAMPLE_RATE)
    for chunk in chunks:
        pending = chunk if pending is None else np.concatenate([pending, chunk], axis=1)
        while pending.shape[1] > longest:
            cut = _quietest_cut(pending[:, :longest])
            yield Window(pending[:, :cut], offset / SAMPLE_RATE)
            offset += cut
            pending = pending[:, cut:]
    if pending is not None and pending.shape[1]:
        yield Window(pending, offset / SAMPLE_RATE)


def _quietest_cut(window: Channels) -> int:
    """Sample index of the quietest frame in the window's last ``SEARCH_SECONDS``."""
    start = max(0, window.shape[1] - int(SEARCH_SECONDS * SAMPLE_RATE))
    usable = (window.shape[1] - start) // _FRAME * _FRAME
    tail = window[:, start : start + usable].mean(axis=0)
    energy = np.square(tail).reshape(-1, _FRAME).mean(axis=1)
    # Cut in the middle of the longest run of the quietest frames: the heart of the pause.
    quiet = energy <= energy.min() * 1.5 + 1e-10
    best_start, best_length, run_start = 0, 0, None
    for index, is_quiet in enumerate([*quiet, False]):
        if is_quiet and run_start is None:
            run_start = index
        elif not is_quiet and run_start is not None:
            if index - run_start > best_length:
                best_start, best_length = run_start, index - run_start
            run_start = None
    return int(start + best_start * _FRAME + best_length * _FRAME // 2)


PROGRESS_INTERVAL = 1.0
"""Seconds between progress reports while a window is being recognised."""


@dataclass(eq=False)
class _InFlight:
    """A window being recognised, and how far into it the engine has got."""

    window: Window
    work: asyncio.Task[list[Result]]
    reached: list[float]


def _begin(recognizer: Recognizer, window: Window, plan: Plan) -> _InFlight:
    reached = [window.offset]
    work = asyncio.create_task(
        recognizer.recognize_samples(
            window.channels, plan, offset=window.offset, progress=reached.append
        )
    )
    return _InFlight(window, work, reached)


async def _finished(head: _InFlight, on_progress: Callable[[float], object] | None) -> list[Result]:
    """The first window's results, reporting progress inside it every ``PROGRESS_INTERVAL``."""
    while not head.work.done():
        await asyncio.wait({head.work}, timeout=PROGRESS_INTERVAL)
        if on_progress is not None and not head.work.done():
            # A segment's end can pass the window's by rounding noise: never beyond it.
            await _report(on_progress, min(max(head.reached), head.window.end))
    return head.work.result()


async def _report(on_progress: Callable[[float], object], seconds: float) -> None:
    """Call ``on_progress``; await it if it is a coroutine (it may raise to stop the work)."""
    if inspect.isawaitable(outcome := on_progress(seconds)):
        await outcome


async def recognized_windows(
    recognizer: Recognizer,
    source: Iterable[Window],
    plan: Plan,
    *,
    on_progress: Callable[[float], object] | None = None,
) -> AsyncIterator[tuple[Window, list[Result]]]:
    """Each window with its results (absolute times), in order, as soon as it is recognised.

    Up to ``limits.cursors_per_file`` windows are recognised at once, so the engine's
    batched steps advance several stretches of one file together; the next window is read
    only when one is done, so memory holds that many windows whatever the file's length.
    ``on_progress(seconds_done)`` is called every ``PROGRESS_INTERVAL`` and after each window;
    it may be a coroutine function (it is awaited), and may raise to stop the work (the
    windows in flight are then cancelled between their engine steps).
    """
    pending = iter(source)
    in_flight: deque[_InFlight] = deque()
    cursors = max(1, recognizer.limits.cursors_per_file)
    try:
        while True:
            # Decoding the next window blocks (PyAV), so it runs off the event loop.
            while len(in_flight) < cursors:
                window = await asyncio.to_thread(next, pending, None)
                if window is None:
                    break
                in_flight.append(_begin(recognizer, window, plan))
            if not in_flight:
                return
            found = await _finished(in_flight[0], on_progress)
            head = in_flight.popleft()
            if on_progress is not None:
                await _report(on_progress, head.window.end)
            yield head.window, found
    finally:
        for flight in in_flight:
            flight.work.cancel()
            if flight.work.done() and not flight.work.cancelled():
                flight.work.exception()  # seen: its failure is the head's, or moot


async def recognize_windows(
    recognizer: Recognizer,
    source: Iterable[Window],
    plan: Plan,
    *,
    on_progress: Callable[[float], object] | None = None,
    resume: Checkpoint | None = None,
    on_checkpoint: Callable[[Checkpoint], Awaitable[object]] | None = None,
) -> Recognition:
    """The recognition of all windows, in absolute time, billed for their whole length
    (``on_progress`` as for ``recognized_windows``).

    ``resume``: the checkpoint ``source`` starts at (its results come first). After each
    window ``on_checkpoint`` is awaited with the results so far, unless speakers are asked
    (diarized jobs are not checkpointed: see ``speech.checkpoint``)."""
    found: list[Result] = list(resume.results) if resume else []
    speakers: list[SpeechEmbeddings] = []
    duration = resume.offset if resume else 0.0
    async for window, results in recognized_windows(
        recognizer, source, plan, on_progress=on_progress
    ):
        found += results
        duration = window.end
        if on_checkpoint is not None and plan.speakers is None:
            await on_checkpoint(Checkpoint(duration, tuple(found)))
        if plan.speakers is not None:  # embedded window by window, clustered once at the end
            speakers.append(await recognizer.embed_speakers(window.channels, window.offset))
    found = await recognizer.tag_speakers(found, speakers, plan)
    # Per-channel results come window by window; clients expect each channel in time order.
    return Recognition(
        results=tuple(sorted(found, key=lambda result: result.channel_tag)),
        total_billed_seconds=billed_seconds(duration, plan),
        request_id=new_request_id(),
    )
