"""Test helper: small inputs that used to decode to far more audio than their size suggests
(issue 11), built byte by byte so each lie is explicit. Shared by the tests and bench/bombs.py.

    wav_at(1, 6000)            # a 6 KB WAV whose header declares 1 Hz: 6000 s at 16 kHz
    flac_constant(1, 1)        # 55 bytes: one FLAC frame of 65536 constant samples at 1 Hz
    flac_constant(8000, 150)   # 2 KB of FLAC at a legal rate: 1229 s of audio
    wav_list_chunk(30 << 20)   # a WAV header announcing a 30 MB LIST chunk before its data
"""

from __future__ import annotations

import struct

FLAC_BLOCK = 65535
"""Samples in one FLAC frame (the format's largest block), each frame ~13 bytes when constant."""


def wav_header(rate: int, channels: int = 1, bits: int = 16, tag: int = 1, data: int = 0) -> bytes:
    """A RIFF/WAVE header up to the data chunk's header (``data`` bytes announced)."""
    block = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", tag, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits
    )
    return (
        b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", data)
    )  # fmt: skip


def wav_at(rate: int, data_bytes: int) -> bytes:
    """A LINEAR16 mono WAV at ``rate`` Hz of ``data_bytes`` bytes of a square wave."""
    samples = (b"\x00\x40\x00\xc0" * (data_bytes // 4 + 1))[:data_bytes]
    return wav_header(rate, data=data_bytes) + samples


def wav_list_chunk(size: int) -> bytes:
    """The first bytes of a WAV whose fmt is fine but whose data follows a ``size``-byte LIST
    chunk (the chunk's body is for the caller to send)."""
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"LIST" + struct.pack("<I", size)
    )  # fmt: skip


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number (up to 2^31)."""
    if n < 0x80:
        return bytes([n])
    tail: list[int] = []
    while True:  # 6 bits per continuation byte; the lead keeps 6 - len(tail) bits
        tail.insert(0, 0x80 | (n & 0x3F))
        n >>= 6
        if n < 1 << (6 - len(tail)):
            break
    lead = (0xFF00 >> (len(tail) + 1)) & 0xFF
    return bytes([lead | n, *tail])


def flac_frame(number: int, value: int = 0x2000) -> bytes:
    """One fixed-blocksize FLAC frame of FLAC_BLOCK samples, mono 16-bit, every sample
    ``value`` (a CONSTANT subframe); rate and sample size come from STREAMINFO."""
    header = (
        b"\xff\xf8"  # sync, fixed blocksize
        + bytes([0x70, 0x00])  # 16-bit blocksize follows; rate, bps: STREAMINFO; mono
        + _utf8_number(number)
        + struct.pack(">H", FLAC_BLOCK - 1)
    )
    header += bytes([_crc8(header)])
    body = header + b"\x00" + struct.pack(">h", value)  # CONSTANT subframe, no wasted bits
    return body + struct.pack(">H", _crc16(body))


def flac_constant(rate: int, frames: int, claimed_samples: int | None = None) -> bytes:
    """A FLAC file of ``frames`` constant frames at ``rate`` Hz; STREAMINFO claims
    ``claimed_samples`` in all (default: the truth)."""
    total = frames * FLAC_BLOCK if claimed_samples is None else claimed_samples
    info = struct.pack(">HH", FLAC_BLOCK, FLAC_BLOCK) + b"\x00\x00\x00" * 2
    # 20 bits rate, 3 bits channels-1, 5 bits bps-1, 36 bits total samples
    packed = (rate << 44) | (0 << 41) | (15 << 36) | (total & ((1 << 36) - 1))
    info += packed.to_bytes(8, "big") + bytes(16)  # no MD5
    streaminfo = bytes([0x80]) + len(info).to_bytes(3, "big") + info  # last metadata block
    return b"fLaC" + streaminfo + b"".join(flac_frame(i) for i in range(frames))
