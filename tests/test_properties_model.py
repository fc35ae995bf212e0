"""Property tests of the loaded pipeline (hypothesis). `make fuzz` runs them with more examples."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import topicclf

from conftest import BUSINESS, SPORT


POOL = SPORT + BUSINESS + ["", "   ", "Hello world, this is English", "Audio", "中国政府今天宣布", "bóng"]
texts = st.lists(st.one_of(st.sampled_from(POOL), st.text(max_size=80)), min_size=1, max_size=12)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=texts, data=st.data())
def test_property_predict_invariant_to_order_and_batch_size(tiny_model, batch, data):
    clf = _model(tiny_model)
    full = clf.predict_proba(batch)
    perm = data.draw(st.permutations(range(len(batch))))
    np.testing.assert_allclose(clf.predict_proba([batch[i] for i in perm]), full[perm], atol=1e-12)
    split = data.draw(st.integers(1, len(batch)))
    parts = np.vstack([clf.predict_proba(batch[i:i + split]) for i in range(0, len(batch), split)])
    np.testing.assert_allclose(parts, full, atol=1e-12)
    assert np.all((full >= 0) & (full <= 1))
    assert [p for p in clf.predict(batch)] == [clf.predict([t])[0] for t in batch]


_cache = {}


def _model(path):
    if path not in _cache:
        _cache[path] = topicclf.load(path)
    return _cache[path]
