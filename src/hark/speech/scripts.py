"""Writing systems: scripts written without spaces between words, and Chinese in the script
its language code asks for.

Chinese, Japanese, Thai, Lao, Burmese, Khmer and Tibetan put no space between words. Google's
transcripts in them carry none, and each ``WordInfo`` is one token of the text (a character
or a few; Whisper's word timings split these languages into the shortest pieces that are whole
Unicode text, which is what Hark reports). Spaces Whisper puts between two Chinese or Japanese
characters are removed; results and subtitle words are joined without one. Thai, Lao, Burmese
and Khmer use a space between phrases, which is kept as Whisper writes it.

Whisper writes Chinese in either script, often Traditional whatever was said. A code that asks
for Simplified (``zh``, ``zh-CN``, ``cmn-Hans-CN``, ``zh-SG``) gets Simplified, one that asks
for Traditional (``zh-TW``, ``cmn-Hant-TW``, ``zh-HK``, ``yue-Hant-HK``, ``yue``) gets
Traditional in its region's standard, converted with OpenCC (the reference open-source
converter: phrase-aware dictionaries, maintained, official wheels). A Chinese result whose
language was detected with no code asking for it keeps Whisper's script.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import cache

import opencc

from hark.engine import Word

UNSPACED = frozenset({"zh", "cmn", "yue", "wuu", "ja", "th", "lo", "my", "km", "bo"})
"""Languages (primary subtags; Whisper's codes among them) written without spaces."""
_CJK = (
    r"\u2e80-\u2fdf\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
    r"\U00020000-\U0003134f"
)
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_TRADITIONAL_REGIONS = {"tw": "s2tw", "hk": "s2hk", "mo": "s2hk"}
Convert = Callable[[str], str]


def primary(language: str) -> str:
    """The primary subtag of a BCP-47 tag or Whisper code, lower case."""
    return language.split("-", maxsplit=1)[0].lower()


def unspaced(language: str) -> bool:
    """Whether ``language`` (a tag or a Whisper code) is written without spaces."""
    return primary(language) in UNSPACED


def joined(texts: Iterable[str], language: str) -> str:
    """Texts one after another as ``language`` writes them: with a space, or none."""
    return ("" if unspaced(language) else " ").join(texts)


def close_up(text: str) -> str:
    """``text`` without the spaces between two Chinese or Japanese characters."""
    return _SPACE_IN_CJK.sub("", text)


def strip_marks(text: str) -> str:
    """Every punctuation mark of ``text`` removed, wherever it is (unspaced scripts have no word
    edges to strip at), except one between two Latin letters or digits ("3.5", "don't") and
    the katakana middle dot of foreign names; spaces left single."""
    kept = []
    for index, char in enumerate(text):
        mark = unicodedata.category(char).startswith("P") and char != "・"
        if not mark or _inside(text, index):
            kept.append(char)
    return " ".join("".join(kept).split())


def _inside(text: str, index: int) -> bool:
    before, after = text[index - 1 : index], text[index + 1 : index + 2]
    return before.isalnum() and after.isalnum() and before.isascii() and after.isascii()


def converter(tag: str) -> Convert | None:
    """The conversion a Chinese code asks for (see the module's docstring); None for a code
    that is not Chinese."""
    config = _opencc_config(tag.lower())
    return _opencc(config).convert if config else None


def _opencc_config(tag: str) -> str | None:
    subtags = tag.split("-")
    if subtags[0] not in ("zh", "cmn", "yue", "wuu"):
        return None
    region = next((s for s in subtags[1:] if len(s) == 2), "")
    traditional = _TRADITIONAL_REGIONS.get(region, "s2t")
    if "hant" in subtags:
        return traditional
    if "hans" in subtags:
        return "t2s"
    # No script subtag: the region's usage; Cantonese is written in Traditional characters.
    if region in _TRADITIONAL_REGIONS or (subtags[0] == "yue" and region != "cn"):
        return traditional
    return "t2s"


@cache
def _opencc(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def in_script(words: Sequence[Word], convert: Convert) -> tuple[Word, ...]:
    """``words`` converted as one text (OpenCC picks characters by the phrase around them),
    then cut back into the same words; word by word if the conversion changed the length."""
    texts = [word.text for word in words]
    whole = convert("".join(texts))
    if len(whole) != sum(len(text) for text in texts):
        return tuple(replace(word, text=convert(word.text)) for word in words)
    converted = []
    at = 0
    for word in words:
        converted.append(replace(word, text=whole[at : at + len(word.text)]))
        at += len(word.text)
    return tuple(converted)
