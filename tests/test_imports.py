"""Every module imports on its own, in a fresh interpreter (catches import cycles that the
order of imports inside one test run would hide)."""

import subprocess
import sys

import pytest

MODULES = ["topicclf", "topicclf.cli", "topicclf.score", "topicclf.routed", "topicclf.embeddings",
           "topicclf.transformer", "topicclf.transformer_training", "topicclf.encoders",
           "topicclf.integrations.ray"]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module):
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]


def test_transformer_reexports():
    from topicclf.transformer import EmbeddingFeaturizer, train_transformer, train_transformer_file

    assert callable(train_transformer) and callable(train_transformer_file) and EmbeddingFeaturizer.__name__ == "EmbeddingFeaturizer"
