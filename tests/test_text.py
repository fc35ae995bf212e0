"""Tests for topicclf.text: normalize() and read_text()."""

from __future__ import annotations

import codecs
import doctest
import importlib
import pickle
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topicclf.text import (
    BOILERPLATE_LINES,
    DecodeError,
    normalize,
    normalize_many,
    read_text,
)


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731
NFC = lambda s: unicodedata.normalize("NFC", s)  # noqa: E731


def test_doctests():
    module = importlib.import_module("topicclf.text")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------------------ types, empty


@pytest.mark.parametrize("bad", [None, 42, 3.5, ["a list"], ("tuple",)])
def test_non_str_raises_type_error(bad):
    with pytest.raises(TypeError, match="expects str"):
        normalize(bad)


@pytest.mark.parametrize("raw", [b"bytes", bytearray(b"bytes"), memoryview(b"bytes")])
def test_bytes_error_says_how_to_decode(raw):
    with pytest.raises(TypeError, match=r"decode bytes first, e\.g\. with topicclf\.read_text"):
        normalize(raw)


@pytest.mark.parametrize("text", ["", " ", "\n\n\t \u200b\u00a0\r\n", "\ufeff"])
def test_empty_and_blank(text):
    assert normalize(text) == ""


def test_normalize_many():
    assert normalize_many(["Hoà", "  x\t y "]) == ["Hòa", "x y"]
    assert normalize_many(iter(())) == []
    with pytest.raises(TypeError):
        normalize_many("a single string")
    with pytest.raises(TypeError):
        normalize_many(["ok", None])


# ------------------------------------------------------------------------------ Unicode


def test_nfd_and_nfc_input_are_equal():
    text = "Sinh viên trường Đại học Bách khoa thắng giải thưởng lớn."
    assert NFD(text) != text
    assert normalize(NFD(text)) == normalize(text) == text


@pytest.mark.parametrize(
    "new, old",
    [
        ("hoà", "hòa"), ("hoá", "hóa"), ("hoả", "hỏa"), ("hoã", "hõa"), ("hoạ", "họa"),
        ("khoè", "khòe"), ("khoé", "khóe"), ("khoẻ", "khỏe"), ("khoẽ", "khõe"), ("khoẹ", "khọe"),
        ("thuỳ", "thùy"), ("thuý", "thúy"), ("thuỷ", "thủy"), ("thuỹ", "thũy"), ("thuỵ", "thụy"),
        ("HOÀ", "HÒA"), ("Hoà", "Hòa"), ("KHOẺ", "KHỎE"), ("Thuỷ", "Thủy"), ("uỷ", "ủy"),
        ("Nguỵ", "Ngụy"), ("toà", "tòa"), ("loé", "lóe"), ("tuỳ", "tùy"), ("oà", "òa"),
    ],
)
def test_tone_mark_placement(new, old):
    assert normalize(new) == old
    assert normalize(old) == old
    assert normalize(NFD(new)) == old
    sentence = f"Ông {new} nói."
    assert normalize(sentence) == normalize(f"Ông {old} nói.") == f"Ông {old} nói."


@pytest.mark.parametrize(
    "word",
    ["hoàng", "khuyến", "toán", "hoài", "quý", "quỷ", "Quỳnh", "khuya", "hoạch", "thuyết",
     "xoay", "ngoài", "Chloé"],
)
def test_tone_mark_untouched(word):
    assert normalize(word) == word


def test_old_and_new_style_article_compare_equal():
    old = "Thủy điện Hòa Bình\nSức khỏe của người dân được bảo đảm, tùy theo quy định."
    new = "Thuỷ điện Hoà Bình\nSức khoẻ của người dân được bảo đảm, tuỳ theo quy định."
    assert normalize(new) == normalize(old) == old
    assert normalize(NFD(new)) == old


