"""Save/load, the model directory format, integrity checks and the classify pipeline."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import topicclf
from topicclf.serialization import ModelFileError, ModelVersionWarning

from conftest import BUSINESS, ENGLISH, REPO, SPORT


def test_save_load_identical_predictions(tiny_model, tiny_sets):
    texts, _ = tiny_sets
    a = topicclf.load(tiny_model)
    b = topicclf.load(str(tiny_model))
    assert a.predict(texts) == b.predict(texts)
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))
    files = {p.name for p in Path(tiny_model).iterdir()}
    assert {"config.json", "weights.safetensors", "vocab.json", "README.md", "manifest.json"} <= files
    cfg = json.loads((Path(tiny_model) / "config.json").read_text())
    for key in ("labels", "thresholds", "preprocessing", "versions", "seed", "languages", "metrics"):
        assert key in cfg
    assert "scikit-learn" in cfg["versions"] and cfg["labels"] == ["business", "sport"]


def test_pipeline_outputs(tiny_model):
    clf = topicclf.load(tiny_model)
    out = clf.classify(["Cầu thủ ghi bàn trong trận chung kết", "", "   \n ", ENGLISH[0], "Điều chỉnh kích thước chữ"])
    assert out[0].labels == ["sport"] and out[0].lang == "vi" and not out[0].flags
    assert out[1].labels == [] and out[1].flags == ["empty"]
    assert out[2].flags == ["empty"]
    assert out[3].labels == [] and out[3].flags == ["unsupported_language:en"]
    assert out[4].labels == [] and out[4].flags == ["boilerplate_only"]
    P = clf.predict_proba(["Cầu thủ ghi bàn", ""])
    assert P.shape == (2, 2) and (P[1] == 0).all() and np.isclose(P[0].sum(), 1)
    with pytest.raises(TypeError, match="text 1 is NoneType"):
        clf.predict(["ok", None])
    with pytest.raises(TypeError, match="single str"):
        clf.predict("a str")


def test_threads_do_not_change_results(tiny_model, tiny_sets):
    """Over 512 texts, chunks are scored on n_jobs threads: same output for 1 and 3 threads."""
    texts, _ = tiny_sets
    big = [f"{t} {i}" for i in range(100) for t in texts] + ["", "Hello there my friend"] * 40
    assert len(big) > 2 * topicclf.TopicClassifier._PIPELINE_CHUNK
    clf = topicclf.load(tiny_model)
    clf.n_jobs = 1
    one = clf.classify(big)
    clf.n_jobs = 3
    assert clf.classify(big) == one
    assert clf._score_threads() == 3
    clf.n_jobs = None
    assert 1 <= clf._score_threads() <= 4
    for bad in (0, -1, 1.5, True):
        clf.n_jobs = bad
        with pytest.raises(ValueError, match="n_jobs"):
            clf.predict(big)


def test_fused_scores_match_the_pipeline(tiny_model, tiny_sets):
    """_proba (n-gram C loop straight to scores) = pipeline.predict_proba (sparse matrix)."""
    texts, _ = tiny_sets
    clf = topicclf.load(tiny_model)
    vec, est = clf.pipeline[0], clf.pipeline[-1]
    if vec._fast is None:
        pytest.skip("the optional C extension is not built (no compiler at install time)")
    assert vec.linear_scores(texts, est.coef_) is not None  # the fused path is taken
    np.testing.assert_allclose(clf._proba(texts), clf.pipeline.predict_proba(texts), atol=1e-6)


def test_truncation_flag(tiny_model):
    clf = topicclf.load(tiny_model)
    clf.max_chars = 200
    out = clf.classify([SPORT[0] + " " + "bóng đá " * 500])
    assert "truncated" in out[0].flags and out[0].labels == ["sport"]


def test_tampered_or_truncated_files_are_refused(tiny_model, tmp_path):
    import shutil

    for victim in ("weights.safetensors", "config.json", "vocab.json"):
        d = tmp_path / victim
        shutil.copytree(tiny_model, d)
        data = (d / victim).read_bytes()
        (d / victim).write_bytes(data[:-10])  # truncated
        with pytest.raises(ModelFileError, match=re.escape(victim)):
            topicclf.load(d)
        (d / victim).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
        with pytest.raises(ModelFileError, match=re.escape(victim)):
            topicclf.load(d)
    d = tmp_path / "nomanifest"
    shutil.copytree(tiny_model, d)
    (d / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match="manifest.json: missing"):
        topicclf.load(d)


def _rewrite(d: Path, mutate):
    """Edit config.json and re-sign the manifest, as a newer topicclf would have written it."""
    from topicclf.serialization import sha256_file

    cfg = json.loads((d / "config.json").read_text())
    mutate(cfg)
    (d / "config.json").write_text(json.dumps(cfg))
    man = json.loads((d / "manifest.json").read_text())
    man["files"]["config.json"] = {"sha256": sha256_file(d / "config.json"), "size": (d / "config.json").stat().st_size}
    (d / "manifest.json").write_text(json.dumps(man))


def test_version_checks(tiny_model, tmp_path):
    import shutil

    d = tmp_path / "newer"
    shutil.copytree(tiny_model, d)
    _rewrite(d, lambda c: c.update(format_version=99))
    with pytest.raises(ModelFileError, match="newer than this topicclf"):
        topicclf.load(d)
    d = tmp_path / "oldsk"
    shutil.copytree(tiny_model, d)
    _rewrite(d, lambda c: c["versions"].update({"scikit-learn": "0.24.2"}))
    with pytest.warns(ModelVersionWarning, match="scikit-learn 0.24.2"):
        topicclf.load(d)


def test_unknown_model_name_error():
    with pytest.raises(FileNotFoundError, match="shipped models are"):
        topicclf.load("no-such-model")


def test_no_pickle_in_src():
    src = REPO / "src"
    pattern = re.compile(r"\b(pickle|joblib|cloudpickle|dill|marshal)\b\.(load|loads)\b|torch\.load\(|import (pickle|joblib)\b")
    offenders = [f"{p}:{i + 1}" for p in src.rglob("*.py")
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines()) if pattern.search(line)]
    assert offenders == []


def test_explain_gives_terms(tiny_model):
    clf = topicclf.load(tiny_model)
    ex = clf.explain("Cầu thủ ghi bàn thắng trong trận chung kết bóng đá")
    assert list(ex) == ["sport"]
    terms = [t for t, _ in ex["sport"]]
    assert terms and all(w > 0 for _, w in ex["sport"])
    assert any("_" in t for t in terms)  # Vietnamese words, e.g. cầu_thủ, not bare syllables
    with pytest.raises(ValueError, match="unknown labels"):
        clf.explain("bóng đá", labels=["nope"])


def test_train_learns_tiny_set():
    texts = SPORT + BUSINESS
    labels = [["sport"]] * 6 + [["business"]] * 6 + [[]] * 0
    clf = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, languages=["vi"])
    assert clf.multilabel
    assert clf.predict(SPORT[:2] + BUSINESS[:2]) == [["sport"], ["sport"], ["business"], ["business"]]


def test_prune_keeps_the_strongest_features(tiny_model, tiny_sets, tmp_path):
    texts, _ = tiny_sets
    clf = topicclf.load(tiny_model)
    n = len(clf.pipeline[0].idf_)
    k = n // 3
    small = clf.prune(k)
    assert len(small.pipeline[0].idf_) == k and small.estimator.coef_.shape[1] == k
    assert small.labels == clf.labels and small.thresholds == clf.thresholds
    assert small.meta["pruned"] == {"features": k, "from": n, "rule": small.meta["pruned"]["rule"]}
    assert "metrics" not in small.meta  # the unpruned model's numbers are not the pruned one's
    # the kept features are the strongest: idf x spread of their weights over the labels
    W = clf.estimator.coef_.astype(np.float64)
    strength = (W.max(0) - W.min(0)) * clf.pipeline[0].idf_
    kept = set(small.pipeline[0].codes_.tolist())
    weakest_kept = min(strength[i] for i, c in enumerate(clf.pipeline[0].codes_) if c in kept)
    assert all(strength[i] <= weakest_kept + 1e-6 for i, c in enumerate(clf.pipeline[0].codes_) if c not in kept)
    # it still separates the training texts, and saves and loads as any model
    assert small.predict(texts) == clf.predict(texts)
    small.save(tmp_path / "small")
    again = topicclf.load(tmp_path / "small")
    assert again.predict(texts) == clf.predict(texts) and again.meta["pruned"]["features"] == k
    assert len(clf.prune(10 * n).pipeline[0].idf_) == n  # more than there are: all of them
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_features"):
            clf.prune(bad)
