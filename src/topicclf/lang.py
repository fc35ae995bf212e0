"""Fast offline language identification for news text, tuned for Vietnamese and English.

>>> detect_language("Chủ quyền biển đảo của Việt Nam là không thể tranh cãi").lang
'vi'
>>> detect_language("Prime Minister Nguyễn Xuân Phúc met Secretary Blinken in Hà Nội").lang
'en'
>>> detect_language("Chu quyen bien dao cua Viet Nam la khong the tranh cai").lang
'vi'
>>> detect_language("  123 !!! ")
Language(lang='und', confidence=0.0)
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from itertools import filterfalse
from typing import NamedTuple

try:  # the optional C extension (setup.py): same counts as _latin_scores_py, faster
    from . import _langscan
except ImportError:  # no compiler at install time
    _langscan = None

__all__ = ["Language", "detect_language", "detect_languages"]

HEAD_CHARS = 1500  # only the start of a text is read: enough evidence, bounded cost


class Language(NamedTuple):
    """An ISO 639-1 code (``"und"`` when unknown) and a confidence in ``[0, 1]``."""

    lang: str
    confidence: float


# --------------------------------------------------------------------------------------------
# Non-Latin scripts: the script decides the language. Order matters for ties only.

_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ko", "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"),
    ("ja", "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"),  # kana; kanji are counted as Han
    ("zh", "\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff"),
    ("th", "\u0e00-\u0e7f"),
    ("ru", "\u0400-\u04ff"),
    ("ar", "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc"),
    ("hi", "\u0900-\u097f"),
    ("el", "\u0370-\u03ff\u1f00-\u1fff"),
    ("he", "\u0590-\u05ff"),
)


_SCRIPT_RES = tuple((code, re.compile(f"[{ranges}]")) for code, ranges in _SCRIPTS)
_NON_LATIN_RE = re.compile("[" + "".join(r for _, r in _SCRIPTS) + "]")
# Latin letters: Latin-1 to Latin Extended-B and Latin Extended Additional, less × and ÷
_LATIN_LETTER_RE = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_ANY_LETTER_RE = re.compile(r"[^\W\d_]")

# --------------------------------------------------------------------------------------------
# Latin-script languages: counts of frequent words.

# Letters of Vietnamese that Western European languages do not use (ă đ ơ ư ĩ ũ and the
# vowels with a tone mark below/hook/tilde in U+1EA0..U+1EF9); â, ê, ô, à, é... are shared
# with French/Portuguese and are not here.
_VI_DISTINCT_RE = re.compile("[ăđơưĩũĂĐƠƯĨŨ\u1ea0-\u1ef9]")
_VI_DISTINCT = "ăđơưĩũĂĐƠƯĨŨ" + "".join(map(chr, range(0x1EA0, 0x1EFA)))  # the same, listed

# Punctuation glued to words ("nay," "year.") is split off before counting words; only the
# most frequent marks, each str.replace is a fast C loop.
_GLUE = (",", ".", "\"", "“", "”", "(", ")", ":", ";", "?", "!")

# Frequent Vietnamese words without a distinctive letter, then frequent syllables as written
# without diacritics ("cua" for "của"), both from news text. English homographs (the, to, an,
# can, do, so, may, long, ban, he, no...) and French/Spanish function words (le, que, con)
# are left out. Lexicons other than English are matched in lower case only, so that names
# such as "Nguyen Van Thanh", "Las Vegas" or "Dan" are not evidence.
_VI_WORDS = frozenset("""
có và không các tôi làm công này thì vào nhà mình mà ngày còn trên ông thành yêu nên tình dân
nhân vì nói cô viên trình lý chính hàng nào khách thông tâm lên khác giá hành cách gì chúng
phát cùng quá ý phòng cái hình xã tháng xây báo ngoài nhiên án lúc toàn máy tính tác tìm gái bà
bán thêm ngành tiêu khó hoàn bên giáo thân cá lòng pháp bình phí hãy liên tài sáng luôn hóa
thích nó ký trí câu ít dùng sách dài chuyên bàn giúp tích cây dù trách nguyên phúc càng chí
tiên sát món vùng dành bài riêng xét nhìn sông giám gây vài rõ khá bé tàu màu phía chân hôn thí
phép xác trái môn phân cán vô thôi quán tên lâu kéo vàng góp cáo nuôi lãnh môi xúc bánh khí hôm
cháu phê toán lá áp mùa sâu gà áo phút bây nông chú chút chàng hút thú giác trò nóng quê phá
thuê cà bè vé nâng nghèo nghiêm quân niên thái làng tránh núi quên dòng xuyên bày nghiên phóng
sân cháy khóa hòa nhóm thoát quý phù thiên kém tôn co va cua la khong cho nhung nguoi mot duoc
da trong cac voi chi toi thi tu cung dong anh nay lam dung ve gia cong tinh quan moi hoc nhu
dau nhan tai noi se phai du qua su khi van dinh doi ra vi lai nam truong nuoc bo nhieu vao ngay
dang thu minh di biet bao nha hoi hon viec thuc thanh yeu sinh bi chung tren ong chuyen hien
tien nen vien tam thuong thoi ay duong dat thong rat thay cau nghi dai ly hai chu hanh ky chinh
cu nhat chua vo hay dien sau trinh chong tuong dieu theo nao cao phan xe khac ta loi luc hoa
khach xa tham gian chuc phong nang bang tro giao dao lan gio phu len thang diem dua ba rang
kien xay cach cai trang phat ke gi ngoai danh truoc kho tri roi vu tang nhau giai mua hieu canh
nghiep nghe khu vay tao luong tra nho doc tin bien phuc trung tiep muon ty pho lo quyet toan
cuoc phuong kinh lon neu tuyen trai huong mo tuoi hinh tuc tac vua tich gan gioi ket dia loai
tot tre nua quy tieu pham tay muc mang nhien hoac deu kiem chan lich cuoi mon thuoc doan het
gai che nhiem khoang hoan thiet mau nganh sach giam lien dich lang chang trien chuong xuat sao
binh phi quoc vuc tung khoi tat nu duc han tieng kha thieu chay ngan nguyen chon phap cay luon
cang xu bai doanh quyen vai trieu lanh manh goi vung boi hoat khoa choi dep thich cham benh dac
khai ngu tranh huyen giay nong truc nghiem xem vong bong xuong lua ro suc lop bac ngoi toc
chieu giup giua duoi bieu ung trach nan cuu chiu tho chiec quen lau lieu chia mong khan vang
giu chuan chau tong xin nhin rieng nhap xet niem vui hoach rong khau lao dap thao cuc tau tran
thuat tram thai mien ga chien phia buoc ha buon keo cha nhanh ngo chap truyen tru uong khien
phep xac von nghia ao thien buoi gom thap coi troi ap gui hau pha kieu ti ngon luat giong tiet
nhac thue nguon luu kem chet luan nuoi linh thoai nham gop suy sua hiem sac tron chac phe banh
cuong xuc khuyen tuan vuot giac thit hom huy toa thac nghien kia sai qui tuy khang trao lac
quay thuan thua phut quanh uy nau xanh nhe thuy chut mieng xung ghe khoan viet bot tha xong buc
mui som ngam muoi phoi ngheo soi suot nien nhom ghi goc xuyen nui gang khoe giang
""".split())
# Words with a distinctive letter are already counted by _VI_DISTINCT_RE: not twice.
_VI_WORDS = frozenset(w for w in _VI_WORDS if not _VI_DISTINCT_RE.search(w))

_LEXICONS: dict[str, frozenset[str]] = {
    "vi": _VI_WORDS,
    "en": frozenset("""
