"""Per-language routing (the ``routed`` kind), with tiny models."""

import json

import numpy as np
import pytest

import topicclf
from topicclf.classifiers.routed import RoutedTopicClassifier

from conftest import SPORT

EN_SPORT = ["The striker scored twice in the cup final tonight", "The coach named a young goalkeeper for the match",
            "Our team won the league after a dramatic last game", "The tennis champion lost in the third round"]
EN_BUSINESS = ["Gold prices rose as investors sought safety", "The central bank raised interest rates again",
               "Shares fell sharply on the stock exchange today", "The company reported record quarterly profits"]


@pytest.fixture(scope="module")
def routed(tiny_model):
    vi = topicclf.load(tiny_model)
    en = topicclf.train((EN_SPORT + EN_BUSINESS) * 2, (["sport"] * 4 + ["business"] * 4) * 2, min_df=1, cv=2,
                        languages=["en"], name="tiny-en")
    return RoutedTopicClassifier({"vi": vi, "en": en}, meta={"name": "tiny-routed"})


def test_routes_by_language_and_roundtrips(routed, tmp_path):
    texts = [SPORT[0], EN_BUSINESS[1], "Le gouvernement a annoncé une réforme des retraites aujourd'hui", ""]
    out = routed.classify(texts)
    assert [o.labels for o in out] == [["sport"], ["business"], [], []]
    assert out[2].flags == ["unsupported_language:fr"] and out[3].flags == ["empty"]
    path = routed.save(tmp_path / "r")
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["model_type"] == "routed" and set(cfg["routes"]) == {"vi", "en"}
    back = topicclf.load(path)
    assert isinstance(back, RoutedTopicClassifier)
    # weights are stored as float16: scores move a little, labels do not
    np.testing.assert_allclose(back.predict_proba(texts), routed.predict_proba(texts), atol=5e-3)
    assert back.predict(texts) == routed.predict(texts)
    # a file inside a route is covered by the top-level manifest too
    victim = path / "routes" / "en" / "weights.safetensors"
    victim.write_bytes(victim.read_bytes()[:-3])
    with pytest.raises(topicclf.ModelFileError, match="weights.safetensors"):
        topicclf.load(path)


def test_routes_must_share_labels(tiny_model):
    vi = topicclf.load(tiny_model)
    other = topicclf.train(EN_SPORT * 3, (["a"] * 2 + ["b"] * 2) * 3, min_df=1, cv=2, languages=["en"])
    with pytest.raises(ValueError, match="disagree on labels"):
        RoutedTopicClassifier({"vi": vi, "en": other})


def test_policy5_e5_is_retired():
    # the retrained policy5 beats it on dev; the routed kind stays (tested above)
    assert "policy5-e5" not in topicclf.available_models()
    with pytest.raises(FileNotFoundError, match="policy5"):
        topicclf.load("policy5-e5")