def test_invisible_and_control_characters():
    text = "Hà\u200bNội\u200c \u200dvà\u2060 Huế\ufeff\x00\x07\x1b\x7f\x85x\u00ad!"
    assert normalize(text) == "HàNội và Huế\nx!"


def test_unicode_spaces_and_line_separators():
    text = "a\u00a0b\u2003c\u3000d\u202fe\tf\r\ng\rh\u2028i\x0bj"
    assert normalize(text) == "a b c d e f\ng\nh\ni\nj"


def test_latin_eth_becomes_d_with_stroke():
    assert normalize("Bộ GD-ÐT và ðại học") == "Bộ GD-ĐT và đại học"


def test_only_plain_space_and_newline_remain():
    text = "".join(chr(c) for c in range(0x3000 + 1) if chr(c).isspace()) + "x"
    out = normalize("a" + text)
    assert out == "a\n\nx"  # several line breaks: one blank line
    assert not any(ch.isspace() and ch not in " \n" for ch in out)


# ------------------------------------------------------------------------------ HTML


def test_html_is_converted():
    page = (
        "<!DOCTYPE html><html><head><title>Tin nhanh</title>"
        "<style>p { color: red }</style><script>var x = '<p>no</p>';</script></head>"
        "<body><!-- quảng cáo --><h1>Giá vàng tăng</h1><p>Giá vàng&nbsp;hôm nay tăng "
        "<b>1,5%</b> &amp; đô la giảm.</p><noscript>Bật JavaScript</noscript>"
        "<ul><li>Một</li><li>Hai</li></ul>Dòng 1<br>Dòng 2<br/>&#272;&#x1EA1;i &lt;3</body></html>"
    )
    out = normalize(page)
    assert out.split("\n") == [
        "Tin nhanh",
        "",
        "Giá vàng tăng",
        "",
        "Giá vàng hôm nay tăng 1,5% & đô la giảm.",
        "",
        "Một",
        "",
        "Hai",
        "",
        "Dòng 1",
        "Dòng 2",
        "Đại <3",
    ]
    for gone in ("color", "var x", "quảng cáo", "JavaScript", "<", "&nbsp;"):
        assert gone not in out.replace("<3", "")


@pytest.mark.parametrize(
    "text",
    ["Nếu a < b và b > c thì sao?", "R&D tăng 5%; AT&T giảm", "x<y> is not a tag", "1 <= 2"],
)
def test_plain_text_with_brackets_is_not_html(text):
    assert normalize(text) == text


# ------------------------------------------------------------------------------ whitespace


def test_whitespace_and_paragraphs():
    text = (
        "  Tiêu đề   bài  báo \t\n\nĐoạn một\tcó  tab.\nDòng tiếp theo.  "
        "\n\n\n\n\n  Đoạn hai.  \n\n"
    )
    assert normalize(text) == (
        "Tiêu đề bài báo\n\nĐoạn một có tab.\nDòng tiếp theo.\n\nĐoạn hai."
    )


# ------------------------------------------------------------------------------ boilerplate

SCRAPED = """Điều chỉnh kích thước chữ

Hà Nội mở thêm ba tuyến xe buýt điện trong năm tới

(Tin nhanh) Thành phố vừa phê duyệt kế hoạch mở thêm ba tuyến xe buýt điện nối các quận nội thành.

Audio

Theo kế hoạch, các tuyến mới sẽ đi vào hoạt động từ quý hai và dùng vé điện tử.

Xe buýt điện chạy thử nghiệm trên phố Tràng Tiền. Ảnh: Minh Anh

Xe buýt điện chạy thử nghiệm trên phố Tràng Tiền. Ảnh: Minh Anh

Sở Giao thông cho biết giá vé không thay đổi so với xe buýt thường.
Chia sẻ
  BÌNH LUẬN  
Xem thêm
"""


