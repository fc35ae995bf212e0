"""Text cleaning for news articles: decoding, HTML stripping, Unicode and whitespace normalisation.

The one entry point for cleaning is :func:`normalize`; :func:`read_text` turns the bytes of a
file into a ``str`` first.

>>> normalize("  Hoà   bình\\u200b và  <b>khoẻ</b> mạnh  ")
'Hòa bình và khỏe mạnh'
>>> normalize("Title\\n\\n\\n\\nAudio\\nBody text.")
'Title\\n\\nBody text.'
"""

from __future__ import annotations

import codecs
import html
import os
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "BOILERPLATE_LINES",
    "DecodeError",
    "normalize",
    "normalize_many",
    "normalize_prefix",
    "read_text",
]

# Lines that scraped news pages carry as UI chrome. A line is dropped when it equals one of
# these, compared case-insensitively after normalisation (so "hoà"/"hòa" spellings both match).
BOILERPLATE_LINES: tuple[str, ...] = (
    # Vietnamese news sites
    "Điều chỉnh kích thước chữ",
    "Cỡ chữ",
    "Audio",
    "Video",
    "Nghe bài viết",
    "In bài viết",
    "In bài",
    "Chia sẻ",
    "Chia sẻ bài viết",
    "Bình luận",
    "Gửi bình luận",
    "Lưu bài viết",
    "Lưu",
    "Theo dõi",
    "Xem thêm",
    "Đọc thêm",
    "Xem tiếp",
    "Tin liên quan",
    "Bài liên quan",
    "Tin cùng chuyên mục",
    "Quảng cáo",
    "Sao chép liên kết",
    "Copy link",
    "Về trang chủ",
    "Trở lại",
    "Ảnh minh họa",
    # English news sites
    "Print",
    "Share",
    "Share this article",
    "Share on Facebook",
    "Share on Twitter",
    "Tweet",
    "Email",
    "Comments",
    "Advertisement",
    "Skip advertisement",
    "Read more",
    "Related",
    "Related articles",
    "Follow",
    "Listen",
    "Listen to this article",
)

# --------------------------------------------------------------------------------------------
# Character-level clean-up: one translate table, applied only when a cheap regex says it is needed.

_TABLE: dict[int, str | None] = {}
for _c in range(0x20):  # C0 controls: dropped, except the line/space-like ones below
    _TABLE[_c] = None
for _c in range(0x7F, 0xA0):  # DEL and C1 controls
    _TABLE[_c] = None
del _TABLE[0x0A]  # "\n" is kept
for _c in (0x00, 0x09, 0x1F, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
    _TABLE[_c] = " "  # tab, NUL (a field or word separator where it appears) and every Unicode space
for _c in (0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029):
    _TABLE[_c] = "\n"  # vertical tab, form feed, CR, separators: line breaks
for _c in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
    _TABLE[_c] = None  # zero-width characters and the soft hyphen are invisible noise
# "Ð"/"ð" (Latin eth) is a frequent legacy-encoding stand-in for "Đ"/"đ" in Vietnamese text
# (VNTC has hundreds of "GD-ÐT"); Icelandic/Faroese text would be altered, out of scope here.
_TABLE[0xD0] = "\u0110"
_TABLE[0xF0] = "\u0111"
del _c
_JUNK_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TABLE)) + "]")

# --------------------------------------------------------------------------------------------
# HTML, only when the text looks like it. Detection never spans a line break, so that dropping
# lines later can never make a non-HTML text look like HTML (which would break idempotence).

