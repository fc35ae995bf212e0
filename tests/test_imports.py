"""Every module imports on its own, in a fresh interpreter (catches import cycles that the
order of imports inside one test run would hide)."""

import subprocess
import sys

import pytest

MODULES = ["topicclf", "topicclf.cli", "topicclf.score", "topicclf.embeddings", "topicclf.sentences",
           "topicclf.classifiers", "topicclf.classifiers.base", "topicclf.classifiers.registry",
           "topicclf.classifiers.linear", "topicclf.classifiers.embedding", "topicclf.classifiers.routed",
           "topicclf.classifiers.transformer", "topicclf.classifiers.transformer_training",
           "topicclf.encoders", "topicclf.encoders.e5", "topicclf.encoders.sentencepiece",
           "topicclf.encoders.registry", "topicclf.encoders.windows", "topicclf.encoders.encoder",
           "topicclf.encoders.quantize", "topicclf.integrations.ray",
           # compatibility modules (the code moved to topicclf.classifiers)
           "topicclf.model", "topicclf.routed", "topicclf.transformer", "topicclf.transformer_training"]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module):
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]


def test_transformer_reexports():
    from topicclf.transformer import EmbeddingFeaturizer, train_transformer, train_transformer_file

    assert callable(train_transformer) and callable(train_transformer_file) and EmbeddingFeaturizer.__name__ == "EmbeddingFeaturizer"


def test_compatibility_modules_reexport_the_new_homes():
    import topicclf
    from topicclf.classifiers.routed import RoutedTopicClassifier
    from topicclf.classifiers.transformer import TransformerTopicClassifier
    from topicclf.model import TopicClassifier, load
    from topicclf.routed import RoutedTopicClassifier as R
    from topicclf.transformer import TransformerTopicClassifier as T

    assert TopicClassifier is topicclf.TopicClassifier and load is topicclf.load
    assert R is RoutedTopicClassifier and T is TransformerTopicClassifier


def test_loading_a_linear_model_imports_no_torch():
    code = "import sys, topicclf; topicclf.load('vntc10'); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]
    assert r.stdout.strip() == "False"
