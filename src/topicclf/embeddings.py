"""Frozen encoder embeddings as scikit-learn features.

:class:`EmbeddingFeaturizer` turns texts into L2-normalised, mean-pooled encoder embeddings
(:class:`topicclf.encoders.Encoder`, sliding windows, an on-disk cache keyed by text hash), to
feed a :class:`~topicclf.linear.LinearTopicClassifier` alone or next to TF-IDF features in a
:class:`~sklearn.pipeline.FeatureUnion`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .encoders import Encoder


__all__ = ["EmbeddingFeaturizer"]


# ------------------------------------------------------------------ embedding features
class _WindowLimitedEncoder(Encoder):
    """:class:`Encoder` that embeds only the first ``max_windows`` windows of a text and can
    run int8-quantized (both are part of the cache key)."""

    def __init__(self, *args, max_windows: int | None = None, quantize: bool = False, **kw):
        super().__init__(*args, **kw)
        self.max_windows = max_windows
        self.quantized = bool(quantize)
        if self.quantized:
            from .encoders.quantize import quantize_linear_layers

            self.model = quantize_linear_layers(self.model).eval()

    def _key(self, text: str) -> str:
        key = super()._key(text)
        if self.max_windows or self.quantized:  # other settings, other cache entries
            extra = json.dumps([self.max_windows, "int8-ffn-down-fp32" if self.quantized else None])
            key = hashlib.sha256((key + extra).encode()).hexdigest()
        return key

    def token_windows(self, texts):
        wins = super().token_windows(texts)
        return [ws[:self.max_windows] for ws in wins] if self.max_windows else wins


def _default_cache_dir() -> Path:
    return Path(os.environ.get("TOPICCLF_CACHE") or Path.home() / ".cache" / "topicclf")


class EmbeddingFeaturizer(TransformerMixin, BaseEstimator):
    """Texts -> L2-normalised encoder embeddings (dense ``float32``), for scikit-learn pipelines.

    Wraps :class:`topicclf.encoders.Encoder` (mean pooling, sliding windows, NFC) with its
    SQLite embedding cache, so that refitting a head or re-running an evaluation does not
    embed a text twice. Use it alone before a
    :class:`~topicclf.linear.LinearTopicClassifier`, or next to TF-IDF features::

        FeatureUnion([("tfidf", NgramVectorizer()), ("e5", EmbeddingFeaturizer(weight=1.0))])

    Parameters
    ----------
    model : encoder name or folder (:func:`topicclf.encoders.resolve_encoder`)
    max_length, stride, window_pooling, prefix, batch_size, device : as for :class:`Encoder`
    max_windows : embed only the first ``max_windows`` windows of a text (``None``: all)
    weight : the embeddings are multiplied by this (balances them against TF-IDF columns)
    quantize : dynamic int8 Linear layers except the FFN down projections (CPU)
    cache_dir : ``"auto"`` = ``$TOPICCLF_CACHE`` or ``~/.cache/topicclf``; ``None``: no cache

    The encoder is loaded on first use and is not pickled with the featurizer.
    """

    def __init__(self, model: str = "multilingual-e5-small", *, max_length: int = 512,
                 stride: int | None = None, max_windows: int | None = None,
                 window_pooling: str = "mean", prefix: str = "passage: ", batch_size: int = 16,
                 weight: float = 1.0, quantize: bool = False, device: str = "cpu", cache_dir="auto"):
        self.model = model
        self.max_length = max_length
        self.stride = stride
        self.max_windows = max_windows
        self.window_pooling = window_pooling
        self.prefix = prefix
        self.batch_size = batch_size
        self.weight = weight
        self.quantize = quantize
        self.device = device
        self.cache_dir = cache_dir

    def _settings(self) -> tuple:
        return (os.fspath(self.model), self.max_length, self.stride, self.max_windows, self.window_pooling,
                self.prefix, self.batch_size, self.quantize, self.device, None if self.cache_dir is None else os.fspath(self.cache_dir))

    @property
    def encoder(self) -> Encoder:
        enc = self.__dict__.get("_encoder")
        if enc is None or self.__dict__.get("_encoder_settings") != self._settings():
            cache = _default_cache_dir() if self.cache_dir == "auto" else self.cache_dir
            enc = _WindowLimitedEncoder(self.model, max_length=self.max_length, stride=self.stride,
                                        window_pooling=self.window_pooling, prefix=self.prefix,
                                        batch_size=self.batch_size, device=self.device, cache_dir=cache,
                                        max_windows=self.max_windows, quantize=self.quantize)
            self.__dict__["_encoder"], self.__dict__["_encoder_settings"] = enc, self._settings()
        return enc

    def fit(self, X, y=None) -> "EmbeddingFeaturizer":
        """Nothing to learn: loads the encoder and records the output width."""
        self.n_features_out_ = int(self.encoder.dim)
        return self

    def transform(self, X) -> np.ndarray:
        from .features import _check_texts

        texts = _check_texts(X)
        return (self.encoder.encode(texts) * np.float32(self.weight)).astype(np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        n = getattr(self, "n_features_out_", None) or int(self.encoder.dim)
        return np.asarray([f"emb{i}" for i in range(n)], dtype=object)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_encoder", None)
        state.pop("_encoder_settings", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