_TAG_NAMES = (
    "html|head|body|title|meta|link|script|style|noscript|p|br|hr|div|span|a|b|i|u|em|strong|"
    "small|sub|sup|ul|ol|li|dl|dt|dd|h[1-6]|table|thead|tbody|tfoot|tr|td|th|img|figure|"
    "figcaption|blockquote|pre|code|section|article|header|footer|nav|aside|main|iframe|form|"
    "input|button|label|select|option|textarea|font|center|video|audio|source|picture|svg|time|"
    "mark|cite|abbr|q|s|del|ins"
)
_LOOKS_HTML_RE = re.compile(
    rf"<(?:/?(?:{_TAG_NAMES})\b[^<>\n]*>|!--|!doctype)"
    r"|&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});",
    re.IGNORECASE,
)
# Tag patterns stop at the next "<" so that a text full of unclosed "<a" stays linear-time.
_SCRIPT_OPEN_RE = re.compile(r"<(script|style|noscript)\b[^<>]*>", re.IGNORECASE)
_CLOSE_RES = {n: re.compile(f"</{n}", re.IGNORECASE) for n in ("script", "style", "noscript")}
_BLOCK_RE = re.compile(
    r"</?(?:p|br|div|li|h[1-6]|tr|ul|ol|dl|dt|dd|table|thead|tbody|tfoot|section|article|header|"
    r"footer|blockquote|pre|hr|title|figure|figcaption|nav|aside|main|form)\b[^<>]*>",
    re.IGNORECASE,
)
_CELL_RE = re.compile(r"</?t[dh]\b[^<>]*>", re.IGNORECASE)
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9:-]*\b[^<>]*>|<[!?][^<>]*>")


def _drop_hidden(s: str) -> str:
    """Drop comments and script/style/noscript elements (str.find loops: linear time)."""
    parts: list[str] = []
    pos = 0
    while (start := s.find("<!--", pos)) >= 0:
        end = s.find("-->", start + 4)
        if end < 0:
            break  # unterminated: left for the tag pass
        parts.append(s[pos:start])
        pos = end + 3
    s = "".join(parts) + s[pos:] if parts else s
    if not _SCRIPT_OPEN_RE.search(s):
        return s
    parts, pos = [], 0
    for m in _SCRIPT_OPEN_RE.finditer(s):
        if m.start() < pos:
            continue  # inside an element already dropped
        close = _CLOSE_RES[m.group(1).lower()].search(s, m.end())
        if close is None:
            break  # unclosed: only its tag goes, in the tag pass
        gt = s.find(">", close.end())
        parts.append(s[pos : m.start()])
        pos = len(s) if gt < 0 else gt + 1
    return "".join(parts) + s[pos:]


def _html_to_text(s: str) -> str:
    s = _drop_hidden(s)
    s = _BLOCK_RE.sub("\n", s)
    s = _CELL_RE.sub(" ", s)
    s = _TAG_RE.sub("", s)
    return html.unescape(s)


def _clean_chars(s: str) -> str:
    if "\r" in s:
        s = s.replace("\r\n", "\n")
    if _JUNK_RE.search(s):
        s = s.translate(_TABLE)
    if not unicodedata.is_normalized("NFC", s):
        s = unicodedata.normalize("NFC", s)
    return s


# --------------------------------------------------------------------------------------------
# Tone-mark placement. New style puts the mark on the second vowel of oa/oe/uy ("hoà", "thuỷ");
# the traditional style, used by most Vietnamese news and by underthesea's models, puts it on
# the first ("hòa", "thủy"). Only open syllables (no final consonant) differ, so the regex
# requires that the pair ends the word; the initial consonant is checked in the callback.

_TONES = ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # huyền, sắc, hỏi, ngã, nặng
_TONE_MAP: dict[str, str] = {}
for _first, _second in (("o", "a"), ("o", "e"), ("u", "y")):
    for _f in (_first, _first.upper()):
        for _s in (_second, _second.upper()):
            for _t in _TONES:
                _new = _f + unicodedata.normalize("NFC", _s + _t)
                _TONE_MAP[_new] = unicodedata.normalize("NFC", _f + _t) + _s
del _first, _second, _f, _s, _t, _new

_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_TONED_A_E = "".join(sorted({k[1] for k in _TONE_MAP if k[0] in "oO"}))
_TONED_Y = "".join(sorted({k[1] for k in _TONE_MAP if k[0] in "uU"}))
# Matches the toned second vowel: starting with a character class lets the regex engine skip
# quickly through the text (10x faster than starting at every "o"/"u"); the lookbehind checks
# the first vowel, the lookahead that the syllable ends here (no final consonant, no mark).
_TONE_RE = re.compile(
    f"[{_TONED_A_E}{_TONED_Y}](?<=[oO][{_TONED_A_E}]|[uU][{_TONED_Y}])"
    f"(?![^\\W_]|[{_MARKS}])"
)
# Vietnamese initial consonants that may precede oa/oe/uy; "q" is excluded because in
# "quý"/"quỷ" the "u" belongs to the initial and the mark correctly sits on "y".
_INITIALS = frozenset(
    "|b|c|ch|d|đ|g|gh|gi|h|k|kh|l|m|n|ng|ngh|nh|p|ph|r|s|t|th|tr|v|x".split("|")
)


