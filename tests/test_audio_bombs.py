"""Issue 11, findings 1 and 3, at the decoder: a few bytes that claim (or hide) far more audio.

Each test reproduces a finding on hark.audio without the model; memory is the peak traced by
tracemalloc (numpy's buffers are traced), never a wall-clock time.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hark.audio import MAX_UNDECODED, AudioSpec, Limit, StreamDecoder, decode, iter_file, probe
from hark.errors import InvalidArgument, OutOfRange, SpeechError

from audio_bombs import FLAC_BLOCK, flac_constant, wav_at, wav_header, wav_list_chunk
from audio_samples import encode, tone, wav_bytes

BAD_RATE = "Invalid recognition 'config': bad sample rate hertz."
BAD_ENCODING = "Invalid recognition 'config': bad encoding.."
MB = 1 << 20
T = TypeVar("T")


def peak_bytes(work: Callable[[], T]) -> tuple[T | SpeechError, int]:
    """What ``work`` returned (or the SpeechError it raised) and its peak traced allocation."""
    gc.collect()
    tracemalloc.start()
    try:
        try:
            result: T | SpeechError = work()
        except SpeechError as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def too_long(seconds: float) -> Limit:
    return Limit(seconds, lambda: OutOfRange(f"over {seconds:g} s"))


# -- header rates ----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1, 100, 7999, 48001, 96000, 0xFFFFFFFF])
def test_wav_header_rates_outside_google_range_are_refused(rate: int) -> None:
    """The 6 KB WAV declaring 1 Hz took the server to 1.5 GB: 16000 output samples per byte."""
    result, peak = peak_bytes(lambda: decode(wav_at(rate, 6000), AudioSpec()))
    assert isinstance(result, InvalidArgument) and result.message == BAD_RATE
    assert peak < MB


@pytest.mark.parametrize("rate", [1, 7999, 48001, 96000])
def test_flac_header_rates_outside_google_range_are_refused(rate: int) -> None:
    """The 55-byte FLAC at 1 Hz decoded to 4000 s (+1.5 GB)."""
    bomb = flac_constant(rate, 1)
    assert len(bomb) == 55
    result, peak = peak_bytes(lambda: decode(bomb, AudioSpec()))
    assert isinstance(result, InvalidArgument) and result.message == BAD_RATE
    assert peak < MB


def test_a_stream_refuses_a_bad_header_rate_too() -> None:
    decoder = StreamDecoder(AudioSpec())
    with pytest.raises(InvalidArgument, match="bad sample rate hertz"):
        decoder.feed(wav_at(1, 6000))


def test_a_config_rate_mismatch_keeps_its_own_message() -> None:
    with pytest.raises(InvalidArgument, match=r"WAV header \( 1\)"):
        decode(wav_at(1, 6000), AudioSpec("LINEAR16", 16000))


@pytest.mark.parametrize("rate", [8000, 48000])
def test_the_edges_of_the_range_decode(rate: int) -> None:
    assert decode(wav_bytes(tone(0.5, rate), rate), AudioSpec()).duration == pytest.approx(0.5)
    assert decode(flac_constant(rate, 1), AudioSpec()).duration == pytest.approx(
        FLAC_BLOCK / rate, abs=0.01
    )


# -- duration limits, enforced while decoding ------------------------------------------------


def test_sync_limit_stops_a_flac_bomb_at_the_limit() -> None:
    """26 KB of FLAC at 8 kHz is 4.5 hours of audio; the 60 s limit stops its decoding."""
    bomb = flac_constant(8000, 2000)
    assert len(bomb) < 30_000
    result, peak = peak_bytes(lambda: decode(bomb, AudioSpec(), too_long(60)))
    assert isinstance(result, OutOfRange)
    assert peak < 20 * MB  # 60 s at 16 kHz is 3.8 MB; 4.5 hours would be 1 GB


def test_sync_limit_stops_headerless_pcm_at_the_limit() -> None:
    """10 MB of µ-law at 8 kHz is 21 minutes; its blocks stop at the limit."""
    content = bytes(10 * MB)
    result, peak = peak_bytes(lambda: decode(content, AudioSpec("MULAW", 8000), too_long(60)))
    assert isinstance(result, OutOfRange)
    assert peak < 12 * MB + 10 * MB  # the content itself is not traced (made before)


def test_audio_within_the_limit_is_all_decoded() -> None:
    decoded = decode(flac_constant(8000, 7), AudioSpec(), too_long(60))
    assert decoded.duration == pytest.approx(7 * FLAC_BLOCK / 8000, abs=0.01)


def test_a_stream_message_bomb_stops_at_the_stream_limit() -> None:
    """One 2 KB WebSocket message cost 13 s CPU and +530 MB before the 305 s limit applied."""
    bomb = flac_constant(8000, 150)
    assert len(bomb) < 2100
    decoder = StreamDecoder(AudioSpec(), too_long(305), mono=True)
    result, peak = peak_bytes(lambda: decoder.feed(bomb))
    assert isinstance(result, OutOfRange)
    assert peak < 60 * MB  # 305 s mono is 19.5 MB; 1229 s would be 79 MB plus its copies


def test_long_running_limit_counts_decoded_audio_not_the_header_claim(tmp_path: Path) -> None:
    """A FLAC claiming 1 s was billed 1000 s: the limit applies to what decodes."""
    path = tmp_path / "liar.flac"
    path.write_bytes(flac_constant(8000, 10, claimed_samples=8000))
    assert probe(path, AudioSpec())[0] == pytest.approx(1.0)  # the claim
    chunks = iter_file(path, AudioSpec(), 30.0, too_long(60))
    with pytest.raises(OutOfRange):
        list(chunks)
    decoded = sum(c.shape[1] for c in iter_file(path, AudioSpec(), 30.0, too_long(100)))
    assert decoded / 16000 == pytest.approx(10 * FLAC_BLOCK / 8000, abs=0.01)  # the truth


# -- undecoded bytes -------------------------------------------------------------------------


def _stream(decoder: StreamDecoder, chunks: Iterator[bytes]) -> int:
    """Feed every chunk; the largest number of undecoded bytes the decoder held."""
    held = 0
    for chunk in chunks:
        decoder.feed(chunk)
        held = max(held, decoder.buffered)
    return held


def _messages(first: bytes, total: int, size: int = 25_600) -> Iterator[bytes]:
    yield first
    for _ in range(total // size):
        yield bytes(size)


def test_a_huge_list_chunk_is_counted_past_not_buffered() -> None:
    """A WAV header with a 30 MB LIST chunk buffered (and re-copied) all of it."""
    decoder = StreamDecoder(AudioSpec())
    with pytest.raises(InvalidArgument) as info:
        _stream(decoder, _messages(wav_list_chunk(30 * MB), 30 * MB))
    assert info.value.message == BAD_ENCODING  # MAX_UNDECODED bytes without a sample


def test_undecoded_bytes_held_stay_small() -> None:
    decoder = StreamDecoder(AudioSpec())
    held = _stream(decoder, _messages(wav_list_chunk(MAX_UNDECODED - MB), MAX_UNDECODED - MB))
    assert held < 64


def test_a_wav_with_a_large_list_chunk_still_decodes() -> None:
    """Editors write LIST (and other) chunks before the data: those are skipped, not refused."""
    body = wav_bytes(tone(1.0))
    fmt_end = 12 + 8 + 16
    padded = body[:fmt_end] + b"LIST" + (3 * MB).to_bytes(4, "little") + bytes(3 * MB)
    padded += body[fmt_end:]
    assert decode(padded, AudioSpec()).duration == pytest.approx(1.0)
    decoder = StreamDecoder(AudioSpec())
    held = _stream(decoder, iter(padded[i : i + 25_600] for i in range(0, len(padded), 25_600)))
    assert held < 64 and decoder.close().shape[1] == 0  # all of it came out of feed()


def test_bytes_after_the_data_chunk_are_dropped() -> None:
    decoder = StreamDecoder(AudioSpec())
    header = wav_header(16000, data=32_000) + bytes(32_000)
    assert decoder.feed(header).shape[1] == 16000
    held = _stream(decoder, (bytes(25_600) for _ in range(40)))
    assert held == 0


# -- threads ---------------------------------------------------------------------------------


def test_abort_releases_stream_threads_without_the_garbage_collector() -> None:
    """59 demuxer threads were left 30 s after their streams closed, waiting for the GC."""
    ogg = encode(wav_bytes(tone(1.0)), "OGG_OPUS", 16000)
    before = threading.active_count()
    gc.disable()
    try:
        decoders = [StreamDecoder(AudioSpec("OGG_OPUS", 16000)) for _ in range(20)]
        for decoder in decoders:
            decoder.feed(ogg[: len(ogg) // 2])
        assert threading.active_count() == before + 20
        for decoder in decoders:
            decoder.abort()
        assert threading.active_count() == before  # abort() joins: no waiting needed
    finally:
        gc.enable()


def test_a_decoder_that_fails_releases_its_thread() -> None:
    before = threading.active_count()
    decoder = StreamDecoder(AudioSpec("OGG_OPUS", 16000))
    with pytest.raises(InvalidArgument):
        decoder.feed(b"OggS" + os.urandom(4000))
        decoder.close()
    assert threading.active_count() == before


_THREADS_AFTER_BOMBS = """
import gc, os, sys
sys.path.insert(0, sys.argv[1])
from audio_bombs import flac_constant
from hark.audio import AudioSpec, Limit, StreamDecoder
from hark.errors import OutOfRange

def native_threads():
    return len(os.listdir("/proc/self/task"))  # Python's and FFmpeg's (Linux)

def bomb():
    decoder = StreamDecoder(AudioSpec(), Limit(305, lambda: OutOfRange("limit")))
    try:
        decoder.feed(flac_constant(8000, 150))
    except OutOfRange:
        pass

import time
gc.disable()
bomb()  # any pool a first decode starts (numpy's, FFmpeg's) is started
time.sleep(0.5)  # and its demuxer thread has ended
before = native_threads()
for _ in range(5):
    bomb()
deadline = time.monotonic() + 20  # the last bombs' threads may still be ending: let them
while native_threads() > before and time.monotonic() < deadline:
    time.sleep(0.05)
print(before, native_threads())
"""


def test_streams_stopped_by_their_limit_leave_no_native_threads() -> None:
    """A failed stream's error kept the worker's frames, hence its resampler's filter graph
    and the graph's native threads, alive for good (via the finalizer registry). Measured in
    a fresh process, where no other test's threads come and go."""
    here = str(Path(__file__).resolve().parent)
    run = subprocess.run(
        [sys.executable, "-c", _THREADS_AFTER_BOMBS, here],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    before, after = map(int, run.stdout.split())
    assert after == before
