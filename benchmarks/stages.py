"""Time each step of the vntc10 pipeline, C extensions against the Python/NumPy reference.

    .venv/bin/python benchmarks/stages.py                 # 5,000 VNTC test articles
    .venv/bin/python benchmarks/stages.py --limit 2000 --json /tmp/stages.json

Steps, on the same articles in one run (best of ``--repeat``, microseconds per article):

* ``normalize``: ``topicclf.text._normalize_py`` (the reference) vs ``topicclf.normalize``;
* ``detect_language`` on the normalized texts: the pure-Python evidence count vs ``_langscan``;
* n-gram features + linear scores on the normalized texts, in chunks of 512: the NumPy
  featurizer + scikit-learn Pipeline vs the C loop that scores straight from the weights;
* ``predict`` end to end with ``n_jobs=1`` and the default threads (docs/s).

The two paths must give the same results; the test suite checks that, this script only times.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def best_us(fn, n: int, repeat: int) -> float:
    """Best wall time of ``fn()`` over ``repeat`` runs, in microseconds per article."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import topicclf
    from topicclf import lang
    from topicclf.data import data_root
    from topicclf.text import _normalize_py, normalize

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    with gzip.open(root / "vntc" / "test.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line, _ in zip(f, range(args.limit))]
    n = len(texts)
    clean = [normalize(t) for t in texts]
    clf = topicclf.load("vntc10")
    vec = clf.pipeline[0]
    chunks = [clean[i:i + 512] for i in range(0, n, 512)]
    rows = {}

    rows["normalize"] = (best_us(lambda: [_normalize_py(t) for t in texts], n, args.repeat),
                         best_us(lambda: [normalize(t) for t in texts], n, args.repeat))

    scanner = lang._SCANNER
    lang._use_scanner(None)
    py = best_us(lambda: [lang.detect_language(t) for t in clean], n, args.repeat)
    lang._use_scanner(scanner)
    rows["detect_language"] = (py, best_us(lambda: [lang.detect_language(t) for t in clean], n, args.repeat))

    fast = vec._fast
    vec._fast = None  # the NumPy featurizer, and scikit-learn's sparse product
    py = best_us(lambda: [clf.pipeline.predict_proba(c) for c in chunks], n, args.repeat)
    vec._fast = fast
    rows["n-grams + linear scores"] = (py, best_us(lambda: [clf._proba(c) for c in chunks], n, args.repeat))

    clf.predict(texts[:600])
    speed = {}
    for n_jobs in (1, None):
        clf.n_jobs = n_jobs
        speed[f"n_jobs={n_jobs}"] = 1e6 / best_us(lambda: clf.predict(texts), n, args.repeat)

    print(f"\nvntc10, {n} VNTC test articles (mean {sum(map(len, texts)) / n:,.0f} characters)\n")
    print("| step | Python/NumPy µs | C µs | speed-up |")
    print("|---|---|---|---|")
    for step, (a, b) in rows.items():
        print(f"| {step} | {a:.1f} | {b:.1f} | {a / b:.1f}× |")
    print("\n" + ", ".join(f"predict {k}: {v:,.0f} docs/s" for k, v in speed.items()))
    if args.json:
        out = {"articles": n, "us_per_article": {k: {"python": a, "c": b} for k, (a, b) in rows.items()},
               "predict_docs_per_s": speed, "command": "python benchmarks/stages.py"
               + (f" --limit {args.limit}" if args.limit != 5000 else "")}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