the of and to in is for that with on as was by at from are it has have be this which said
will not an but were their its they who been had would after about more his her also he she
we you our or can than up out new one two three first last year years people government
minister president told says say over into could other time world just like only there when
what all if no some them most made before while against between under such because where
those these any should may many much very how back now well even still since during both
each through being did does down off own same then too until why your my me him us i
week month months company market police country state report news officials official support
public national international security economic economy trade plans plan take make get go
going use used including according percent per cent million billion
""".split()),
    "fr": frozenset("""
le les des du une est et au aux qui pour dans sur pas avec cette sont été il elle nous vous
ils leur leurs mais très aussi être avoir comme après sans chez selon ont je ses lui même
peut tous fait deux ans dont était ces entre où notre quand
""".split()),
    "es": frozenset("""
el los las del y es una con para su sus al como más pero está están fue ser han hay muy
también sobre cuando desde hasta este esta donde porque sin entre ya lo le era año años
""".split()),
    "pt": frozenset("""
não uma com dos das em na nos pelo pela ao às são foi mais também muito seu sua tem ele ela
isso já ainda você pelos pelas num numa está foram ser anos
""".split()),
    "de": frozenset("""
der die und den von zu das mit sich des auf für ist im dem nicht ein eine als auch werden aus
er dass sie nach wird bei einer noch wie einem über einen zum haben nur oder aber vor zur bis
mehr durch sein wurde sei ich wir
""".split()),
    "id": frozenset("""
