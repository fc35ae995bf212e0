"""topicclf._langscan, the C scanner of topicclf.lang, against the Python code it replaces.

detect_language must give the same Language (lang and confidence) both ways, for every text.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
import unicodedata
from contextlib import contextmanager

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from topicclf import lang

from conftest import shared_records

if lang._langscan is None:
    pytest.skip("topicclf._langscan is not built (`python setup.py build_ext --inplace`); "
                "test_lang.py covers the Python code alone", allow_module_level=True)

ACTIVE = lang._SCANNER  # None under TOPICCLF_NO_EXT=1
SCANNER = ACTIVE or lang._new_scanner()


@contextmanager
def using(scanner):
    """lang counts with ``scanner`` (the Python code if None) inside the block."""
    lang._use_scanner(scanner)
    try:
        yield
    finally:
        lang._use_scanner(ACTIVE)


def both_ways(text: str) -> tuple[lang.Language, lang.Language]:
    """detect_language(text) with the Python code, then with the C scanner."""
    with using(None):
        py = lang.detect_language(text)
    with using(SCANNER):
        c = lang.detect_language(text)
    return py, c


def assert_same_detection(texts) -> None:
    for text in texts:
        py, c = both_ways(text)
        assert repr(py) == repr(c), text[:200]


def reference_scan(text: str) -> tuple[dict[str, int], int, int]:
    """What Scanner.scan computes, written the slow and obvious way from lang's tables."""
    for mark in lang._GLUE:
        text = text.replace(mark, " ")
    tokens = text.split()
    counts = dict.fromkeys(lang._LANGS, 0)
    for token in tokens:
        for code in lang._KEY_CODES.get(lang._WORD_KEY.get(token), ()):
            counts[code] += 1
    n_vi = len(lang._VI_DISTINCT_RE.findall(text))
    n_cap = sum(len(lang._VI_DISTINCT_RE.findall(t)) for t in tokens if not t.islower())
    return counts, n_vi, n_cap


def typed(scores: dict) -> list:
    return [(k, type(v), v) for k, v in scores.items()]


# ------------------------------------------------------------------------------ random texts

VI = "".join(sorted(set(lang._VI_DISTINCT + "âêôáàảãạéèẻẽẹíìỉịóòỏõọúùủụýỳỷỹỵ"
                        + "ÂÊÔÁÀẢÃẠÉÈẺẼẸÍÌỈỊÓÒỎÕỌÚÙỦỤÝỲỶỸỴ")))
COMBINING = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"  # NFD Vietnamese
WHITESPACE = (" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2003\u200a\u2028\u2029"
              "\u202f\u205f\u3000")
NOT_WHITESPACE = "\u200b\u180e\ufeff\u2060"  # look like spaces, are not for str.split
ODD_CASE = "ǅǈǋǲᾈᾼİıßﬁʰªºⅠⅰⓐⒶΣσς\u0345ᵃ"  # titlecase, Other_Lowercase/Uppercase, ...
OTHER = "0123456789-'/&%$@#*…–—‘’😀🎉𝐀𝑎𠀀中文한국어ไทยРусскийاΩ"
GLUE = "".join(lang._GLUE)
ALPHABET = VI + COMBINING + ODD_CASE + OTHER + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
SENTENCES = [
    "Chính phủ yêu cầu các bộ, ngành đẩy nhanh tiến độ giải ngân vốn đầu tư công.",
    "Nguoi dan duoc ho tro tien mat trong dot dich nay",
    "Prime Minister Nguyễn Xuân Phúc met Secretary Blinken in Hà Nội to discuss trade",
    "CHỦ QUYỀN BIỂN ĐẢO LÀ THIÊNG LIÊNG",
    "El gobierno anunció una reforma de las pensiones que será votada por los diputados.",
    "Le gouvernement a présenté une réforme des retraites qui sera votée par les députés.",
]

words = st.sampled_from(sorted(lang._WORD_KEY)).flatmap(
    lambda w: st.sampled_from([w, w.upper(), w.capitalize(), w.swapcase(), w + w]))
