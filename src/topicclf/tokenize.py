"""Tokenisation: Vietnamese word segmentation (underthesea), English and generic regex tokenisers.

Every tokenizer here keeps every non-space character of the normalised text, in order:
``"".join(t.replace("_", "") for t in tokenize(x)) == "".join(normalize(x).split())``
for any ``x`` without ``"_"`` (Vietnamese word mode joins the syllables of a word with ``"_"``,
so an underscore already in the text cannot be told apart and is dropped by that check).

>>> tokenize("Hello, world! It's 3.5 km.", lang="en")
['Hello', ',', 'world', '!', 'It', "'s", '3.5', 'km', '.']
>>> tokenize("Xin chào, Việt Nam!", mode="syllable")
['Xin', 'chào', ',', 'Việt', 'Nam', '!']
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import accumulate

from .lang import detect_language
from .text import normalize

__all__ = ["MODES", "tokenize", "tokenize_many"]

MODES = ("word", "syllable")

# --------------------------------------------------------------------------------------------
# Syllable mode: runs of letters, digits and combining marks; anything else one character each.


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana and Han
_CJK_RE = re.compile(f"[{_CJK}]")


@lru_cache(maxsize=1)
def _syllable_re() -> re.Pattern[str]:
    # Combining marks are not \w for Python's re, but they are part of words in Hindi, Thai,
    # Arabic... (and of NFD text). Their ranges are computed once, on first use (~5 ms); only
    # the BMP, so that the class compiles to a constant-time bitmap.
    cat = unicodedata.category
    ranges: list[list[int]] = []
    for c in range(0x300, 0x10000):
        if cat(chr(c))[0] == "M":
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
    m = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    # Han and kana have no spaces between words: one token per character (as BERT does).
    return re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+(?:[{m}]+[^\\W_{_CJK}]*)*|[{m}]+|\\S")


# Regex tokenizers (ours for English, underthesea's) can take quadratic time on a very long
# run without spaces ("a-b.a-b.a-b..."): such chunks get the linear syllable regex instead.
_MAX_CHUNK = 200


def _by_chunks(text: str, plain: Callable[[str], bool], rx: re.Pattern[str]) -> list[str]:
    # Most whitespace-separated chunks are plain words: keeping them whole is much faster than
    # running the regex over them; only chunks with punctuation etc. go through the regex.
    out: list[str] = []
    append, extend, findall = out.append, out.extend, rx.findall
    for chunk in text.split():
        if plain(chunk):
            append(chunk)
        elif len(chunk) > _MAX_CHUNK:
            extend(_syllable_re().findall(chunk))
        else:
            extend(findall(chunk))
    return out


def _syllables(text: str) -> list[str]:
    rx = _syllable_re()
    if _CJK_RE.search(text):
        return rx.findall(text)
    return _by_chunks(text, str.isalnum, rx)


# --------------------------------------------------------------------------------------------
# English word mode: Penn-Treebank-style contractions ("don't" -> "do" "n't", "it's" -> "it"
# "'s"), abbreviations with periods ("U.S.", "e.g.", "Mr."), numbers with separators ("1,600",
# "3.5", "12:30", "19-year-old"), hyphenated words ("e-mail"), URLs and e-mail addresses whole;
# every other non-space character is a token of its own ("..." and "--" stay together).

_EN_RE = re.compile(
    r"""
    (?:https?://|ftp://|www\.)[^\s<>"“”]*[^\s<>"“”.,;:!?)\]}'’]        # URL
    | (?:[a-zA-Z0-9-]+\.)+(?:com|net|org|edu|gov|vn|uk|io|info)\b
      (?:/[^\s<>"“”]*[^\s<>"“”.,;:!?)\]}'’])?                         # bare domain
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                                     # e-mail
    | (?:[A-Za-z]\.){2,}                                               # U.S., e.g.
    | (?:Mrs|Mr|Ms|Dr|Prof|Jr|Sr|St|vs|etc|Inc|Ltd|Corp|Co|Gov|Sen|Rep|Gen|Jan|Feb|Mar
        |Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.(?![^\W_])                # Mr.
    | \d+(?:[.,:/]\d+)*(?:-[^\W_]+(?:[.,:/]\d+)*)*                     # 1,600 3.5 19-year-old
    | [^\W\d_]+(?=(?i:n['’]t)(?![^\W_]))                               # do|n't  ca|n't
    | (?i:n['’]t)(?![^\W_])                                            # n't
    | ['’](?i:s|re|ve|ll|d|m)(?![^\W_])                                # 's 're 've 'll 'd 'm
    | [^\W_]+(?:-[^\W_]+|['’](?!(?i:s|re|ve|ll|d|m|t)(?![^\W_]))[^\W_]+)*  # words
    | \.{2,} | -{2,}                                                   # ... --
    | \S
    """,
    re.VERBOSE,
)


def _english(text: str) -> list[str]:
    return _by_chunks(text, str.isalpha, _EN_RE)


# --------------------------------------------------------------------------------------------
# Vietnamese word mode: underthesea's CRF segmenter, imported on first use.

_lock = threading.Lock()
_segmenter: Callable[[str], list[str]] | None = None


def _import_word_tokenize() -> Callable[[str], list[str]]:
    """underthesea's ``word_tokenize`` without running ``underthesea/__init__.py``.

    That file imports every pipeline of underthesea, its translation model included, and so
    torch and transformers when they are installed: 4-7 s before the first word, where the CRF
    segmenter itself loads in a fraction of a second. While the segmenter's modules load (and
    its model, on a first call), a bare package object stands in for ``underthesea``; it and
    those modules are removed from ``sys.modules`` after, so a later ``import underthesea``
    loads the whole package as usual. If underthesea is imported already, it is used as it is.
    """
    import importlib
    import importlib.util
    import sys
    import types

    if "underthesea" in sys.modules:
        from underthesea import word_tokenize

        return word_tokenize
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'underthesea'")
    before = set(sys.modules)
    stub = types.ModuleType("underthesea")
    stub.__path__ = list(spec.submodule_search_locations)
    stub.__spec__ = spec
    stub.__package__ = "underthesea"
    sys.modules["underthesea"] = stub
    try:
        importlib.import_module("underthesea.pipeline.text_normalize")  # first, as underthesea does (a cycle)
        module = importlib.import_module("underthesea.pipeline.word_tokenize")
        module.word_tokenize("Việt Nam")  # loads the CRF model (its imports too) while the stand-in is there
        return module.word_tokenize
    finally:
        # the modules loaded under the stand-in leave sys.modules too (the function keeps its
        # own): a later `import underthesea` then loads a complete, consistent package
        for name in [n for n in sys.modules if n.split(".")[0] == "underthesea" and n not in before]:
            del sys.modules[name]


def _load_segmenter() -> Callable[[str], list[str]]:
    global _segmenter
    with _lock:
        if _segmenter is None:
            # Importing underthesea pulls in torch/transformers and calls logging.basicConfig,
            # which would hijack the application's root logger: undo that.
            root = logging.getLogger()
            handlers, level = root.handlers[:], root.level
            try:
                word_tokenize = _import_word_tokenize()
            except ImportError as e:  # pragma: no cover - underthesea is a dependency
                raise ImportError(
                    "Vietnamese word segmentation needs underthesea (pip install underthesea);"
                    " mode='syllable' works without it"
                ) from e
            finally:
                root.handlers[:] = handlers
                root.setLevel(level)
            _segmenter = word_tokenize
    return _segmenter


def _boundaries(source: str, target: str, ends: list[int]) -> list[int]:
    """Map end offsets in ``target`` (the segmenter's characters) to offsets in ``source``."""
    if len(source) == len(target):
        return ends  # same length: at most per-character substitutions (e.g. "Ð" -> "Đ")
    # underthesea's token normalisation can change lengths ("nghành" -> "ngành"): align.
    ops = [op for op in SequenceMatcher(None, source, target, autojunk=False).get_opcodes()
           if op[3] < op[4]]  # deletions have no target position to map from
    out, k = [], 0
    for j in ends:
        if j >= len(target):
            out.append(len(source))
            continue
        while ops[k][4] <= j:
            k += 1
        tag, i1, i2, j1, j2 = ops[k]
        out.append(i1 + (j - j1) if tag == "equal" else i1 + (j - j1) * (i2 - i1) // (j2 - j1))
    return out


def _align(line: str, words: list[str]) -> list[str]:
    """Rebuild the segmenter's words from the characters of ``line``, joined by ``"_"``."""
    chunks = line.split()
    source = "".join(chunks)
    pieces = ["".join(w.split()) for w in words]
    ends = _boundaries(source, "".join(pieces), list(accumulate(map(len, pieces))))
    spaces = list(accumulate(map(len, chunks[:-1])))  # where the line had a space
    tokens: list[str] = []
    prev = 0
    for end in ends:
        if end <= prev:
            continue
        lo, hi = bisect_right(spaces, prev), bisect_right(spaces, end - 1)
        if lo == hi:
            tokens.append(source[prev:end])
        else:
            cuts = [prev, *spaces[lo:hi], end]
            tokens.append("_".join(source[a:b] for a, b in zip(cuts, cuts[1:])))
        prev = end
    if prev < len(source):  # never expected; keeps the no-character-lost guarantee
        tokens.append(source[prev:])
    return tokens


def _vietnamese(text: str) -> list[str]:
    segment = _load_segmenter()
    tokens: list[str] = []
    for line in text.split("\n"):  # the CRF sees one paragraph at a time
        if not line:
            continue
        chunks = line.split(" ")  # normalised text: single spaces
        if max(map(len, chunks)) <= _MAX_CHUNK:
            tokens.extend(_align(line, segment(line)))
            continue
        pending: list[str] = []
        for chunk in chunks + [""]:
            if len(chunk) > _MAX_CHUNK or not chunk:
                if pending:
                    part = " ".join(pending)
                    tokens.extend(_align(part, segment(part)))
                    pending = []
                tokens.extend(_syllables(chunk))
            else:
                pending.append(chunk)
    return tokens


# --------------------------------------------------------------------------------------------


def tokenize(text: str, lang: str | None = None, mode: str = "word") -> list[str]:
    """Split ``text`` into tokens, after :func:`topicclf.text.normalize`.

    ``lang`` is an ISO 639-1 code (case and a region suffix are ignored: ``"vi-VN"``);
    ``None`` detects it with :func:`topicclf.lang.detect_language`.

    ``mode="word"`` gives words: for Vietnamese from underthesea's segmenter (run line by
    line), the syllables of a word joined by ``"_"`` (``"chủ_quyền"``); for English from a
    regex tokenizer with Penn-Treebank-style contractions (``"don't"`` → ``"do"``, ``"n't"``;
    ``"it's"`` → ``"it"``, ``"'s"``), abbreviations (``"U.S."``, ``"Mr."``), numbers
    (``"1,600"``, ``"3.5"``), hyphenated words, URLs and e-mails kept whole; other languages
    fall back to syllable mode. ``mode="syllable"`` is a fast regex tokenizer for any language:
    runs of letters/digits (with their combining marks) are tokens, every other non-space
    character is one token (each Chinese/Japanese character too).

    A run of more than 200 characters without spaces is split by the syllable regex (the
    other tokenizers can take quadratic time on such runs).

    No character is lost or changed: joining the tokens without ``"_"`` gives the normalised
    text without its whitespace. (An ``"_"`` that was in the text itself is kept but cannot be
    told apart from the word joiner.)

    >>> tokenize("Chủ quyền biển đảo của Việt Nam", lang="vi")
    ['Chủ_quyền', 'biển', 'đảo', 'của', 'Việt_Nam']
    >>> tokenize("The U.S. economy didn't grow 1,600 e-mails", lang="en")
    ['The', 'U.S.', 'economy', 'did', "n't", 'grow', '1,600', 'e-mails']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize() expects str, got {type(text).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    text = normalize(text)
    if not text:
        return []
    if mode == "syllable":
        return _syllables(text)
    lang = detect_language(text).lang if lang is None else lang.split("-")[0].lower()
    if lang == "vi":
        return _vietnamese(text)
    if lang == "en":
        return _english(text)
    return _syllables(text)


def tokenize_many(texts: Iterable[str], lang: str | None = None,
                  mode: str = "word") -> list[list[str]]:
    """:func:`tokenize` each text (the language is detected per text when ``lang`` is None).

    >>> tokenize_many(["Hello there", "Xin chào"], mode="syllable")
    [['Hello', 'there'], ['Xin', 'chào']]
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("tokenize_many() expects an iterable of str, not a single str/bytes")
    return [tokenize(t, lang=lang, mode=mode) for t in texts]