def test_synthetic_scraped_article():
    out = normalize(SCRAPED)
    lines = out.split("\n")
    assert lines[0] == "Hà Nội mở thêm ba tuyến xe buýt điện trong năm tới"  # title first
    caption = "Xe buýt điện chạy thử nghiệm trên phố Tràng Tiền. Ảnh: Minh Anh"
    assert lines.count(caption) == 1
    for ui in ("Điều chỉnh kích thước chữ", "Audio", "Chia sẻ", "BÌNH LUẬN", "Xem thêm"):
        assert ui not in lines
    assert lines[-1] == "Sở Giao thông cho biết giá vé không thay đổi so với xe buýt thường."
    assert "\n\n\n" not in out
    assert out.count("\n\n") == 4  # title, lead, body, caption, last paragraph


def test_boilerplate_only_whole_lines_and_short_repeats_kept():
    text = "Video clip cho thấy cảnh sát đến hiện trường.\nChia sẻ kinh nghiệm\nHà Nội\nHà Nội"
    assert normalize(text).split("\n") == [
        "Video clip cho thấy cảnh sát đến hiện trường.", "Chia sẻ kinh nghiệm", "Hà Nội", "Hà Nội",
    ]


@pytest.mark.parametrize("ui", BOILERPLATE_LINES)
def test_every_boilerplate_line_is_dropped(ui):
    text = f"Tiêu đề bài báo\n  {ui.upper()}  \nNội dung."
    assert normalize(text) == "Tiêu đề bài báo\nNội dung."
    assert normalize(NFD(ui.lower())) == ""


def test_real_scraped_example():
    path = DATA / "examples" / "clo-2020-press-policy.txt"
    if not path.exists():
        pytest.skip(f"shared data not available at {path}")
    raw = read_text(path)
    out = normalize(raw)
    lines = out.split("\n")
    raw_lines = [x.strip() for x in raw.split("\n") if x.strip()]
    assert raw_lines[0] == "Điều chỉnh kích thước chữ" and "Audio" in raw_lines
    assert lines[0] == raw_lines[1]  # the title is first once the UI string is gone
    assert "Audio" not in lines and "Điều chỉnh kích thước chữ" not in lines
    repeated = {x for x in raw_lines if len(x) >= 20 and raw_lines.count(x) > 1}
    assert repeated  # the photo caption
    for line in repeated:
        assert lines.count(line) == 1
    assert normalize(out) == out


# ------------------------------------------------------------------------------ idempotence

TRICKY = [
    "a", "Z", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u200b", "\ufeff", "\x00", "\x85",
    "\u2028", "<", ">", "&", ";", "#", "/", "!", "-", "p", "br", "div", "script", "style", "--",
    "<p>", "</p>", "<br/>", "<b>", "<!--", "-->", "<script>", "</script>", "&amp;", "&lt;",
    "&gt;", "&#8203;", "&#x0301;", "&nbsp;", "&amp;lt;", "&#13;", "&#10;", "lt", "amp", "&#",
    "hoà", "khoẻ", "thuỷ", "quỷ", "ho", "o", "u", "à", "ỷ", "ẻ", "\u0300", "\u0301", "\u0323",
    "\u0302", "\u031b", "Ð", "ð", "ơ", "Audio", "Chia sẻ", "Điều chỉnh kích thước chữ",
    "Một dòng chú thích ảnh khá dài", "\u037e", "\u0958", "\u1100", "\u1161", "\uac00", "ß",
]


@given(st.text())
def test_idempotent_any_text(text):
    once = normalize(text)
    assert normalize(once) == once


@given(st.lists(st.sampled_from(TRICKY), max_size=40).map("".join))
def test_idempotent_tricky_fragments(text):
    once = normalize(text)
    assert normalize(once) == once
    assert once == once.strip()
    assert "\n\n\n" not in once
    assert not any(ch.isspace() and ch not in " \n" for ch in once)
    assert unicodedata.is_normalized("NFC", once)


VI_FRAGMENTS = ["hoà", "hòa", "khoẻ", "thuỷ", "Nguyễn", "Đường", "quý", "ủy", "ban", " ", "\n",
                ", ", ". ", "Việt", "nghiêng", "THUỶ", "Hoàng", "toán"]


