"""hark.audio: every Google encoding → 16 kHz float32, Google's header checks and messages."""

from __future__ import annotations

import contextlib
import gc
import io
import random
import re
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hark.audio import (
    ENCODINGS,
    AudioSpec,
    DecodedAudio,
    StreamDecoder,
    decode,
    iter_file,
    probe,
)
from hark.errors import InvalidArgument

from audio_samples import FIXTURES, encode
from conftest import CORPUS, corpus_file, manifest

pytestmark = pytest.mark.corpus  # decodes the corpus's real files

BAD_ENCODING = "Invalid recognition 'config': bad encoding.."
BAD_RATE = "Invalid recognition 'config': bad sample rate hertz."
BAD_CHANNELS = "Invalid audio channel count"
AMRWB = FIXTURES / "testing_123_16k.amrwb"
SPEEX = FIXTURES / "testing_123_16k.speex"
FIXTURE_SECONDS = 1.84
SPEEX_SPEC = AudioSpec("SPEEX_WITH_HEADER_BYTE", 16000)


def c(name: str) -> bytes:
    return corpus_file(name).read_bytes()


def expected(name: str) -> tuple[float, int]:
    row = manifest()[name]
    return float(str(row["duration_s"])), int(str(row["channels"]))


def raises(content: bytes, spec: AudioSpec, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode(content, spec)
    assert info.value.message == message


def stream(data: bytes, spec: AudioSpec, size: int = 3200) -> np.ndarray:
    dec = StreamDecoder(spec)
    parts = [dec.feed(data[i : i + size]) for i in range(0, len(data), size)]
    parts.append(dec.close())
    parts = [p for p in parts if p.shape[1]]
    return np.concatenate(parts, axis=1) if parts else np.zeros((1, 0), np.float32)


# --- every encoding decodes to the right duration and channel count ------------------------

CORPUS_CASES = [
    ("en_librispeech_1272-128104-0000.wav", AudioSpec("LINEAR16")),
    ("en_ljspeech_LJ001-0002.wav", AudioSpec()),
    ("en_stereo_2spk_overlap_librispeech.wav", AudioSpec("LINEAR16", 16000, 2)),
    ("stereo_en_call_8k_turns.wav", AudioSpec(audio_channel_count=2)),
    ("en_testing_123_mulaw_8k.wav", AudioSpec("MULAW")),
    ("en_jfk_inaugural.flac", AudioSpec("FLAC")),
    ("en_librispeech_1089-134686-0001.flac", AudioSpec()),
    ("en_librivox_0890.ogg", AudioSpec("OGG_OPUS", 48000)),
    ("medium_en_4utts_webm_opus.webm", AudioSpec("WEBM_OPUS", 48000)),
    ("en_ljspeech_LJ001-0010.mp3", AudioSpec("MP3", 22050)),
    ("en_cmu_goforward_s16le_16k.raw", AudioSpec("LINEAR16", 16000)),
    ("tel8k_en_cmu_cards_003_s16le_8k.raw", AudioSpec("LINEAR16", 8000)),
    ("tel8k_en_librivox_0870_mulaw.ulaw", AudioSpec("MULAW", 8000)),
]


@pytest.mark.parametrize(("name", "spec"), CORPUS_CASES, ids=[n for n, _ in CORPUS_CASES])
def test_corpus_file_decodes(name: str, spec: AudioSpec) -> None:
    seconds, channels = expected(name)
    if name.endswith(".mp3"):
        seconds = expected("en_ljspeech_LJ001-0010.wav")[0]  # gapless: the source WAV's length
    audio = decode(c(name), spec)
    assert abs(audio.duration - seconds) <= 0.05
    assert audio.channels.shape[0] == channels
    assert audio.channels.dtype == np.float32
    assert audio.source_sample_rate == manifest()[name]["sample_rate"]
    assert 0.01 < float(np.abs(audio.channels).max()) <= 1.0
    assert probe(CORPUS / name, spec)[1:] == (channels, audio.source_sample_rate)
    assert abs(probe(CORPUS / name, spec)[0] - audio.duration) <= 0.1


ENCODED_CASES = [
    ("LINEAR16", 16000, 2, AudioSpec("LINEAR16", 16000, 2), "LINEAR16"),
    ("WAV", 22050, 1, AudioSpec(), "LINEAR16"),
    ("MULAW", 8000, 1, AudioSpec("MULAW", 8000), "MULAW"),
    ("ALAW", 8000, 1, AudioSpec("ALAW", 8000), "ALAW"),
    ("MULAW_WAV", 8000, 1, AudioSpec(), "MULAW"),
    ("FLAC", 44100, 2, AudioSpec(), "FLAC"),
    ("OGG_OPUS", 48000, 2, AudioSpec("OGG_OPUS", 16000, 2), "OGG_OPUS"),
    ("WEBM_OPUS", 16000, 1, AudioSpec("WEBM_OPUS", 16000), "WEBM_OPUS"),
    ("MP3", 44100, 2, AudioSpec("MP3", 44100, 2), "MP3"),
    ("MP3", 16000, 1, AudioSpec("MP3"), "MP3"),
    ("AMR", 8000, 1, AudioSpec("AMR", 8000), "AMR"),
]
SRC = "en_stereo_2spk_overlap_librispeech.wav"  # 5.0 s


@pytest.mark.parametrize(("enc", "rate", "channels", "spec", "found"), ENCODED_CASES)
def test_encoded_decodes(enc: str, rate: int, channels: int, spec: AudioSpec, found: str) -> None:
    audio = decode(encode(CORPUS / SRC, enc, rate, channels), spec)
    tolerance = 0.2 if enc == "AMR" else 0.05  # the AMR-NB encoder adds its delay at the end
    assert abs(audio.duration - 5.0) <= tolerance
    assert audio.channels.shape[0] == channels
    assert audio.encoding == found


@pytest.mark.parametrize(
    ("path", "spec"), [(AMRWB, AudioSpec("AMR_WB", 16000)), (SPEEX, SPEEX_SPEC)]
)
def test_fixture_decodes(path: Path, spec: AudioSpec) -> None:
    audio = decode(path.read_bytes(), spec)
    assert abs(audio.duration - FIXTURE_SECONDS) <= 0.05
    assert audio.channels.shape[0] == 1
    assert audio.encoding == spec.encoding and audio.source_sample_rate == 16000
    assert float(np.abs(audio.channels).max()) > 0.1
    assert abs(probe(path, spec)[0] - FIXTURE_SECONDS) <= 0.05


def test_amr_wb_and_speex_fixtures_hold_the_same_speech() -> None:
    a = decode(AMRWB.read_bytes(), AudioSpec("AMR_WB")).mono()
    b = decode(SPEEX.read_bytes(), SPEEX_SPEC).mono()
    n = min(len(a), len(b))
    envelope = [np.abs(x[: n // 320 * 320]).reshape(-1, 320).mean(axis=1) for x in (a, b)]
    assert np.corrcoef(*envelope)[0, 1] > 0.8


def test_mono_mixdown_and_duration() -> None:
    audio = decode(c("en_stereo_2spk_overlap_librispeech.wav"), AudioSpec(audio_channel_count=2))
    assert audio.mono().shape == (80000,) and audio.mono().dtype == np.float32
    np.testing.assert_allclose(audio.mono(), audio.channels.mean(axis=0), atol=1e-6)
    assert audio.duration == 5.0
    single = DecodedAudio(np.zeros((1, 16000), np.float32), "LINEAR16", 16000)
    assert single.mono().shape == (16000,) and single.duration == 1.0


def test_raw_eight_channels() -> None:
    pcm = (np.arange(8 * 1600, dtype=np.int16) % 8 * 1000).astype("<i2")
    audio = decode(pcm.tobytes(), AudioSpec("LINEAR16", 16000, 8))
    assert audio.channels.shape == (8, 1600)
    np.testing.assert_allclose(audio.channels[:, 0], np.arange(8) * 1000 / 32768)


def test_raw_linear16_matches_wav() -> None:
    wav = decode(c("en_cmu_cards_003.wav"), AudioSpec())
    raw = decode(c("tel8k_en_cmu_cards_003_s16le_8k.raw"), AudioSpec("LINEAR16", 8000))
    assert abs(wav.duration - raw.duration) < 0.01
    same = decode(c("en_cmu_goforward_s16le_16k.raw"), AudioSpec("LINEAR16", 16000))
    data = np.frombuffer(c("en_cmu_goforward_s16le_16k.raw"), "<i2")
    np.testing.assert_array_equal(same.channels[0], data / np.float32(32768))


def test_encodings_constant() -> None:
    assert "ALAW" in ENCODINGS and "SPEEX_WITH_HEADER_BYTE" in ENCODINGS and len(ENCODINGS) == 11


# --- Google's header messages, verbatim -----------------------------------------------------


def test_flac_header_messages() -> None:
    jfk = c("en_jfk_inaugural.flac")
    raises(
        jfk,
        AudioSpec("FLAC", 16000),
        "sample_rate_hertz (16000) in RecognitionConfig must either be unspecified or match "
        "the value in the FLAC header (44100).",
    )
    raises(
        jfk,
        AudioSpec("FLAC", 0, 1),
        "audio_channel_count `1` in RecognitionConfig must either be unspecified or match "
        "the value in the FLAC header `2`.",
    )
    for enc in ("LINEAR16", "MULAW", "OGG_OPUS", "MP3", "AMR"):
        rate = 8000 if enc == "AMR" else 16000
        raises(jfk, AudioSpec(enc, rate), "Specify FLAC encoding to match file header.")
    assert decode(jfk, AudioSpec("FLAC", 44100, 2)).channels.shape[0] == 2


def test_wav_header_messages() -> None:
    raises(
        c("en_ljspeech_LJ001-0002.wav"),
        AudioSpec("LINEAR16", 16000),
        "sample_rate_hertz (16000) in RecognitionConfig must either be omitted or match "
        "the value in the WAV header ( 22050).",
    )
    stereo = c("en_stereo_2spk_overlap_librispeech.wav")
    for n in (0, 1):
        raises(
            stereo,
            AudioSpec("LINEAR16", 0, n),
            "Must use single channel (mono) audio, but WAV header indicates 2 channels.",
        )
    raises(
        c("en_cmu_cards_001.wav"),
        AudioSpec(audio_channel_count=2),
        "audio_channel_count `2` in RecognitionConfig must either be unspecified or match "
        "the value in the WAV header `1`.",
    )
    raises(stereo, AudioSpec("OGG_OPUS"), BAD_ENCODING)
    raises(stereo, AudioSpec("FLAC"), BAD_ENCODING)


def _wav(width: int, tag: int | None = None) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(16000)
        w.writeframes(b"\x01" * width * 1600)
    data = bytearray(buf.getvalue())
    if tag is not None:
        data[20:22] = tag.to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize(("width", "tag"), [(3, None), (1, None), (4, 3), (2, 2), (2, 0x55)])
def test_unsupported_wav_formats(width: int, tag: int | None) -> None:
    raises(_wav(width, tag), AudioSpec(), "WAV header indicates an unsupported format.")


def test_wav_without_data_or_truncated_header() -> None:
    good = _wav(2)
    assert decode(good, AudioSpec()).duration == 0.1
    raises(good[:30], AudioSpec(), BAD_ENCODING)
    raises(good[:44], AudioSpec(), BAD_ENCODING)  # header only: decodes to nothing


# --- sample rate rules ----------------------------------------------------------------------

RAW16 = c("en_cmu_goforward_s16le_16k.raw")


@pytest.mark.parametrize(
    ("content", "spec"),
    [
        (lambda: RAW16, AudioSpec("LINEAR16")),
        (lambda: RAW16, AudioSpec("LINEAR16", 7999)),
        (lambda: RAW16, AudioSpec("LINEAR16", 48001)),
        (lambda: RAW16, AudioSpec("LINEAR16", -16000)),
        (lambda: RAW16, AudioSpec("MULAW")),
        (lambda: RAW16, AudioSpec("ALAW")),
        (lambda: c("en_jfk_inaugural.flac"), AudioSpec("FLAC", 96000)),
        (AMRWB.read_bytes, AudioSpec("AMR_WB", 8000)),
        (AMRWB.read_bytes, AudioSpec("AMR", 16000)),
        (SPEEX.read_bytes, AudioSpec("SPEEX_WITH_HEADER_BYTE")),
        (SPEEX.read_bytes, AudioSpec("SPEEX_WITH_HEADER_BYTE", 8000)),
        (lambda: c("en_librivox_0890.ogg"), AudioSpec("OGG_OPUS", 44100)),
        (lambda: c("medium_en_4utts_webm_opus.webm"), AudioSpec("WEBM_OPUS", 22050)),
        (lambda: c("en_ljspeech_LJ001-0010.mp3"), AudioSpec("MP3", 16000)),
    ],
)
def test_bad_sample_rate(content: object, spec: AudioSpec) -> None:
    assert callable(content)
    raises(content(), spec, BAD_RATE)
    with pytest.raises(InvalidArgument, match=re.escape(BAD_RATE)):  # streaming: same rules
        stream(content(), spec)


@pytest.mark.parametrize("rate", [0, 8000, 12000, 16000, 24000, 48000])
def test_opus_accepts_every_encoder_rate(rate: int) -> None:
    for name, enc in (
        ("en_librivox_0890.ogg", "OGG_OPUS"),
        ("medium_en_4utts_webm_opus.webm", "WEBM_OPUS"),
    ):
        assert decode(c(name), AudioSpec(enc, rate)).source_sample_rate == 48000


# --- channel rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        AudioSpec("MULAW", 8000, 2),
        AudioSpec("ALAW", 8000, 2),
        AudioSpec("AMR", 8000, 2),
        AudioSpec("AMR_WB", 16000, 2),
        AudioSpec("SPEEX_WITH_HEADER_BYTE", 16000, 2),
        AudioSpec("LINEAR16", 16000, 9),
        AudioSpec("FLAC", 0, 9),
        AudioSpec("LINEAR16", 16000, -1),
    ],
)
def test_bad_channel_count(spec: AudioSpec) -> None:
    raises(RAW16, spec, BAD_CHANNELS)
    with pytest.raises(InvalidArgument, match=BAD_CHANNELS):
        StreamDecoder(spec)


def test_container_channel_mismatch() -> None:
    with pytest.raises(InvalidArgument, match="OGG_OPUS header `1`"):
        decode(c("en_librivox_0890.ogg"), AudioSpec("OGG_OPUS", 48000, 2))
    assert decode(c("en_librivox_0890.ogg"), AudioSpec("OGG_OPUS", 48000, 1)).channels.shape[0] == 1


# --- wrong containers, garbage, truncation: always InvalidArgument --------------------------


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("en_librispeech_1272-128104-0000.m4a", AudioSpec("FLAC")),
        ("en_librispeech_1272-128104-0000.m4a", AudioSpec("MP3")),
        ("en_librispeech_1272-128104-0000.m4a", AudioSpec()),
        ("en_ljspeech_LJ001-0010.mp3", AudioSpec("OGG_OPUS")),
        ("en_ljspeech_LJ001-0010.mp3", AudioSpec()),
        ("en_ljspeech_LJ001-0007_vorbis.ogg", AudioSpec("OGG_OPUS")),
        ("en_librivox_0890.ogg", AudioSpec("WEBM_OPUS")),
        ("medium_en_4utts_webm_opus.webm", AudioSpec("OGG_OPUS")),
        ("en_cmu_goforward_s16le_16k.raw", AudioSpec()),
        ("en_cmu_goforward_s16le_16k.raw", AudioSpec("FLAC")),
        ("en_cmu_goforward_s16le_16k.raw", AudioSpec("AMR", 8000)),
        ("en_cmu_cards_001.wav", AudioSpec("WEBM_OPUS")),
        ("en_cmu_cards_001.wav", AudioSpec("AAC")),
    ],
)
def test_wrong_container_is_bad_encoding(name: str, spec: AudioSpec) -> None:
    raises(c(name), spec, BAD_ENCODING)


