"""Tests for topicclf.tokenize: Vietnamese word segmentation, English and syllable tokenizers."""

from __future__ import annotations

import doctest
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topicclf.text import normalize, read_text
from topicclf.tokenize import tokenize, tokenize_many


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SRC = Path(__file__).resolve().parents[1] / "src"


def chars(tokens: list[str]) -> str:
    return "".join(t.replace("_", "") for t in tokens)


def nonspace(text: str) -> str:
    return "".join(normalize(text).split())


def test_doctests():
    result = doctest.testmod(importlib.import_module("topicclf.tokenize"))
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------------------ Vietnamese

SEGMENTED = [
    ("Chủ quyền biển đảo của Việt Nam là không thể tranh cãi.",
     ["Chủ_quyền", "biển", "đảo", "của", "Việt_Nam", "là", "không_thể", "tranh_cãi", "."]),
    ("Bộ Giáo dục vừa công bố kế hoạch tuyển sinh năm nay.",
     ["Bộ", "Giáo_dục", "vừa", "công_bố", "kế_hoạch", "tuyển_sinh", "năm", "nay", "."]),
    ("Sinh viên Hà Nội tham gia bảo vệ môi trường.",
     ["Sinh_viên", "Hà_Nội", "tham_gia", "bảo_vệ", "môi_trường", "."]),
    ("Giá xăng tăng 3,5% vào tháng trước.",
     ["Giá", "xăng", "tăng", "3,5", "%", "vào", "tháng", "trước", "."]),
    ("Quần đảo Hoàng Sa và Trường Sa thuộc chủ quyền Việt Nam.",
     ["Quần_đảo", "Hoàng_Sa", "và", "Trường_Sa", "thuộc", "chủ_quyền", "Việt_Nam", "."]),
]


@pytest.mark.parametrize("text, expected", SEGMENTED)
def test_vietnamese_word_segmentation(text, expected):
    assert tokenize(text, lang="vi") == expected
    assert tokenize(text) == expected  # the language is detected


def test_text_is_normalized_first():
    tokens = tokenize("Hoà  bình và\u200b khoẻ mạnh\n\nAudio\n", lang="vi")
    assert tokens[0] == "Hòa_bình"
    assert "khỏe" in tokens and "Audio" not in tokens
    assert tokenize("Hoà bình", lang="vi") == tokenize("Hòa bình", lang="vi")


def test_vietnamese_multi_line_text():
    text = "Tiêu đề bài báo\n\nĐoạn một nói về kinh tế.\nĐoạn hai nói về giáo dục."
    tokens = tokenize(text, lang="vi")
    assert tokens[0] == "Tiêu_đề"
    assert "kinh_tế" in tokens and "giáo_dục" in tokens
    assert not any("Đoạn" in t and t != "Đoạn" for t in tokens)  # no word across lines
    assert chars(tokens) == nonspace(text)


def test_segmenter_changes_are_repaired():
    # underthesea normalises some tokens ("nghành" -> "ngành", "Ð" -> "Đ"); the tokens must
    # still carry the characters of the (normalised) input.
    text = "Ngành và nghành giáo dục, Thuý và qui định mới của GD-ÐT"
    tokens = tokenize(text, lang="vi")
    assert "nghành" in chars(tokens)
    assert chars(tokens) == nonspace(text)


# ------------------------------------------------------------------------------ English

ENGLISH = [
    ("Don't panic: the U.S. economy grew 3.5% in 2020, officials said.",
     ["Do", "n't", "panic", ":", "the", "U.S.", "economy", "grew", "3.5", "%", "in", "2020",
      ",", "officials", "said", "."]),
    ("It's a well-known e-mail scam, Mr. Smith; it cost $1,600... or more!",
     ["It", "'s", "a", "well-known", "e-mail", "scam", ",", "Mr.", "Smith", ";", "it", "cost",
      "$", "1,600", "...", "or", "more", "!"]),
    ("Write to news@example.com or visit https://www.example.org/news?id=7.",
     ["Write", "to", "news@example.com", "or", "visit", "https://www.example.org/news?id=7", "."]),
    ("They can't and won't (they're tired) -- O'Brien's 19-year-old son",
     ["They", "ca", "n't", "and", "wo", "n't", "(", "they", "'re", "tired", ")", "--",
      "O'Brien", "'s", "19-year-old", "son"]),
]


