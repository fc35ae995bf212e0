"""vntc10 with its weakest features pruned: accuracy and speed against underthesea_core (#12 item 3).

Each ``K`` is ``clf.prune(K)`` of the base model: a feature's weight is its idf times the
spread of its weights over the classes (max - min: what it can move between two classes'
logits); the ``K`` strongest are kept and nothing is retrained. The shipped ``vntc10`` is
already pruned to 150,000 (``scripts/train_vntc10.py``); to start from the unpruned model,
train it with ``python scripts/train_vntc10.py --prune 0 --no-test --out DIR`` and pass
``--model DIR``. For the base model and each ``K`` this prints, in one run:

* accuracy on the full VNTC test split and ``predict`` docs/s (raw text in, default threads),
  two rounds, interleaved with ``underthesea_core.TextClassifier`` (fit on the train split here);
* the n-gram + scores step alone, CPU µs per article on one thread (10,000 cleaned test
  articles, median of 5), which a busy machine disturbs less than wall time.

Usage::

    python benchmarks/vntc10_prune.py --model DIR 300000 150000 80000
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import topicclf  # noqa: E402
from topicclf.data import data_root  # noqa: E402
from vntc import read_split, timed  # noqa: E402


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("keep", type=int, nargs="*", default=[300_000, 150_000, 80_000])
    ap.add_argument("--model", default="vntc10", help="the base model (name or folder)")
    args = ap.parse_args(argv)
    root = data_root()
    test_x, test_y = read_split(root, "test")
    gold = np.asarray(test_y, dtype=object)
    base = topicclf.load(args.model)
    models = {f"{base.name} ({len(base.pipeline[0].idf_):,} features)": base}
    models.update({f"{base.name} pruned to {k:,}": base.prune(k) for k in args.keep})

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