def test_amr_nb_and_wb_are_not_interchangeable() -> None:
    amr = encode(CORPUS / "en_cmu_cards_001.wav", "AMR", 8000)
    raises(amr, AudioSpec("AMR_WB"), BAD_ENCODING)
    raises(AMRWB.read_bytes(), AudioSpec("AMR"), BAD_ENCODING)


def test_empty_content() -> None:
    raises(b"", AudioSpec("LINEAR16", 16000), "RecognitionAudio not set.")
    raises(b"\x00", AudioSpec("LINEAR16", 16000), BAD_ENCODING)  # half a sample
    assert StreamDecoder(AudioSpec("LINEAR16", 16000)).close().shape == (1, 0)


def _samples() -> list[tuple[str, bytes, AudioSpec]]:
    short = CORPUS / "en_cmu_cards_001.wav"
    return [
        ("LINEAR16", c("tel8k_en_cmu_cards_003_s16le_8k.raw"), AudioSpec("LINEAR16", 8000)),
        ("WAV", c("en_cmu_cards_001.wav"), AudioSpec()),
        ("MULAW", c("tel8k_en_librivox_0870_mulaw.ulaw")[:16000], AudioSpec("MULAW", 8000)),
        ("ALAW", encode(short, "ALAW", 8000), AudioSpec("ALAW", 8000)),
        ("FLAC", c("en_librispeech_1089-134686-0001.flac"), AudioSpec("FLAC")),
        ("OGG_OPUS", c("en_librivox_0890.ogg"), AudioSpec("OGG_OPUS")),
        ("WEBM_OPUS", encode(short, "WEBM_OPUS", 48000), AudioSpec("WEBM_OPUS")),
        ("MP3", encode(short, "MP3", 22050), AudioSpec("MP3")),
        ("AMR", encode(short, "AMR", 8000), AudioSpec("AMR")),
        ("AMR_WB", AMRWB.read_bytes(), AudioSpec("AMR_WB")),
        ("SPEEX", SPEEX.read_bytes(), SPEEX_SPEC),
    ]