def _fix_tones(s: str) -> str:
    parts: list[str] = []
    last = 0
    for m in _TONE_RE.finditer(s):
        j = m.start() - 1  # the first vowel of the pair
        i = j
        while i > 0 and j - i <= 3 and s[i - 1].isalpha():
            i -= 1
        if s[i:j].lower() not in _INITIALS or (i > 0 and s[i - 1].isalpha()):
            continue  # not a Vietnamese syllable start ("quỷ", "Chloé")
        parts.append(s[last:j])
        parts.append(_TONE_MAP[s[j : j + 2]])
        last = j + 2
    if not parts:
        return s
    parts.append(s[last:])
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Line-level clean-up.

_MULTISPACE_RE = re.compile(" {2,}")
_MIN_DUP_LEN = 20  # repeated lines at least this long are scraping duplicates (photo captions)


def _line_key(line: str) -> str:
    return _MULTISPACE_RE.sub(" ", _fix_tones(_clean_chars(line)).strip()).casefold()


_BOILERPLATE = frozenset(_line_key(x) for x in BOILERPLATE_LINES)
_BOILERPLATE_MAX = max(map(len, _BOILERPLATE))


def _clean_lines(s: str) -> str:
    out: list[str] = []
    seen: set[str] = set()
    blank = False
    for line in s.split("\n"):
        if "  " in line:
            line = _MULTISPACE_RE.sub(" ", line)
        line = line.strip(" ")
        if not line:
            blank = True
            continue
        n = len(line)
        if n <= _BOILERPLATE_MAX and line.casefold() in _BOILERPLATE:
            continue
        if n >= _MIN_DUP_LEN:
            if line in seen:
                continue
            seen.add(line)
        if blank and out:
            out.append("")
        blank = False
        out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# The optional C fast path (setup.py): the common case of normalize, with the same result; it
# returns None for texts that need the Python path below. It gets its rules from here.

# Code points >= U+0300 that NFC leaves unchanged next to any neighbour, as it does every code
# point below U+0300: canonical combining class 0, never decomposed, never the second half of
# a composition (tests check this with unicodedata). Precomposed Vietnamese letters, dashes,
# quotes, the ellipsis...: a text made of these needs no NFC pass. Others go to Python.
_NFC_SAFE_RANGES = ((0x1E00, 0x1EFF), (0x2010, 0x2027), (0x2030, 0x205E))

try:
    from . import _textfast
except ImportError:  # no compiler at install time
    _textfast = None
else:
    _textfast.configure(_TABLE, _NFC_SAFE_RANGES, _TONE_MAP, _INITIALS, _LOOKS_HTML_RE.search,
                        _BOILERPLATE, _BOILERPLATE_MAX, _MIN_DUP_LEN)
_normalize_fast = (
    _textfast.normalize_fast
    if _textfast is not None and os.environ.get("TOPICCLF_NO_EXT") != "1"
    else None
)


