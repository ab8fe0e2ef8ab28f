"""What Google checks about audio before and while it is decoded, with Google's wording.

``AudioSpec`` is what the RecognitionConfig says; ``resolve`` picks the decoder path from the
config and the first bytes; ``WavHeader`` parses a RIFF/WAVE header as bytes arrive (chunks it
does not need are counted past, never kept); ``check_stream`` checks a container's audio stream.
Header sample rates outside Google's 8000-48000 Hz are refused like a bad configured rate: the
rate sets how much audio a few bytes expand to (1 Hz resampled to 16 kHz is 16000x).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import av

from hark.errors import InvalidArgument, SpeechError, invalid_config

ENCODINGS: frozenset[str] = frozenset(
    {
        "ENCODING_UNSPECIFIED", "LINEAR16", "FLAC", "MULAW", "AMR", "AMR_WB", "OGG_OPUS",
        "SPEEX_WITH_HEADER_BYTE", "MP3", "WEBM_OPUS", "ALAW",
    }
)  # fmt: skip
AUTO_DETECT = "AUTO_DETECT"
"""v2's ``auto_decoding_config``: the container is read from the first bytes (WAV, FLAC, Ogg
and WebM Opus, MP3, AMR); headerless audio has nothing to detect and is refused."""
MIN_RATE, MAX_RATE = 8000, 48000
"""Google's accepted sample rates, for the config and for the rate a header declares."""
_RAW = frozenset({"LINEAR16", "MULAW", "ALAW"})
_MONO_ONLY = frozenset({"MULAW", "ALAW", "AMR", "AMR_WB", "SPEEX_WITH_HEADER_BYTE"})
_OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
HEAD = 12  # bytes needed to recognise a container by its magic
# kind -> (PyAV demuxer, codec canonical name, encoding name)
CONTAINERS = {
    "flac": ("flac", "flac", "FLAC"),
    "ogg": ("ogg", "opus", "OGG_OPUS"),
    "webm": ("matroska", "opus", "WEBM_OPUS"),
    "mp3": ("mp3", "mp3", "MP3"),
    "amr": ("amr", "amr_nb", "AMR"),
    "amrwb": ("amr", "amr_wb", "AMR_WB"),
}
_KIND_OF = {enc: kind for kind, (_, _, enc) in CONTAINERS.items()}
_MAX_FMT_BYTES = 1024  # a WAV fmt chunk is 16-40 bytes; a larger one is not a format we read


@dataclass(frozen=True)
class AudioSpec:
    """What the RecognitionConfig says about the audio (0 = not given)."""

    encoding: str = "ENCODING_UNSPECIFIED"
    sample_rate_hertz: int = 0
    audio_channel_count: int = 0


def bad_encoding() -> InvalidArgument:
    return invalid_config("bad encoding.")


def bad_rate() -> InvalidArgument:
    return invalid_config("bad sample rate hertz")


def wrap_av_error(exc: BaseException) -> SpeechError:
    return exc if isinstance(exc, SpeechError) else bad_encoding()


def check_rate(rate: int) -> None:
    """A rate a header declares (or a frame carries) must be one Google accepts."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise bad_rate()


def _channel_mismatch(given: int, label: str, found: int) -> InvalidArgument:
    return InvalidArgument(
        f"audio_channel_count `{given}` in RecognitionConfig must either be unspecified or "
        f"match the value in the {label} header `{found}`."
    )


def check_spec(spec: AudioSpec) -> None:
    """Checks that need no audio: known encoding, channel count, the codec's rate rule."""
    enc, rate, n = spec.encoding, spec.sample_rate_hertz, spec.audio_channel_count
    if enc not in ENCODINGS and enc != AUTO_DETECT:
        raise bad_encoding()
    if n < 0 or n > 8 or (n > 1 and enc in _MONO_ONLY):
        raise InvalidArgument("Invalid audio channel count")
    if rate < 0 or (rate and not MIN_RATE <= rate <= MAX_RATE):
        raise bad_rate()
    if (
        (enc == "AMR" and rate not in (0, 8000))
        or (enc == "AMR_WB" and rate not in (0, 16000))
        or (enc == "SPEEX_WITH_HEADER_BYTE" and rate != 16000)
        or (enc in ("OGG_OPUS", "WEBM_OPUS") and rate and rate not in _OPUS_RATES)
    ):
        raise bad_rate()


def _sniff(head: bytes) -> str:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:9] == b"#!AMR-WB\n":
        return "amrwb"
    if head[:6] == b"#!AMR\n":
        return "amr"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return "unknown"


def resolve(spec: AudioSpec, head: bytes) -> str:
    """Which decoder path the bytes take: 'raw', 'wav', 'speex' or a key of CONTAINERS."""
    check_spec(spec)
    enc, magic = spec.encoding, _sniff(head)
    if enc == AUTO_DETECT:
        if magic == "unknown":
            raise bad_encoding()
        return magic
    if magic == "flac" and enc not in ("FLAC", "ENCODING_UNSPECIFIED"):
        raise InvalidArgument("Specify FLAC encoding to match file header.")
    if enc == "ENCODING_UNSPECIFIED":
        if magic in ("wav", "flac"):
            return magic
        raise bad_encoding()
    if enc in _RAW:
        if magic == "wav":
            return "wav"
        if not spec.sample_rate_hertz:
            raise bad_rate()
        return "raw"
    if enc == "SPEEX_WITH_HEADER_BYTE":
        return "speex"
    if magic != _KIND_OF[enc]:
        raise bad_encoding()
    return magic


