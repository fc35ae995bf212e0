"""The model kinds: the registry that loads them by the kind in config.json, and the base
contract they share (evidence sentences included)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import topicclf
from topicclf.classifiers.base import TopicClassifier
from topicclf.classifiers.linear import NgramTopicClassifier
from topicclf.classifiers.registry import KINDS
from topicclf.serialization import ModelFileError


def _rewrite(d: Path, mutate):
    """Edit config.json and re-sign the manifest."""
    from topicclf.serialization import sha256_file

    cfg = json.loads((d / "config.json").read_text())
    mutate(cfg)
    (d / "config.json").write_text(json.dumps(cfg))
    man = json.loads((d / "manifest.json").read_text())
    man["files"]["config.json"] = {"sha256": sha256_file(d / "config.json"), "size": (d / "config.json").stat().st_size}
    (d / "manifest.json").write_text(json.dumps(man))


# ------------------------------------------------------------------------ the registry
@pytest.mark.filterwarnings("ignore::topicclf.serialization.ModelVersionWarning")
def test_unknown_kind_names_known_kinds_and_writer_version(tiny_model, tmp_path):
    d = tmp_path / "future"
    shutil.copytree(tiny_model, d)

    def future(cfg):
        cfg["model_type"] = "quantum"
        cfg["versions"]["topicclf"] = "9.1.0"

    _rewrite(d, future)
    with pytest.raises(ModelFileError) as e:
        topicclf.load(d)
    msg = str(e.value)
    assert "'quantum'" in msg and "topicclf 9.1.0" in msg
    assert all(kind in msg for kind in KINDS)


def test_missing_kind_and_missing_versions(tiny_model, tmp_path):
    d = tmp_path / "nokind"
    shutil.copytree(tiny_model, d)

    def strip(cfg):
        del cfg["model_type"]
        del cfg["versions"]

    _rewrite(d, strip)
    with pytest.raises(ModelFileError, match=r"unknown model kind None.*unknown topicclf version"):
        topicclf.load(d)


def test_shipped_models_load_as_their_kind():
    for name in ("policy5", "vntc10"):
        clf = topicclf.load(name)
        assert type(clf) is NgramTopicClassifier and isinstance(clf, topicclf.TopicClassifier)
        assert clf.config()["model_type"] == "linear"


def test_a_bare_pipeline_model_scores_but_does_not_save(tiny_sets, tmp_path):
    texts, labels = tiny_sets
    trained = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, languages=["vi"])
    bare = TopicClassifier(trained.pipeline, languages=["vi"])
    np.testing.assert_allclose(bare.predict_proba(texts), trained.predict_proba(texts), atol=1e-5)
    assert bare.config()["model_type"] is None
    with pytest.raises(NotImplementedError, match="cannot be saved"):
        bare.save(tmp_path / "x")
    with pytest.raises(NotImplementedError, match="TF-IDF models only"):
        bare.explain(texts[0])


def test_routed_needs_a_loader_for_its_routes():
    from topicclf.classifiers.routed import RoutedTopicClassifier

    with pytest.raises(TypeError, match="topicclf.load"):
        RoutedTopicClassifier.from_parts("somewhere", {"routes": {}}, {}, {})
