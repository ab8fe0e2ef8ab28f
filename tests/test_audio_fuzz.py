"""Fuzzing the decoders with mutated audio (issue 11): truncated, corrupted, spliced, and
headers lying about rates, channels, sizes and durations, in WAV, FLAC, Ogg Opus, MP3, WebM
Opus, AMR and headerless G.711.

Whatever the bytes, decoding ends in one of three ways: audio no longer than the limit, an
InvalidArgument (Google's bad-audio family), or the limit's own error, raised while decoding.
Streams hold few undecoded bytes and leave no thread behind. Hypothesis runs derandomized
(the same cases on every run, no example database), so CI is deterministic; a watchdog
turns a hang into a failure with every thread's traceback.
"""

from __future__ import annotations

import contextlib
import faulthandler
import itertools
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hark.audio import AudioSpec, DecodedAudio, Limit, StreamDecoder, decode
from hark.engine import SAMPLE_RATE
from hark.errors import InvalidArgument, OutOfRange

from audio_bombs import wav_header
from audio_mutations import INTERESTING, lying_flac, mutated, seeds

LIMIT_SECONDS = 60.0
LIMIT = Limit(LIMIT_SECONDS, lambda: OutOfRange("limit"))
MAX_HELD = 64 << 10  # undecoded bytes a stream decoder may hold after a feed
EXAMPLES = 700  # per test: 3,500 cases in all
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,  # no per-case timing (a busy machine); the watchdog catches hangs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """A hang fails the run (with every thread's stack) instead of blocking CI."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def check_decoded(decoded: DecodedAudio) -> None:
    assert decoded.channels.dtype == np.float32
    assert 1 <= decoded.channels.shape[0] <= 8
    assert decoded.channels.shape[1] <= LIMIT_SECONDS * SAMPLE_RATE


def decodes_or_refuses(content: bytes, spec: AudioSpec) -> None:
    with contextlib.suppress(InvalidArgument, OutOfRange):  # anything else (a 500) fails
        check_decoded(decode(content, spec, LIMIT))


def streams_or_refuses(content: bytes, spec: AudioSpec, cuts: list[int]) -> None:
    decoder = StreamDecoder(spec, LIMIT)
    total = 0
    try:
        bounds = [0, *sorted(c % (len(content) + 1) for c in cuts), len(content)]
        for start, end in itertools.pairwise(bounds):
            total += decoder.feed(content[start:end]).shape[1]
            assert decoder.buffered <= MAX_HELD
        total += decoder.close().shape[1]
    except (InvalidArgument, OutOfRange):
        pass
    finally:
        decoder.abort()
    assert total <= LIMIT_SECONDS * SAMPLE_RATE


@FUZZ
@given(mutated())
def test_mutated_audio_decodes_or_is_refused(case: tuple[bytes, AudioSpec]) -> None:
    decodes_or_refuses(*case)


@FUZZ
@given(mutated(), st.lists(st.integers(0, 1 << 20), max_size=6))
def test_mutated_audio_streams_or_is_refused(
    case: tuple[bytes, AudioSpec], cuts: list[int]
) -> None:
    streams_or_refuses(*case, cuts)
    assert not any(t.name == "hark-demux" for t in threading.enumerate())


@FUZZ
@given(lying_flac(), st.lists(st.integers(0, 1 << 14), max_size=4))
def test_lying_flac_headers_cost_at_most_the_limit(
    case: tuple[bytes, AudioSpec], cuts: list[int]
) -> None:
    decodes_or_refuses(*case)
    streams_or_refuses(*case, cuts)


@FUZZ
@given(
    st.sampled_from(INTERESTING),
    st.sampled_from(INTERESTING),
    st.sampled_from([8, 16, 24, 32, 0, 65535]),
    st.sampled_from([1, 3, 6, 7, 0xFFFE, 0]),
    st.binary(max_size=4096),
)
def test_lying_wav_headers_cost_at_most_the_limit(
    rate: int, channels: int, bits: int, tag: int, body: bytes
) -> None:
    header = wav_header(rate, channels & 0xFFFF, bits, tag, data=len(body))
    decodes_or_refuses(header + body, AudioSpec())
    streams_or_refuses(header + body, AudioSpec(), [len(header) // 2])


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from(sorted(seeds())))
def test_random_bytes_behind_a_real_header(tail: bytes, kind: str) -> None:
    data, specs = seeds()[kind]
    decodes_or_refuses(data[:64] + tail, specs[0])
