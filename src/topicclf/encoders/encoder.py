"""The windowed sentence encoder: mean-pooled, L2-normalised embeddings with an on-disk cache.

Texts are NFC-normalised first (decomposed Vietnamese tokenizes into many more pieces and
embeds worse), cut into overlapping token windows (:func:`~topicclf.encoders.window_token_ids`),
each window gets the prefix (``"passage: "`` for e5), and the window embeddings are pooled
per text.

>>> from topicclf.encoders import Encoder
>>> enc = Encoder("multilingual-e5-small")                  # doctest: +SKIP
>>> X = enc.encode(["Giá vàng tăng mạnh", "Gold prices rise"])  # doctest: +SKIP
>>> X.shape, float(X[0] @ X[1]) > 0.8                        # doctest: +SKIP
((2, 384), True)
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .e5 import _CHECKSUMS
from .registry import _TOKENIZER_FILES, _WEIGHT_FILES, resolve_encoder
from .windows import window_token_ids

__all__ = ["Encoder"]


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
