"""Where ``topicclf score`` spends its CPU, per record, step by step (#12).

On the first ``--records`` records of a dump sampled from the VNTC test articles (as
``benchmarks/score.py`` writes it), CPU µs per record (``time.process_time``, best of
``--repeat``):

* reading in the main process (hashing included): line by line, as before, versus in blocks
  (``RawLines`` runs), each chunk pickled as it is sent to a worker;
* parsing one line: ``bytes.decode`` alone, ``json.loads``, ``orjson.loads``, and the reader's
  ``parse_line`` with and without the C extension (``_jsonrec``);
* decompressing the ``.gz`` dump: the standard library's gzip versus ISA-L (``isal``);
* one process, one thread, each step of scoring a chunk: parsing, cleaning and language
  (``prepare``), n-grams and scores, labels and rows; and ``predict`` on the same texts;
* starting one ``--workers`` process (spawn, imports, loading the model), in CPU seconds.

Usage::

    python benchmarks/score_stages.py --model policy5 --json benchmarks/results/score_stages.json
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import itertools
import json
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import topicclf  # noqa: E402
from topicclf import score as S  # noqa: E402
from topicclf import score_io  # noqa: E402
from topicclf.data import data_root  # noqa: E402
from topicclf.score_io import Source  # noqa: E402


def best(fn, repeat: int) -> float:
    out = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        out = min(out, time.process_time() - t)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="policy5")
    ap.add_argument("--records", type=int, default=20_480)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default=None, help="where the dump goes (default: a temp folder)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from score import read_articles, sample_order, write_dump

    import tempfile

    root = data_root()
    if root is None:
        raise SystemExit("needs vntc/test.jsonl.gz: set TOPICCLF_DATA or put the data in ../shared/data")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="topicclf-stages-"))
    work.mkdir(parents=True, exist_ok=True)
    dump = work / f"stages_{args.records}.jsonl"
    if not dump.is_file():
        articles = read_articles(root / "vntc" / "test.jsonl.gz")
        write_dump(articles, sample_order(len(articles), args.records), dump)
    gz = dump.with_name(dump.name + ".gz")
    if not gz.is_file():
        with open(dump, "rb") as f, gzip.open(gz, "wb", compresslevel=6) as g:
            shutil.copyfileobj(f, g)
    n = args.records
    res: dict[str, float] = {}

    def per_record(name: str, fn, count: int = n) -> None:
        res[name] = 1e6 * best(fn, args.repeat) / count
        print(f"  {name}: {res[name]:.1f} µs", file=sys.stderr)

    # 1. the main process: read, chunk, pickle (what is sent to a worker)
    def read_lines():
        with open(dump, "rb", buffering=1 << 20) as raw:
            it = iter(score_io._Lines(raw, None, hashlib.sha256()))
            while chunk := list(itertools.islice(it, 2048)):
                pickle.dumps(chunk)

    def read_blocks():
        src = Source(dump)
        src.defer = True
        for chunk in src.chunks(2048):
            pickle.dumps(chunk)
            src.digest()

    per_record("main process: read line by line + hash + pickle the lines", read_lines)
    per_record("main process: read in blocks + hash + pickle (RawLines)", read_blocks)

    # 2. parsing a line
    lines = [l.rstrip(b"\n") for l in itertools.islice(open(dump, "rb"), n)]
    fields = score_io._Fields("text", "id", None)
    per_record("bytes.decode", lambda: [l.decode() for l in lines])
    per_record("bytes.decode + json.loads", lambda: [json.loads(l.decode()) for l in lines])
    try:
        import orjson

        per_record("orjson.loads", lambda: [orjson.loads(l) for l in lines])
    except ImportError:
        pass
    per_record("parse_line, Python (orjson; json.loads decides the rest)", lambda: [fields._parse_py(0, 1, l) for l in lines])
    if score_io._jsonrec is not None:
        per_record("parse_line, C (_jsonrec)", lambda: [fields.parse_line(0, 1, l) for l in lines])

    # 3. gzip
    packed = gz.read_bytes()

    def inflate(reader):
        def run():
            r = reader(io.BytesIO(packed))
            while r(1 << 20):
                pass
        return run

    per_record("gunzip, zlib (gzip module)", inflate(lambda f: gzip.GzipFile(fileobj=f).read1))
    try:
        from isal import isal_zlib

        per_record("gunzip, ISA-L (isal)", inflate(lambda f: score_io._GzipMembers(f, isal_zlib).read))
    except ImportError:
        pass

    # 4. one thread, step by step, against predict
    clf = topicclf.load(args.model)
    src = Source(dump)
    src.defer = True
    chunks = list(src.chunks(2048))
    expanded = [S._expand(c, src.fields) for c in chunks]
    texts = [[t[4] for t in todo] for _, todo in expanded]
    prepared = [clf.prepare(x) for x in texts]
    scores = [clf._score(*p) for p in prepared]
    per_record("scoring step: parse (worker side)", lambda: [S._expand(c, src.fields) for c in chunks])
    per_record("scoring step: cleaning + language", lambda: [clf.prepare(x) for x in texts])
    per_record("scoring step: n-grams + scores", lambda: [clf._score(*p) for p in prepared])
    per_record("scoring step: labels + rows", lambda: [
        S._scored(clf, list(out), todo, S._rows(clf, x, None, *p, P))
        for (out, todo), x, p, P in zip(expanded, texts, prepared, scores)])
    per_record("predict (default threads), CPU", lambda: [clf.predict(x) for x in texts])

    # 5. starting a worker process (spawn, imports, loading the model), CPU seconds
    def start_worker():
        import multiprocessing
        import resource
        from concurrent.futures import ProcessPoolExecutor

        from topicclf.classifiers.registry import model_path

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=S._init_worker,
                                 initargs=(str(model_path(args.model)), 1, os.getpid())) as ex:
            ex.submit(int).result()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    res["start one worker process (CPU seconds, not µs)"] = min(start_worker() for _ in range(args.repeat))
    print(f"  start one worker: {res['start one worker process (CPU seconds, not µs)']:.2f} s", file=sys.stderr)

    print(f"\n{args.model}, {n:,} VNTC records ({dump.stat().st_size / n:,.0f} bytes each), CPU µs per record:\n")
    print("| step | µs per record |\n|---|---|")
    for k, v in res.items():
        print(f"| {k} | {v:.2f} |" if "seconds" in k else f"| {k} | {v:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "records": n, "us_per_record": res}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
