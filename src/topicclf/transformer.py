"""Compatibility: the transformer kind lives in :mod:`topicclf.classifiers.transformer`, its
training in :mod:`topicclf.classifiers.transformer_training`, embedding features in
:mod:`topicclf.embeddings` and int8 quantization in :mod:`topicclf.encoders.quantize`."""

from .classifiers.transformer import WINDOW_POOLINGS, TransformerTopicClassifier, pool_windows
from .classifiers.transformer_training import train_transformer, train_transformer_file
from .embeddings import EmbeddingFeaturizer
from .encoders.quantize import quantize_linear_layers

__all__ = [
    "EmbeddingFeaturizer",
    "TransformerTopicClassifier",
    "WINDOW_POOLINGS",
    "pool_windows",
    "quantize_linear_layers",
    "train_transformer",
    "train_transformer_file",
]
