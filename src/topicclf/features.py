"""Fast TF-IDF features over syllable/word n-grams.

:class:`NgramVectorizer` is a scikit-learn transformer that turns texts into a sparse
TF-IDF matrix of token n-grams, like ``TfidfVectorizer(analyzer="word",
token_pattern=r"\\w+", ngram_range=(1, 2))``, but its ``transform`` is vectorised with
NumPy over a whole batch: tokens become integer ids through one dictionary lookup each,
and n-grams become integer codes (``id1 * B + id2``) matched against the sorted codes
of the vocabulary with :func:`numpy.searchsorted`. No n-gram string is ever built, which
is what makes scoring fast (see ``benchmarks/vntc.py``).

For Vietnamese, syllable bigrams cover most two-syllable words (``chủ quyền``), so the
features need no word segmenter; :meth:`NgramVectorizer.get_feature_names_out` writes an
n-gram with ``_`` between its tokens (``chủ_quyền``).

Example:
    >>> vec = NgramVectorizer(ngram_range=(1, 2), min_df=1).fit(["chủ quyền biển đảo", "biển đảo"])
    >>> list(vec.get_feature_names_out())
    ['biển', 'chủ', 'quyền', 'đảo', 'biển_đảo', 'chủ_quyền', 'quyền_biển']
    >>> vec.transform(["Biển đảo"]).nnz
    3
"""

from __future__ import annotations

import os
import re
from collections import Counter
from itertools import chain, repeat
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .ngram_scorer import _ngram  # the optional C extension (setup.py): None without a compiler
from .ngram_scorer import check_texts as _check_texts
from .ngram_scorer import for_c as _for_c
from .ngram_scorer import make_featurizer

__all__ = ["NgramVectorizer", "syllables"]

# Tokens are maximal runs of letters and digits. Splitting UTF-8 bytes with
# bytes.translate + bytes.split is ~2x faster than re.findall(r"\w+") on str: ASCII
# punctuation and whitespace map to a space, every byte >= 0x80 is kept (Vietnamese
# letters are multi-byte), and the non-letter blocks that share no lead byte with a
# Vietnamese letter are blanked first: U+00A0-U+00BF and U+2000-U+206F (quotes, dashes,
# bullets, ellipsis), U+20A0-U+2BFF (currency, letter-like and technical symbols, arrows,
# math, shapes, dingbats), U+FE00-U+FE0F (emoji variation selectors), U+FFF0-U+FFFF (the
# replacement character U+FFFD), U+1F000-U+1FFFF (emoji) and U+E0000-U+E007F (emoji tags).
# So a symbol stuck to a word ("🔥Human", "Human\ufffdrights") splits it, as it does for
# topicclf.tokenize, instead of making a new token. _ngram.c has the same classes.
_KEEP = {c for c in range(256) if c >= 0x80 or chr(c).isalnum()}
_TABLE = bytes(c if c in _KEEP else 0x20 for c in range(256))
_TABLE_NODIGITS = bytes(0x30 if 0x30 <= c <= 0x39 else _TABLE[c] for c in range(256))
_UNICODE_PUNCT = re.compile(
    rb"\xc2[\xa0-\xbf]"
    rb"|\xe2(?:\x80[\x80-\xbf]|\x81[\x80-\xaf]|\x82[\xa0-\xbf]|[\x83-\xaf][\x80-\xbf])"
    rb"|\xef(?:\xb8[\x80-\x8f]|\xbf[\xb0-\xbf])"
    rb"|\xf0\x9f[\x80-\xbf][\x80-\xbf]"
    rb"|\xf3\xa0[\x80\x81][\x80-\xbf]"
)


def _syllable_bytes(text: str, digits: bool = True) -> list[bytes]:
    b = text.lower().encode("utf-8", "surrogatepass")
    if b"\xe2" in b or b"\xc2" in b or b"\xef" in b or b"\xf0" in b or b"\xf3" in b:
        b = _UNICODE_PUNCT.sub(b" ", b)
    return b.translate(_TABLE if digits else _TABLE_NODIGITS).split()


def syllables(text: str, *, digits: bool = True) -> list[str]:
    """Lower-cased syllables (runs of letters and digits) of ``text``.

    With ``digits=False`` every digit becomes ``0`` so that numbers share features.

    >>> syllables("Hà Nội, 25/12/2020 “chủ quyền”")
    ['hà', 'nội', '25', '12', '2020', 'chủ', 'quyền']
    >>> syllables("Hà Nội, 25/12/2020", digits=False)
    ['hà', 'nội', '00', '00', '0000']
    """
    return [t.decode("utf-8", "surrogatepass") for t in _syllable_bytes(text, digits)]


