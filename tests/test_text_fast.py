"""The C fast path of normalize (topicclf._textfast) against the pure-Python reference."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topicclf import text
from topicclf.text import _normalize_py, normalize

from conftest import shared_records

if text._textfast is None:
    pytest.skip("topicclf._textfast is not built (python setup.py build_ext --inplace)",
                allow_module_level=True)

fast = text._textfast.normalize_fast
NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


def check(x: str) -> str | None:
    """fast(x) is None or equals the Python path; normalize(x) always does."""
    out = fast(x)
    ref = _normalize_py(x)
    if out is not None:
        assert type(out) is str
        assert out == ref, (x, out, ref)
    assert normalize(x) == ref
    return out


# ------------------------------------------------------------------------------ the whitelist


def _safe_chars():
    yield from map(chr, range(0x300))
    for lo, hi in text._NFC_SAFE_RANGES:
        yield from map(chr, range(lo, hi + 1))


def test_safe_ranges_are_left_alone_by_nfc():
    # NFC changes a text only around characters that decompose (is_normalized fails on them
    # alone), that have a combining class (reordering), or that compose with the character
    # before them (the second half of a canonical pair; Hangul vowels and trailing consonants
    # compose algorithmically).
    seconds = {chr(c) for c in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}
    for c in range(0x110000):
        d = unicodedata.decomposition(chr(c)).split()
        if len(d) == 2 and not d[0].startswith("<"):
            seconds.add(chr(int(d[1], 16)))
    marks = re.compile(f"[{text._MARKS}]")
    for ch in _safe_chars():
        assert unicodedata.is_normalized("NFC", ch), hex(ord(ch))
        assert unicodedata.combining(ch) == 0, hex(ord(ch))
        assert ch not in seconds, hex(ord(ch))
        assert not marks.match(ch), hex(ord(ch))


SAFE = "".join(_safe_chars())


@given(st.text(alphabet=st.sampled_from(SAFE)))
def test_safe_text_is_nfc(x):
    assert unicodedata.is_normalized("NFC", x)


# ------------------------------------------------------------------------------ properties

PIECES = [
    # letters, precomposed and decomposed, and characters whose case mapping is special
    "a", "Z", "1", "_", ".", ",", "-", "Việt", "Nguyễn", "đường", "Đ", NFD("Việt"), NFD("ả"),
    "\u0301", "\u0323", "\u0302", "ß", "İ", "ǅ", "ﬁ",
    # first vowels, toned second vowels, pairs new and old style, "q" and long initials
    "o", "O", "u", "U", "g", "ngh", "q", "à", "ẻ", "ỳ", "ý", "Ý", "Ạ", "hoà", "khoẻ", "thuỷ",
    "quý", "HOÀ", "Thuỵ", "oà", "uỷ", "toàn", "hòa", "Chloé", "gİoà", "ngoằ",
    # whitespace, controls and invisible characters
    " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\xa0", "\u2003", "\u3000", "\u1680", "\u200b",
    "\u200c", "\u2060", "\ufeff", "\xad", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u2028",
    "\u2029", "\x00", "\x07", "\x7f", "\x9f",
    # Latin eth, punctuation NFC leaves alone, characters it may not
    "Ð", "ð", "–", "“", "”", "…", "‰", "\u205e", "\u205f", "\u2070", "😀", "\uac00", "\u1100",
    "\u1161", "ά", "\u0958", "\u037e",
    # markup or not
    "<", "&", "<p>", "</b>", "<br/>", "&amp;", "&#8203;", "&lt;", "R&D", "a < b", "<!--",
    # boilerplate and long lines that repeat
    "Audio", "AUDIO", "chia sẻ", "Chia Sẻ", NFD("Chia sẻ"), "Điều chỉnh kích thước chữ",
    "ĐIỀU CHỈNH KÍCH THƯỚC CHỮ", "Xem  thêm", "Copy link", "Một dòng chú thích ảnh khá dài",
    "Một dòng chú thích ảnh khá dài ", "Một dòng chú thích\u200b ảnh khá dài",
]
CHARS = sorted({ch for p in PIECES for ch in p})
LINES = ["Audio", " chia sẻ ", "XEM THÊM", "Điều chỉnh kích thước chữ", "Hoà bình và thuỷ điện",
         "Một dòng chú thích ảnh khá dài", "", " ", "Tin  liên   quan", "Hà Nội"]
SEPARATORS = ["\n", "\n\n", "\r\n", "\r", "\r\r\n", "\u2028", "\x0c", "\n \n", "\n\u200b\n"]


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_fragments(x):
    check(x)


@given(st.text(alphabet=st.sampled_from(CHARS), max_size=80))
def test_characters(x):
    check(x)


@given(st.lists(st.one_of(st.sampled_from(LINES),
                          st.lists(st.sampled_from(PIECES), max_size=8).map("".join)),
                max_size=20),
       st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=5))
def test_lines(lines, seps):
    check("".join(line + seps[i % len(seps)] for i, line in enumerate(lines)))


@given(st.text())
def test_any_text(x):
    check(x)


PLAIN = ["Hoà bình", "thuỷ điện", "khoẻ mạnh", "Nguyễn Văn A", "giá vàng tăng", "GD-ÐT", " ",
         "  ", ", ", ". ", "\n", "\n\n", "\r\n", "\t", "\xa0", "\u200b", "R&D", "a < b", "Audio\n",
         "\nChia sẻ\n", "Xe buýt điện chạy thử nghiệm trên phố.\n", "–", "“x”", "100%", "quý"]


def test_fast_path_accepts_plain_vietnamese():
    rng = random.Random(0)
    texts = ["".join(rng.choices(PLAIN, k=rng.randrange(1, 60))) for _ in range(500)]
    accepted = sum(check(x) is not None for x in texts)
    assert accepted >= 0.9 * len(texts)


# ------------------------------------------------------------------------------ edge cases


@pytest.mark.parametrize(
    "x, expected",
    [
        ("", ""), (" ", ""), ("\n\n", ""), ("  \n \r\n\t ", ""), ("Audio\n\nChia sẻ\n XEM THÊM ", ""),
        ("hoà", "hòa"), ("ho\u200bà", "hòa"), ("Thuỷ điện Hoà Bình", "Thủy điện Hòa Bình"),
        ("quý", "quý"), ("hoà_", "hòa_"), ("hoà1", "hoà1"), ("a\r\r\nb", "a\n\nb"),
        ("a\r\u200b\nb", "a\n\nb"), ("a < b", "a < b"), ("R&D", "R&D"), ("GD-ÐT", "GD-ĐT"),
        ("x\n\n\n\ny", "x\n\ny"), ("Một dòng chú thích ảnh khá dài\nMột dòng chú thích ảnh khá dài", "Một dòng chú thích ảnh khá dài"),
    ],
)
def test_accepted_cases(x, expected):
    assert fast(x) == expected == _normalize_py(x)


@pytest.mark.parametrize(
    "x", ["<p>x</p>", "a &amp; b", NFD("Việt"), "x\u0301", "Việt 😀", "\uac00", "\u1100\u1161"]
)
def test_fallback_cases(x):
    assert fast(x) is None
    assert normalize(x) == _normalize_py(x)


@pytest.mark.parametrize(
    "x",
    [
        "café\r\nthé\xa0x",  # UCS-1
        "GD-Ðà\r\n",  # UCS-1 input, UCS-2 result ("Đ")
        "a\u200b\u2003b",  # UCS-2 input, UCS-1 result
        "Việt Nam – “Hà Nội”…",  # UCS-2
        "Việt \U0001f600",  # UCS-4: never NFC-safe, falls back
        "\U0001f600",
    ],
)
def test_string_kinds(x):
    check(x)


def test_one_megabyte():
    rng = random.Random(1)
    lines = [f"Dòng {i}: giá vàng  hôm nay hoà vốn, thuỷ điện\u200b tăng.\t" for i in range(20000)]
    lines += ["Một dòng chú thích ảnh khá dài"] * 500 + ["Audio", "", " ", "Chia sẻ"] * 500
    rng.shuffle(lines)
    x = "\r\n".join(lines)
    assert len(x) > 1_000_000
    assert check(x) is not None


def test_type_error():
    with pytest.raises(TypeError):
        fast(b"bytes")


def test_no_ext_env():
    env = dict(os.environ, TOPICCLF_NO_EXT="1")
    code = "import topicclf.text as t; print(t._normalize_fast is None, t.normalize('hoà'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "hòa"]


# ------------------------------------------------------------------------------ real text


def test_vntc_articles():
    texts = [r["text"] for r in shared_records("vntc/test.jsonl.gz", 3000)]
    accepted = sum(check(x) is not None for x in texts)
    # 98% measured: the rest is HTML-looking text ("&quot;" and the like)
    assert accepted >= 0.9 * len(texts), accepted / len(texts)
