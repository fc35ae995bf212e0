"""policy5 speed against vntc10, in memory, on the same articles in the same run.

    python benchmarks/policy5_speed.py             # 8,000 VNTC test articles, best of 3
    python benchmarks/policy5_speed.py --limit 2000 --repeat 1

The policy5 issue asks the default model to keep at least 0.5x vntc10's in-memory
throughput (raw text in, labels out: cleaning, language gate, features, scores). Timings on a
shared machine are noisy: read the ratio, measured here side by side, not the absolute numbers.
Writes ``benchmarks/results/policy5_speed.json``.
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=8000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "policy5_speed.json"))
    args = ap.parse_args(argv)

    import topicclf
    from topicclf.data import data_root

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    texts = []
    with gzip.open(root / "vntc" / "test.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if len(texts) >= args.limit:
                break
    models = {name: topicclf.load(name) for name in ("vntc10", "policy5")}
    for m in models.values():
        m.predict(texts[:200])  # warm-up
    best = {name: float("inf") for name in models}
    for _ in range(args.repeat):
        for name, m in models.items():  # interleaved: both see the same machine state
            t = time.perf_counter()
            m.predict(texts)
            best[name] = min(best[name], time.perf_counter() - t)
    rate = {name: len(texts) / s for name, s in best.items()}
    ratio = rate["policy5"] / rate["vntc10"]
    for name, r in rate.items():
        print(f"{name:8s} {r:10,.0f} articles/s")
    print(f"policy5 / vntc10 = {ratio:.2f} (target >= 0.5)")
    Path(args.json).write_text(json.dumps({"command": "python benchmarks/policy5_speed.py", "articles": len(texts),
                                           "repeat": args.repeat, "articles_per_s": rate,
                                           "policy5_over_vntc10": ratio}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
