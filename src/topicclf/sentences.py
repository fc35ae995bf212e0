"""A small sentence splitter for Vietnamese and English news (for evidence sentences).

Rules, in order:

* each line is split on its own (a line break always ends a sentence); the first line of a
  text that has several is its title and stays one sentence;
* inside a line, ``.``, ``!``, ``?`` or ``…`` (closing quotes and brackets after them
  included) end a sentence when a space and then an uppercase letter, an opening quote or
  bracket, or a digit follow; not after a known abbreviation (``TP.``, ``Mr.``, ``U.S.``)
  or an initial (``J. K. Rowling``);
* fragments of fewer than ``min_words`` words are left out, and a repeated sentence is kept
  once.

>>> split_sentences("Giá vàng tăng mạnh\\n\\nSáng nay, giá vàng tăng 2 triệu đồng. TP. HCM ghi nhận "
...                 "nhu cầu cao! \\"Chúng tôi bán hết,\\" một chủ tiệm nói. Hết.")
['Giá vàng tăng mạnh', 'Sáng nay, giá vàng tăng 2 triệu đồng.', 'TP. HCM ghi nhận nhu cầu cao!', '"Chúng tôi bán hết," một chủ tiệm nói.']
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

_END = re.compile(r"[.!?…]+[\"'”’»)\]]*[ \t]+")
_OPENERS = "\"'“‘«([-–—"
# compared without the final period, case-sensitively
_ABBREVIATIONS = frozenset("""
    Mr Mrs Ms Dr Prof St Jr Sr Gen Col Lt Sgt Capt Gov Sen Rep Rev Hon No Nos Vol Fig Inc Co Corp Ltd
    vs etc Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
    TP Tp TS ThS Th.S GS PGS BS KS CN NXB Q P TT HĐND UBND Tx
""".split())


def _is_abbreviation(before: str) -> bool:
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lstrip("\"'“‘«([")
    if not word:
        return False
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
        return True
    return bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word))  # U.S, e.g, a.m


def _split_line(line: str) -> list[str]:
    out, start = [], 0
    for m in _END.finditer(line):
        nxt = line[m.end():m.end() + 1]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
            continue
        punct = m.group().rstrip()
        if punct.rstrip("\"'”’»)]") == "." and _is_abbreviation(line[start:m.start()]):
            continue
        out.append(line[start:m.end()].strip())
        start = m.end()
    out.append(line[start:].strip())
    return out


def split_sentences(text: str, min_words: int = 3) -> list[str]:
    """The sentences of a (normalized) text, in order; see the module docstring for the rules."""
    lines = [l.strip() for l in text.split("\n")]
    lines = [l for l in lines if l]
    out: list[str] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        parts = [line] if i == 0 and len(lines) > 1 else _split_line(line)
        for s in parts:
            if len(s.split()) >= min_words and s not in seen:
                seen.add(s)
                out.append(s)
    return out
