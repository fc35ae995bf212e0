"""Compatibility: the classifier base and ``load`` moved to :mod:`topicclf.classifiers`.

``from topicclf.model import TopicClassifier, load`` keeps working; new code imports from
``topicclf`` (the flat API) or from :mod:`topicclf.classifiers.base` and
:mod:`topicclf.classifiers.registry`.
"""

from .classifiers.base import Prediction, TopicClassifier
from .classifiers.registry import DEFAULT_MODEL, _shipped_root, available_models, load

__all__ = ["TopicClassifier", "Prediction", "load", "available_models", "DEFAULT_MODEL"]