class _CodeTable:
    """Open-addressing hash table from int64 n-gram codes to column indices.

    Built and probed with vectorised NumPy (Fibonacci hashing, linear probing); a probe
    costs one or two random reads where a binary search over a million sorted codes
    costs twenty.
    """

    _EMPTY = -1

    def __init__(self, codes: np.ndarray):
        n = len(codes)
        self.bits = max(4, int(np.ceil(np.log2(max(n, 1) * 2))))  # load factor <= 0.5
        size = 1 << self.bits
        self.keys = np.full(size, self._EMPTY, dtype=np.int64)
        self.values = np.full(size, -1, dtype=np.int64)
        home = self._hash(codes)
        pending = np.arange(n)
        probe = 0
        while pending.size:
            slot = (home[pending] + probe) & (size - 1)
            free = self.keys[slot] == self._EMPTY
            cand, cslot = pending[free], slot[free]
            uslot, first = np.unique(cslot, return_index=True)  # one winner per slot
            winners = cand[first]
            self.keys[uslot] = codes[winners]
            self.values[uslot] = winners
            done = np.zeros(n, dtype=bool)
            done[winners] = True
            pending = pending[~done[pending]]
            probe += 1
        self.max_probe = probe

    def _hash(self, codes: np.ndarray) -> np.ndarray:
        h = codes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        return (h >> np.uint64(64 - self.bits)).astype(np.int64)

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """Column of each query code, ``-1`` where the code is not in the table."""
        out = np.full(len(queries), -1, dtype=np.int64)
        active = np.arange(len(queries))
        q = queries
        slot = self._hash(queries)
        mask = len(self.keys) - 1
        for _ in range(self.max_probe):
            if not active.size:
                break
            k = self.keys[slot]
            hit = k == q
            out[active[hit]] = self.values[slot[hit]]
            go_on = ~hit & (k != self._EMPTY)
            active, q, slot = active[go_on], q[go_on], (slot[go_on] + 1) & mask
        return out


