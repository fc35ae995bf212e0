"""A calibrated linear classifier for single-label and multi-label topics.

:class:`LinearTopicClassifier` follows the scikit-learn estimator contract: constructor
arguments are plain parameters, ``fit`` returns ``self``, learned attributes end in ``_``,
and it composes with :class:`~sklearn.pipeline.Pipeline`, :func:`~sklearn.base.clone`
and :class:`~sklearn.model_selection.GridSearchCV`.

Scores are calibrated on cross-validated decision values and the calibration is folded
into the weights, so scoring stays one sparse matrix product followed by a softmax
(single-label) or a per-label sigmoid (multi-label). Multi-label thresholds are chosen
per label on the same held-out folds, never on the data being reported.

Example:
    >>> from sklearn.pipeline import make_pipeline
    >>> from topicclf.features import NgramVectorizer
    >>> texts = ["bóng đá", "cầu thủ ghi bàn", "giá vàng tăng", "chứng khoán giảm"] * 5
    >>> y = ["sport", "sport", "business", "business"] * 5
    >>> pipe = make_pipeline(NgramVectorizer(min_df=1), LinearTopicClassifier(cv=2)).fit(texts, y)
    >>> pipe.predict(["cầu thủ bóng đá"]).tolist()
    ['sport']
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from .ngram_scorer import proba_from_decision

__all__ = ["LinearTopicClassifier", "encode_targets"]


def encode_targets(y, labels: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(Y, classes, multilabel)`` from a list of labels or of label lists.

    ``Y`` is an ``(n, n_classes)`` 0/1 matrix. A 2-D 0/1 array is taken as an indicator
    matrix (multi-label). ``labels`` fixes the label order and rejects other labels.

    >>> Y, classes, multi = encode_targets([["a"], [], ["a", "b"]])
    >>> Y.tolist(), classes.tolist(), multi
    ([[1, 0], [0, 0], [1, 1]], ['a', 'b'], True)
    """
    if isinstance(y, np.ndarray) and y.ndim == 2:
        classes = np.asarray(labels if labels is not None else [str(i) for i in range(y.shape[1])], dtype=object)
        if len(classes) != y.shape[1]:
            raise ValueError(f"{len(classes)} labels for an indicator matrix of {y.shape[1]} columns")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("an indicator matrix must hold only 0 and 1")
        return y.astype(np.int8), classes, True
    y = list(y)
    if not y:
        raise ValueError("no training targets")
    multi = isinstance(y[0], (list, tuple, set, frozenset))
    for i, v in enumerate(y):
        if isinstance(v, (list, tuple, set, frozenset)) != multi:
            raise ValueError(
                f"record {i}: label {v!r} mixes label lists and single labels; "
                "use a list of labels for every record (multi-label) or one label each"
            )
    rows = [list(v) for v in y] if multi else [[v] for v in y]
    seen = sorted({str(v) for r in rows for v in r})
    classes = list(labels) if labels is not None else seen
    index = {c: k for k, c in enumerate(classes)}
    Y = np.zeros((len(rows), len(classes)), dtype=np.int8)
    for i, r in enumerate(rows):
        for v in r:
            if not isinstance(v, str) or v not in index:
                hint = f"declared labels are {classes}" if labels is not None else "labels must be strings"
                raise ValueError(f"record {i}: unknown label {v!r}; {hint}")
            Y[i, index[v]] = 1
    return Y, np.asarray(classes, dtype=object), multi