@pytest.mark.parametrize("text, expected", ENGLISH)
def test_english_words(text, expected):
    assert tokenize(text, lang="en") == expected
    assert tokenize(text) == expected


# ------------------------------------------------------------------------------ syllable mode


def test_syllable_mode():
    assert tokenize("Chủ quyền (biển) đảo, 2021!", mode="syllable") == [
        "Chủ", "quyền", "(", "biển", ")", "đảo", ",", "2021", "!",
    ]
    assert tokenize("Don't e-mail", lang="en", mode="syllable") == [
        "Don", "'", "t", "e", "-", "mail",
    ]


def test_other_languages_use_syllables():
    assert tokenize("Η κυβέρνηση, σήμερα.") == ["Η", "κυβέρνηση", ",", "σήμερα", "."]
    assert tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # combining vowel signs stay inside
    assert tokenize("政府宣布改革 plan") == ["政", "府", "宣", "布", "改", "革", "plan"]
    assert tokenize("a_b", mode="syllable") == ["a", "_", "b"]


# ------------------------------------------------------------------------------ API


@pytest.mark.parametrize("bad", [None, b"Xin chao", 12, ["text"]])
def test_type_error(bad):
    with pytest.raises(TypeError):
        tokenize(bad)


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        tokenize("text", mode="character")


@pytest.mark.parametrize("mode", ["word", "syllable"])
@pytest.mark.parametrize("text", ["", "   ", "\n\u200b\n", "Audio"])
def test_empty(text, mode):
    assert tokenize(text, mode=mode) == []
    assert tokenize(text, lang="vi", mode=mode) == []


def test_tokenize_many():
    texts = [SEGMENTED[0][0], ENGLISH[0][0], ""]
    assert tokenize_many(texts) == [SEGMENTED[0][1], ENGLISH[0][1], []]
    assert tokenize_many(texts, mode="syllable") == [tokenize(t, mode="syllable") for t in texts]
    with pytest.raises(TypeError):
        tokenize_many("a single string")


def test_importing_underthesea_keeps_root_logging():
    # A fresh interpreter, so that underthesea is really imported by tokenize().
    code = textwrap.dedent(
        """
        import logging
        root = logging.getLogger()
        marker = logging.NullHandler()
        root.addHandler(marker)
        root.setLevel(logging.ERROR)
        from topicclf.tokenize import tokenize
        assert tokenize("Việt Nam", lang="vi") == ["Việt_Nam"]
        assert root.handlers == [marker], root.handlers
        assert root.level == logging.ERROR, root.level
        print("ok")
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


# ------------------------------------------------------------------------------ properties


@given(st.text())
def test_syllable_mode_keeps_every_character(text):
    tokens = tokenize(text, mode="syllable")
    assert "".join(tokens) == nonspace(text)  # exact: "_" is a token of its own here
    assert all(t and not any(c.isspace() for c in t) for t in tokens)


@given(st.text())
def test_english_mode_keeps_every_character(text):
    tokens = tokenize(text, lang="en")
    assert "".join(tokens) == nonspace(text)


SYLLABLES = ["chủ", "quyền", "biển", "đảo", "của", "Việt", "Nam", "là", "không", "thể",
             "tranh", "cãi", "hoà", "khoẻ", "thuỷ", "điện", "Hà", "Nội", "nghành", "qui", "định",
             "Thuý", "GD-ÐT", "3,5%", "12/3/2021", ",", ".", "(", ")", "“", "”", "...", "-",
             "TP.HCM", "e-mail", "abc@example.com", "Ð", "\n", "\n\n"]


@given(st.lists(st.sampled_from(SYLLABLES), max_size=25).map(" ".join))
def test_vietnamese_word_mode_keeps_every_character(text):
    tokens = tokenize(text, lang="vi")
    assert chars(tokens) == nonspace(text)
    assert all(t and not t.startswith("_") and not t.endswith("_") for t in tokens)
    assert all(not any(c.isspace() for c in t) for t in tokens)


# ------------------------------------------------------------------------------ real data


def test_real_scraped_article():
    path = DATA / "examples" / "clo-2020-press-policy.txt"
    if not path.exists():
        pytest.skip(f"shared data not available at {path}")
    text = read_text(path)
    tokens = tokenize(text)
    assert chars(tokens) == nonspace(text)
    words = [t for t in tokens if "_" in t]
    assert len(words) > 0.2 * len(tokens)  # many multi-syllable words were found
    assert "Audio" not in tokens