class NgramVectorizer(TransformerMixin, BaseEstimator):
    """TF-IDF over token n-grams with a NumPy-vectorised ``transform``.

    Parameters
    ----------
    ngram_range : (int, int)
        Smallest and largest n-gram length, at most 3.
    min_df : int
        Keep n-grams that occur in at least this many training documents.
    max_df : float
        Drop n-grams that occur in more than this fraction of training documents.
    max_features : int or None
        Keep only the most frequent n-grams (by document frequency) after the df filters.
    sublinear_tf : bool
        Use ``1 + log(tf)`` instead of the raw count.
    digits : bool
        Keep digits as they are; ``False`` maps every digit to ``0``.
    norm : {"l2", None}
        Row normalisation.
    dtype : numpy dtype
        Dtype of the output matrix.

    Attributes
    ----------
    tokens_ : list of str
        Known tokens; a token's id is its position.
    codes_ : ndarray of int64
        Sorted integer codes of the kept n-grams; feature ``j`` is ``codes_[j]``.
    idf_ : ndarray of float
        Inverse document frequency per feature.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        max_df: float = 1.0,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        digits: bool = True,
        norm: str | None = "l2",
        dtype=np.float32,
    ):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.digits = digits
        self.norm = norm
        self.dtype = dtype

    # -- fitting -----------------------------------------------------------------
    def fit(self, X: Iterable[str], y=None) -> "NgramVectorizer":
        lo, hi = self.ngram_range
        if not 1 <= lo <= hi <= 3:
            raise ValueError(f"ngram_range must satisfy 1 <= min <= max <= 3, got {self.ngram_range}")
        docs = [_syllable_bytes(t, self.digits) for t in _check_texts(X)]
        if not docs:
            raise ValueError("NgramVectorizer.fit needs at least one document")
        n_docs = len(docs)
        # Tokens rarer than min_df cannot be part of a kept n-gram: they get no id.
        df_tok = Counter(chain.from_iterable(map(set, docs)))
        tokens = sorted(t for t, c in df_tok.items() if c >= self.min_df)
        if len(tokens) >= 2_000_000:
            raise ValueError("vocabulary too large for int64 trigram codes; raise min_df")
        self.tokens_ = [t.decode("utf-8", "surrogatepass") for t in tokens]
        self._index = index = {t: i for i, t in enumerate(tokens)}
        # document frequency = number of distinct (doc, code) pairs per code; docs go
        # in chunks small enough that doc * code_space + code fits in an int64
        space = self._code_space()
        step = max(1, min(4096, (2**62) // space))
        per_chunk = []
        for start in range(0, n_docs, step):
            codes, doc_of = self._codes(docs[start : start + step])
            per_chunk.append(np.unique(doc_of * space + codes) % space)
        uniq, df = np.unique(np.concatenate(per_chunk), return_counts=True)
        keep = df >= self.min_df
        if self.max_df < 1.0:
            keep &= df <= self.max_df * n_docs
        uniq, df = uniq[keep], df[keep]
        if self.max_features is not None and len(uniq) > self.max_features:
            # most frequent first; ties broken by code so the result is deterministic
            order = np.lexsort((uniq, -df))[: self.max_features]
            order.sort()
            uniq, df = uniq[order], df[order]
        if len(uniq) == 0:
            raise ValueError("no n-gram is frequent enough: lower min_df or give more documents")
        self.codes_ = uniq
        self.idf_ = (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float64)
        self.n_features_out_ = len(uniq)
        self._prepare(index)
        return self

    def _code_space(self) -> int:
        base = len(self.tokens_) + 1
        return base ** self.ngram_range[1] + 1

    def _codes(self, docs: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes of every n-gram occurrence and the document each comes from."""
        lens = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        total = int(lens.sum())
        ids = np.fromiter(
            map(self._index.get, chain.from_iterable(docs), repeat(-1)), dtype=np.int64, count=total
        )
        doc = np.repeat(np.arange(len(docs), dtype=np.int64), lens)
        base = len(self.tokens_) + 1
        lo, hi = self.ngram_range
        out_codes, out_docs = [], []
        code = np.zeros(total, dtype=np.int64)
        valid = np.ones(total, dtype=bool)
        for n in range(1, hi + 1):
            # code of the n-gram starting at i, built from the (n-1)-gram code at i
            if n == 1:
                code = ids + 1
                valid = ids >= 0
            else:
                m = total - n + 1
                if m <= 0:
                    break
                code = code[:m] * base + (ids[n - 1 :] + 1)
                valid = valid[:m] & (ids[n - 1 :] >= 0) & (doc[:m] == doc[n - 1 :])
            if n >= lo:
                out_codes.append(code[valid])
                out_docs.append(doc[: len(valid)][valid])
        return np.concatenate(out_codes), np.concatenate(out_docs)

    # -- transforming --------------------------------------------------------------
    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        check_is_fitted(self, "codes_")
        if not hasattr(self, "_table"):
            self._prepare()
        texts = _check_texts(X)
        if len(texts) > self._chunk:
            # bounded memory for big inputs: the per-occurrence arrays live one chunk at a time
            return sp.vstack(
                [self.transform(texts[i : i + self._chunk]) for i in range(0, len(texts), self._chunk)],
                format="csr",
            )
        return self._transform_batch(texts)

    _chunk = 2048

    def linear_scores(self, X: Iterable[str], coef: np.ndarray) -> np.ndarray | None:
        """``transform(X) @ coef.T`` without building the sparse matrix, or ``None`` when the
        C extension is not available (then use ``transform``).

        The C loop reads, per feature, one float32 table row ``[idf, coef[:, j]...]`` instead of
        the idf, the CSR entry and a row of ``coef.T`` in three places, and builds no sparse
        matrix: about 10 % less time per text for vntc10. The result equals the sparse product
        up to float32 rounding.

        >>> vec = NgramVectorizer(min_df=1).fit(["biển đảo", "giá vàng"])
        >>> W = np.ones((3, vec.n_features_out_))
        >>> np.allclose(vec.linear_scores(["biển đảo"], W), vec.transform(["biển đảo"]) @ W.T)
        True
        """
        check_is_fitted(self, "codes_")
        if not hasattr(self, "_table"):
            self._prepare()
        if self._fast is None or self.norm not in ("l2", None):
            return None
        coef = np.asarray(coef)
        if coef.ndim != 2 or coef.shape[1] != len(self.codes_):
            raise ValueError(f"coef must be (n_outputs, {len(self.codes_)}), got {coef.shape}")
        cached = self.__dict__.get("_score_table")
        if cached is None or cached[0] is not coef:
            table = np.empty((len(self.codes_), 1 + coef.shape[0]), dtype=np.float32)
            table[:, 0] = self.idf_
            table[:, 1:] = coef.T
            cached = (coef, table)
            self.__dict__["_score_table"] = cached
        texts = _check_texts(X)
        k = coef.shape[0]
        out = self._fast.transform(_for_c(texts), cached[1], k)
        return np.frombuffer(out, dtype=np.float64).reshape(len(texts), k)

    def _transform_batch(self, texts: list[str]) -> sp.csr_matrix:
        if self._fast is not None and self.norm in ("l2", None):
            data, indices, indptr = self._fast.transform(_for_c(texts))
            # writable arrays over the C buffers; int32 indices are used as they are
            indptr = np.frombuffer(indptr, dtype=np.int64)
            X = sp.csr_matrix((np.frombuffer(data, dtype=np.float32).astype(self.dtype, copy=False),
                               np.frombuffer(indices, dtype=np.int32),
                               indptr.astype(np.int32) if indptr[-1] < 2**31 else indptr),
                              shape=(len(texts), len(self.codes_)))
            X.has_sorted_indices = False  # columns come in first-occurrence order
            return X
        docs = [_syllable_bytes(t, self.digits) for t in texts]
        n_docs = len(docs)
        n_feat = len(self.codes_)
        codes, doc = self._codes(docs)
        # unigram codes (1..n_tokens) index a dense array; longer n-grams go through the hash
        uni = codes <= len(self.tokens_)
        pos = np.empty(len(codes), dtype=np.int64)
        pos[uni] = self._unigram_col[codes[uni]]
        pos[~uni] = self._table.lookup(codes[~uni])
        hit = pos >= 0
        # (doc, feature) pairs arrive grouped by doc; one sort of the combined key
        # both orders columns inside each row and lets us count duplicates.
        key = doc[hit] * n_feat + pos[hit]
        key, tf = np.unique(key, return_counts=True)
        rows, cols = np.divmod(key, n_feat)
        data = tf.astype(np.float64)
        if self.sublinear_tf:
            data = np.log(data) + 1.0
        data *= self.idf_[cols]
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
        if self.norm == "l2":
            sq = np.bincount(rows, weights=data * data, minlength=n_docs)
            data /= np.sqrt(sq)[rows]
        elif self.norm is not None:
            raise ValueError(f"norm must be 'l2' or None, got {self.norm!r}")
        return sp.csr_matrix(
            (data.astype(self.dtype), cols.astype(np.int32), indptr.astype(np.int32)),
            shape=(n_docs, n_feat),
        )

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """N-gram strings, tokens joined with ``_``, in column order."""
        check_is_fitted(self, "codes_")
        base = len(self.tokens_) + 1
        names = []
        for code in self.codes_.tolist():
            parts = []
            while code:
                code, rest = divmod(code, base)
                parts.append(self.tokens_[rest - 1])
            names.append("_".join(reversed(parts)))
        return np.asarray(names, dtype=object)

    # -- state for safetensors/JSON (see topicclf.serialization) -------------------
    def get_state(self) -> tuple[dict, dict]:
        """``(arrays, json_config)`` that fully describe the fitted vectorizer."""
        check_is_fitted(self, "codes_")
        arrays = {"codes": self.codes_, "idf": self.idf_.astype(np.float32)}
        config = {"params": _jsonable(self.get_params()), "tokens": self.tokens_}
        return arrays, config

    @classmethod
    def from_state(cls, arrays: dict, config: dict) -> "NgramVectorizer":
        params = dict(config["params"])
        params["ngram_range"] = tuple(params["ngram_range"])
        params["dtype"] = np.dtype(params["dtype"]).type
        vec = cls(**params)
        vec.tokens_ = list(config["tokens"])
        vec.codes_ = np.asarray(arrays["codes"], dtype=np.int64)
        vec.idf_ = np.asarray(arrays["idf"], dtype=np.float64)
        vec.n_features_out_ = len(vec.codes_)
        if len(vec.idf_) != len(vec.codes_) or np.any(np.diff(vec.codes_) <= 0):
            raise ValueError("vectorizer arrays are inconsistent: the model file is corrupt")
        vec._prepare()
        return vec

    def _prepare(self, index: dict | None = None) -> None:
        """Build the derived lookup structures (token index, hash table, unigram columns)."""
        self._index = index or {t.encode("utf-8", "surrogatepass"): i for i, t in enumerate(self.tokens_)}
        self.__dict__.pop("_score_table", None)  # holds the idf of the previous fit
        self._fast = make_featurizer(list(self._index), self.codes_, self.idf_, self.ngram_range,
                                     self.sublinear_tf, self.norm, self.digits)
        self._table = _CodeTable(self.codes_)
        n_tok = len(self.tokens_)
        self._unigram_col = np.full(n_tok + 1, -1, dtype=np.int64)
        uni = np.flatnonzero(self.codes_ <= n_tok)
        self._unigram_col[self.codes_[uni]] = uni

    def __getstate__(self):
        # the lookup structures are derived: rebuild them instead of copying them around
        state = self.__dict__.copy()
        state.pop("_index", None)
        state.pop("_table", None)
        state.pop("_unigram_col", None)
        state.pop("_fast", None)
        state.pop("_score_table", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def _jsonable(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, type):
            v = np.dtype(v).name
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out
