"""Transformer benchmarks: windows vs truncation, int8 vs float32, e5 features on policy5.

Three parts, each printed as a Markdown table and merged into ``--json``
(``benchmarks/results/transformer.json`` by default, one key per part):

a. **Windows vs truncation** on long VNTC articles: ``--n-train``/``--n-test`` articles
   (seeded sample) of ``--min-tokens``..``--max-tokens`` XLM-R tokens, e5-small embeddings
   of every 512-token window (stride: half a window, the library default), and a logistic
   regression head on (1) the first window only = first-512-token truncation, (2) the mean
   and (3) the element-wise max of the window embeddings.
b. **int8 vs float32**: e5 throughput (docs/s, windows/s on ``--threads`` threads, the
   embedding cache off) on ``--throughput-docs`` of the part-(a) test articles, and the
   quality cost of dynamic int8 (FFN down projections kept float32): cosine of window
   embeddings, and part (a)'s heads (trained on float32 features) scoring int8 features.
c. **policy5**: e5 embeddings (first ``--c-windows`` non-overlapping 512-token windows,
   mean-pooled) with a :class:`~topicclf.linear.LinearTopicClassifier` head, alone and
   concatenated with TF-IDF n-grams, next to the linear TF-IDF model trained the same way
   (``topicclf.train(texts, labels, languages=["vi", "en"])``); macro-F1 on dev overall and
   per source group (vntc-test, dantri, en = bbc + 20ng + cap-nyt). The head's ``C`` (and
   the embedding weight in the concatenation) is chosen by the head's own 3-fold CV on
   train, never on dev.

Embeddings are cached (window embeddings in ``<cache>/bench_windows.sqlite``, text
embeddings in the :class:`~topicclf.encoders.Encoder` cache), so an interrupted run
resumes and a rerun only fits heads. First runs on one CPU thread (e5 at ~2 windows/s):
part (c) ~25-40 min, part (a) ~20 min, part (b) ~10 min. The full VNTC test split
(50,373 articles, ~5 h of e5 on this CPU) is out of reach here: part (a) is a subset.

Usage (from the repository root; needs ../shared/data or $TOPICCLF_DATA)::

    nohup .venv/bin/python benchmarks/transformer.py --parts c > /tmp/bench_c.log 2>&1 &
    .venv/bin/python benchmarks/transformer.py --parts a,b
    .venv/bin/python benchmarks/transformer.py --parts b --threads 2
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
E5 = "multilingual-e5-small"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def md_table(headers, rows) -> str:
    def fmt(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------ window embeddings
class WindowEmbedder:
    """Mean-pooled (not normalised) e5 embeddings of single windows, cached in SQLite."""

    def __init__(self, cache: Path, quantize: bool = False, batch_size: int = 8):
        from topicclf.encoders import Encoder, _EmbeddingStore

        self.enc = Encoder(E5, max_length=512)
        self.tag = "int8" if quantize else "fp32"
        if quantize:
            from topicclf.transformer import quantize_linear_layers

            self.enc.model = quantize_linear_layers(self.enc.model).eval()
        self.store = _EmbeddingStore(cache / "bench_windows.sqlite")
        self.batch_size = batch_size

    def key(self, window) -> str:
        return hashlib.sha256(f"{self.enc.model_id}|{self.tag}|{window}".encode()).hexdigest()

    def windows(self, texts):
        return self.enc.token_windows([unicodedata.normalize("NFC", t) for t in texts])

    def _forward(self, wins) -> np.ndarray:
        import torch

        ids = torch.full((len(wins), max(map(len, wins))), self.enc._pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, w in enumerate(wins):
            ids[r, :len(w)] = torch.tensor(w)
            mask[r, :len(w)] = 1
        with torch.inference_mode():
            h = self.enc.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            m = mask.unsqueeze(-1).float()
            return ((h * m).sum(1) / m.sum(1)).numpy()

    def embed(self, flat, label: str = "") -> np.ndarray:
        keys = [self.key(w) for w in flat]
        have = self.store.get(sorted(set(keys)))
        todo = sorted({k: i for i, k in enumerate(keys) if k not in have}.values(), key=lambda i: len(flat[i]))
        if todo:
            log(f"{label}: {len(todo)} of {len(flat)} windows to embed ({self.tag})")
        t0, done = time.time(), 0
        for s in range(0, len(todo), 64):  # saved every 64 windows: an interrupted run resumes
            part = todo[s:s + 64]
            vecs = np.concatenate([self._forward([flat[i] for i in part[b:b + self.batch_size]])
                                   for b in range(0, len(part), self.batch_size)])
            self.store.put((keys[i], v) for i, v in zip(part, vecs))
            have.update((keys[i], v) for i, v in zip(part, vecs))
            done += len(part)
            rate = done / (time.time() - t0)
            log(f"{label}: {done}/{len(todo)} windows, {rate:.2f}/s, ETA {(len(todo) - done) / rate / 60:.1f} min")
        return np.stack([have[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


def _l2(X):
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def pooled_features(vecs: np.ndarray, counts) -> dict[str, np.ndarray]:
    """truncation (first window), mean and max of the windows, each L2-normalised."""
    out = {"truncation": [], "windows-mean": [], "windows-max": []}
    row = 0
    for c in counts:
        v = vecs[row:row + c]
        row += c
        out["truncation"].append(v[0])
        out["windows-mean"].append(v.mean(0))
        out["windows-max"].append(v.max(0))
    return {k: _l2(np.asarray(x, np.float32)) for k, x in out.items()}


# ------------------------------------------------------------------------------ part a
def read_jsonl_gz(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def long_sample(path: Path, n: int, lo: int, hi: int, seed: int, tokenizer, exclude=frozenset()):
    """A seeded random sample of n articles with lo..hi tokens (prefix and specials excluded)."""
    from topicclf.text import normalize

    rows = [r for r in read_jsonl_gz(path) if len(r["text"].split()) >= lo * 0.5 and r["text"] not in exclude]
    order = np.random.default_rng(seed).permutation(len(rows))
    picked, ntok = [], []
    for s in range(0, len(order), 256):
        batch = [rows[i] for i in order[s:s + 256]]
        texts = [unicodedata.normalize("NFC", normalize(r["text"])) for r in batch]
        lens = [len(x) for x in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]
        for r, t, L in zip(batch, texts, lens):
            if lo <= L <= hi:
                picked.append((t, r["label"]))
                ntok.append(L)
        if len(picked) >= n:
            break
    picked, ntok = picked[:n], ntok[:n]
    return [t for t, _ in picked], [l for _, l in picked], ntok


def part_a(args, cache: Path, data: Path) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    emb = WindowEmbedder(cache)
    tok = emb.enc.tokenizer
    t0 = time.time()
    tr_x, tr_y, tr_n = long_sample(data / "vntc" / "train.jsonl.gz", args.n_train, args.min_tokens,
                                   args.max_tokens, args.seed, tok)
    te_x, te_y, te_n = long_sample(data / "vntc" / "test.jsonl.gz", args.n_test, args.min_tokens,
                                   args.max_tokens, args.seed + 1, tok, exclude=frozenset(tr_x))
    log(f"(a) sampled {len(tr_x)} train / {len(te_x)} test long articles in {time.time() - t0:.0f}s")
    feats, counts = {}, {}
    for split, texts in (("train", tr_x), ("test", te_x)):
        wins = emb.windows(texts)
        counts[split] = [len(w) for w in wins]
        vecs = emb.embed([w for ws in wins for w in ws], label=f"(a) {split}")
        feats[split] = pooled_features(vecs, counts[split])
    rows, res = [], {}
    heads, correct = {}, {}
    rng = np.random.default_rng(args.seed)
    boot = rng.integers(0, len(te_y), size=(2000, len(te_y)))  # paired bootstrap over test articles
    for method in ("truncation", "windows-mean", "windows-max"):
        lr = LogisticRegression(C=args.lr_C, max_iter=5000).fit(feats["train"][method], tr_y)
        pred = lr.predict(feats["test"][method])
        res[method] = {"accuracy": float(accuracy_score(te_y, pred)),
                       "macro_f1": float(f1_score(te_y, pred, average="macro"))}
        heads[method] = lr
        correct[method] = (pred == np.asarray(te_y)).astype(float)
        diff = "-"
        if method != "truncation":
            d = correct[method] - correct["truncation"]
            lo, hi = np.quantile(d[boot].mean(1), [0.025, 0.975])
            res[method]["accuracy_gain_vs_truncation"] = float(d.mean())
            res[method]["gain_95ci"] = [float(lo), float(hi)]
            res[method]["only_this_right"] = int((d > 0).sum())
            res[method]["only_truncation_right"] = int((d < 0).sum())
            diff = f"{d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]"
        rows.append([method, res[method]["accuracy"], res[method]["macro_f1"], diff])
    stats = {s: {"articles": len(counts[s]), "windows": int(sum(counts[s])),
                 "windows_per_article_mean": float(np.mean(counts[s])),
                 "tokens_median": int(np.median(n)), "tokens_max": int(max(n))}
             for s, n in (("train", tr_n), ("test", te_n))}
    print("\n### (a) Long VNTC articles: first-512-token truncation vs sliding windows\n")
    print(f"{stats['train']['articles']} train / {stats['test']['articles']} test articles of "
          f"{args.min_tokens}-{args.max_tokens} tokens (median {stats['test']['tokens_median']}; "
          f"{stats['test']['windows_per_article_mean']:.2f} windows per test article); "
          f"e5-small, logistic regression C={args.lr_C}.\n")
    print(md_table(["article embedding", "accuracy", "macro-F1", "accuracy gain vs truncation [95% paired bootstrap CI]"], rows))
    part_a.cache = {"emb": emb, "te_x": te_x, "te_y": te_y, "heads": heads, "feats": feats,
                    "counts": counts}
    return {"setup": {"n_train": args.n_train, "n_test": args.n_test, "min_tokens": args.min_tokens,
                      "max_tokens": args.max_tokens, "seed": args.seed, "head": f"LogisticRegression(C={args.lr_C})",
                      "window": 512, "stride": "half a window (254 tokens)", "stats": stats},
            "results": res}


# ------------------------------------------------------------------------------ part b
def part_b(args, cache: Path, data: Path) -> dict:
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    from topicclf.encoders import Encoder
    from topicclf.transformer import quantize_linear_layers

    a = getattr(part_a, "cache", None)
    if a is None:
        raise SystemExit("part b needs part a in the same run: --parts a,b")
    texts = a["te_x"][:args.throughput_docs]
    fp32 = Encoder(E5, max_length=512, batch_size=8)
    int8 = Encoder(E5, max_length=512, batch_size=8)
    int8.model = quantize_linear_layers(int8.model).eval()
    n_win = sum(len(w) for w in fp32.token_windows(texts))
    speed = {}
    for name, enc in (("float32", fp32), ("int8 (FFN down fp32)", int8)):
        enc.encode(texts[:2])  # warm-up
        t0 = time.perf_counter()
        enc.encode(texts)
        dt = time.perf_counter() - t0
        speed[name] = {"docs_per_s": len(texts) / dt, "windows_per_s": n_win / dt, "seconds": dt}
        log(f"(b) {name}: {len(texts) / dt:.2f} docs/s")
    q = WindowEmbedder(cache, quantize=True)
    wins = q.windows(a["te_x"])
    flat = [w for ws in wins for w in ws]
    v8 = q.embed(flat, label="(b) int8 test")
    v32 = a["emb"].embed(flat, label="(b) fp32 test")
    cos = (_l2(v8) * _l2(v32)).sum(1)
    f8 = pooled_features(v8, a["counts"]["test"])
    quality, rows = {}, []
    for method, lr in a["heads"].items():
        p32 = lr.predict(a["feats"]["test"][method])
        p8 = lr.predict(f8[method])
        y = a["te_y"]
        quality[method] = {"float32": {"accuracy": float(accuracy_score(y, p32)), "macro_f1": float(f1_score(y, p32, average="macro"))},
                           "int8": {"accuracy": float(accuracy_score(y, p8)), "macro_f1": float(f1_score(y, p8, average="macro"))},
                           "same_prediction": float((p32 == p8).mean())}
        rows.append([method, quality[method]["float32"]["accuracy"], quality[method]["int8"]["accuracy"],
                     quality[method]["float32"]["macro_f1"], quality[method]["int8"]["macro_f1"],
                     quality[method]["same_prediction"]])
    print(f"\n### (b) e5-small inference on CPU: float32 vs dynamic int8 ({torch.get_num_threads()} thread(s))\n")
    print(f"{len(texts)} long VNTC test articles, {n_win} windows of 512 tokens, batch 8, cache off.\n")
    print(md_table(["weights", "docs/s", "windows/s"],
                   [[k, v["docs_per_s"], v["windows_per_s"]] for k, v in speed.items()]))
    print(f"\nspeed-up {speed['int8 (FFN down fp32)']['docs_per_s'] / speed['float32']['docs_per_s']:.2f}x; "
          f"window-embedding cosine int8 vs float32 over {len(flat)} windows: mean {cos.mean():.4f}, "
          f"min {cos.min():.4f}\n")
    print(f"Part (a)'s heads (trained on float32 features) on the {len(a['te_x'])} test articles:\n")
    print(md_table(["article embedding", "acc fp32", "acc int8", "macro-F1 fp32", "macro-F1 int8", "same prediction"], rows))
    return {"threads": torch.get_num_threads(), "throughput_docs": len(texts), "throughput_windows": n_win,
            "speed": speed, "cosine": {"mean": float(cos.mean()), "min": float(cos.min()),
                                       "p01": float(np.quantile(cos, 0.01)), "windows": len(flat)},
            "quality": quality}


# ------------------------------------------------------------------------------ part c
def _policy5(data: Path, split: str):
    rows = [json.loads(l) for l in open(data / "policy5" / f"{split}.jsonl", encoding="utf-8")]
    group = {"vntc-test": "vntc-test", "vntc-train": "vntc-train", "dantri": "dantri"}
    return ([r["text"] for r in rows], [list(r["labels"]) for r in rows],
            [group.get(r["source"], "en") for r in rows])


def part_c(args, cache: Path, data: Path) -> dict:
    from sklearn.pipeline import FeatureUnion, Pipeline

    import topicclf
    from topicclf import LinearTopicClassifier, NgramVectorizer, TopicClassifier
    from topicclf.text import normalize
    from topicclf.transformer import EmbeddingFeaturizer

    tr_x, tr_y, _ = _policy5(data, "train")
    dv_x, dv_y, dv_g = _policy5(data, "dev")
    if args.c_limit:  # a seeded subset, for a quick look
        rng = np.random.default_rng(args.seed)
        ti = np.sort(rng.permutation(len(tr_x))[:args.c_limit])
        di = np.sort(rng.permutation(len(dv_x))[:args.c_limit])
        tr_x, tr_y = [tr_x[i] for i in ti], [tr_y[i] for i in ti]
        dv_x, dv_y, dv_g = [dv_x[i] for i in di], [dv_y[i] for i in di], [dv_g[i] for i in di]
    groups = {"source": dv_g}
    results, rows = {}, []
    order = ["vntc-test", "dantri", "en"]

    def record(name, model, fit_s, extra=None):
        r = topicclf.evaluate(model, dv_x, dv_y, groups=groups)
        g = r["groups"]["source"]
        results[name] = {"macro_f1": r["macro_f1"], "micro_f1": r["micro_f1"],
                         "groups": {k: {"n": g[k]["n"], "macro_f1": g[k]["macro_f1"]} for k in order if k in g},
                         "per_label_f1": {l: v["f1"] for l, v in r["per_label"].items()},
                         "fit_seconds": round(fit_s, 1), **(extra or {})}
        rows.append([name, r["macro_f1"], *[g[k]["macro_f1"] if k in g else "-" for k in order], r["micro_f1"]])
        log(f"(c) {name}: macro-F1 {r['macro_f1']:.4f}")

    t0 = time.time()
    lin = topicclf.train(tr_x, tr_y, languages=["vi", "en"], name="tfidf-linear")
    record("TF-IDF + linear (topicclf.train defaults)", lin, time.time() - t0)

    stride = 512 - 4  # non-overlapping: 512 - <s> - </s> - "passage:" (2 tokens)
    feat = EmbeddingFeaturizer(E5, max_length=512, stride=stride, max_windows=args.c_windows,
                               cache_dir=cache, batch_size=8)
    clean_tr = [normalize(t[:100_000]) for t in tr_x]
    clean_dv = [normalize(t[:100_000]) for t in dv_x]
    # fill the cache in chunks (progress; an interrupted run resumes)
    enc = feat.encoder
    todo = [t for t in dict.fromkeys(clean_tr + clean_dv) if t]
    keys = [enc._key(unicodedata.normalize("NFC", t)) for t in todo]
    have = enc._store.get(sorted(set(keys)))
    todo = [t for t, k in zip(todo, keys) if k not in have]
    n_windows = sum(len(w) for w in enc.token_windows([unicodedata.normalize("NFC", t) for t in todo]))
    log(f"(c) {len(todo)} texts ({n_windows} windows) to embed; {len(have)} cached")
    t0, done, speed = time.time(), 0, None
    for s in range(0, len(todo), 32):
        enc.encode(todo[s:s + 32])
        done += len(todo[s:s + 32])
        rate = done / (time.time() - t0)
        log(f"(c) embedded {done}/{len(todo)} texts, {rate:.2f} docs/s, ETA {(len(todo) - done) / rate / 60:.1f} min")
    if todo:
        speed = {"docs_per_s": len(todo) / (time.time() - t0), "windows_per_s": n_windows / (time.time() - t0)}
    X_tr = feat.fit(clean_tr).transform(clean_tr)

    # e5 + linear head; C by the head's 3-fold CV on train
    cv = {}
    for C in args.c_grid:
        est = LinearTopicClassifier(C=C, cv=3).fit(X_tr, tr_y)
        cv[C] = est.cv_scores_["macro_f1"]
        log(f"(c) e5 head C={C}: train-CV macro-F1 {cv[C]:.4f}")
    C = max(cv, key=cv.get)
    t0 = time.time()
    pipe = Pipeline([("features", feat), ("classifier", LinearTopicClassifier(C=C, cv=3))]).fit(clean_tr, tr_y)
    e5clf = TopicClassifier(pipe, languages=["vi", "en"], meta={"name": "e5-linear"})
    record(f"e5 ({args.c_windows}x512 mean) + linear, C={C}", e5clf, time.time() - t0,
           {"C": C, "train_cv_macro_f1": cv})

    # TF-IDF ++ e5: the embedding weight by the head's CV on train
    vec = NgramVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, digits=True).fit(clean_tr)
    import scipy.sparse as sp

    T_tr = vec.transform(clean_tr)
    cvw = {}
    for w in args.w_grid:
        est = LinearTopicClassifier(C=0.5, cv=3).fit(sp.hstack([T_tr, sp.csr_matrix(X_tr * w)]).tocsr(), tr_y)
        cvw[w] = est.cv_scores_["macro_f1"]
        log(f"(c) TF-IDF ++ e5 weight {w}: train-CV macro-F1 {cvw[w]:.4f}")
    w = max(cvw, key=cvw.get)
    t0 = time.time()
    union = FeatureUnion([("tfidf", NgramVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, digits=True)),
                          ("e5", EmbeddingFeaturizer(E5, max_length=512, stride=stride, max_windows=args.c_windows,
                                                     cache_dir=cache, batch_size=8, weight=w))])
    pipe = Pipeline([("features", union), ("classifier", LinearTopicClassifier(C=0.5, cv=3))]).fit(clean_tr, tr_y)
    both = TopicClassifier(pipe, languages=["vi", "en"], meta={"name": "tfidf+e5-linear"})
    record(f"TF-IDF ++ e5 (weight {w}) + linear, C=0.5", both, time.time() - t0,
           {"embedding_weight": w, "train_cv_macro_f1": cvw})

    n = {g: dv_g.count(g) for g in order}
    print("\n### (c) policy5 dev (multi-label, 5 labels): e5 features vs TF-IDF\n")
    print(f"train {len(tr_x)} / dev {len(dv_x)} articles; e5 = first {args.c_windows} non-overlapping "
          f"512-token windows, mean-pooled; heads: LinearTopicClassifier (squared hinge, CV calibration "
          f"and thresholds on train folds).\n")
    print(md_table(["model", "macro-F1", f"vntc-test (n={n['vntc-test']})", f"dantri (n={n['dantri']})",
                    f"en (n={n['en']})", "micro-F1"], rows))
    if speed:
        print(f"\ne5 embedding throughput while filling the cache: {speed['docs_per_s']:.2f} docs/s, "
              f"{speed['windows_per_s']:.2f} windows/s")
    return {"setup": {"train": len(tr_x), "dev": len(dv_x), "windows": f"first {args.c_windows} x 512, stride {stride}",
                      "c_grid": args.c_grid, "w_grid": args.w_grid, "groups": n},
            "embedding_speed": speed, "results": results}


# ------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="a,b,c", help="comma-separated: a, b, c")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--cache-dir", default=None, help="embedding caches (default $TOPICCLF_CACHE or ~/.cache/topicclf)")
    ap.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "transformer.json"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-train", type=int, default=300)
    ap.add_argument("--n-test", type=int, default=300)
    ap.add_argument("--min-tokens", type=int, default=700)
    ap.add_argument("--max-tokens", type=int, default=2000)
    ap.add_argument("--lr-C", type=float, default=10.0)
    ap.add_argument("--throughput-docs", type=int, default=40)
    ap.add_argument("--c-windows", type=int, default=2)
    ap.add_argument("--c-limit", type=int, default=None, help="part c on a seeded subset of N train and N dev records")
    ap.add_argument("--c-grid", type=float, nargs="+", default=[0.5, 2.0, 8.0, 32.0, 128.0])
    ap.add_argument("--w-grid", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from topicclf.data import data_root

    data = data_root()
    if data is None:
        print("no data: set TOPICCLF_DATA or put shared/data beside the repository", file=sys.stderr)
        return 2
    cache = Path(args.cache_dir or os.environ.get("TOPICCLF_CACHE") or Path.home() / ".cache" / "topicclf")
    out = Path(args.json)
    results = json.loads(out.read_text()) if out.is_file() else {}
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    import topicclf

    results["machine"] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "torch_threads": args.threads, "torch": torch.__version__,
                          "topicclf": topicclf.__version__}
    names = {"a": "windows_vs_truncation", "b": "int8_vs_fp32", "c": "policy5_e5_features"}
    for p in parts:
        if p not in names:
            raise SystemExit(f"unknown part {p!r}: use a, b, c")
        t0 = time.time()
        res = {"a": part_a, "b": part_b, "c": part_c}[p](args, cache, data)
        res["seconds"] = round(time.time() - t0, 1)
        res["command"] = "python benchmarks/transformer.py " + " ".join(argv if argv is not None else sys.argv[1:])
        results[names[p]] = res
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        log(f"part {p} done in {res['seconds']:.0f}s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
