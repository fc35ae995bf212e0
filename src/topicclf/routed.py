"""Compatibility: the routed and embedding kinds live in :mod:`topicclf.classifiers.routed`
and :mod:`topicclf.classifiers.embedding`."""

from .classifiers.embedding import EmbeddingTopicClassifier, embedding_model
from .classifiers.routed import RoutedTopicClassifier

__all__ = ["EmbeddingTopicClassifier", "RoutedTopicClassifier", "embedding_model"]
