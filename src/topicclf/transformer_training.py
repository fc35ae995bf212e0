"""Compatibility: transformer training lives in :mod:`topicclf.classifiers.transformer_training`."""

from .classifiers.transformer_training import train_transformer, train_transformer_file

__all__ = ["train_transformer", "train_transformer_file"]
