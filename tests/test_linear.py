import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from topicclf.features import NgramVectorizer
from topicclf.linear import LinearTopicClassifier, encode_targets

from conftest import BUSINESS, SPORT


def pipe(**kw):
    return Pipeline([("features", NgramVectorizer(min_df=1)), ("classifier", LinearTopicClassifier(cv=2, **kw))])


def test_single_label_contract():
    X, y = SPORT + BUSINESS, ["sport"] * 6 + ["business"] * 6
    p = pipe()
    assert p.fit(X, y) is p
    est = p[-1]
    assert list(est.classes_) == ["business", "sport"] and est.multilabel_ is False
    P = p.predict_proba(X)
    assert P.shape == (12, 2) and np.all((P >= 0) & (P <= 1))
    np.testing.assert_allclose(P.sum(1), 1.0)
    assert list(p.predict(["cầu thủ ghi bàn thắng", "giá vàng và lãi suất"])) == ["sport", "business"]
    assert clone(est).get_params() == est.get_params() and not hasattr(clone(est), "coef_")


def test_multilabel_thresholds_and_any_labels():
    X = SPORT + BUSINESS + [s + " ; " + b for s, b in zip(SPORT, BUSINESS)]
    y = [["thể_thao"]] * 6 + [["kinh tế"]] * 6 + [["thể_thao", "kinh tế"]] * 6
    p = pipe().fit(X * 2, y * 2)
    est = p[-1]
    assert est.multilabel_ and est.thresholds_.shape == (2,)
    Y = p.predict(X)
    assert Y.shape == (18, 2) and set(np.unique(Y)) <= {0, 1}
    assert (Y[12:] == 1).all()  # both topics in one text
    assert 0 < est.score(p[0].transform(X), y) <= 1


def test_gridsearch_and_declared_labels():
    X, y = (SPORT + BUSINESS) * 2, (["sport"] * 6 + ["business"] * 6) * 2
    g = GridSearchCV(pipe(), {"classifier__C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert g.best_score_ > 0.8
    with pytest.raises(ValueError, match="unknown label 'sport'"):
        pipe(labels=["business", "politics"]).fit(X, y)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least two classes"):
        pipe().fit(SPORT, ["sport"] * 6)
    with pytest.raises(ValueError, match="record 1"):
        encode_targets([["a"], "b"])


def test_state_roundtrip_float16_close():
    X, y = SPORT + BUSINESS, ["sport"] * 6 + ["business"] * 6
    p = pipe().fit(X, y)
    arrays, config = p[-1].get_state()
    back = LinearTopicClassifier.from_state(arrays, config)
    F = p[0].transform(X)
    np.testing.assert_allclose(back.predict_proba(F), p[-1].predict_proba(F), atol=2e-3)
    assert list(back.predict(F)) == list(p[-1].predict(F))
