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


# ------------------------------------------------------------------------ evidence
SPORT_WORDS = "đội tuyển bóng đá trận đấu cầu thủ huấn luyện viên bàn thắng giải vô địch sân".split()
MONEY_WORDS = "giá vàng ngân hàng lãi suất chứng khoán doanh nghiệp cổ phiếu thị trường".split()
FILLER = "hôm nay theo trong các của và được với người năm mới cho".split()


@pytest.fixture(scope="module")
def small_model():
    import random

    rng = random.Random(5)

    def text(words):
        return " ".join(rng.choice(words) if rng.random() < 0.7 else rng.choice(FILLER) for _ in range(14))

    texts = [text(SPORT_WORDS) for _ in range(20)] + [text(MONEY_WORDS) for _ in range(20)]
    labels = ["sport"] * 20 + ["business"] * 20
    return topicclf.train(texts, labels, min_df=1, cv=2, languages=["vi"], name="small")


ARTICLE = ("Tin tổng hợp cuối tuần\n\n"
           "Hôm nay các người dân đi chợ mới như mọi năm. "
           "Đội tuyển bóng đá thắng trận đấu nhờ bàn thắng của cầu thủ trẻ ở giải vô địch. "
           "Giá vàng và lãi suất ngân hàng tăng, cổ phiếu doanh nghiệp trên thị trường chứng khoán giảm.")


def test_evidence_ranks_the_on_topic_sentence_first(small_model):
    ev = small_model.evidence(ARTICLE, top_k=2)
    assert set(ev) == set(small_model.labels) == {"sport", "business"}
    assert ev["sport"][0][0].startswith("Đội tuyển bóng đá thắng")
    assert ev["business"][0][0].startswith("Giá vàng và lãi suất")
    for pairs in ev.values():
        assert len(pairs) == 2
        scores = [s for _, s in pairs]
        assert scores == sorted(scores, reverse=True)
        assert all(isinstance(s, float) and s == round(s, 4) and 0.0 <= s <= 1.0 for s in scores)
    # scores are the model's own scores of each sentence
    sentence, score = ev["sport"][0]
    k = small_model.labels.index("sport")
    assert score == round(float(small_model.predict_proba([sentence])[0, k]), 4)


def test_evidence_top_k_labels_and_the_title(small_model):
    ev = small_model.evidence(ARTICLE, top_k=10, labels=["sport"])
    assert list(ev) == ["sport"]
    sentences = [s for s, _ in ev["sport"]]
    assert len(sentences) == 4 and "Tin tổng hợp cuối tuần" in sentences  # the title line is one
    assert small_model.evidence(ARTICLE, top_k=1)["business"][0][0].startswith("Giá vàng")


@pytest.mark.parametrize("text", ["", "   \n ", "Chia sẻ\nBình luận", "ok", "12 345 678",
                                  "Le gouvernement a annoncé une réforme des retraites aujourd'hui à Paris."])
def test_evidence_of_a_flagged_text_is_empty_for_every_label(small_model, text):
    assert small_model.evidence(text) == {"sport": [], "business": []}


def test_evidence_bad_arguments(small_model):
    with pytest.raises(TypeError, match="one text"):
        small_model.evidence([ARTICLE])
    with pytest.raises(TypeError, match="bytes"):
        small_model.evidence(ARTICLE.encode())
    with pytest.raises(ValueError, match="top_k"):
        small_model.evidence(ARTICLE, top_k=0)
    with pytest.raises(ValueError, match="unknown labels"):
        small_model.evidence(ARTICLE, labels=["sports"])


def test_evidence_on_shipped_policy5():
    clf = topicclf.load("policy5")
    text = Path(__file__).resolve().parents[1].joinpath("examples", "en_election.txt").read_text(encoding="utf-8")
    ev = clf.evidence(text)
    assert list(ev) == clf.labels and all(len(v) == 3 for v in ev.values())
    clean = topicclf.normalize(text)
    assert all(s in clean for v in ev.values() for s, _ in v)
    assert ev["democracy"][0][1] > 0.5 and ev["democracy"][0][1] >= ev["religion"][0][1]


def test_evidence_on_a_routed_model(tiny_model):
    from topicclf.classifiers.routed import RoutedTopicClassifier

    en = topicclf.train(["The striker scored twice in the cup final tonight",
                         "The coach named a young goalkeeper for the match",
                         "Gold prices rose as investors sought safety",
                         "Shares fell sharply on the stock exchange today"] * 3,
                        ["sport", "sport", "business", "business"] * 3, min_df=1, cv=2, languages=["en"])
    routed = RoutedTopicClassifier({"vi": topicclf.load(tiny_model), "en": en})
    text = "The striker scored twice in the cup final. Gold prices rose as investors sought safety."
    ev = routed.evidence(text, top_k=1)
    assert ev["sport"][0][0] == "The striker scored twice in the cup final."
    assert ev["business"][0][0] == "Gold prices rose as investors sought safety."
    assert routed.evidence("Le gouvernement a annoncé une réforme des retraites aujourd'hui.") == \
        {l: [] for l in routed.labels}
