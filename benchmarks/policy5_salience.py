"""Does sentence-level salience help policy5? A learnt sentence model, aggregated and stacked.

    python benchmarks/policy5_salience.py      # ~5 minutes on one core; needs ../shared/data

The taxonomy counts a topic that an article discusses, not a passing mention. This measures
one way to let a model see that: a sentence-level TF-IDF + LinearSVC model trained on the
sentences of the training articles (each sentence carries its article's labels), whose
scores over an article's sentences are aggregated per label (max, mean of the top two, mean,
share and log-count of sentences over 0, title score, lead-three mean) and stacked with the
article model's decision value in a per-label logistic regression. Everything is fitted on
policy5 train + train2 with 5-fold out-of-fold features (thresholds: best F1 on out-of-fold
stacker scores, as the shipped models pick theirs), and scored on dev. Writes ``benchmarks/results/policy5_salience.{json,md}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402

import train_policy5 as p5  # noqa: E402

FEATURES = ["article", "max", "top2", "mean", "share>0", "log count>0", "title", "lead3"]


def fit_dec(texts, Y, C):
    from sklearn.svm import LinearSVC

    from topicclf.features import NgramVectorizer

    vec = NgramVectorizer(ngram_range=(1, 2), min_df=3, sublinear_tf=True).fit(texts)
    X = vec.transform(texts)
    models = [LinearSVC(C=C, random_state=0).fit(X, Y[:, j]) for j in range(Y.shape[1])]
    return lambda T: np.column_stack([m.decision_function(vec.transform(T)) for m in models])


def features(dec_a, dec_s, arts, sents) -> np.ndarray:
    A = dec_a(arts)
    S = dec_s([s for ss in sents for s in ss])
    idx = np.cumsum([0] + [len(ss) for ss in sents])
    out = []
    for i in range(len(arts)):
        s = S[idx[i]:idx[i + 1]]
        top = -np.sort(-s, axis=0)
        out.append(np.stack([A[i], top[0], top[:2].mean(0), s.mean(0), (s > 0).mean(0),
                             np.log1p((s > 0).sum(0)), s[0], s[:3].mean(0)], 1))
    return np.array(out)  # (articles, labels, features)


def main() -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, cross_val_predict

    from topicclf.data import data_root, load_records
    from topicclf.linear import _best_f1_threshold  # the F1-best cut the shipped models use
    from topicclf.sentences import split_sentences
    from topicclf.text import normalize

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    recs = {k: load_records(root / "policy5" / f"{k}.jsonl", labels=p5.LABELS) for k in ("train", "train2", "dev")}
    train, dev = p5.concat(recs["train"], recs["train2"]), recs["dev"]
    enc = lambda labels: np.array([[l in ls for l in p5.LABELS] for ls in labels], dtype=int)  # noqa: E731
    Yt, Yd = enc(train.labels), enc(dev.labels)
    groups = [p5.group_of(s) for s in dev.extra["source"]]
    arts = [normalize(t) for t in train.texts]
    sents = [split_sentences(a) or [a] for a in arts]
    dev_arts = [normalize(t) for t in dev.texts]
    dev_sents = [split_sentences(a) or [a] for a in dev_arts]
    t0 = time.time()
    OOF = np.zeros((len(arts), len(p5.LABELS), len(FEATURES)))
    rep = lambda idx: np.vstack([np.repeat(Yt[i:i + 1], len(sents[i]), 0) for i in idx])  # noqa: E731
    for a, b in KFold(5, shuffle=True, random_state=0).split(arts):
        da = fit_dec([arts[i] for i in a], Yt[a], 1.0)
        ds = fit_dec([s for i in a for s in sents[i]], rep(a), 0.5)
        OOF[b] = features(da, ds, [arts[i] for i in b], [sents[i] for i in b])
    allidx = range(len(arts))
    FD = features(fit_dec(arts, Yt, 1.0), fit_dec([s for ss in sents for s in ss], rep(allidx), 0.5), dev_arts, dev_sents)

    def stacked(cols):
        pred = np.zeros_like(Yd)
        for j in range(len(p5.LABELS)):
            lr = LogisticRegression(C=1.0, max_iter=1000)
            p = cross_val_predict(lr, OOF[:, j, cols], Yt[:, j], cv=5, method="predict_proba")[:, 1]
            lr.fit(OOF[:, j, cols], Yt[:, j])
            pred[:, j] = lr.predict_proba(FD[:, j, cols])[:, 1] >= _best_f1_threshold(p, Yt[:, j])
        return pred

    from train_policy5_cascade import f1_row

    rows = [("article model only (stacked LR)", [0]), ("sentence features only", list(range(1, 8))),
            ("article + all sentence features", list(range(8))), ("article + max, top2, share", [0, 1, 2, 4])]
    results = []
    for name, cols in rows:
        r = f1_row(Yd, stacked(cols), groups)
        results.append({"model": name, "features": [FEATURES[c] for c in cols], **r})
        print(f"{name:34s} dev macro-F1 {r['macro_f1']:.3f}  " + "  ".join(f"{g} {r.get(g, float('nan')):.3f}" for g in p5.GROUP_ORDER), flush=True)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "policy5_salience.json").write_text(json.dumps({"command": "python benchmarks/policy5_salience.py",
                                                           "seconds": round(time.time() - t0), "rows": results}, indent=1))
    md = ["# policy5: sentence salience features (train + train2 → dev)", "",
          "Command: `python benchmarks/policy5_salience.py`. " + (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
          "| model | dev macro-F1 | " + " | ".join(p5.GROUP_ORDER) + " | " + " | ".join(p5.LABELS) + " |",
          "|---|---|" + "---|" * (len(p5.GROUP_ORDER) + len(p5.LABELS))]
    for r in results:
        md.append(f"| {r['model']} | {r['macro_f1']:.3f} | " + " | ".join(f"{r.get(g, float('nan')):.3f}" for g in p5.GROUP_ORDER)
                  + " | " + " | ".join(f"{r['per_label'][l]:.2f}" for l in p5.LABELS) + " |")
    (out / "policy5_salience.md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