yang dan ini itu dengan untuk tidak dari dalam akan pada juga karena oleh mereka telah sudah
bisa atau saya kita adalah tersebut lebih seperti tahun orang bahwa kata hanya masih ada
""".split()),
}
# English headlines are Title Case: its lexicon also matches "The" and "THE".
_LEXICONS["en"] = frozenset(
    v for w in _LEXICONS["en"] for v in (w, w.capitalize(), w.upper())
)
# word -> "vi" or "es pt" (the languages it is evidence for), as strings so that counting
# them hashes cached str hashes.
_WORD_KEY: dict[str, str] = {}
for _code, _lex in _LEXICONS.items():
    for _w in _lex:
        _WORD_KEY[_w] = f"{_WORD_KEY[_w]} {_code}" if _w in _WORD_KEY else _code
_KEY_CODES = {key: tuple(key.split()) for key in set(_WORD_KEY.values())}
_ALL_WORDS = frozenset(_WORD_KEY)
del _code, _lex, _w
_MINOR_MIN = 2  # a language other than vi/en needs this much evidence (one "El" is not Spanish)
# Expected evidence per running word (measured on news: VNTC, BBC), to turn evidence counts
# into comparable word-count estimates for mixed texts.
_RATE = {"vi": 0.8, "en": 0.45, "fr": 0.40, "es": 0.40, "pt": 0.35, "de": 0.45, "id": 0.35}
_FIRST_STEP = 500  # characters read first; the rest of the head only when undecided
_DECISIVE_SHARE, _DECISIVE_EVIDENCE = 0.9, 15
_TITLE_WEIGHT = 0.2  # a Capitalised Vietnamese word is often a name inside another language


def _evidence_factor(n: float) -> float:
    """Confidence discount for little evidence: 1 evidence word → 0.29, 3 → 0.65, 10 → 0.97."""
    return 1.0 - 0.5 ** (n / 2.0)


def _detect_script(head: str) -> Language | None:
    counts = {code: len(rx.findall(head)) for code, rx in _SCRIPT_RES}
    # A kana-bearing text is Japanese even though kanji make up much of it.
    if counts["ja"] and counts["ja"] >= 0.1 * (counts["ja"] + counts["zh"]):
        counts["ja"] += counts.pop("zh")
    code, n = max(counts.items(), key=lambda kv: kv[1])
    # CJK characters carry about a word each, so they count double against Latin letters.
    weight = 2 if code in ("zh", "ja", "ko") else 1
    n_latin = len(_LATIN_LETTER_RE.findall(head))
    if n * weight <= n_latin:
        return None  # a few foreign characters in a Latin text
    return Language(code, round(n * weight / (n * weight + n_latin), 3))


def _vi_letters(s: str) -> int:
    return len(_VI_DISTINCT_RE.findall(s))


def _latin_scores_py(head: str) -> dict[str, float]:
    """Evidence count per Latin-script language (see :func:`detect_language`).

    The reference implementation; :func:`_latin_scores_c` gives the same dict, faster.
    """
    for mark in _GLUE:
        if mark in head:
            head = head.replace(mark, " ")
    tokens = head.split()
    # filter/map/Counter all iterate in C: no Python-level loop over the words.
    keyed = Counter(map(_WORD_KEY.__getitem__, filter(_ALL_WORDS.__contains__, tokens)))
    scores: dict[str, float] = dict.fromkeys(_LEXICONS, 0)
    for key, n in keyed.items():
        for code in _KEY_CODES[key]:
            scores[code] += n
    # Vietnamese letters in Capitalised/UPPER words (names, mostly) weigh less.
    n_vi = _vi_letters(head)
    if n_vi:
        n_cap = _vi_letters(" ".join(filterfalse(str.islower, tokens)))
        scores["vi"] += n_vi - n_cap + _TITLE_WEIGHT * n_cap
    return scores


# The C scanner (topicclf._langscan) counts, in one pass over the text, the words of each
# language (a word's languages as a bit mask, bit i for _LANGS[i]) and the Vietnamese-only
# letters, all of them and those in tokens that are not str.islower(); it also tells whether a
# text has a character of _NON_LATIN_RE, and whether it is surely NFC. Same results as the
# Python code, which TOPICCLF_NO_EXT=1 keeps.
_LANGS = tuple(_LEXICONS)
# Characters that are NFC wherever they stand: ASCII, and the starters (combining class 0) of
# the Latin, punctuation and currency blocks that are NFC on their own (not U+2000, U+2001);
# none of them composes with the character before it (NFC_Quick_Check=Maybe: checked by
# tests/test_lang_fast.py). Text made of them needs no unicodedata.is_normalized.
_NFC_SAFE = "".join(
    c for r in (range(0x250), range(0x1E00, 0x1F00), range(0x2000, 0x2070), range(0x20A0, 0x20C1))
    for c in map(chr, r) if not unicodedata.combining(c) and unicodedata.is_normalized("NFC", c))


def _new_scanner() -> _langscan.Scanner:
    return _langscan.Scanner(
        {w: sum(1 << _LANGS.index(c) for c in _KEY_CODES[key]) for w, key in _WORD_KEY.items()},
        _LANGS, "".join(_GLUE), _VI_DISTINCT,
        "".join(r[k] + r[k + 2] for _, r in _SCRIPTS for k in range(0, len(r), 3)),  # "a-b..."
        _NFC_SAFE)


def _latin_scores_c(head: str) -> dict[str, float]:
    """:func:`_latin_scores_py` through the C scanner (the same dict)."""
    scores, n_vi, n_cap = _SCANNER.scan(head)
    if n_vi:
        scores["vi"] += n_vi - n_cap + _TITLE_WEIGHT * n_cap
    return scores


def _has_non_latin_py(text: str) -> bool:
    return _NON_LATIN_RE.search(text) is not None


def _use_scanner(scanner: _langscan.Scanner | None) -> None:
    """Count with ``scanner`` from now on, or with the Python code if None."""
    global _SCANNER, _latin_scores, _has_non_latin, _surely_nfc
    _SCANNER = scanner
    if scanner is None:  # str.isascii: ASCII text is NFC
        _latin_scores, _has_non_latin, _surely_nfc = (
            _latin_scores_py, _has_non_latin_py, str.isascii)
    else:
        _latin_scores, _has_non_latin, _surely_nfc = (
            _latin_scores_c, scanner.has_mark, scanner.surely_nfc)


_use_scanner(_new_scanner() if _langscan and os.environ.get("TOPICCLF_NO_EXT") != "1" else None)


def _decide(head: str, final: bool) -> Language | None:
    scores = _latin_scores(head)
    for code in ("fr", "es", "pt", "de", "id"):
        if scores[code] < _MINOR_MIN:
            scores[code] = 0
    if not any(scores.values()):
        if not final:
            return None
        # No known word at all (a short title, a list of names): a weak guess, and none for
        # a script we do not know (Georgian, Tamil...).
        if _VI_DISTINCT_RE.search(head):
            return Language("vi", 0.3)
        n_latin = len(_LATIN_LETTER_RE.findall(head))
        if n_latin * 2 >= len(_ANY_LETTER_RE.findall(head)):
            return Language("en", 0.2)
        return Language("und", 0.0)
    estimates = {code: sc / _RATE[code] for code, sc in scores.items()}
    best = max(estimates, key=estimates.__getitem__)
    share = estimates[best] / sum(estimates.values())
    if not final and (share < _DECISIVE_SHARE or scores[best] < _DECISIVE_EVIDENCE):
        return None
    return Language(best, round(share * _evidence_factor(scores[best]), 3))


def detect_language(text: str) -> Language:
    """Guess the language of ``text`` from its first 1,500 characters.

    Non-Latin scripts decide by script (``zh``, ``ja``, ``ko``, ``th``, ``ru`` for any
    Cyrillic, ``ar``, ``hi``, ``el``, ``he``). Latin text is scored by counting evidence words:
    for Vietnamese, words with a letter only Vietnamese uses (``ă đ ơ ư`` and the tone-marked
    vowels such as ``ế``), frequent Vietnamese words, and frequent syllables written without
    diacritics ("cua", "duoc", "khong"); for English, French, Spanish, Portuguese, German and
    Indonesian, frequent (function) words. Only English words match in any case ("The");
    the others must be in lower case, and Vietnamese letters in Capitalised words count only
    0.2, so names ("Nguyễn", "Nguyen Van", "Las Vegas") do not decide the language. The first
    ~500 characters are read first; the rest of the 1,500 only when they are not decisive
    (share below 0.9 or fewer than 15 evidence words).

    Mixed texts get the majority language. Each language's count is divided by the share of
    its words that are evidence (vi 0.8, en 0.45, ...) to estimate how many of the words are in
    that language; ``confidence`` is the winner's share of those estimates, times
    ``1 - 0.5 ** (n / 2)`` where ``n`` is the winner's evidence count (little evidence, as in a
    headline, lowers it). A half-Vietnamese, half-English article thus gets about 0.5.
    Without any evidence word the guess is ``vi`` (0.3) if a Vietnamese-only letter occurs,
    else ``en`` (0.2) if most letters are Latin. Text without letters, or in a script not
    listed, gives ``Language("und", 0.0)``.

    >>> result = detect_language("The government said on Monday that exports rose.")
    >>> result.lang, result.confidence > 0.5
    ('en', True)
    >>> detect_language("这是一个测试句子").lang
    'zh'
    """
    if not isinstance(text, str):
        raise TypeError(f"detect_language() expects str, got {type(text).__name__}")
    head = text[:HEAD_CHARS]
    # NFD Vietnamese would hide its letters
    if not (_surely_nfc(head) or unicodedata.is_normalized("NFC", head)):
        head = unicodedata.normalize("NFC", head)
    if not _ANY_LETTER_RE.search(head):
        return Language("und", 0.0)
    # Most articles are settled by their first few hundred characters; read on only if not.
    if len(head) > _FIRST_STEP:
        cut = head.rfind(" ", 0, _FIRST_STEP)
        step = head[: cut if cut > 0 else _FIRST_STEP]
        if not _has_non_latin(step):
            found = _decide(step, final=False)
            if found is not None:
                return found
    if _has_non_latin(head):
        found = _detect_script(head)
        if found is not None:
            return found
    return _decide(head, final=True)  # type: ignore[return-value]


def detect_languages(texts: Iterable[str]) -> list[Language]:
    """:func:`detect_language` for each text.

    >>> [x.lang for x in detect_languages(["Xin chào các bạn", "Hello to you all"])]
    ['vi', 'en']
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("detect_languages() expects an iterable of str, not a single str/bytes")
    return [detect_language(t) for t in texts]

