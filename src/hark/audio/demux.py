"""Container formats (FLAC, Ogg, WebM, MP3, AMR) demuxed and decoded by PyAV.

``decode_container`` is the checked demux+decode+resample loop, metered one packet at a time.
For streaming, ``Demux`` runs it in a worker thread that reads from a blocking ``Pipe``:
``feed`` appends bytes and waits until the demuxer has consumed them all (each byte is
demuxed once, and the pipe never holds more than the message being fed). ``abort`` ends the
worker at once: the stream's owner calls it when the stream ends, however it ends, so the
thread never waits for the garbage collector.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import av

from hark.audio.checks import CONTAINERS, AudioSpec, check_rate, check_stream, wrap_av_error
from hark.audio.meter import Meter
from hark.audio.pcm import decode_packet
from hark.samples import Array, Resampler

_LOW_LATENCY = {"probesize": "32", "analyzeduration": "0"}  # streaming: start decoding at once


def decode_container(
    container: av.container.InputContainer, kind: str, spec: AudioSpec, meter: Meter
) -> Iterator[tuple[tuple[str, int, int], list[Array]]]:
    """Checked demux+decode+resample of the audio stream, one packet's samples at a time."""
    stream = check_stream(container, kind, spec)
    ctx = stream.codec_context
    info = (CONTAINERS[kind][2], int(ctx.sample_rate), int(ctx.channels))
    resampler = Resampler()
    for packet in container.demux(stream):
        arrays: list[Array] = []
        for frame in decode_packet(ctx, packet):
            check_rate(frame.sample_rate)  # a FLAC frame header may name its own rate
            arrays += resampler.frame(frame)
        yield info, meter.take(arrays)
    yield info, meter.take(resampler.flush())


class Pipe:
    """A blocking, non-seekable file for PyAV: read() waits for feed() or EOF."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.buf, self.pos = bytearray(), 0
        self.eof = self.starved = self.done = self.cancelled = False
        self.out: list[Array] = []
        self.error: BaseException | None = None
        self.info: tuple[str, int, int] | None = None  # encoding, rate, channels

    def read(self, n: int) -> bytes:
        with self.cond:
            while self.pos >= len(self.buf) and not self.eof:
                self.starved = True
                self.cond.notify_all()
                self.cond.wait()
            self.starved = False
            chunk = bytes(self.buf[self.pos : self.pos + n])
            self.pos += len(chunk)
            if self.pos > 65536 and self.pos * 2 > len(self.buf):
                del self.buf[: self.pos]
                self.pos = 0
            return chunk

    def cancel(self) -> None:
        """EOF now: the demuxer's next read returns nothing and the worker ends."""
        with self.cond:
            self.eof = self.cancelled = True
            self.buf, self.pos = bytearray(), 0
            self.cond.notify_all()


class Demux:
    """A container decoded by PyAV in a worker thread fed through a Pipe."""

    def __init__(self, spec: AudioSpec, kind: str, meter: Meter) -> None:
        self.pipe = pipe = Pipe()
        self._thread = threading.Thread(
            target=_worker, args=(pipe, spec, kind, meter), daemon=True, name="hark-demux"
        )
        self._thread.start()
        self.encoding, self.rate, self.channels = CONTAINERS[kind][2], 0, 0

    @property
    def buffered(self) -> int:
        return len(self.pipe.buf) - self.pipe.pos

    def _sync(self, data: bytes, eof: bool) -> list[Array]:
        pipe = self.pipe
        with pipe.cond:
            pipe.buf += data
            pipe.eof = pipe.eof or eof
            pipe.cond.notify_all()
            while not (pipe.done or (pipe.starved and pipe.pos >= len(pipe.buf) and not eof)):
                pipe.cond.wait()
            out, pipe.out = pipe.out, []
            if pipe.info:
                self.encoding, self.rate, self.channels = pipe.info
            error, pipe.error = pipe.error, None
        if error is not None:
            raise error
        return out

    def feed(self, data: bytes) -> list[Array]:
        return self._sync(data, eof=False)

    def close(self) -> list[Array]:
        out = self._sync(b"", eof=True)
        self._thread.join()
        return out

    def abort(self) -> None:
        """Stop the worker and wait for it (it ends at its next read)."""
        self.pipe.cancel()
        if self._thread is not threading.current_thread():
            self._thread.join()


def _worker(pipe: Pipe, spec: AudioSpec, kind: str, meter: Meter) -> None:
    try:
        with av.open(pipe, "r", format=CONTAINERS[kind][0], options=_LOW_LATENCY) as container:
            for info, arrays in decode_container(container, kind, spec, meter):
                with pipe.cond:
                    pipe.info = info
                    pipe.out += arrays
                    if pipe.cancelled:
                        break  # cancelled: what is left is nobody's
    except BaseException as exc:
        # Kept without its traceback: the worker's frames hold the decoder and the resampler
        # (whose filter graph owns native threads), and must die with the worker.
        error = wrap_av_error(exc) if isinstance(exc, Exception) else exc
        error.__traceback__ = error.__context__ = error.__cause__ = None
        with pipe.cond:
            pipe.error = error
    finally:
        with pipe.cond:
            pipe.done = True
            pipe.cond.notify_all()
