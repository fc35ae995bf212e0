"""Tests for topicclf.lang: detect_language()."""

from __future__ import annotations

import doctest
import importlib
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topicclf.lang import Language, detect_language, detect_languages

from conftest import shared_records


def test_doctests():
    result = doctest.testmod(importlib.import_module("topicclf.lang"))
    assert result.attempted > 0 and result.failed == 0


VIETNAMESE = [
    "Sáng nay, hàng nghìn sinh viên đã tham gia ngày hội việc làm tại thành phố.",
    "Chính phủ yêu cầu các bộ, ngành đẩy nhanh tiến độ giải ngân vốn đầu tư công.",
    "Đội tuyển bóng đá nữ giành chiến thắng thuyết phục trong trận chung kết.",
    "Giá xăng tăng",  # a headline
    "Mưa lớn gây ngập nhiều tuyến phố",
    "CHỦ QUYỀN BIỂN ĐẢO LÀ THIÊNG LIÊNG",
]
VIETNAMESE_NO_DIACRITICS = [
    "Chu quyen bien dao cua Viet Nam la khong the tranh cai",
    "Nguoi dan duoc ho tro tien mat trong dot dich nay",
    "Cac truong hoc se mo cua tro lai vao tuan toi",
]
ENGLISH = [
    "Prime Minister Nguyễn Xuân Phúc met Secretary Blinken in Hà Nội to discuss trade",
    "Officials from Đà Nẵng and Hồ Chí Minh City said the new airport would open next year.",
    "The central bank raised interest rates for the third time this year.",
    "Shares fell sharply after the company warned of lower profits",
    "Apple unveils new iPhone",  # no function word at all: weak guess
    "Nguyen Van Thanh, the mayor, said the bridge was safe.",
]
OTHER = {
    "fr": "Le gouvernement a présenté une réforme des retraites qui sera votée par les députés.",
    "de": "Die Regierung hat eine Reform der Renten angekündigt, die im Herbst beschlossen wird.",
    "es": "El gobierno anunció una reforma de las pensiones que será votada por los diputados.",
    "pt": "O governo anunciou uma reforma da previdência que não foi votada pelos deputados.",
    "id": "Pemerintah mengumumkan reformasi pensiun yang akan dibahas oleh para anggota dewan.",
    "ru": "Правительство объявило о пенсионной реформе.",
    "zh": "政府宣布了养老金改革计划。",
    "ja": "政府は年金改革の計画を発表した。",
    "ko": "정부는 연금 개혁 계획을 발표했다.",
    "th": "รัฐบาลประกาศแผนปฏิรูปเงินบำนาญ",
    "ar": "أعلنت الحكومة عن خطة لإصلاح نظام التقاعد",
    "hi": "सरकार ने पेंशन सुधार योजना की घोषणा की",
    "el": "Η κυβέρνηση ανακοίνωσε μεταρρύθμιση των συντάξεων",
    "he": "הממשלה הודיעה על רפורמה בפנסיות",
}


@pytest.mark.parametrize("text", VIETNAMESE + VIETNAMESE_NO_DIACRITICS)
def test_vietnamese(text):
    result = detect_language(text)
    assert result.lang == "vi"
    assert 0 < result.confidence <= 1


@pytest.mark.parametrize("text", ENGLISH)
def test_english_even_with_vietnamese_names(text):
    result = detect_language(text)
    assert result.lang == "en"
    assert 0 < result.confidence <= 1


@pytest.mark.parametrize("lang, text", sorted(OTHER.items()))
def test_other_languages(lang, text):
    result = detect_language(text)
    assert result == (lang, result.confidence)
    assert result.confidence > 0.3


@pytest.mark.parametrize("text", ["", "   \n\t", "12345 678", "!!! ??? ...", "😀🎉", "$ 3.5 %"])
def test_undetermined(text):
    assert detect_language(text) == Language("und", 0.0)


def test_unknown_script_is_undetermined():
    assert detect_language("ქართული ენა არის ლამაზი").lang == "und"


def test_result_is_a_named_tuple():
    result = detect_language("Xin chào các bạn sinh viên")
    lang, confidence = result
    assert (lang, confidence) == (result.lang, result.confidence)
    assert isinstance(result, tuple) and isinstance(confidence, float)


@pytest.mark.parametrize("bad", [None, b"bytes", 42, ["text"]])
def test_type_error(bad):
    with pytest.raises(TypeError):
        detect_language(bad)


def test_nfd_vietnamese():
    text = unicodedata.normalize("NFD", VIETNAMESE[1])
    assert detect_language(text) == detect_language(VIETNAMESE[1])


def test_confidence_grows_with_evidence():
    short = detect_language("Giá xăng tăng")
    long = detect_language(" ".join(VIETNAMESE[:3]))
    assert short.lang == long.lang == "vi"
    assert short.confidence < long.confidence


def test_mixed_text_majority_and_confidence():
    vi = " ".join(VIETNAMESE[:3])
    en = " ".join(ENGLISH[1:4])
    mostly_vi = detect_language(f"{vi} {vi} {en}")
    mostly_en = detect_language(f"{en} {en} {vi}")
    half = detect_language(f"{vi} {en}")
    assert mostly_vi.lang == "vi" and mostly_en.lang == "en"
    pure = detect_language(f"{vi} {vi}")
    assert mostly_vi.confidence < pure.confidence
    assert 0.4 <= half.confidence <= 0.8  # a half/half mix is uncertain


def test_only_the_head_is_read():
    english = " ".join(ENGLISH[1:4]) * 12  # well over 1,500 characters
    assert len(english) > 1500
    assert detect_language(english + " " + " ".join(VIETNAMESE) * 50).lang == "en"


def test_detect_languages():
    texts = [VIETNAMESE[0], ENGLISH[2], ""]
    assert detect_languages(texts) == [detect_language(t) for t in texts]
    assert [r.lang for r in detect_languages(iter(texts))] == ["vi", "en", "und"]
    with pytest.raises(TypeError):
        detect_languages("a single string")


@given(st.text(max_size=300))
def test_never_fails(text):
    result = detect_language(text)
    assert isinstance(result, Language)
    assert 0.0 <= result.confidence <= 1.0
    assert result.lang == "und" or len(result.lang) == 2
    if not any(ch.isalpha() for ch in text):
        assert result == ("und", 0.0)


# ------------------------------------------------------------------------------ real data


def test_real_vntc_is_vietnamese():
    texts = [r["text"] for r in shared_records("vntc/train.jsonl.gz", 2000)]
    assert len(texts) == 2000
    assert [r.lang for r in detect_languages(texts)].count("vi") == 2000


def test_real_bbc_is_english():
    texts = [r["text"] for r in shared_records("en/bbc_news.jsonl.gz")]
    assert [r.lang for r in detect_languages(texts)].count("en") == len(texts)


def test_real_policy5_language_field():
    records = shared_records("policy5/train.jsonl")
    found = detect_languages([r["text"] for r in records])
    agree = sum(f.lang == r["lang"] for f, r in zip(found, records))
    assert agree / len(records) >= 0.995
