"""Benchmark ``topicclf score`` on synthetic dumps built from the VNTC test articles.

For each size (records), writes a JSONL dump by sampling the VNTC test articles (repeating
them when the size exceeds the 50,373 articles), then

* runs the CLI as a subprocess with ``--workers 1`` and ``--workers 2`` (end-to-end wall
  time: start-up, model loading, reading, scoring, writing the output; cores used: the CPU
  time of the CLI and its workers over that wall time), polling
  ``/proc`` for the peak resident memory of the whole process tree (main + workers; shared
  pages are counted once per process, so this over-counts a little);
* runs the plain in-memory ``clf.predict`` on the same articles in this process (no I/O, no
  JSON: the ceiling a single process can reach).

Usage::

    python benchmarks/score.py                          # 10k and 100k, model vntc10
    python benchmarks/score.py --sizes 1000000          # 1M (about 3.5 GB of JSONL on disk)
    python benchmarks/score.py --model /tmp/vntc5k
    python benchmarks/score.py --train-quick /tmp/vntc5k   # train a 5k-article model first if missing
    python benchmarks/score.py --repeat 5               # median of 5 rounds: for a machine shared with others
    python benchmarks/score.py --sizes 100000 --gzip --model policy5   # a .jsonl.gz dump, policy5

The articles are read from ``$TOPICCLF_DATA/vntc/test.jsonl.gz`` or
``../shared/data/vntc/test.jsonl.gz``; nothing from them is printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import topicclf  # noqa: E402
from topicclf.data import data_root  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def read_articles(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def sample_order(n_articles: int, size: int, seed: int = 0) -> list[int]:
    """Article indices for ``size`` records: shuffled passes over all articles."""
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < size:
        perm = list(range(n_articles))
        rng.shuffle(perm)
        order += perm[: size - len(order)]
    return order


def write_dump(articles: list[str], order: list[int], path: Path) -> None:
    if path.is_file():
        return
    tmp = path.with_suffix(".tmp")
    opener = (lambda p: gzip.open(p, "wt", encoding="utf-8", compresslevel=6)) if path.suffix == ".gz" \
        else (lambda p: open(p, "w", encoding="utf-8"))
    with opener(tmp) as f:
        for i, k in enumerate(order):
            f.write(json.dumps({"id": f"r{i:07d}", "text": articles[k]}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def tree_rss(pid: int) -> tuple[int, int]:
    """``(sum, max)`` resident bytes over ``pid`` and its descendants, from /proc."""
    total = biggest = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                rss = int(f.read().split()[1]) * PAGE
            total += rss
            biggest = max(biggest, rss)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total, biggest


def run_cli(dump: Path, out: Path, model: str, workers: int, batch_size: int | None) -> dict:
    for p in (out, Path(f"{out}.rejects.jsonl"), Path(f"{out}.summary.json")):
        p.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "topicclf.cli", "score", str(dump), "--model", model, "--out", str(out),
           "--workers", str(workers), "--quiet"]
    if batch_size:
        cmd += ["--batch-size", str(batch_size)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_sum = peak_one = 0
    while proc.poll() is None:
        s, m = tree_rss(proc.pid)
        peak_sum, peak_one = max(peak_sum, s), max(peak_one, m)
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the CLI and the workers it waited for
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    err = proc.stderr.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"score failed ({proc.returncode}):\n{err[-2000:]}")
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    return {"wall": wall, "cores_used": cpu / wall, "peak_mb": peak_sum / 2**20, "peak_one_mb": peak_one / 2**20,
            "summary": summary}


def predict_rate(clf, articles: list[str], order: list[int], chunk: int = 50_000) -> float:
    """Records/s of ``clf.predict`` on the same texts, in memory (slices of 50k, one call each)."""
    t0 = time.perf_counter()
    for i in range(0, len(order), chunk):
        clf.predict([articles[k] for k in order[i:i + chunk]])
    return len(order) / (time.perf_counter() - t0)


def ensure_model(args) -> str:
    if args.train_quick and not Path(args.train_quick, "config.json").is_file():
        train = Path(args.data).with_name("train.jsonl.gz")
        with gzip.open(train, "rt", encoding="utf-8") as f:
            recs = [json.loads(l) for l in f if l.strip()]
        random.Random(0).shuffle(recs)
        recs = recs[:5000]
        print(f"training a quick model on {len(recs)} VNTC train articles -> {args.train_quick}", file=sys.stderr)
        topicclf.train([r["text"] for r in recs], [r["label"] for r in recs], cv=2,
                       name="vntc5k").save(args.train_quick)
    return args.train_quick or args.model


def main(argv: list[str] | None = None) -> int:
    root = data_root()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--model", default="vntc10", help="shipped model name or model directory")
    p.add_argument("--train-quick", default=None, metavar="DIR",
                   help="use (and first train, if missing) a model on 5,000 VNTC train articles in DIR")
    p.add_argument("--data", default=str(root / "vntc" / "test.jsonl.gz") if root else None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--workdir", default=None, help="where dumps and outputs go (default: a temp folder)")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of (predict, then each worker count); the median ratio is reported")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--gzip", action="store_true", help="score a gzip-compressed dump (.jsonl.gz)")
    p.add_argument("--skip-predict", action="store_true",
                   help="skip the in-memory predict baseline (for 1M records it holds every text in memory)")
    args = p.parse_args(argv)
    if not args.data or not Path(args.data).is_file():
        raise SystemExit("needs vntc/test.jsonl.gz: set TOPICCLF_DATA or put the data in ../shared/data")
    model = ensure_model(args)
    clf = topicclf.load(model)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="topicclf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    articles = read_articles(Path(args.data))
    print(f"model {clf.name} ({model}); {len(articles)} articles; work dir {work}; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}", file=sys.stderr)

    rows = []
    for size in args.sizes:
        order = sample_order(len(articles), size)
        dump = work / (f"vntc_{size}.jsonl" + (".gz" if args.gzip else ""))
        write_dump(articles, order, dump)
        # --repeat rounds, each measuring predict and then every worker count: a ratio is taken
        # within a round (the machine's speed drifts between rounds on a shared host); the
        # median ratio and the fastest run of each are reported
        bases, runs = [], {w: [] for w in args.workers}
        for _ in range(args.repeat):
            base = predict_rate(clf, articles, order) if not args.skip_predict else float("nan")
            bases.append(base)
            for w in args.workers:
                r = run_cli(dump, work / f"scored_{size}_w{w}.jsonl", model, w, args.batch_size)
                r["ratio"] = size / r["wall"] / base
                runs[w].append(r)
        base = max(bases)
        one = None
        for w in args.workers:
            r = min(runs[w], key=lambda x: x["wall"])
            rate = size / r["wall"]
            one = rate if w == 1 else one
            ratios = sorted(x["ratio"] for x in runs[w])
            rows.append({"size": size, "workers": w, "records_per_s": rate, "cores_used": r["cores_used"],
                         "peak_rss_mb": r["peak_mb"],
                         "peak_rss_one_process_mb": r["peak_one_mb"], "speedup": rate / one if one else None,
                         "vs_predict": statistics.median(ratios), "vs_predict_each_round": ratios,
                         "predict_records_per_s": base, "predict_each_round": bases,
                         "rejected": r["summary"]["rejected"]})
            print(f"  {size} records, {w} worker(s): {rate:.0f} rec/s; x predict per round: "
                  + ", ".join(f"{x:.2f}" for x in ratios), file=sys.stderr)

    head = (f"{'size':>9} {'workers':>7} {'records/s':>10} {'cores used':>10} {'peak RSS MB':>12} {'speedup':>8} "
            f"{'vs predict (median)':>19}")
    print(head)
    for r in rows:
        sp = f"{r['speedup']:.2f}x" if r["speedup"] else "-"
        print(f"{r['size']:>9} {r['workers']:>7} {r['records_per_s']:>10.0f} {r['cores_used']:>10.2f} {r['peak_rss_mb']:>12.0f} "
              f"{sp:>8} {r['vs_predict']:>18.2f}x")
    for size in args.sizes:
        base = next(r["predict_records_per_s"] for r in rows if r["size"] == size)
        print(f"in-memory clf.predict, {size} records: {base:.0f} rec/s; topicclf score / predict: "
              + ", ".join(f"{r['vs_predict']:.2f}x ({r['workers']} worker(s))" for r in rows if r["size"] == size))
    if args.json:
        Path(args.json).write_text(json.dumps({"model": model, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