def _only_invalid_argument(data: bytes, spec: AudioSpec) -> None:
    with contextlib.suppress(InvalidArgument):
        decode(data, spec)
    with contextlib.suppress(InvalidArgument):
        stream(data, spec, 1000)


def test_fuzz_garbage_and_truncation() -> None:
    rng = random.Random(1234)
    started = time.monotonic()
    for _, data, spec in _samples():
        for _ in range(4):
            _only_invalid_argument(rng.randbytes(rng.choice([1, 11, 200, 5000])), spec)
        # the real header followed by garbage
        _only_invalid_argument(data[:64] + rng.randbytes(3000), spec)
        for cut in (1, 5, 12, 30, 60, 200, 1000, len(data) // 3, len(data) - 7):
            _only_invalid_argument(data[:cut], spec)
        flipped = bytearray(data)
        for _ in range(20):
            flipped[rng.randrange(min(len(flipped), 4000))] ^= 0xFF
        _only_invalid_argument(bytes(flipped), spec)
    assert time.monotonic() - started < 120  # a hang guard: garbage must not stall a decoder


# --- streaming -------------------------------------------------------------------------------

STREAM_CASES = [
    "LINEAR16",
    "WAV",
    "MULAW",
    "ALAW",
    "FLAC",
    "OGG_OPUS",
    "WEBM_OPUS",
    "MP3",
    "AMR",
    "AMR_WB",
    "SPEEX",
]


@pytest.mark.parametrize("which", STREAM_CASES)
def test_stream_matches_decode(which: str) -> None:
    _, data, spec = next(s for s in _samples() if s[0] == which)
    whole = decode(data, spec).channels
    streamed = stream(data, spec, 3200)
    assert streamed.shape[0] == whole.shape[0]
    slack = 400 if which == "MP3" else 0  # no gapless end trim without seeking: +1 frame at most
    assert whole.shape[1] <= streamed.shape[1] <= whole.shape[1] + slack
    n = whole.shape[1]
    np.testing.assert_allclose(streamed[:, :n], whole, atol=1e-3)


def test_stream_tiny_chunks_and_incremental_output() -> None:
    # FFmpeg's FLAC parser looks ~10 frames ahead (about 2.5 s at 16 kHz) before it emits one
    data = c("medium_en_mixed_short_utts_16k.flac")
    half = len(data) // 2
    dec = StreamDecoder(AudioSpec())
    got = [dec.feed(data[i : min(i + 7, half)]) for i in range(0, half, 7)]
    assert sum(p.shape[1] for p in got) > 16000 * 5  # output arrives long before close()
    rest = [dec.feed(data[half:]), dec.close()]
    total = sum(p.shape[1] for p in got + rest)
    assert total == decode(data, AudioSpec()).channels.shape[1]


def test_stream_wav_header_checks() -> None:
    dec = StreamDecoder(AudioSpec("LINEAR16", 16000))
    with pytest.raises(InvalidArgument, match=r"WAV header \( 22050\)"):
        dec.feed(c("en_ljspeech_LJ001-0002.wav")[:3200])
    dec = StreamDecoder(AudioSpec("FLAC", 16000))
    data = c("en_jfk_inaugural.flac")
    with pytest.raises(InvalidArgument, match=r"FLAC header \(44100\)"):
        for i in range(0, len(data), 3200):
            dec.feed(data[i : i + 3200])
        dec.close()


def test_stream_no_quadratic_work() -> None:
    data = c("long_en_combined_3min.opus")
    started = time.monotonic()
    whole = decode(data, AudioSpec("OGG_OPUS"))
    whole_seconds = time.monotonic() - started
    started = time.monotonic()
    out = stream(data, AudioSpec("OGG_OPUS"), 3200)
    assert abs(out.shape[1] / 16000 - 196.05) < 0.05
    assert out.shape[1] >= whole.channels.shape[1]
    # ~300 chunks: re-decoding what came before at each would cost ~150 whole decodes.
    assert time.monotonic() - started < 20 * whole_seconds + 5


def test_abandoned_stream_stops_its_thread() -> None:
    before = threading.active_count()
    dec = StreamDecoder(AudioSpec("OGG_OPUS"))
    dec.feed(c("en_librivox_0890.ogg")[:5000])
    assert threading.active_count() == before + 1
    del dec
    gc.collect()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


# --- iter_file and probe --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("long_en_ljspeech_LJ001-0001-0016_16k.flac", AudioSpec()),
        ("long_en_multispeaker_16k.wav", AudioSpec()),
        ("medium_en_4utts_webm_opus.webm", AudioSpec("WEBM_OPUS")),
        ("tel8k_en_librivox_0870_mulaw.ulaw", AudioSpec("MULAW", 8000)),
    ],
)
def test_iter_file_chunks(name: str, spec: AudioSpec) -> None:
    seconds, channels = expected(name)
    chunks = list(iter_file(CORPUS / name, spec, chunk_seconds=10.0))
    assert all(ch.shape == (channels, 160000) for ch in chunks[:-1])
    assert 0 < chunks[-1].shape[1] <= 160000
    assert abs(sum(ch.shape[1] for ch in chunks) / 16000 - seconds) <= 0.05
    assert abs(probe(CORPUS / name, spec)[0] - seconds) <= 0.05


def test_iter_file_checks_header(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="WAV header"):
        list(iter_file(CORPUS / "en_ljspeech_LJ001-0002.wav", AudioSpec("LINEAR16", 16000)))
    with pytest.raises(InvalidArgument, match="must either be unspecified"):
        probe(CORPUS / "en_jfk_inaugural.flac", AudioSpec("FLAC", 16000))
    garbage = tmp_path / "garbage.flac"
    garbage.write_bytes(b"fLaC" + bytes(range(256)) * 8)
    with pytest.raises(InvalidArgument, match=re.escape(BAD_ENCODING)):
        list(iter_file(garbage, AudioSpec("FLAC")))
    with pytest.raises(InvalidArgument, match=re.escape(BAD_ENCODING)):
        probe(garbage, AudioSpec("FLAC"))