@given(st.lists(st.sampled_from(VI_FRAGMENTS), max_size=30).map("".join))
def test_nfd_input_gives_the_same_result(text):
    assert normalize(NFD(text)) == normalize(text)


# ------------------------------------------------------------------------------ read_text

VI = "Hoà bình cho Việt Nam.\nĐường phố Hà Nội hôm nay rất đông người qua lại."
VI_NFC = NFC(VI)
_CP1258_TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode like Windows-1258 editors do: precomposed base letter + combining tone mark."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = NFD(ch)
            base = NFC("".join(c for c in parts if c not in _CP1258_TONES))
            tones = "".join(c for c in parts if c in _CP1258_TONES)
            out += (base + tones).encode("cp1258")
    return bytes(out)


@pytest.mark.parametrize(
    "raw",
    [
        VI.encode("utf-8"),
        codecs.BOM_UTF8 + VI.encode("utf-8"),
        codecs.BOM_UTF16_LE + VI.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + VI.encode("utf-16-be"),
        VI.encode("utf-16-le"),  # no BOM, like the raw VNTC files
        VI.encode("utf-16-be"),
        codecs.BOM_UTF32_LE + VI.encode("utf-32-le"),
        codecs.BOM_UTF32_BE + VI.encode("utf-32-be"),
        VI.encode("utf-32-le"),
        NFD(VI).encode("utf-8"),
    ],
    ids=["utf8", "utf8-sig", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "utf32le-bom",
         "utf32be-bom", "utf32le", "utf8-nfd"],
)
def test_read_text_encodings(raw):
    assert read_text(raw) == VI_NFC


@pytest.mark.parametrize("text", [VI, "Giá vàng tăng mạnh", "Đà Nẵng"])
def test_read_text_cp1258(text):
    raw = to_cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert read_text(raw) == NFC(text)
    assert unicodedata.is_normalized("NFC", read_text(raw))


def test_read_text_path_and_explicit_encoding(tmp_path):
    path = tmp_path / "bai_bao.txt"
    path.write_bytes(VI.encode("utf-16-le"))
    assert read_text(path) == VI_NFC
    assert read_text(str(path)) == VI_NFC
    assert read_text(path, encoding="utf-16-le") == VI_NFC
    assert read_text(bytearray(VI.encode("utf-8"))) == VI_NFC
    assert read_text(b"") == ""


def test_read_text_undecodable(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café, résumé, naïveté: £5".encode("latin-1"))
    with pytest.raises(DecodeError) as info:
        read_text(path)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, UnicodeDecodeError)
    assert str(path) in str(err) and "encoding=" in str(err)
    assert read_text(path, encoding="latin-1").startswith("Café")
    copy = pickle.loads(pickle.dumps(err))
    assert str(copy) == str(err)


@pytest.mark.parametrize(
    "raw",
    [
        (
            "O governo federal anunciou nesta segunda-feira um novo pacote de medidas para "
            "estimular a economia. Segundo o ministro, as ações não devem afetar o orçamento "
            "deste ano, mas a oposição criticou a proposta durante a sessão no Congresso."
        ).encode("latin-1"),
        "Fête à Paris, hôtel près du château".encode("cp1252"),
        bytes(range(0x80, 0x100)),
    ],
    ids=["portuguese-latin1", "french-cp1252", "high-bytes"],
)
def test_read_text_rejects_non_vietnamese_legacy_bytes(raw):
    with pytest.raises(DecodeError, match="<bytes>.*encoding="):
        read_text(raw)


def test_read_text_wrong_explicit_encoding():
    with pytest.raises(DecodeError, match="encoding="):
        read_text("Việt".encode("utf-8"), encoding="ascii")


def test_read_text_type_error():
    with pytest.raises(TypeError):
        read_text(123)  # type: ignore[arg-type]
