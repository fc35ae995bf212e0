"""VNTC with the e5 path on a seeded subset, next to the linear vntc10 on the same articles.

    .venv/bin/python benchmarks/vntc_e5_subset.py --train 1500 --test 1500 --threads 2

multilingual-e5-small embeddings (mean-pooled over the first ``--windows`` windows of 512
tokens) + a calibrated linear head (:class:`topicclf.linear.LinearTopicClassifier`) trained on
``--train`` random VNTC train articles, scored on ``--test`` random test articles; beside it,
the TF-IDF linear model trained on the same ``--train`` articles, and ``vntc10`` (trained on
all 33,759 train articles), on the same test articles. The full test
split is out of reach on a CPU (about 2 articles/s), hence the subset: read the gap, not the
absolute numbers. Writes ``benchmarks/results/vntc_e5_subset.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def sample(path: Path, n: int, seed: int):
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rng = random.Random(seed)
    rows = rng.sample(rows, n)
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=1500)
    ap.add_argument("--test", type=int, default=1500)
    ap.add_argument("--windows", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--C", type=float, default=2.0)
    ap.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "vntc_e5_subset.json"))
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import topicclf
    from topicclf.data import data_root
    from topicclf.routed import embedding_model

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    tr_x, tr_y = sample(root / "vntc" / "train.jsonl.gz", args.train, seed=0)
    te_x, te_y = sample(root / "vntc" / "test.jsonl.gz", args.test, seed=1)

    t0 = time.time()
    e5 = embedding_model(languages=["vi"], max_windows=args.windows, stride=508, C=args.C, cv=3, name="vntc-e5")
    e5.fit(tr_x, tr_y)
    fit_s = time.time() - t0
    t0 = time.time()
    e5_pred = [p[0] if p else None for p in e5.predict(te_x)]
    e5_s = time.time() - t0
    small = topicclf.train(tr_x, tr_y, languages=["vi"], cv=3, C=1.0, digits=False, name="tfidf-subset")
    small_pred = [p[0] if p else None for p in small.predict(te_x)]
    lin = topicclf.load("vntc10")
    lin_pred = [p[0] if p else None for p in lin.predict(te_x)]
    gold = np.asarray(te_y, dtype=object)
    res = {
        "train_articles": args.train, "test_articles": args.test, "windows": args.windows, "C": args.C,
        "threads": args.threads,
        "e5_accuracy": float(np.mean(np.asarray(e5_pred, dtype=object) == gold)),
        "tfidf_same_train_accuracy": float(np.mean(np.asarray(small_pred, dtype=object) == gold)),
        "vntc10_accuracy_same_articles": float(np.mean(np.asarray(lin_pred, dtype=object) == gold)),
        "e5_fit_seconds": round(fit_s, 1), "e5_test_docs_per_s": round(len(te_x) / e5_s, 2),
    }
    print(json.dumps(res, indent=2))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
