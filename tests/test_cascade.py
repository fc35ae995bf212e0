"""The cascade kind: fast model first, slow model for the texts near a threshold."""

import json

import numpy as np
import pytest

import topicclf
from topicclf.classifiers.cascade import CascadeTopicClassifier, to_common_scale

LABELS = ["sport", "business"]
SPORT = ["The striker scored twice in the cup final tonight", "The coach named a young goalkeeper for the match",
         "Our team won the league after a dramatic last game", "The tennis champion lost in the third round"]
BUSINESS = ["Gold prices rose as investors sought safety", "The central bank raised interest rates again",
            "Shares fell sharply on the stock exchange today", "The company reported record quarterly profits"]
TEXTS = (SPORT + BUSINESS + ["The club's shares rose after the striker signed a record contract",
                             "Weather forecast: rain and wind along the coast tomorrow morning"]) * 3
GOLD = ([["sport"]] * 4 + [["business"]] * 4 + [["sport", "business"], []]) * 3


def _model(C, name):
    return topicclf.train(TEXTS, GOLD, label_set=LABELS, min_df=1, cv=2, C=C, languages=["en"], name=name)


@pytest.fixture(scope="module")
def parts():
    return _model(0.05, "fast"), _model(5.0, "slow")


PROBE = ["The striker signed for a club whose shares rose", "Interest rates and the cup final",
         "Gold prices fell today", "The goalkeeper saved a penalty", "", "Đội tuyển Việt Nam thắng trận chung kết tối nay trên sân nhà"]


def test_common_scale_keeps_each_models_decisions():
    P, t = np.array([[0.1, 0.3, 0.9], [0.29, 0.31, 0.5]]), np.array([0.3, 0.3, 0.5])
    S = to_common_scale(P, t)
    assert ((S >= 0.5) == (P >= t)).all() and (np.diff(to_common_scale(np.linspace(0, 1, 11)[:, None], [0.3]), axis=0) > 0).all()
    assert S.min() >= 0 and S.max() <= 1


def test_band_zero_is_the_fast_model_and_half_band_always_asks_the_slow_one(parts):
    fast, slow = parts
    c0 = CascadeTopicClassifier(fast, slow, band=0.0)
    assert c0.predict(PROBE) == fast.predict(PROBE) and c0.handover_rate_ == 0.0
    c1 = CascadeTopicClassifier(fast, slow, band=0.5, slow_weight=0.5)
    S = c1.predict_proba(PROBE)
    assert c1.handover_rate_ == 1.0
    expected = 0.5 * to_common_scale(fast.predict_proba(PROBE), fast.estimator.thresholds_) \
        + 0.5 * to_common_scale(slow.predict_proba(PROBE), slow.estimator.thresholds_)
    ok = [i for i, f in enumerate(c1.classify(PROBE)) if not f.flags]
    np.testing.assert_allclose(S[ok], expected[ok])
    flags = [p.flags for p in c1.classify(PROBE)]
    assert (S[[4, 5]] == 0).all() and flags[4] == ["empty"] and flags[5] == ["unsupported_language:vi"]
    c_slow = CascadeTopicClassifier(fast, slow, band=0.5, slow_weight=1.0)
    assert c_slow.predict(PROBE) == slow.predict(PROBE)


def test_handover_is_the_uncertain_share(parts):
    fast, slow = parts
    c = CascadeTopicClassifier(fast, slow, band=0.1)
    c.predict(PROBE[:4])
    S = to_common_scale(fast.predict_proba(PROBE[:4]), fast.estimator.thresholds_)
    assert c.handover_rate_ == pytest.approx(float((np.abs(S - 0.5) < 0.1).any(1).mean()))


def test_save_load_roundtrip_thresholds_and_evidence(parts, tmp_path):
    fast, slow = parts
    c = CascadeTopicClassifier(fast, slow, band=0.3, meta={"name": "tiny-cascade"})
    c.set_thresholds({"business": 0.6})
    path = c.save(tmp_path / "c")
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["model_type"] == "cascade" and cfg["cascade"]["band"] == 0.3 and cfg["thresholds"]["business"] == 0.6
    back = topicclf.load(path)
    assert isinstance(back, CascadeTopicClassifier) and back.thresholds == c.thresholds
    np.testing.assert_allclose(back.predict_proba(PROBE), c.predict_proba(PROBE), atol=5e-3)
    ev = back.evidence("Gold prices rose sharply today. The striker scored twice in the final.", top_k=1)
    assert ev["business"][0][0].startswith("Gold") and ev["sport"][0][0].startswith("The striker")
    # a damaged part is refused through the top-level manifest
    victim = path / "parts" / "slow" / "weights.safetensors"
    victim.write_bytes(victim.read_bytes()[:-3])
    with pytest.raises(topicclf.ModelFileError, match="weights.safetensors"):
        topicclf.load(path)


def test_bad_cascades_are_refused(parts, tmp_path):
    fast, slow = parts
    other = topicclf.train(TEXTS, [g[0] if g else "none" for g in GOLD], min_df=1, cv=2, languages=["en"])
    with pytest.raises(ValueError, match="disagree on labels"):
        CascadeTopicClassifier(fast, other)
    with pytest.raises(ValueError, match="band"):
        CascadeTopicClassifier(fast, slow, band=0.7)
    path = CascadeTopicClassifier(fast, slow).save(tmp_path / "c")
    cfg = json.loads((path / "config.json").read_text())
    del cfg["cascade"]["slow"]
    (path / "config.json").write_text(json.dumps(cfg))
    from topicclf.classifiers.cascade import CascadeTopicClassifier as C
    with pytest.raises(topicclf.ModelFileError, match="cascade"):
        C.from_parts(path, cfg, load=topicclf.load)
