"""Test helper: hypothesis strategies for mutated audio (issue 11), shared by the decoder fuzz
suite (tests/test_audio_fuzz.py) and the real-server one (tests/test_bombs_server.py).

``mutated()`` draws a small valid file (WAV, FLAC, Ogg Opus, WebM Opus, MP3, AMR, G.711, or a
bare lying WAV header) put through a few mutations: truncated, bits flipped, header fields
replaced by interesting values, bytes inserted, chunks repeated, runs zeroed; with a config a
client might send. ``lying_flac()`` draws FLAC whose STREAMINFO lies about rate and length.
"""

from __future__ import annotations

import struct
from functools import cache

import numpy as np
from hypothesis import strategies as st

from hark.audio import AudioSpec

from audio_bombs import flac_constant, wav_header
from audio_samples import encode, tone, wav_bytes

INTERESTING = [0, 1, 2, 7, 8, 9, 255, 7999, 8000, 16000, 48000, 48001, 96000, 65535, 65536]
INTERESTING += [0x7FFFFFFF, 0xFFFFFFFF]


@cache
def seeds() -> dict[str, tuple[bytes, tuple[AudioSpec, ...]]]:
    """Small valid files, each with the configs a client might send with it."""
    wav = wav_bytes(tone(0.3, 16000, 2) * np.float32(0.9), 16000)
    stereo = AudioSpec(audio_channel_count=2)
    return {
        "wav": (wav, (stereo, AudioSpec("LINEAR16", 16000, 2), AudioSpec())),
        "flac": (encode(wav, "FLAC", 16000, 2), (AudioSpec(), AudioSpec("FLAC", 16000, 2))),
        "ogg": (encode(wav, "OGG_OPUS", 48000), (AudioSpec("OGG_OPUS", 48000),)),
        "webm": (encode(wav, "WEBM_OPUS", 48000), (AudioSpec("WEBM_OPUS", 48000),)),
        "mp3": (encode(wav, "MP3", 16000), (AudioSpec("MP3", 16000), AudioSpec("MP3"))),
        "amr": (encode(wav, "AMR", 8000), (AudioSpec("AMR", 8000),)),
        "mulaw": (encode(wav, "MULAW", 8000), (AudioSpec("MULAW", 8000),)),
        "lies": (wav_header(8000, data=1 << 30), (AudioSpec(),)),
    }


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, AudioSpec]:
    """A seed file put through a few mutations, and a config for it."""
    data, specs = seeds()[draw(st.sampled_from(sorted(seeds())))]
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        _mutate(draw, out)
    return bytes(out), draw(st.sampled_from(specs))


def _mutate(draw: st.DrawFn, out: bytearray) -> None:
    if not out:
        return
    where = draw(st.integers(0, len(out) - 1))
    head = draw(st.integers(0, min(len(out), 96) - 1))  # header fields live near the start
    match draw(st.sampled_from(["truncate", "flip", "lie", "insert", "repeat", "zero"])):
        case "truncate":
            del out[where:]
        case "flip":
            out[where] ^= 1 << draw(st.integers(0, 7))
        case "lie":  # a header field (rate, channels, size, bits...) replaced
            value = draw(st.sampled_from(INTERESTING))
            fmt = draw(st.sampled_from(["<H", "<I", ">H", ">I", "B"]))
            packed = struct.pack(
                fmt, value & (0xFF if fmt == "B" else 0xFFFF if "H" in fmt else 0xFFFFFFFF)
            )
            out[head : head + len(packed)] = packed
        case "insert":
            out[where:where] = draw(st.binary(min_size=1, max_size=64))
        case "repeat":  # a chunk of the file again (a frame repeated, a header twice)
            size = draw(st.integers(1, 4096))
            out[where:where] = out[where : where + size] * draw(st.integers(1, 8))
        case "zero":
            size = draw(st.integers(1, 512))
            out[where : where + size] = bytes(len(out[where : where + size]))


@st.composite
def lying_flac(draw: st.DrawFn) -> tuple[bytes, AudioSpec]:
    """FLAC whose STREAMINFO lies about its rate and its length (the issue's 55-byte bomb)."""
    rate = draw(st.sampled_from([1, 2, 100, 7999, 8000, 22050, 48000, 48001, 655350]))
    frames = draw(st.integers(1, 200))
    claimed = draw(st.sampled_from([None, 0, 1, 8000, 1 << 35]))
    return flac_constant(rate, frames, claimed), AudioSpec()
