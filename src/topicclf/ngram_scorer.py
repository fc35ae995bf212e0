"""Scoring a saved n-gram + linear model without scikit-learn or SciPy.

A loaded ``linear`` model (``policy5``, ``vntc10``) scores through the C extension
``_ngram`` from one float32 table ``[idf, weights...]`` per feature; nothing in that path
needs scikit-learn. :class:`NgramLinearScorer` is that path on its own: the C featurizer,
the table, the intercepts and the output function (softmax or per-label sigmoid). The
scikit-learn objects (:class:`~topicclf.features.NgramVectorizer`,
:class:`~topicclf.linear.LinearTopicClassifier` in a ``Pipeline``) are built only when
something needs them (``clf.pipeline``, ``explain``, ``save``, the pure-Python fallback).

:class:`LinearHead` is what :class:`~topicclf.classifiers.base.TopicClassifier` reads as
``clf.estimator`` until then: classes, ``multilabel_``, ``thresholds_``, ``coef_`` and
``intercept_``.

This module imports NumPy and the C extension only (``import topicclf`` and loading a linear
model import no scikit-learn, SciPy, matplotlib, torch or underthesea).
"""

from __future__ import annotations

import os
import threading
from typing import Sequence

import numpy as np

try:  # the optional C extension (setup.py)
    from . import _ngram
except ImportError:  # no compiler at install time
    _ngram = None

__all__ = ["LinearHead", "NgramLinearScorer", "make_featurizer", "sigmoid", "proba_from_decision"]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def proba_from_decision(Z: np.ndarray, multilabel: bool) -> np.ndarray:
    """Scores from calibrated logits: one sigmoid per label, or a softmax over classes."""
    if multilabel:
        return sigmoid(Z)
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def ext_enabled() -> bool:
    """Whether the C extension is there and not switched off (``TOPICCLF_NO_EXT=1``)."""
    return _ngram is not None and os.environ.get("TOPICCLF_NO_EXT") != "1"


def make_featurizer(tokens: Sequence[bytes], codes: np.ndarray, idf: np.ndarray, ngram_range, sublinear_tf: bool,
                    norm, digits: bool):
    """The C featurizer (``_ngram.Featurizer``), or ``None`` without the extension."""
    if not ext_enabled():
        return None
    return _ngram.Featurizer(list(tokens), np.asarray(codes).astype(np.int64).tobytes(),
                             np.asarray(idf).astype(np.float64).tobytes(), int(ngram_range[0]),
                             int(ngram_range[1]), int(sublinear_tf), int(norm == "l2"), int(digits))


def for_c(texts: list[str]) -> list:
    """str goes to the C extension as is (lower-cased there); the two characters whose
    str.lower() is not a per-character mapping (İ -> "i̇", final Σ -> ς) are lowered here."""
    return [t.lower().encode("utf-8", "surrogatepass") if "\u0130" in t or "\u03a3" in t else t
            for t in texts]


def check_texts(X) -> list[str]:
    if isinstance(X, str):
        raise TypeError("expected a list of texts, got a single str: wrap it in a list")
    if hasattr(X, "columns") and hasattr(X, "shape"):  # iterating a DataFrame gives its column names
        raise TypeError(f"expected a list of texts, got a {type(X).__name__}: pass its text column, e.g. df['text']")
    texts = list(X)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text {i} is {type(t).__name__}, expected str")
    return texts


