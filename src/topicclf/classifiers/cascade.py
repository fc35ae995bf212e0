"""The ``cascade`` kind: a fast model answers what it is sure of, a slow one helps with the rest.

:class:`CascadeTopicClassifier` scores every text with its ``fast`` model (e.g. the TF-IDF
``policy5``). A text whose score is near a threshold for some label (within ``band`` on the
common scale below) is also scored by the ``slow`` model (e.g. a fine-tuned encoder), and the
two scores are averaged (``slow_weight``). Most texts never reach the slow model, so the
cascade runs at a multiple of the slow model's speed with most of the pair's accuracy.

Scores are on one scale for both models: each model's score is mapped piecewise-linearly so
that its own threshold lands on 0.5 (0 -> 0, threshold -> 0.5, 1 -> 1). A label is predicted
when the cascade's score reaches its threshold, 0.5 unless set otherwise
(:meth:`~topicclf.classifiers.base.TopicClassifier.set_thresholds`). For single-label models
the raw probabilities are averaged and "near" means a top-two margin under ``band``.

The two parts are saved under ``parts/fast`` and ``parts/slow`` and loaded by the registry's
loader, so this module imports no other kind.

Example:
    >>> clf = CascadeTopicClassifier(topicclf.load("policy5"), teacher, band=0.2)  # doctest: +SKIP
    >>> clf.predict(texts); clf.handover_rate_                                     # doctest: +SKIP
    0.27
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..serialization import ModelFileError, save_model_dir
from .base import TopicClassifier, _Thresholds, saved_part_files

__all__ = ["CascadeTopicClassifier", "to_common_scale"]


def to_common_scale(P: np.ndarray, thresholds) -> np.ndarray:
    """Map scores so that each column's threshold becomes 0.5, monotonically, 0 and 1 kept.

    >>> to_common_scale(np.array([[0.2, 0.4, 1.0]]), [0.4, 0.4, 0.4]).round(3).tolist()
    [[0.25, 0.5, 1.0]]
    """
    t = np.clip(np.asarray(thresholds, dtype=np.float64), 1e-6, 1 - 1e-6)
    P = np.asarray(P, dtype=np.float64)
    return np.where(P < t, 0.5 * P / t, 0.5 + 0.5 * (P - t) / (1 - t))


class CascadeTopicClassifier(TopicClassifier):
    """``fast`` scores everything; texts near a threshold are also scored by ``slow``.

    Parameters
    ----------
    fast, slow : models of any kind with the same labels (not routed: one threshold per label)
    band : a text goes to ``slow`` when some label's common-scale score is within ``band`` of
        0.5 (multi-label), or its top-two margin is under ``band`` (single-label)
    slow_weight : the slow model's share of the averaged score for those texts
    thresholds : per-label thresholds on the common scale (default 0.5 each)

    After each call, ``handover_rate_`` is the share of scored texts that went to ``slow``.
    """

    kind = "cascade"
    _THREAD_SAFE_SCORING = False  # the slow part usually runs torch

    def __init__(self, fast: TopicClassifier, slow: TopicClassifier, *, band: float = 0.15,
                 slow_weight: float = 0.5, thresholds=None, meta: dict | None = None):
        if list(fast.labels) != list(slow.labels):
            raise ValueError(f"fast and slow models disagree on labels: {fast.labels} vs {slow.labels}")
        if fast.multilabel != slow.multilabel:
            raise ValueError("fast and slow models mix single-label and multi-label")
        for part in (fast, slow):
            if hasattr(part, "routes"):
                raise ValueError("a cascade's parts need one threshold per label: use models that are not routed")
        if not 0 <= band <= 0.5:
            raise ValueError(f"band must be in [0, 0.5], got {band!r}")
        if not 0 <= slow_weight <= 1:
            raise ValueError(f"slow_weight must be in [0, 1], got {slow_weight!r}")
        self.fast, self.slow = fast, slow
        self.band, self.slow_weight = float(band), float(slow_weight)
        K = len(fast.labels)
        self.thresholds_ = np.full(K, 0.5) if thresholds is None else np.array(
            [float(thresholds[l]) for l in fast.labels])
        self.handover_rate_ = 0.0
        super().__init__(fast.pipeline, languages=fast.languages, max_chars=fast.max_chars,
                         min_tokens=fast.min_tokens, meta=meta)

    def __repr__(self) -> str:
        return (f"CascadeTopicClassifier(name={self.name!r}, fast={self.fast.name!r}, slow={self.slow.name!r}, "
                f"band={self.band}, slow_weight={self.slow_weight})")

    @property
    def labels(self) -> list[str]:
        return list(self.fast.labels)

    @property
    def multilabel(self) -> bool:
        return self.fast.multilabel

    @property
    def thresholds(self) -> dict[str, float]:
        return _Thresholds(zip(self.labels, map(float, self.thresholds_)))

    def _set_thresholds(self, new: dict[str, float]) -> None:
        arr = self.thresholds_.copy()
        for label, t in new.items():
            arr[self.labels.index(label)] = t
        self.thresholds_ = arr

    def _part_scores(self, model, clean, langs, flags) -> np.ndarray:
        P = model._score(clean, langs, flags)
        return to_common_scale(P, model.estimator.thresholds_) if self.multilabel else P

    def unsure(self, S: np.ndarray) -> np.ndarray:
        """Rows of fast-model scores (common scale) that go to the slow model."""
        if self.multilabel:
            return (np.abs(S - 0.5) < self.band).any(axis=1)
        top2 = -np.sort(-S, axis=1)[:, :2]
        return (top2[:, 0] - top2[:, 1]) < self.band

    def _score(self, clean, langs, flags) -> np.ndarray:
        S = self._part_scores(self.fast, clean, langs, flags)
        ok = np.array([self._scored(f) for f in flags], dtype=bool)
        go = self.unsure(S) & ok
        idx = np.flatnonzero(go)
        if len(idx):
            slow = self._part_scores(self.slow, [clean[i] for i in idx], [langs[i] for i in idx],
                                     [flags[i] for i in idx])
            S[idx] = (1 - self.slow_weight) * S[idx] + self.slow_weight * slow
        self.handover_rate_ = float(go.sum() / max(1, ok.sum()))
        S[~ok] = 0.0
        return S

    def _labels_from(self, P, flags, langs=None) -> list[list[str]]:
        labels = np.asarray(self.labels, dtype=object)
        if not self.multilabel:
            return [[str(labels[b])] if self._scored(f) else [] for b, f in zip(P.argmax(1), flags)]
        return [list(labels[row]) if self._scored(f) else [] for row, f in zip(P >= self.thresholds_, flags)]

    def explain(self, text, top_k=10, labels=None):
        """The fast model's explanation (its terms decide most texts)."""
        return self.fast.explain(text, top_k=top_k, labels=labels)

    def config(self) -> dict:
        return {**super().config(), "model_type": "cascade",
                "cascade": {"band": self.band, "slow_weight": self.slow_weight,
                            "fast": "parts/fast", "slow": "parts/slow",
                            "fast_model": self.fast.name, "slow_model": self.slow.name}}

    def save(self, path, card_extra: str = "", extra_files=None, *, overwrite: bool = False,
             reference_base: bool = False) -> Path:
        """Save with both parts inside; ``reference_base`` goes to a transformer part's save."""
        from ..modelcard import model_card
        from ..serialization import library_versions

        extra = {**(extra_files or {}), **saved_part_files(
            {"fast": self.fast, "slow": self.slow}, "parts",
            lambda m: {"reference_base": True} if reference_base and m.kind == "transformer" else {})}
        config = self.config()
        card = model_card({**config, "versions": library_versions()}, extra=card_extra, path=path)
        return save_model_dir(path, config, {}, {}, card, extra, overwrite=overwrite)

    @classmethod
    def from_parts(cls, path, config: dict, arrays: dict | None = None, state: dict | None = None, *,
                   load=None) -> "CascadeTopicClassifier":
        """``load`` (required) loads each part's directory, whatever its kind."""
        if load is None:
            raise TypeError("a cascade loads its parts with a loader: use topicclf.load(path)")
        try:
            spec = config["cascade"]
            parts = {}
            for part in ("fast", "slow"):
                rel = spec[part]
                sub = Path(path) / rel
                if ".." in Path(rel).parts or not sub.is_dir():
                    raise ModelFileError(f"{path}: cascade part {part!r} points to a missing folder {rel!r}")
                parts[part] = load(sub)
            return cls(parts["fast"], parts["slow"], band=float(spec["band"]),
                       slow_weight=float(spec["slow_weight"]), thresholds=config.get("thresholds"), meta=config)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, ModelFileError):
                raise
            raise ModelFileError(f"{path}: bad cascade config ({e})") from None
