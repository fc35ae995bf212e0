"""vntc10 with its weakest features pruned: accuracy and speed against underthesea_core (#12 item 3).

A feature's weight is its idf times the spread of its weights over the classes (max - min:
what it can move between two classes' logits); the ``K`` strongest are kept and nothing is
retrained. For each ``K`` (and the full model) this prints, in one run:

* accuracy on the full VNTC test split and ``predict`` docs/s (raw text in, default threads),
  two rounds, interleaved with ``underthesea_core.TextClassifier`` (fit on the train split here);
* the n-gram + scores step alone, CPU µs per article on one thread (10,000 cleaned test
  articles, median of 5), which a busy machine disturbs less than wall time.

Usage::

    python benchmarks/vntc10_prune.py 300000 150000 80000
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import topicclf  # noqa: E402
from topicclf.classifiers.linear import NgramTopicClassifier  # noqa: E402
from topicclf.data import data_root  # noqa: E402
from topicclf.features import NgramVectorizer  # noqa: E402
from topicclf.linear import LinearTopicClassifier  # noqa: E402
from vntc import read_split, timed  # noqa: E402


def pruned(base, keep: int):
    from sklearn.pipeline import Pipeline

    vec, est = base.pipeline[0], base.estimator
    W = est.coef_.astype(np.float64)
    sel = np.sort(np.argsort(-(W.max(0) - W.min(0)) * vec.idf_)[:keep])
    v2 = NgramVectorizer.from_state({"codes": vec.codes_[sel], "idf": vec.idf_[sel]},
                                    {"params": vec.get_state()[1]["params"], "tokens": vec.tokens_})
    e2 = LinearTopicClassifier.from_state({"coef": est.coef_[:, sel], "intercept": est.intercept_,
                                           "thresholds": est.thresholds_}, est.get_state()[1])
    return NgramTopicClassifier(Pipeline([("features", v2), ("classifier", e2)]),
                                **NgramTopicClassifier._preprocessing(base.config()))


def main(argv: list[str]) -> int:
    keeps = [int(k) for k in argv] or [300_000, 150_000, 80_000]
    root = data_root()
    test_x, test_y = read_split(root, "test")
    gold = np.asarray(test_y, dtype=object)
    base = topicclf.load("vntc10")
    models = {f"vntc10 ({len(base.pipeline[0].idf_):,} features)": topicclf.load("vntc10")}
    models.update({f"vntc10 pruned to {k:,}": pruned(base, k) for k in keeps})

    import underthesea_core as uc

    train_x, train_y = read_split(root, "train")
    utc = uc.TextClassifier()
    utc.fit(train_x, train_y)
    res: dict[str, list] = {}
    for rnd in range(2):
        for name, m in models.items():
            pred, rate = timed(lambda xs: m.predict(xs), test_x, 1)
            acc = float(np.mean([p[0] == g if p else False for p, g in zip(pred, gold)]))
            res.setdefault(name, []).append((acc, rate))
            print(rnd, name, f"{acc * 100:.2f} %", f"{rate:,.0f}/s", file=sys.stderr, flush=True)
        pred, rate = timed(lambda xs: utc.predict_batch(xs), test_x, 1)
        res.setdefault("underthesea_core.TextClassifier", []).append(
            (float(np.mean(np.asarray(pred, dtype=object) == gold)), rate))
    clean = base.prepare(test_x[:10_000])[0]
    step: dict[str, list] = {}
    parts = {name: (m.pipeline[0], np.ascontiguousarray(m.estimator.coef_)) for name, m in models.items()}
    for vec, coef in parts.values():
        vec.linear_scores(clean[:100], coef)
    for _ in range(5):
        for name, (vec, coef) in parts.items():
            t0 = time.process_time()
            vec.linear_scores(clean, coef)
            step.setdefault(name, []).append(1e6 * (time.process_time() - t0) / len(clean))
    u = max(r for _, r in res["underthesea_core.TextClassifier"])
    print(f"VNTC test: {len(test_x):,} articles\n")
    print("| model | accuracy | docs/s (best of 2) | × underthesea_core | n-grams + scores, µs/article (1 thread) |")
    print("|---|---|---|---|---|")
    for name, v in res.items():
        best = max(r for _, r in v)
        s = f"{np.median(step[name]):.1f}" if name in step else "-"
        print(f"| {name} | {v[0][0] * 100:.2f} % | {best:,.0f} | {best / u:.2f} | {s} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