@dataclass(frozen=True)
class Wav:
    encoding: str
    rate: int
    channels: int
    data_start: int
    data_len: int | None  # None: up to the end of the bytes


class WavHeader:
    """A RIFF/WAVE header parsed as bytes arrive, up to its data chunk.

    It holds at most one chunk header or one (small) fmt chunk: other chunks (LIST, junk...)
    are counted past as they stream in, so a header padded with megabytes costs no memory.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._want = 8  # bytes of the chunk header or fmt body being read
        self._skip = 12  # "RIFF" <size> "WAVE", already recognised by resolve()
        self._in_fmt = False
        self._fmt: tuple[int, int, int, int] | None = None
        self.offset = 0  # bytes consumed so far

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> tuple[Wav, bytes] | None:
        """The header and the bytes after it once the data chunk starts; None until then."""
        view = memoryview(data)
        while view:
            if self._skip:
                n = min(self._skip, len(view))
                self._skip -= n
                self.offset += n
                view = view[n:]
                continue
            take = min(self._want - len(self._buf), len(view))
            self._buf += view[:take]
            self.offset += take
            view = view[take:]
            if len(self._buf) == self._want:
                wav = self._step()
                if wav is not None:
                    return wav, bytes(view)
        return None

    def _step(self) -> Wav | None:
        buf, self._buf = bytes(self._buf), bytearray()
        if self._in_fmt:
            self._read_fmt(buf)
            return None
        cid, size = buf[:4], struct.unpack_from("<I", buf, 4)[0]
        if cid == b"data":
            return self._data(size)
        if cid == b"fmt ":
            if not 16 <= size <= _MAX_FMT_BYTES:
                raise bad_encoding()
            self._in_fmt, self._want, self._skip = True, size, 0
        else:
            self._skip = size + (size & 1)
        return None

    def _read_fmt(self, body: bytes) -> None:
        tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
        if tag == 0xFFFE and len(body) >= 40:  # WAVE_FORMAT_EXTENSIBLE: tag in the sub-format
            tag = struct.unpack_from("<H", body, 24)[0]
        self._fmt = (tag, channels, rate, bits)
        self._in_fmt, self._want, self._skip = False, 8, len(body) & 1

    def _data(self, size: int) -> Wav:
        if self._fmt is None:
            raise bad_encoding()
        tag, channels, rate, bits = self._fmt
        enc = {(1, 16): "LINEAR16", (7, 8): "MULAW", (6, 8): "ALAW"}.get((tag, bits))
        if enc is None or not channels or not rate:
            raise InvalidArgument("WAV header indicates an unsupported format.")
        data_len = None if size in (0, 0xFFFFFFFF) else size
        return Wav(enc, rate, channels, self.offset, data_len)


def check_wav(spec: AudioSpec, wav: Wav) -> None:
    rate, n = spec.sample_rate_hertz, spec.audio_channel_count
    if rate and rate != wav.rate:
        raise InvalidArgument(
            f"sample_rate_hertz ({rate}) in RecognitionConfig must either be omitted or match "
            f"the value in the WAV header ( {wav.rate})."
        )
    check_rate(wav.rate)
    if wav.channels > 8:
        raise InvalidArgument("Invalid audio channel count")
    if n <= 1 and wav.channels > 1:
        raise InvalidArgument(
            "Must use single channel (mono) audio, but WAV header indicates "
            f"{wav.channels} channels."
        )
    if n > 1 and n != wav.channels:
        raise _channel_mismatch(n, "WAV", wav.channels)


def check_stream(container: av.container.InputContainer, kind: str, spec: AudioSpec) -> Any:
    """The container's audio stream, checked against the codec it must hold and the config."""
    if not container.streams.audio:
        raise bad_encoding()
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    _, codec, enc = CONTAINERS[kind]
    if ctx.codec.canonical_name != codec or not ctx.sample_rate or not ctx.channels:
        raise bad_encoding()
    rate, n, found = spec.sample_rate_hertz, spec.audio_channel_count, ctx.channels
    if kind == "flac":
        if rate and rate != ctx.sample_rate:
            raise InvalidArgument(
                f"sample_rate_hertz ({rate}) in RecognitionConfig must either be unspecified "
                f"or match the value in the FLAC header ({ctx.sample_rate})."
            )
        if n and n != found:
            raise _channel_mismatch(n, "FLAC", found)
    elif kind == "mp3" and rate and rate != ctx.sample_rate:
        raise bad_rate()
    elif n > 1 and n != found:
        raise _channel_mismatch(n, enc, found)
    check_rate(int(ctx.sample_rate))
    if found > 8:
        raise InvalidArgument("Invalid audio channel count")
    return stream