pieces = st.one_of(
    words, words, st.text(st.sampled_from(ALPHABET), min_size=1, max_size=8), st.characters(),
    st.sampled_from(GLUE), st.sampled_from(SENTENCES),
)
separators = st.text(st.sampled_from(WHITESPACE + NOT_WHITESPACE + GLUE), max_size=3)
texts = st.lists(st.tuples(pieces, separators), max_size=60).map(
    lambda xs: "".join(p + s for p, s in xs))
long_texts = st.tuples(texts, st.integers(1, 8), st.text(max_size=20)).map(
    lambda t: t[0] * t[1] + t[2])  # over 500 characters: the two-step read of detect_language


@given(texts)
@example("")
@example("the The THE tHE ạ Ạ aẠ ǅạ ⅠạX ạ😀 ǅ")
@example("ăn, đi. (mới) “ơn” Đà:Nẵng;ưu?ĩ!ũ\u3000Ă\x1cĐ\x85Ơ\u2003Ư\xa0Ĩ\u200bŨ")
def test_scan_counts_as_python(text):
    counts, n_vi, n_cap = SCANNER.scan(text)
    assert (counts, n_vi, n_cap) == reference_scan(text)
    assert list(counts) == list(lang._LANGS)
    with using(SCANNER):
        assert typed(lang._latin_scores_c(text)) == typed(lang._latin_scores_py(text))


@given(st.text(max_size=200))
def test_scan_any_text(text):
    assert SCANNER.scan(text) == reference_scan(text)
    assert SCANNER.has_mark(text) == lang._has_non_latin_py(text)


@given(st.one_of(texts, long_texts))
def test_detect_language_same_both_ways(text):
    py, c = both_ways(text)
    assert repr(py) == repr(c)
    assert SCANNER.has_mark(text) == lang._has_non_latin_py(text)
    if SCANNER.surely_nfc(text):
        assert unicodedata.is_normalized("NFC", text)


@given(st.one_of(texts, long_texts))
def test_detect_language_same_both_ways_nfd(text):
    assert_same_detection([unicodedata.normalize("NFD", text)])


# ------------------------------------------------------------------------------ every character


def all_characters(step_astral: int = 1):
    return map(chr, [*range(0x10000), *range(0x10000, 0x110000, step_astral)])


def test_every_character_is_classified_as_python_does():
    """Separators, Vietnamese letters and str.islower() for each BMP character (and every
    7th above): a token "the<c>the" (two words if c separates) and "ạ<c>" (not lower if c
    is upper or titlecase)."""
    bad = []
    scan = SCANNER.scan
    for c in all_characters(7):
        for probe in ("the" + c + "the", "ạ" + c, "Ạ" + c, c):
            if scan(probe) != reference_scan(probe):
                bad.append(probe)
    assert bad == []


def test_marks_are_the_non_latin_scripts():
    chars = list(all_characters())
    c_marked = [c for c in chars if SCANNER.has_mark(c)]
    assert c_marked == lang._NON_LATIN_RE.findall("".join(chars))
    assert SCANNER.has_mark("abc 中") and not SCANNER.has_mark("abc") and not SCANNER.has_mark("")


def test_nfc_safe_characters_are_nfc_anywhere():
    """A character counts as safe only if it is a starter that is NFC and never composes with
    the character before it (NFC_Quick_Check=Maybe: the second character of a canonical
    decomposition, or a Hangul vowel/trailing jamo)."""
    second = set()
    for c in map(chr, range(0x110000)):
        d = unicodedata.decomposition(c)
        if d and not d.startswith("<") and len(d.split()) == 2:
            second.add(chr(int(d.split()[1], 16)))
    second.update(map(chr, range(0x1161, 0x1176)), map(chr, range(0x11A8, 0x11C3)))
    safe = [c for c in all_characters() if SCANNER.surely_nfc(c)]
    assert len(safe) > 800 and "ạ" in safe and "\u2000" not in safe and "\u0301" not in safe
    for c in safe:
        assert unicodedata.combining(c) == 0 and unicodedata.is_normalized("NFC", c)
        assert c not in second, hex(ord(c))
    assert SCANNER.surely_nfc("") and SCANNER.surely_nfc("Hà Nội – “ơn”")
    assert not SCANNER.surely_nfc("Ha\u0300") and not SCANNER.surely_nfc("a😀")


