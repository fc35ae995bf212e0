"""Explanations for linear models: which terms pushed each label's score.

A label's logit is ``sum_j x_j * w_j + b``; a term's weight is the sum of ``x_j * w_j``
over the n-gram features inside it. Vietnamese text is segmented into words with
underthesea (offline), so the terms are words such as ``chủ_quyền`` rather than
syllables; features that straddle two words are left out of both.

Example:
    >>> clf = topicclf.load()                          # doctest: +SKIP
    >>> clf.explain("Tranh chấp chủ quyền ở Biển Đông")  # doctest: +SKIP
    {'sovereignty': [('chủ_quyền', 1.92), ('biển_đông', 1.41), ...]}
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .features import syllables

__all__ = ["explain_linear"]


def _terms(text: str, lang: str) -> list[list[str]]:
    """Terms of ``text`` as lists of lower-case syllables."""
    if lang == "vi":
        from .tokenize import tokenize

        words = tokenize(text, lang="vi", mode="word")
        terms = [syllables(w.replace("_", " ")) for w in words]
        return [t for t in terms if t]
    return [[s] for s in syllables(text)]


def explain_linear(model, text: str, top_k: int = 10, labels: Sequence[str] | None = None) -> dict:
    """``{label: [(term, weight), ...]}`` for ``labels`` (default: the predicted labels)."""
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    clean, langs, flags = model.prepare([text])
    if labels is None:
        labels = model._labels_from(model._score(clean, langs, flags), flags, langs)[0]
    unknown = [l for l in labels if l not in model.labels]
    if unknown:
        raise ValueError(f"unknown labels {unknown}; the model's labels are {model.labels}")
    if not labels or not clean[0]:
        return {l: [] for l in labels}
    vec, est = model.pipeline[0], model.estimator
    x = vec.transform(clean).tocsr()
    cols, vals = x.indices, x.data.astype(np.float64)
    col_of = {code: j for j, code in zip(cols.tolist(), vec.codes_[cols].tolist())}
    base = len(vec.tokens_) + 1
    lo, hi = vec.ngram_range
    out = {}
    terms = _terms(clean[0], langs[0])
    for label in labels:
        k = model.labels.index(label)
        contrib = dict(zip(cols.tolist(), (vals * est.coef_[k, cols].astype(np.float64)).tolist()))
        scores: dict[str, float] = {}
        for syl in terms:
            ids = [vec._index.get(s.encode("utf-8", "surrogatepass"), -1) for s in syl]
            used, total = set(), 0.0
            for n in range(lo, min(hi, len(ids)) + 1):
                for i in range(len(ids) - n + 1):
                    if min(ids[i : i + n]) < 0:
                        continue
                    code = 0
                    for t in ids[i : i + n]:
                        code = code * base + t + 1
                    j = col_of.get(code)
                    if j is not None and j not in used:
                        used.add(j)
                        total += contrib[j]
            if used:
                term = "_".join(syl) if langs[0] == "vi" else " ".join(syl)
                scores[term] = total
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        out[label] = [(t, round(w, 4)) for t, w in ranked[:top_k] if w > 0]
    return out
