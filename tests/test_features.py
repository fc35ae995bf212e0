import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from topicclf.features import NgramVectorizer, _CodeTable, syllables

DOCS = ["chủ quyền biển đảo Việt Nam", "biển đảo và chủ quyền", "giá vàng tăng", "giá vàng giảm, biển lặng",
        "Chủ quyền lãnh thổ là thiêng liêng"]


def test_syllables_lowercase_and_punctuation():
    assert syllables("“Chủ quyền” – Hoàng Sa… 2020!") == ["chủ", "quyền", "hoàng", "sa", "2020"]
    assert syllables("e-mail a_b") == ["e", "mail", "a", "b"]


@pytest.mark.parametrize("text", ["Human\ufffdrights", "🔥Human rights", "Human🔥rights❤️", "★Human™ rights→",
                                  "Human\U000e0067rights", "\u2b50Human\ufe0f rights"])
def test_symbols_and_emoji_split_words_like_tokenize(text):
    # a symbol stuck to a word must not make a new token ("🔥human") nor join two ("human�rights")
    import topicclf

    assert syllables(text) == ["human", "rights"]
    if "\ufe0f" not in text:  # tokenize keeps a variation selector (a combining mark) with its word
        assert [t.lower() for t in topicclf.tokenize(text, mode="syllable") if t.isalnum()] == ["human", "rights"]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 2), (1, 3)])
def test_matches_sklearn_tfidf(ngram_range):
    ours = NgramVectorizer(ngram_range=ngram_range, min_df=1, sublinear_tf=True).fit(DOCS)
    ref = TfidfVectorizer(ngram_range=ngram_range, token_pattern=r"[^\W_]+", min_df=1, sublinear_tf=True).fit(DOCS)
    assert {n.replace("_", " ") for n in ours.get_feature_names_out()} == set(ref.get_feature_names_out())
    names = [n.replace("_", " ") for n in ours.get_feature_names_out()]
    col = {n: j for j, n in enumerate(ref.get_feature_names_out())}
    order = [col[n] for n in names]
    new = ["biển đảo chủ quyền giá", "không có gì", "vàng vàng vàng tăng"]
    np.testing.assert_allclose(ours.transform(new).toarray(), ref.transform(new).toarray()[:, order], atol=1e-6)


def test_min_df_max_features_and_empty_rows():
    vec = NgramVectorizer(min_df=2, max_features=3).fit(DOCS)
    assert vec.n_features_out_ == 3
    X = vec.transform(["", "!!!", "biển đảo"])
    assert sp.issparse(X) and X.shape == (3, 3)
    assert X[0].nnz == 0 and X[1].nnz == 0
    np.testing.assert_allclose(np.sqrt(X[2].multiply(X[2]).sum()), 1.0, rtol=1e-6)


def test_state_roundtrip_and_clone():
    vec = NgramVectorizer(ngram_range=(1, 3), min_df=1).fit(DOCS)
    arrays, config = vec.get_state()
    back = NgramVectorizer.from_state(arrays, config)
    assert (back.transform(DOCS) != vec.transform(DOCS)).nnz == 0
    assert clone(vec).get_params() == vec.get_params()
    bad = dict(arrays, codes=arrays["codes"][::-1].copy())
    with pytest.raises(ValueError, match="corrupt"):
        NgramVectorizer.from_state(bad, config)


def test_code_table_finds_every_key_and_rejects_others():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(1, 10**12, size=5000))
    table = _CodeTable(keys)
    np.testing.assert_array_equal(table.lookup(keys), np.arange(len(keys)))
    others = np.setdiff1d(rng.integers(1, 10**12, size=5000), keys)
    assert (table.lookup(others) == -1).all()


def test_rejects_non_text():
    vec = NgramVectorizer(min_df=1).fit(DOCS)
    with pytest.raises(TypeError, match="single str"):
        vec.transform("biển đảo")
    with pytest.raises(TypeError, match="text 1"):
        vec.transform(["ok", None])


def test_c_extension_matches_numpy_path():
    from topicclf import features

    if features._ngram is None:
        import pytest

        pytest.skip("the optional C extension is not built (no compiler at install time)")
    docs = DOCS + ["Giá vàng “tăng” — 2020…", "", "x\u00a0y", "biển " * 50, "ĐẢO CHỦ QUYỀN 123"]
    for ngram_range in [(1, 1), (1, 2), (1, 3), (2, 3)]:
        for digits in (True, False):
            vec = NgramVectorizer(ngram_range=ngram_range, min_df=1, digits=digits).fit(docs)
            assert vec._fast is not None
            fast = vec.transform(docs)
            vec._fast = None
            slow = vec.transform(docs)
            np.testing.assert_allclose(fast.toarray(), slow.toarray(), atol=1e-7)


_ALPHABET = ("aAbBzZ09 .,\n\t\u00a0\u00ad\u00bf\u00c0\u00e0ĐđƠơƯưẠạỆệỸỹ\u0130\u03a3\u03c3\u03c2"
             "\u2014\u2026\u206f\u2070\u0300\u0301\ud800\U0001f600中"
             # the edges of the separator blocks (symbols, emoji, U+FFFD) and their neighbours
             "\u209f\u20a0\u2122\u2bff\u2c00\ufdff\ufe00\ufe0f\ufe10\uffef\ufff0\ufffd\uffff"
             "\U00010000\U0001efff\U0001f000\U0001f525\U0001ffff\U00020000\U000e0000\U000e007f\U000e0080")


@given(st.lists(st.text(alphabet=_ALPHABET, max_size=60), min_size=1, max_size=6))
def test_c_extension_lowercases_str_like_python(docs):
    """str goes to C unlowered: its lower-casing + UTF-8 must give the NumPy path's features."""
    from topicclf import features

    if features._ngram is None:
        pytest.skip("the optional C extension is not built (no compiler at install time)")
    vec = NgramVectorizer(ngram_range=(1, 2), min_df=1).fit(docs + ["x"])
    fast = vec.transform(docs)
    vec._fast = None
    slow = vec.transform(docs)
    np.testing.assert_allclose(fast.toarray(), slow.toarray(), atol=1e-7)


@given(st.lists(st.text(alphabet=_ALPHABET, max_size=60), min_size=1, max_size=6),
       st.sampled_from([(1, 1), (1, 2), (2, 3)]), st.booleans(), st.sampled_from(["l2", None]))
def test_linear_scores_equal_the_sparse_product(docs, ngram_range, sublinear, norm):
    from topicclf import features

    if features._ngram is None:
        pytest.skip("the optional C extension is not built (no compiler at install time)")
    vec = NgramVectorizer(ngram_range=ngram_range, min_df=1, sublinear_tf=sublinear, norm=norm)
    vec.fit(docs + ["x y z"])
    W = np.random.default_rng(0).normal(size=(3, vec.n_features_out_)).astype(np.float32)
    got = vec.linear_scores(docs, W)
    np.testing.assert_allclose(got, vec.transform(docs) @ W.T.astype(np.float64), rtol=1e-5, atol=1e-6)


def test_linear_scores_checks_shapes_and_falls_back_without_the_extension():
    vec = NgramVectorizer(min_df=1).fit(DOCS)
    with pytest.raises(ValueError, match="coef must be"):
        vec.linear_scores(DOCS, np.ones((2, vec.n_features_out_ + 1)))
    vec._fast = None
    assert vec.linear_scores(DOCS, np.ones((2, vec.n_features_out_))) is None
