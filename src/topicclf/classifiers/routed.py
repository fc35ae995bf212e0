"""The ``routed`` kind: one model per language behind one interface.

:class:`RoutedTopicClassifier` sends each text to the model of its language (for example a
fast TF-IDF model for Vietnamese and an embedding model for English): one label set, one
``predict``/``classify``, one directory with a manifest over every file. Its routes are
models of any kind, saved under ``routes/<lang>/`` and loaded by the registry's loader
(passed in as ``load``), so this module imports no other kind.

Example:
    >>> vi, en = topicclf.load("policy5"), topicclf.load("my-en-model")       # doctest: +SKIP
    >>> clf = RoutedTopicClassifier({"vi": vi, "en": en}, meta={"name": "my-routed"})  # doctest: +SKIP
    >>> clf.save("my-routed"); topicclf.load("my-routed").routes              # doctest: +SKIP
    {'vi': TopicClassifier(name='policy5', ...), 'en': ...}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..serialization import ModelFileError, save_model_dir
from .base import TopicClassifier, saved_part_files

__all__ = ["RoutedTopicClassifier"]


class RoutedTopicClassifier(TopicClassifier):
    """One model per language behind one interface; all routes share one label list."""

    kind = "routed"
    _THREAD_SAFE_SCORING = False  # a route may run torch

    def __init__(self, routes: dict[str, TopicClassifier], meta: dict | None = None):
        labels = {tuple(m.labels) for m in routes.values()}
        if len(labels) != 1:
            raise ValueError(f"routes disagree on labels: {sorted(labels)}")
        if len({m.multilabel for m in routes.values()}) != 1:
            raise ValueError("routes mix single-label and multi-label models")
        self.routes = dict(routes)
        first = next(iter(routes.values()))
        super().__init__(first.pipeline, languages=list(routes), max_chars=first.max_chars,
                         min_tokens=first.min_tokens, meta=meta)

    def __repr__(self) -> str:
        return f"RoutedTopicClassifier(name={self.name!r}, routes={ {k: v.name for k, v in self.routes.items()} })"

    def _score(self, clean, langs, flags) -> np.ndarray:
        P = np.zeros((len(clean), len(self.labels)))
        for lang, model in self.routes.items():
            idx = [i for i, (l, f) in enumerate(zip(langs, flags)) if l == lang and self._scored(f)]
            if idx:
                P[idx] = model._score([clean[i] for i in idx], [lang] * len(idx), [flags[i] for i in idx])
        return P

    def _labels_from(self, P, flags, langs=None) -> list[list[str]]:
        if langs is None:
            raise ValueError("a routed model needs each text's language to apply its route's thresholds")
        out: list[list[str]] = [[] for _ in flags]
        for lang, model in self.routes.items():
            idx = [i for i, l in enumerate(langs) if l == lang]
            if idx:
                for i, labels in zip(idx, model._labels_from(P[idx], [flags[i] for i in idx])):
                    out[i] = labels
        return out

    def set_thresholds(self, thresholds, *, lang: str | None = None) -> "RoutedTopicClassifier":
        """Set thresholds in every route, or in the route of ``lang`` only."""
        new = self._checked_thresholds(thresholds)
        if lang is not None and lang not in self.routes:
            raise ValueError(f"no route for {lang!r}; the routes are {list(self.routes)}")
        for code, model in self.routes.items():
            if lang is None or code == lang:
                model.set_thresholds(new)
        return self

    @property
    def label_info(self) -> dict[str, dict]:
        """As for any model, with each threshold per route: ``{"vi": 0.4, "en": 0.3}``."""
        info = super().label_info
        for label, entry in info.items():
            entry["threshold"] = ({lang: m.thresholds[label] for lang, m in self.routes.items()}
                                  if self.multilabel else None)
        return info

    def tune_thresholds(self, texts, labels, *, min_positives: int = 3) -> dict:
        """Each route's thresholds tuned on the texts in its language: ``{"routes": {lang: report}}``
        (see :meth:`TopicClassifier.tune_thresholds`)."""
        texts, labels = list(texts), list(labels)
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} label lists")
        self._gold(labels)  # unknown labels fail before anything changes
        _, langs, _ = self.prepare(texts)
        out = {}
        for lang, model in self.routes.items():
            idx = [i for i, l in enumerate(langs) if l == lang]
            if idx:
                out[lang] = model.tune_thresholds([texts[i] for i in idx], [labels[i] for i in idx],
                                                  min_positives=min_positives)
        return {"records": len(texts), "routes": out}

    def explain(self, text, top_k=10, labels=None):
        clean, langs, flags = self.prepare([text])
        model = self.routes.get(langs[0])
        if model is None:
            return {l: [] for l in (labels or [])}
        return model.explain(text, top_k=top_k, labels=labels)

    def config(self) -> dict:
        return {**{k: v for k, v in self.meta.items() if k not in ("format_version", "versions")},
                "model_type": "routed", "labels": self.labels, "multilabel": self.multilabel,
                "languages": self.languages, "routes": {lang: f"routes/{lang}" for lang in self.routes},
                "route_models": {lang: m.name for lang, m in self.routes.items()}}

    def save(self, path, card_extra: str = "", extra_files=None, *, overwrite: bool = False) -> Path:
        from ..modelcard import model_card

        extra = {**(extra_files or {}), **saved_part_files(self.routes, "routes")}
        from ..serialization import library_versions

        config = self.config()
        card = model_card({**config, "versions": library_versions()}, extra=card_extra, path=path)
        return save_model_dir(path, config, {}, {}, card, extra, overwrite=overwrite)

    @classmethod
    def from_parts(cls, path, config: dict, arrays: dict | None = None, state: dict | None = None, *,
                   load=None) -> "RoutedTopicClassifier":
        """``load`` (required) loads each route's directory, whatever its kind."""
        if load is None:
            raise TypeError("a routed model loads its routes with a loader: use topicclf.load(path)")
        routes = {}
        for lang, rel in config.get("routes", {}).items():
            sub = Path(path) / rel
            if ".." in Path(rel).parts or not sub.is_dir():
                raise ModelFileError(f"{path}: route {lang!r} points to a missing folder {rel!r}")
            routes[lang] = load(sub)
        if not routes:
            raise ModelFileError(f"{path}: a routed model without routes")
        return cls(routes, meta=config)