class LinearTopicClassifier(ClassifierMixin, BaseEstimator):
    """Linear SVM or logistic regression with cross-validated calibration.

    Parameters
    ----------
    loss : {"squared_hinge", "log"}
        ``squared_hinge`` fits :class:`~sklearn.svm.LinearSVC`, ``log`` fits
        :class:`~sklearn.linear_model.LogisticRegression` (liblinear).
    C : float
        Inverse regularisation strength.
    class_weight : None, "balanced" or dict
        Passed to the underlying binary/multiclass model.
    calibration : {"cv", "none"}
        ``cv`` fits the score calibration (and multi-label thresholds) on decision values
        predicted for held-out folds; ``none`` uses the raw decision values as logits.
    cv : int
        Number of folds for the calibration.
    labels : list of str or None
        Declared labels, in output order; other labels in ``y`` raise ``ValueError``.
    max_iter : int
    random_state : int

    Attributes
    ----------
    classes_ : ndarray of str
    multilabel_ : bool
    coef_ : ndarray (n_classes, n_features), calibrated logit weights
    intercept_ : ndarray (n_classes,)
    thresholds_ : ndarray (n_classes,), probability thresholds (multi-label; 0.5 if no CV)
    cv_scores_ : dict, held-out metrics from the calibration folds
    """

    def __init__(
        self,
        loss: str = "squared_hinge",
        C: float = 0.5,
        class_weight=None,
        calibration: str = "cv",
        cv: int = 3,
        labels: Sequence[str] | None = None,
        max_iter: int = 2000,
        random_state: int = 0,
    ):
        self.loss = loss
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.cv = cv
        self.labels = labels
        self.max_iter = max_iter
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, calibration_mask=None) -> "LinearTopicClassifier":
        """Fit the weights, then the calibration (and thresholds) on held-out folds.

        ``sample_weight``: ``None``, one weight per record ``(n,)``, or (multi-label only)
        one weight per record and label ``(n, n_classes)``; a weight of 0 leaves the record
        out of that label's model (e.g. a weakly labelled record that says nothing about
        that label). ``calibration_mask``: boolean ``(n,)``, the records whose held-out
        decision values fit the calibration and thresholds (default: all), so that weak or
        auxiliary records can train the weights without setting the thresholds.
        """
        Y, classes, multi = encode_targets(y, self.labels)
        if X.shape[0] != Y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {Y.shape[0]}")
        SW = self._check_weights(sample_weight, Y, multi)
        mask = None
        if calibration_mask is not None:
            mask = np.asarray(calibration_mask, dtype=bool)
            if mask.shape != (Y.shape[0],) or not mask.any():
                raise ValueError("calibration_mask must be a boolean array of one value per record, "
                                 "with at least one True")
            if mask.all():
                mask = None
        counts = Y.sum(axis=0)
        if not multi and (counts > 0).sum() < 2:
            raise ValueError("single-label training needs at least two classes with examples")
        if multi and (counts == 0).any():
            missing = [str(c) for c, n in zip(classes, counts) if n == 0]
            raise ValueError(f"labels with no positive training example: {missing}")
        self.classes_, self.multilabel_ = classes, multi
        self.n_features_in_ = X.shape[1]
        W, b = self._fit_raw(X, Y, SW)
        if self.calibration == "none":
            self.coef_, self.intercept_ = W, b
            self.thresholds_ = np.full(len(classes), 0.5)
            self.cv_scores_ = {}
            return self
        if self.calibration != "cv":
            raise ValueError(f"calibration must be 'cv' or 'none', got {self.calibration!r}")
        D = self._cv_decisions(X, Y, SW)
        if mask is not None:
            D, Y = D[mask], Y[mask]
        if multi:
            a, c, thr = _fit_sigmoids(D, Y)
            self.coef_, self.intercept_ = W * a[:, None], b * a + c
            self.thresholds_ = thr
            P = _sigmoid(D * a + c)
            self.cv_scores_ = _multilabel_scores(Y, P >= thr)
        else:
            A, c = _fit_softmax(D, Y.argmax(1), self.random_state)
            # softmax(A (W x + b) + c) == softmax((A W) x + (A b + c))
            self.coef_, self.intercept_ = A @ W, A @ b + c
            self.thresholds_ = np.zeros(len(classes))
            self.cv_scores_ = {"accuracy": float((D.argmax(1) == Y.argmax(1)).mean())}
        return self

    def _base(self):
        if self.loss == "squared_hinge":
            return LinearSVC(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                             random_state=self.random_state)
        if self.loss == "log":
            return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                      solver="liblinear", random_state=self.random_state)
        raise ValueError(f"loss must be 'squared_hinge' or 'log', got {self.loss!r}")

    @staticmethod
    def _check_weights(sample_weight, Y, multi):
        if sample_weight is None:
            return None
        SW = np.asarray(sample_weight, dtype=np.float64)
        n, K = Y.shape
        if SW.ndim == 1 and SW.shape == (n,):
            SW = np.repeat(SW[:, None], K, axis=1) if multi else SW
        elif not (multi and SW.shape == (n, K)):
            raise ValueError(f"sample_weight must have shape ({n},)" + (f" or ({n}, {K})" if multi else "")
                             + f", got {SW.shape}")
        if not np.isfinite(SW).all() or (SW < 0).any():
            raise ValueError("sample_weight must be finite and >= 0")
        if (SW == 1).all():
            return None
        return SW

    def _fit_raw(self, X, Y, SW=None) -> tuple[np.ndarray, np.ndarray]:
        """One-vs-rest weights ``(n_classes, n_features)`` and intercepts."""
        K = Y.shape[1]
        W = np.zeros((K, X.shape[1]))
        b = np.zeros(K)
        if not self.multilabel_:
            y = Y.argmax(1)
            present = np.flatnonzero(Y.sum(0) > 0)
            m = self._base().fit(X, y) if SW is None else self._base().fit(X, y, sample_weight=SW)
            if len(present) == 2:  # sklearn keeps one weight vector for two classes
                W[present[1]], b[present[1]] = m.coef_[0], m.intercept_[0]
                W[present[0]], b[present[0]] = -m.coef_[0], -m.intercept_[0]
            else:
                W[present], b[present] = m.coef_, m.intercept_
            W[np.setdiff1d(np.arange(K), present)] = 0.0
            b[np.setdiff1d(np.arange(K), present)] = -1e3  # a declared class never seen
            return W, b
        for k in range(K):
            Xk, yk, wk = X, Y[:, k], None
            if SW is not None:
                rows = np.flatnonzero(SW[:, k] > 0)
                Xk, yk, wk = X[rows], yk[rows], SW[rows, k]
            if len(yk) == 0 or yk.min() == yk.max():  # every record positive: a constant label
                b[k] = 1e3 if len(yk) and yk[0] else -1e3
                continue
            m = self._base().fit(Xk, yk) if wk is None else self._base().fit(Xk, yk, sample_weight=wk)
            W[k], b[k] = m.coef_[0], m.intercept_[0]
        return W, b

    def _cv_decisions(self, X, Y, SW=None) -> np.ndarray:
        n = X.shape[0]
        folds = min(self.cv, n)
        if folds < 2:
            raise ValueError("calibration needs cv >= 2 and at least two records")
        if self.multilabel_:
            splitter = KFold(folds, shuffle=True, random_state=self.random_state)
            splits = splitter.split(np.zeros(n))
        else:
            y = Y.argmax(1)
            counts = np.bincount(y)
            # stratify when every present class can appear in every fold
            kind = StratifiedKFold if counts[counts > 0].min() >= folds else KFold
            splits = kind(folds, shuffle=True, random_state=self.random_state).split(np.zeros(n), y)
        D = np.zeros(Y.shape, dtype=np.float64)
        for train, test in splits:
            W, b = self._fit_raw(X[train], Y[train], None if SW is None else SW[train])
            D[test] = X[test] @ W.T + b
        return D

    # -- predicting ----------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """Calibrated logits ``(n, n_classes)``."""
        check_is_fitted(self, "coef_")
        # sparse @ dense wants a C-contiguous right operand; coef_.T is not, and scipy would
        # copy all of it (30 MB for vntc10) on every call: keep one contiguous copy instead
        cached = self.__dict__.get("_coef_t")
        if cached is None or cached[0] is not self.coef_:
            cached = (self.coef_, np.ascontiguousarray(self.coef_.T))
            self.__dict__["_coef_t"] = cached
        return np.asarray(X @ cached[1]) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Scores in [0, 1]: a softmax over classes (single-label) or one sigmoid per label."""
        return self.proba_from_decision(self.decision_function(X))

    def proba_from_decision(self, Z: np.ndarray) -> np.ndarray:
        """:meth:`predict_proba` from :meth:`decision_function`'s output."""
        return proba_from_decision(Z, self.multilabel_)

    def predict(self, X) -> np.ndarray:
        """Class labels (single-label) or a 0/1 indicator matrix (multi-label)."""
        P = self.predict_proba(X)
        if self.multilabel_:
            return (P >= self.thresholds_).astype(np.int8)
        return self.classes_[P.argmax(axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy (single-label) or micro-F1 (multi-label)."""
        if getattr(self, "multilabel_", False):
            Y, _, _ = encode_targets(y, list(self.classes_))
            return _multilabel_scores(Y, self.predict(X))["micro_f1"]
        return super().score(X, y, sample_weight)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_coef_t", None)  # derived: rebuilt on the next decision_function call
        return state

    # -- state for safetensors/JSON -------------------------------------------
    def get_state(self, dtype=np.float16) -> tuple[dict, dict]:
        check_is_fitted(self, "coef_")
        arrays = {
            "coef": self.coef_.astype(dtype),
            "intercept": self.intercept_.astype(np.float32),
            "thresholds": self.thresholds_.astype(np.float32),
        }
        params = self.get_params()
        params["labels"] = list(params["labels"]) if params["labels"] is not None else None
        config = {"params": params, "classes": [str(c) for c in self.classes_],
                  "multilabel": bool(self.multilabel_), "cv_scores": self.cv_scores_}
        return arrays, config

    @classmethod
    def from_state(cls, arrays: dict, config: dict) -> "LinearTopicClassifier":
        from .ngram_scorer import LinearHead  # parses and checks the saved arrays (no sklearn)

        head = LinearHead(arrays, config)
        est = cls(**config["params"])
        for name in ("classes_", "multilabel_", "coef_", "intercept_", "thresholds_", "cv_scores_", "n_features_in_"):
            setattr(est, name, getattr(head, name))
        return est


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def _fit_sigmoids(D, Y):
    """Per-label Platt scaling and the F1-maximising threshold on held-out scores."""
    K = Y.shape[1]
    a, c, thr = np.ones(K), np.zeros(K), np.full(K, 0.5)
    for k in range(K):
        y = Y[:, k]
        if y.min() == y.max():
            continue
        lr = LogisticRegression(C=1e4, max_iter=1000).fit(D[:, [k]], y)
        a[k], c[k] = lr.coef_[0, 0], lr.intercept_[0]
        thr[k] = _best_f1_threshold(_sigmoid(D[:, k] * a[k] + c[k]), y)
    return a, c, thr


def _best_f1_threshold(p, y) -> float:
    order = np.argsort(-p)
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    f1 = 2 * tp / (np.arange(1, len(ys) + 1) + ys.sum())
    i = int(np.argmax(f1))
    # halfway to the next score, so a tie does not flip on float16 rounding
    nxt = ps[i + 1] if i + 1 < len(ps) else ps[i] / 2
    return float(np.clip((ps[i] + nxt) / 2, 1e-3, 0.999))


def _fit_softmax(D, y, seed):
    """Multinomial logistic regression on the decision values (a K x K linear map)."""
    K = D.shape[1]
    lr = LogisticRegression(C=1e2, max_iter=2000, random_state=seed).fit(D, y)
    A = np.zeros((K, K))
    c = np.full(K, -1e3)  # classes absent from the folds keep a negligible score
    present = lr.classes_
    if len(present) == 2:
        A[present[1]], c[present[1]] = lr.coef_[0], lr.intercept_[0]
        A[present[0]], c[present[0]] = 0.0, 0.0
    else:
        A[present], c[present] = lr.coef_, lr.intercept_
    return A, c


def _multilabel_scores(Y, P) -> dict:
    tp = (Y & P).sum(0)
    fp = ((1 - Y) & P).sum(0)
    fn = (Y & (1 - P)).sum(0)
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 1.0)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    return {"macro_f1": float(f1.mean()), "micro_f1": float(micro), "f1": [float(v) for v in f1]}