def normalize(text: str) -> str:
    """Clean one article: HTML, Unicode, Vietnamese tone marks, whitespace, scraped boilerplate.

    Steps, in order:

    1. ``"\\r\\n"`` and other line separators become ``"\\n"``; control characters (except
       ``"\\n"``), zero-width characters and soft hyphens are removed; tabs, NUL (which
       separates words or fields where it appears) and Unicode spaces become ``" "``; Latin eth ``Ð``/``ð`` becomes ``Đ``/``đ``; the text is put in NFC.
    2. If the text looks like HTML (a known tag, a comment or an entity), ``<script>``,
       ``<style>``, ``<noscript>`` and comments are dropped, block tags become line breaks,
       other tags are removed and entities decoded; repeated until nothing changes, so that
       ``"&amp;lt;"`` ends as ``"<"`` and normalising again is a no-op.
    3. Tone marks follow the traditional placement: ``hoà → hòa``, ``khoẻ → khỏe``,
       ``thuỷ → thủy`` (only when the syllable has no final consonant).
    4. Runs of spaces collapse to one, lines are stripped, runs of blank lines collapse to a
       single blank line (paragraph breaks are kept; the first line stays the title), and
       leading/trailing blank lines go.
    5. Lines equal to a :data:`BOILERPLATE_LINES` entry (case-insensitive) are dropped, and so
       is every exact repeat of an earlier line of 20+ characters.

    The result only contains ``" "`` and ``"\\n"`` as whitespace, and
    ``normalize(normalize(x)) == normalize(x)`` for every string.

    >>> normalize("Quy\\u0301 kho\\u0309e? Thuỷ điện\\tHoà Bình") == "Quý khỏe? Thủy điện Hòa Bình"
    True
    >>> normalize("<p>AT&amp;T</p><script>x()</script><p>Hi&nbsp;there<br>you</p>")
    'AT&T\\n\\nHi there\\nyou'
    >>> normalize(b"bytes")
    Traceback (most recent call last):
    ...
    TypeError: normalize() expects str, got bytes; decode bytes first, e.g. with topicclf.read_text
    """
    if not isinstance(text, str):
        hint = (
            "; decode bytes first, e.g. with topicclf.read_text"
            if isinstance(text, (bytes, bytearray, memoryview))
            else ""
        )
        raise TypeError(f"normalize() expects str, got {type(text).__name__}{hint}")
    if _normalize_fast is not None:
        out = _normalize_fast(text)
        if out is not None:
            return out
    return _normalize_py(text)


def _normalize_py(text: str) -> str:
    """:func:`normalize` in pure Python: the reference that the C fast path must match."""
    s = _clean_chars(text)
    # Entity decoding can reveal new markup ("&lt;p&gt;") or junk ("&#8203;"): iterate to a
    # fixed point. Each round that changes the text makes it strictly shorter, so this ends;
    # the cap is only a guard.
    for _ in range(64):
        if ("<" not in s and "&" not in s) or not _LOOKS_HTML_RE.search(s):
            break
        t = _clean_chars(_html_to_text(s))
        if t == s:
            break
        s = t
    s = _fix_tones(s)
    return _clean_lines(s)


# normalize_prefix reads at most this many times max_chars raw characters: a page's <head>
# (scripts, styles, JSON data) can fill the first 100,000 characters and more.
_RAW_FACTOR = 20


def normalize_prefix(text: str, max_chars: int) -> tuple[str, bool]:
    """``(clean start of text, cut)``: :func:`normalize` of a long text, cut to ``max_chars``
    characters after cleaning, not before, so that HTML, scripts and boilerplate do not use
    up the length (a page whose ``<head>`` fills the first ``max_chars`` characters keeps its
    article). At most ``20 * max_chars`` raw characters are read. ``cut`` says whether
    anything was left out.

    >>> normalize_prefix("<script>" + "x" * 50 + "</script><p>Hoà bình</p>", 20)
    ('Hòa bình', False)
    >>> normalize_prefix("Một hai ba bốn năm", 8)
    ('Một hai', True)
    """
    if len(text) <= max_chars:
        return normalize(text), False
    raw = text[: max_chars * _RAW_FACTOR]
    cut = len(raw) < len(text)
    clean = normalize(raw)
    if len(clean) > max_chars:
        clean = clean[:max_chars].rstrip()
        cut = True
    return clean, cut