class LinearHead:
    """The fitted state of a :class:`~topicclf.linear.LinearTopicClassifier` that scoring
    reads (``classes_``, ``multilabel_``, ``thresholds_``, ``coef_``, ``intercept_``), without
    scikit-learn. ``config`` is the classifier's saved config (``params``, ``cv_scores``)."""

    def __init__(self, arrays: dict, config: dict):
        self.config = config
        self.classes_ = np.asarray(config["classes"], dtype=object)
        self.multilabel_ = bool(config["multilabel"])
        self.coef_ = np.asarray(arrays["coef"], dtype=np.float32)
        self.intercept_ = np.asarray(arrays["intercept"], dtype=np.float32)
        self.thresholds_ = np.asarray(arrays["thresholds"], dtype=np.float64)
        self.cv_scores_ = config.get("cv_scores", {})
        K = len(self.classes_)
        if self.coef_.ndim != 2 or self.coef_.shape[0] != K or self.intercept_.shape != (K,) \
                or self.thresholds_.shape != (K,):
            raise ValueError("classifier arrays do not match its labels: the model file is corrupt")
        self.n_features_in_ = self.coef_.shape[1]

    def proba_from_decision(self, Z: np.ndarray) -> np.ndarray:
        return proba_from_decision(Z, self.multilabel_)


class NgramLinearScorer:
    """N-gram TF-IDF features and linear scores in one C pass, from a saved model's parts.

    ``vec_arrays``/``vec_state``: the vectorizer's saved arrays (``codes``, ``idf``) and state
    (``params``, ``tokens``); ``head``: a :class:`LinearHead` (its ``coef_`` may be changed
    later: the table follows it). :meth:`proba` returns ``None`` when the C extension is not
    available; the caller then scores through the scikit-learn pipeline.
    """

    def __init__(self, vec_arrays: dict, vec_state: dict, head):
        params = vec_state["params"]
        self.codes = np.asarray(vec_arrays["codes"], dtype=np.int64)
        self.idf = np.asarray(vec_arrays["idf"], dtype=np.float32)
        self.tokens = list(vec_state["tokens"])
        self.params = params
        self.head = head
        self.n_features = len(self.codes)
        if len(self.idf) != self.n_features or np.any(np.diff(self.codes) <= 0):
            raise ValueError("vectorizer arrays are inconsistent: the model file is corrupt")
        if head.coef_.shape[1] != self.n_features:
            raise ValueError(f"{self.n_features} features but weights for {head.coef_.shape[1]}")
        self._fast = None
        self._table = None  # (coef, float32 [idf, coef.T])
        self._featurizer_built = False
        self._lock = threading.Lock()  # threads score at once: build the featurizer once

    def __getstate__(self):  # copies and pickles rebuild the C featurizer and the table on use
        state = self.__dict__.copy()
        state.update(_fast=None, _table=None, _featurizer_built=False)
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _featurizer(self):
        if not self._featurizer_built:
            with self._lock:
                self._build_featurizer()
        return self._fast

    def _build_featurizer(self) -> None:
        if not self._featurizer_built:
            p = self.params
            if p.get("norm", "l2") in ("l2", None):
                self._fast = make_featurizer([t.encode("utf-8", "surrogatepass") for t in self.tokens], self.codes,
                                             self.idf, p.get("ngram_range", (1, 2)), p.get("sublinear_tf", True),
                                             p.get("norm", "l2"), p.get("digits", True))
            self._featurizer_built = True

    def available(self) -> bool:
        return ext_enabled() and self._featurizer() is not None

    def decision(self, texts: list[str]) -> np.ndarray | None:
        """Calibrated logits ``(n, n_classes)``, or ``None`` without the C extension."""
        fast = self._featurizer() if ext_enabled() else None
        if fast is None:
            return None
        coef = self.head.coef_
        cached = self._table
        if cached is None or cached[0] is not coef:
            with self._lock:
                cached = self._table
                if cached is None or cached[0] is not coef:
                    table = np.empty((self.n_features, 1 + coef.shape[0]), dtype=np.float32)
                    table[:, 0] = self.idf
                    table[:, 1:] = coef.T
                    cached = self._table = (coef, table)
        k = coef.shape[0]
        out = fast.transform(for_c(texts), cached[1], k)
        return np.frombuffer(out, dtype=np.float64).reshape(len(texts), k) + self.head.intercept_

    def proba(self, texts: list[str]) -> np.ndarray | None:
        Z = self.decision(texts)
        return None if Z is None else self.head.proba_from_decision(Z)