# ------------------------------------------------------------------------------ the switch


def test_the_extension_is_used():
    if os.environ.get("TOPICCLF_NO_EXT") == "1":
        assert lang._SCANNER is None and lang._latin_scores is lang._latin_scores_py
        return
    assert lang._SCANNER is not None and lang._latin_scores is lang._latin_scores_c

    calls = []

    class Spy:  # records the calls to the scanner's methods
        def __getattr__(self, name):
            method = getattr(SCANNER, name)
            return lambda *args: calls.append(name) or method(*args)

    text = "Chính phủ yêu cầu các bộ, ngành đẩy nhanh tiến độ giải ngân vốn đầu tư công. " * 10
    expected = both_ways(text)[0]
    with using(Spy()):
        assert lang.detect_language(text) == expected
    assert calls == ["surely_nfc", "has_mark", "scan"]


def test_no_ext_environment_variable():
    code = ("import topicclf.lang as l; "
            "print(l._SCANNER is None, l._latin_scores is l._latin_scores_py)")
    for value, expected in (("1", "True True"), ("0", "False False")):
        env = {**os.environ, "TOPICCLF_NO_EXT": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             check=True).stdout
        assert out.split() == expected.split()


# ------------------------------------------------------------------------------ the C type


def test_scanner_arguments():
    S = lang._langscan.Scanner
    s = S({"😀x": 0b10, "": 1, "ạb": 0b11}, ("a", "b"), "", "ạ", "", "")
    assert s.scan("😀x ạb ạb😀x 😀x") == ({"a": 1, "b": 3}, 2, 0)  # "" is never a token
    assert s.scan("ẠB") == ({"a": 0, "b": 0}, 0, 0)  # case-sensitive; Ạ is not in vi_letters
    with pytest.raises(TypeError):
        SCANNER.scan(b"bytes")
    with pytest.raises(TypeError):
        SCANNER.has_mark(None)
    with pytest.raises(TypeError):
        SCANNER.surely_nfc(1)
    with pytest.raises(ValueError):
        S({"a": 0b100}, ("a", "b"), "", "", "", "")
    with pytest.raises(OverflowError):
        S({"a": -1}, ("a",), "", "", "", "")
    with pytest.raises(TypeError):
        S({1: 1}, ("a",), "", "", "", "")
    with pytest.raises(ValueError):
        S({}, (), "", "", "abc", "")
    with pytest.raises(ValueError):
        S({}, tuple("x" * 33), "", "", "", "")


def test_no_leak():
    text = SENTENCES[0] * 20 + "😀"
    SCANNER.scan(text)
    lang._new_scanner()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            lang._new_scanner()
        for _ in range(20000):
            SCANNER.scan(text)
            SCANNER.has_mark(text)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 50_000


# ------------------------------------------------------------------------------ real text


def test_real_vntc_same_both_ways():
    texts = [r["text"] for r in shared_records("vntc/test.jsonl.gz", 3000)]
    assert len(texts) == 3000
    assert_same_detection(texts)
    assert_same_detection(unicodedata.normalize("NFD", t) for t in texts[:100])


def test_real_english_same_both_ways():
    texts = [r["text"] for r in shared_records("en/bbc_news.jsonl.gz", 300)]
    texts += [r["text"] for r in shared_records("en/20newsgroups_bydate.jsonl.gz", 300)]
    assert_same_detection(texts)


def test_real_policy5_same_both_ways():
    assert_same_detection(r["text"] for r in shared_records("policy5/train.jsonl"))
