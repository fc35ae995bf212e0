"""VNTC benchmark: accuracy on the full test split and scoring throughput, side by side.

Compares, in one run and on the same articles (raw text in, labels out):

* topicclf's shipped ``vntc10`` model (whole pipeline: normalize, language gate, features, model);
* ``underthesea_core.TextClassifier`` (Rust TF-IDF + linear SVM behind underthesea's
  classifier), fit here on the same train split;
* a plain scikit-learn ``TfidfVectorizer`` (syllable 1-2 grams) + ``LinearSVC``.

Usage (from the repository root; needs ../shared/data or $TOPICCLF_DATA)::

    .venv/bin/python benchmarks/vntc.py                 # full test split (50,373 articles), ~10 min
    .venv/bin/python benchmarks/vntc.py --limit 5000    # quick look
    .venv/bin/python benchmarks/vntc.py --json benchmarks/results/vntc.json

Throughput is measured after a warm-up, best of ``--repeat`` runs, on this machine at this
moment: read the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def read_split(root: Path, split: str, limit: int | None = None):
    texts, labels = [], []
    with gzip.open(root / "vntc" / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            texts.append(d["text"])
            labels.append(d["label"])
            if limit and len(texts) >= limit:
                break
    return texts, labels


def timed(fn, texts, repeat: int):
    """(predictions, docs/s): best of ``repeat`` timed runs after one warm-up on a slice."""
    fn(texts[:200])
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(texts)
        best = min(best, time.perf_counter() - t0)
    return out, len(texts) / best


def cpu_ratio(fn, texts) -> float:
    """Process CPU time / wall time: above 1 means the call used several cores."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn(texts)
    return (time.process_time() - c0) / max(time.perf_counter() - w0, 1e-9)


_worker_model = None


def _init_worker(model: str) -> None:
    global _worker_model
    import topicclf

    _worker_model = topicclf.load(model)
    _worker_model.n_jobs = 1  # the processes share the cores


def _predict_chunk(texts):
    return _worker_model.predict(texts)


class ProcessPool:
    """``predict`` split over worker processes, each holding the model (loaded once)."""

    def __init__(self, model: str, workers: int, chunk: int = 1000):
        import multiprocessing as mp

        self.chunk = chunk
        self.pool = mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(model,))

    def predict(self, texts):
        parts = [texts[i : i + self.chunk] for i in range(0, len(texts), self.chunk)]
        return [p for part in self.pool.map(_predict_chunk, parts) for p in part]

    def __enter__(self):
        self.predict(["warm up"] * 4)
        return self

    def __exit__(self, *exc):
        self.pool.close()
        self.pool.join()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="vntc10", help="topicclf model name or directory")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N test articles")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="also measure topicclf with this many processes")
    ap.add_argument("--skip-sklearn", action="store_true", help="skip the slow TfidfVectorizer baseline")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)

    import topicclf
    from topicclf.data import data_root

    root = data_root()
    if root is None:
        print("no data: set TOPICCLF_DATA or put shared/data beside the repository", file=sys.stderr)
        return 2
    train_x, train_y = read_split(root, "train")
    test_x, test_y = read_split(root, "test", args.limit)
    gold = np.asarray(test_y, dtype=object)
    rows = []

    t0 = time.perf_counter()
    clf = topicclf.load(args.model)
    load_s = time.perf_counter() - t0
    # default: n_jobs = one scoring thread per core (at most 4); then a single scoring thread
    for n_jobs in (None, 1):
        clf.n_jobs = n_jobs
        pred, rate = timed(lambda xs: clf.predict(xs), test_x, args.repeat)
        acc = float(np.mean([p[0] == g if p else False for p, g in zip(pred, gold)]))
        name = f"topicclf {clf.name}" + (f" (n_jobs={n_jobs})" if n_jobs else f" ({clf._score_threads()} threads, default)")
        rows.append({"system": name, "accuracy": acc, "docs_per_s": rate,
                     "cpu_per_wall": cpu_ratio(lambda xs: clf.predict(xs), test_x[:5000]), "load_s": load_s})

    if args.workers > 1:
        with ProcessPool(args.model, args.workers) as pool:
            pred, rate = timed(pool.predict, test_x, args.repeat)
        acc = float(np.mean([p[0] == g if p else False for p, g in zip(pred, gold)]))
        rows.append({"system": f"topicclf {clf.name}, {args.workers} processes", "accuracy": acc,
                     "docs_per_s": rate, "cpu_per_wall": float(args.workers)})

    import underthesea_core as uc

    t0 = time.perf_counter()
    utc = uc.TextClassifier()
    utc.fit(train_x, train_y)
    fit_s = time.perf_counter() - t0
    pred, rate = timed(lambda xs: utc.predict_batch(xs), test_x, args.repeat)
    rows.append({"system": "underthesea_core.TextClassifier", "accuracy": float(np.mean(np.asarray(pred, dtype=object) == gold)),
                 "docs_per_s": rate, "cpu_per_wall": cpu_ratio(lambda xs: utc.predict_batch(xs), test_x[:5000]),
                 "fit_s": fit_s})

    if not args.skip_sklearn:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC

        t0 = time.perf_counter()
        sk = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\w+", min_df=2, sublinear_tf=True),
                           LinearSVC(C=0.5)).fit(train_x, train_y)
        fit_s = time.perf_counter() - t0
        pred, rate = timed(lambda xs: sk.predict(xs), test_x, args.repeat)
        rows.append({"system": "TfidfVectorizer(1-2) + LinearSVC", "accuracy": float(np.mean(pred == gold)),
                     "docs_per_s": rate, "cpu_per_wall": 1.0, "fit_s": fit_s})

    base = next(r for r in rows if r["system"].startswith("underthesea"))["docs_per_s"]
    print(f"\nVNTC test: {len(test_x)} articles; train: {len(train_x)}; cores: {os.cpu_count()}\n")
    print("| system | accuracy | docs/s | × underthesea_core | CPU/wall |")
    print("|---|---|---|---|---|")
    for r in rows:
        r["ratio_vs_underthesea_core"] = r["docs_per_s"] / base
        print(f"| {r['system']} | {r['accuracy'] * 100:.2f} % | {r['docs_per_s']:,.0f} | "
              f"{r['ratio_vs_underthesea_core']:.2f} | {r['cpu_per_wall']:.2f} |")
    print(f"\n{rows[0]['system']} loads in {load_s:.2f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"n_test": len(test_x), "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
