"""Scripts without spaces and Chinese by its code: the converter, then the shaping through the
REST app over a fake engine that writes Traditional Chinese or spaced Japanese (plumbing: the
real model's Chinese and Japanese are checked in ``test_multilingual.py``)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import opencc
import pytest

from hark.engine import ModelInfo, Word
from hark.speech import formats, scripts
from hark.speech.types import Alternative, Result, WordInfo

from audio_samples import tone, wav_bytes
from cores import build_cores, rest_app
from fake_engine import FakeEngine

TRADITIONAL = "極端的 實在的 判斷的 知識，是 成立的。"
SIMPLIFIED = "极端的实在的判断的知识，是成立的。"
JAPANESE = "客観的 実在の 判断的 知識が、 成立するのである。"
MULTILINGUAL = ModelInfo(
    "base", multilingual=True, languages=frozenset({"en", "zh", "ja", "th"}), weight_bytes=1
)


@pytest.mark.parametrize(
    ("tag", "config"),
    [
        ("zh", "t2s"), ("zh-CN", "t2s"), ("cmn-Hans-CN", "t2s"), ("zh-SG", "t2s"),
        ("cmn-Hans-HK", "t2s"), ("yue-Hans-CN", "t2s"),
        ("zh-TW", "s2tw"), ("cmn-Hant-TW", "s2tw"), ("zh-HK", "s2hk"), ("yue-Hant-HK", "s2hk"),
        ("yue", "s2t"), ("zh-Hant", "s2t"),
    ],
)  # fmt: skip
def test_the_code_chooses_the_script(tag: str, config: str) -> None:
    convert = scripts.converter(tag)
    assert convert is not None
    sample = "头发發展 極端的實在"
    assert convert(sample) == opencc.OpenCC(config).convert(sample)


def test_codes_that_are_not_chinese_convert_nothing() -> None:
    assert scripts.converter("ja-JP") is None and scripts.converter("en-US") is None


def test_conversion_keeps_the_words_and_their_times() -> None:
    words = [Word(0.0, 0.5, " 頭", 0.9), Word(0.5, 1.0, "髮", 0.8), Word(1.0, 2.0, "發展", 0.7)]
    convert = scripts.converter("zh-CN")
    assert convert is not None
    converted = scripts.in_script(words, convert)
    assert [w.text for w in converted] == [" 头", "发", "发展"]
    assert [(w.start, w.end, w.probability) for w in converted] == [
        (w.start, w.end, w.probability) for w in words
    ]


def test_unspaced_text_rules() -> None:
    assert scripts.unspaced("ja-JP") and scripts.unspaced("cmn-Hans-CN") and scripts.unspaced("th")
    assert not scripts.unspaced("ko-KR") and not scripts.unspaced("en")
    assert scripts.close_up("客観的 実在の 判断") == "客観的実在の判断"
    assert scripts.close_up("ภาษาไทย ง่าย") == "ภาษาไทย ง่าย"  # Thai keeps its phrase spaces
    assert scripts.strip_marks("知識が、成立する。「本当」") == "知識が成立する本当"
    assert scripts.strip_marks("3.5キロ・メートル") == "3.5キロ・メートル"


@pytest.fixture
async def http(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    engine = FakeEngine([request.param], info=MULTILINGUAL)
    cores = await build_cores(engine, tmp_path)
    transport = httpx.ASGITransport(app=rest_app(cores), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client
    await cores.close()


async def recognize(http: httpx.AsyncClient, language: str, **config: Any) -> dict[str, Any]:
    body = {
        "config": {"languageCode": language, "enableWordTimeOffsets": True, **config},
        "audio": {"content": base64.b64encode(wav_bytes(tone(3.0))).decode()},
    }
    reply = await http.post("/v1/speech:recognize", json=body)
    assert reply.status_code == 200, reply.text
    (result,) = reply.json()["results"]
    return dict(result["alternatives"][0])


on_loop = pytest.mark.asyncio(loop_scope="session")


@on_loop
@pytest.mark.parametrize("http", [TRADITIONAL], indirect=True)
async def test_simplified_codes_get_simplified(http: httpx.AsyncClient) -> None:
    for code in ("cmn-Hans-CN", "zh-CN", "zh"):
        alternative = await recognize(http, code, enableAutomaticPunctuation=True)
        assert alternative["transcript"] == SIMPLIFIED, code
        assert "".join(w["word"] for w in alternative["words"]) == SIMPLIFIED
    plain = await recognize(http, "zh-CN")  # Google's default: no punctuation
    assert plain["transcript"] == "极端的实在的判断的知识是成立的"
    assert [w["word"] for w in plain["words"]][-2:] == ["知识是", "成立的"]


@on_loop
@pytest.mark.parametrize("http", [SIMPLIFIED.replace("的", "的 ")], indirect=True)
async def test_traditional_codes_get_traditional(http: httpx.AsyncClient) -> None:
    for code in ("cmn-Hant-TW", "zh-TW", "yue-Hant-HK"):
        alternative = await recognize(http, code, enableAutomaticPunctuation=True)
        assert alternative["transcript"] == "極端的實在的判斷的知識，是成立的。", code


@on_loop
@pytest.mark.parametrize("http", [JAPANESE], indirect=True)
async def test_japanese_has_no_spaces_and_one_word_per_token(http: httpx.AsyncClient) -> None:
    alternative = await recognize(http, "ja-JP")
    assert alternative["transcript"] == "客観的実在の判断的知識が成立するのである"
    assert [w["word"] for w in alternative["words"]] == [
        "客観的", "実在の", "判断的", "知識が", "成立するのである",
    ]  # fmt: skip
    starts = [float(w["startTime"].rstrip("s")) for w in alternative["words"]]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    reply = await http.post(
        "/v1/audio/transcriptions",
        files={"file": ("a.wav", wav_bytes(tone(3.0)))},
        data={"model": "base", "language": "ja", "response_format": "srt"},
    )
    assert reply.status_code == 200, reply.text
    assert "客観的実在の判断的知識が、成立するのである。" in reply.text


def test_subtitles_and_text_join_unspaced_results_without_spaces() -> None:
    def result(text: str, start: float, language: str) -> Result:
        words = tuple(
            WordInfo(char, start + i * 0.1, start + (i + 1) * 0.1) for i, char in enumerate(text)
        )
        return Result((Alternative(text, 0.9, words),), start + len(text) * 0.1, 0, language)

    japanese = [result("東京です。", 0.0, "ja-jp"), result("大阪です。", 2.0, "ja-jp")]
    assert formats.srt(japanese).endswith(
        "\n東京です。\n\n2\n00:00:02,000 --> 00:00:02,500\n大阪です。\n\n"
    )
    assert "00:00:00.000 --> 00:00:00.500\n東京です。" in formats.vtt(japanese)
    assert scripts.joined(["東京です。", "大阪です。"], "ja") == "東京です。大阪です。"
    assert scripts.joined(["Tokyo.", "Osaka."], "en") == "Tokyo. Osaka."