def normalize_many(texts: Iterable[str]) -> list[str]:
    """:func:`normalize` every text of an iterable (not a bare string).

    >>> normalize_many(["Hoà", " a  b "])
    ['Hòa', 'a b']
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("normalize_many() expects an iterable of str, not a single str/bytes")
    return [normalize(t) for t in texts]


# --------------------------------------------------------------------------------------------
# Decoding.


class DecodeError(UnicodeDecodeError):
    """Bytes that :func:`read_text` could not decode; a ``UnicodeDecodeError`` and ``ValueError``.

    Takes the usual ``(encoding, object, start, end, reason)`` arguments; ``str()`` is the
    reason, which names the file and says to pass ``encoding=``.
    """

    def __str__(self) -> str:
        return self.reason


# What Windows-1258 decoding yields only for Vietnamese: ă đ ơ ư and combining tone marks.
# Latin-1 Portuguese also decodes to some ("ã" -> "ă"), but far more rarely than Vietnamese,
# where most syllables have one: hence a minimum share of the letters.
_CP1258_VI_RE = re.compile("[ăđơưĂĐƠƯ\u0300\u0301\u0303\u0309\u0323]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_CP1258_MIN_SHARE = 0.05  # Vietnamese: 16-40% in articles, 6%+ in short titles; pt: ~2%

_BOMS = (  # longest first: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _sniff_wide(data: bytes) -> str | None:
    """Guess UTF-32/UTF-16 without BOM from where the NUL bytes are."""
    sample = data[:4096]
    n4 = len(sample) // 4 * 4
    if n4 and len(data) % 4 == 0:
        q = n4 // 4
        if sample[3:n4:4].count(0) == q and sample[2:n4:4].count(0) > 0.9 * q:
            return "utf-32-le"
        if sample[0:n4:4].count(0) == q and sample[1:n4:4].count(0) > 0.9 * q:
            return "utf-32-be"
    n2 = len(sample) // 2 * 2
    if n2 and len(data) % 2 == 0:
        pairs = n2 // 2
        even, odd = sample[0:n2:2].count(0), sample[1:n2:2].count(0)
        if odd > 0.25 * pairs and even < 0.05 * pairs:
            return "utf-16-le"
        if even > 0.25 * pairs and odd < 0.05 * pairs:
            return "utf-16-be"
    return None


def _finish(s: str) -> str:
    if s.startswith("\ufeff"):
        s = s[1:]
    return s if unicodedata.is_normalized("NFC", s) else unicodedata.normalize("NFC", s)


def read_text(path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview,
              encoding: str | None = None) -> str:
    """Decode a file (path) or raw bytes to an NFC ``str``, guessing the encoding robustly.

    Without ``encoding``: a BOM (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) wins; else UTF-32/UTF-16
    are recognised by their NUL-byte pattern (the raw VNTC files are BOM-less UTF-16); else
    strict UTF-8; else Windows-1258 (Vietnamese), accepted only if the result contains
    Vietnamese letters (ă đ ơ ư or tone marks, as 5%+ of the letters), then put in NFC (its
    tone marks are combining characters). Otherwise :class:`DecodeError` is raised. The text
    is not otherwise cleaned: call :func:`normalize` for that.

    >>> read_text("Hoà bình".encode("utf-16-le"))
    'Hoà bình'
    >>> read_text(b"Vi\\xea\\xf2t Nam")  # Windows-1258: "ê" + combining dot below
    'Việt Nam'
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data, name = bytes(path_or_bytes), "<bytes>"
    elif isinstance(path_or_bytes, (str, os.PathLike)):
        name = os.fspath(path_or_bytes)
        with open(name, "rb") as fh:
            data = fh.read()
    else:
        raise TypeError(
            f"read_text() expects a path or bytes, got {type(path_or_bytes).__name__}"
        )

    if encoding is not None:
        try:
            return _finish(data.decode(encoding))
        except UnicodeDecodeError as e:
            raise DecodeError(
                e.encoding, data, e.start, e.end,
                f"could not decode {name} as {encoding}: {e.reason} at byte {e.start}; "
                f"pass the right encoding= to read_text",
            ) from None

    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _finish(data.decode(codec))
            except UnicodeDecodeError:
                break  # a BOM-like prefix by accident: fall through to the other guesses
    wide = _sniff_wide(data)
    if wide is not None:
        try:
            return _finish(data.decode(wide))
        except UnicodeDecodeError:
            pass
    try:
        return _finish(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        utf8_error = e
    try:
        s = data.decode("cp1258")
    except UnicodeDecodeError:
        s = ""
    n_vi = len(_CP1258_VI_RE.findall(s))
    if n_vi and n_vi >= _CP1258_MIN_SHARE * len(_LETTER_RE.findall(s)):
        return _finish(s)
    raise DecodeError(
        "utf-8", data, utf8_error.start, utf8_error.end,
        f"could not decode {name}: not UTF-8/UTF-16/UTF-32 and not Vietnamese Windows-1258 "
        f"(invalid UTF-8 at byte {utf8_error.start}); pass encoding= to read_text",
    )
