"""The ``topicclf`` command line; its commands mirror the library's verbs.

::

    topicclf classify article.txt [--model NAME_OR_DIR] [--explain] [--json]
    topicclf tokenize article.txt [--lang vi] [--mode word|syllable]
    topicclf train --data TRAIN.jsonl --out DIR [--text-field text] [--label-field label|labels]
    topicclf evaluate --model NAME_OR_DIR --data TEST.jsonl --report DIR
    topicclf score INPUT --model NAME_OR_DIR --out OUT.jsonl
    topicclf info [--model NAME_OR_DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger("topicclf")


def _read_inputs(files: list[str]) -> list[tuple[str, str]]:
    from .text import read_text

    if not files or files == ["-"]:
        data = sys.stdin.buffer.read()
        return [("<stdin>", read_text(data))]
    out = []
    for f in files:
        p = Path(f)
        if not p.is_file():
            raise SystemExit(f"topicclf: {f}: no such file")
        out.append((f, read_text(p)))
    return out


def cmd_classify(args) -> int:
    import topicclf

    clf = topicclf.load(args.model)
    inputs = _read_inputs(args.files)
    preds = clf.classify([t for _, t in inputs])
    for (name, text), p in zip(inputs, preds):
        expl = clf.explain(text, top_k=args.top_terms) if args.explain and p.labels else {}
        if args.json:
            d = {"file": name, **p.to_dict()}
            if args.explain:
                d["explanation"] = {k: [[t, w] for t, w in v] for k, v in expl.items()}
            print(json.dumps(d, ensure_ascii=False))
            continue
        print(f"{name}  [{p.lang}]" + (f"  flags: {', '.join(p.flags)}" if p.flags else ""))
        print("  labels: " + (", ".join(f"{l} ({p.scores[l]:.2f})" for l in p.labels) or "(none)"))
        thr = clf.thresholds if clf.multilabel else {}
        for label, s in sorted(p.scores.items(), key=lambda kv: -kv[1]):
            mark = "*" if label in p.labels else " "
            t = f"  (threshold {thr[label]:.2f})" if label in thr else ""
            print(f"   {mark} {label:<20} {s:.3f}{t}")
        for label, terms in expl.items():
            print(f"  why {label}: " + ", ".join(f"{t} ({w:+.2f})" for t, w in terms))
    return 0


def cmd_tokenize(args) -> int:
    from .tokenize import tokenize

    for _, text in _read_inputs(args.files):
        for line in text.splitlines():
            if line.strip():
                print(" ".join(tokenize(line, lang=args.lang, mode=args.mode)))
    return 0


def cmd_train(args) -> int:
    labels = args.labels.split(",") if args.labels else None
    if args.model_type == "transformer":
        from .transformer import train_transformer_file

        extra = {k: v for k, v in (("lr", args.lr), ("batch_size", args.batch_size),
                                   ("window_pooling", args.window_pooling),
                                   ("val_fraction", args.val_fraction)) if v is not None}
        if args.class_weight:
            extra["class_weight"] = args.class_weight
        train_transformer_file(args.data, args.out, base_model=args.base_model, text_field=args.text_field,
                               label_field=args.label_field, label_set=labels, seed=args.seed,
                               epochs=args.epochs, max_length=args.max_length, name=args.name,
                               segment_words=args.segment_words, device=args.device,
                               log_every=50 if args.verbose else 0, **extra)
    else:
        from .trainer import train_file

        params = {"C": args.C, "min_df": args.min_df, "ngram_range": (1, args.ngram_max), "seed": args.seed,
                  "cv": args.cv}
        if args.class_weight:
            params["class_weight"] = args.class_weight
        train_file(args.data, args.out, text_field=args.text_field, label_field=args.label_field,
                   label_set=labels, name=args.name, **params)
    print(f"saved model to {args.out}")
    return 0


def cmd_evaluate(args) -> int:
    import topicclf
    from .data import load_records
    from .evaluate import evaluate, write_report

    clf = topicclf.load(args.model)
    recs = load_records(args.data, text_field=args.text_field, label_field=args.label_field)
    groups = {}
    for g in (args.group_by.split(",") if args.group_by else []):
        if g == "lang":
            groups["lang"] = [l or "?" for l in recs.langs]
        elif g in recs.extra:
            groups[g] = recs.extra[g]
        else:
            raise SystemExit(f"topicclf: --group-by {g}: no such field (have lang, {', '.join(recs.extra)})")
    result = evaluate(clf, recs.texts, recs.labels, ids=recs.ids, groups=groups)
    out = write_report(result, args.report, title=f"{clf.name} on {Path(args.data).name}")
    acc = f"accuracy {result['accuracy']:.4f}  " if "accuracy" in result else ""
    print(f"{acc}macro-F1 {result['macro_f1']:.4f}  micro-F1 {result['micro_f1']:.4f}  report: {out}/report.md")
    return 0


def cmd_score(args) -> int:
    from .score import score_file

    try:
        summary = score_file(args.input, args.out, model=args.model, text_field=args.text_field,
                             id_field=args.id_field, title_field=args.title_field, batch_size=args.batch_size,
                             workers=args.workers, resume=args.resume, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"topicclf: interrupted; completed chunks are kept in {args.out}.parts/: "
              "rerun the same command with --resume to continue", file=sys.stderr)
        return 130
    except RuntimeError as e:  # a worker died
        print(f"topicclf: error: {e}", file=sys.stderr)
        return 1
    problem = _score_problem(args, summary)
    if not args.quiet or problem:
        print(_score_summary_text(summary), file=sys.stderr)
    if problem:
        print(f"topicclf: error: {problem}", file=sys.stderr)
    print(json.dumps(summary, ensure_ascii=False), file=sys.stderr)
    return 1 if problem else 0


def _score_summary_text(s: dict) -> str:
    """The summary of a ``score`` run for a person (the JSON follows it)."""
    n = s["records_in"]
    lines = [f"topicclf: scored {s['scored']:,} of {n:,} records into {s['output']}"]
    if s["flagged"]:
        lines.append(f"  flagged (no labels: empty, too short, other language...): {s['flagged']:,}"
                     + (f" ({', '.join(f'{k} {v:,}' for k, v in s['flags'].items())})" if s.get("flags") else ""))
    if s["rejected"]:
        lines.append(f"  rejected (not scored): {s['rejected']:,}; one line per record with the reason "
                     f"in {s['rejects_file']}")
        reasons = _reject_reasons(s["rejects_file"])
        if reasons:
            lines.append("  most common reasons: " + "; ".join(f"{r} ({c:,})" for r, c in reasons))
    if s["scored"]:
        top = sorted(((v, k) for k, v in s.get("labels", {}).items() if v), reverse=True)
        if top:
            lines.append("  labels: " + ", ".join(f"{k} {v:,}" for v, k in top))
    return "\n".join(lines)


def _reject_reasons(path, limit: int = 3, read: int = 10_000) -> list[tuple[str, int]]:
    from collections import Counter
    from itertools import islice

    counts: Counter = Counter()
    try:
        with open(path, encoding="utf-8") as f:
            for line in islice(f, read):
                try:
                    counts[json.loads(line).get("reason", "?")] += 1
                except (ValueError, AttributeError):
                    continue
    except OSError:
        return []
    return counts.most_common(limit)


def _score_problem(args, s: dict) -> str | None:
    """Why a run that read no record, or rejected every record, is an error; ``None`` otherwise."""
    from .score_io import FOLDER_SUFFIXES, input_kind

    kind = input_kind(args.input)
    if s["records_in"] == 0:
        if kind == "folder":
            from collections import Counter

            found = Counter((p.suffix.lower() or "(no extension)") for p in Path(args.input).rglob("*")
                            if p.is_file() and not any(part.startswith(".") for part in
                                                       p.relative_to(args.input).parts))
            skipped = ", ".join(f"{n} {ext}" for ext, n in found.most_common(5)) or "no file at all"
            hint = ""
            if any(ext in found for ext in (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".gz", ".zst")):
                hint = (f"; to score data files, give each file as INPUT (topicclf score {args.input}/FILE "
                        f"--out ...), or join JSONL files on stdin (cat {args.input}/*.jsonl | topicclf "
                        "score - --out ...)")
            return (f"{args.input}: read no record. A folder input is read as one record per "
                    f"{'/'.join(FOLDER_SUFFIXES)} file, and this folder has none (files found: {skipped})"
                    + hint)
        return f"{args.input}: read no record (the input is empty or holds only blank lines)"
    if s["scored"] == 0:
        reasons = _reject_reasons(s["rejects_file"], limit=1)
        msg = (f"every record ({s['records_in']:,}) was rejected"
               + (f", most for: {reasons[0][0]}" if reasons else "") + f" (see {s['rejects_file']})")
        fields = _input_fields(args.input, kind) if kind != "stdin" else None
        if fields and args.text_field not in fields:
            texty = [f for f, is_text in fields.items() if is_text]
            msg += (f". The records have no field {args.text_field!r}; their fields are {list(fields)}"
                    + (f": pass --text-field {texty[0]}" if texty else ": pass --text-field NAME"))
        return msg
    return None


def _input_fields(path: str, kind: str, rows: int = 20) -> dict[str, bool] | None:
    """The field names of the first records of an input file -> whether the longest of their
    values is text (the likely ``--text-field``), longest first; ``None`` if unreadable."""
    import csv
    import io
    from itertools import islice

    from .score_io import open_binary

    lengths: dict[str, int] = {}
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.ParquetFile(path).read_row_group(0) if pq.ParquetFile(path).num_row_groups else None
            rows_ = table.slice(0, rows).to_pylist() if table is not None else []
        else:
            stream, raw = open_binary(path)
            try:
                if kind == "jsonl":
                    rows_ = []
                    for line in islice(stream, 10 * rows):
                        if line.strip():
                            obj = json.loads(line)
                            if isinstance(obj, dict):
                                rows_.append(obj)
                        if len(rows_) >= rows:
                            break
                else:
                    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
                    rows_ = list(islice(csv.DictReader(text, delimiter="\t" if kind == "tsv" else ","), rows))
            finally:
                raw.close()
    except Exception:  # only a hint: any failure just leaves it out
        return None
    for row in rows_:
        for k, v in row.items():
            lengths[str(k)] = max(lengths.get(str(k), -1), len(v) if isinstance(v, str) else -1)
    if not lengths:
        return None
    order = sorted(lengths, key=lambda k: -lengths[k])
    return {k: lengths[k] > 0 for k in order}


def cmd_info(args) -> int:
    import topicclf
    from .classifiers.registry import available_models
    from .serialization import library_versions

    if args.model:
        clf = topicclf.load(args.model)
        cfg = clf.config()
        print(json.dumps({k: cfg.get(k) for k in ("name", "model_type", "labels", "multilabel", "languages",
                                                   "thresholds", "metrics", "training", "seed")},
                         ensure_ascii=False, indent=2, default=str))
    else:
        print(json.dumps({"topicclf": topicclf.__version__, "shipped_models": available_models(),
                          "default_model": topicclf.DEFAULT_MODEL, "versions": library_versions()}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="topicclf", description="Topic classification for Vietnamese and English news.")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("classify", help="classify text files (or stdin) and print labels with scores")
    c.add_argument("files", nargs="*", help="text/HTML files (any encoding topicclf.read_text detects); - or none: stdin")
    c.add_argument("--model", default=None, help="shipped model name or model directory (default: policy5)")
    c.add_argument("--explain", action="store_true", help="show the terms behind each predicted label")
    c.add_argument("--top-terms", type=int, default=8)
    c.add_argument("--json", action="store_true", help="one JSON object per file")
    c.set_defaults(func=cmd_classify)

    t = sub.add_parser("tokenize", help="print tokens, one input line per output line")
    t.add_argument("files", nargs="*")
    t.add_argument("--lang", default=None, help="vi, en, ... (default: detected)")
    t.add_argument("--mode", default="word", choices=["word", "syllable"])
    t.set_defaults(func=cmd_tokenize)

    tr = sub.add_parser("train", help="train a model on a labeled JSONL/CSV/Parquet file")
    tr.add_argument("--data", required=True, nargs="+", help="one or more labeled files")
    tr.add_argument("--out", required=True, help="output model directory")
    tr.add_argument("--text-field", default="text")
    tr.add_argument("--label-field", default=None, help="label (single-label) or labels (a list: multi-label)")
    tr.add_argument("--labels", default=None, help="comma-separated declared labels (others are an error)")
    tr.add_argument("--name", default=None)
    tr.add_argument("--model-type", default="linear", choices=["linear", "transformer"])
    tr.add_argument("--base-model", default="multilingual-e5-small", help="transformer: local checkpoint or name")
    tr.add_argument("--epochs", type=int, default=3)
    tr.add_argument("--max-length", type=int, default=256, help="transformer: tokens per window")
    tr.add_argument("--batch-size", type=int, default=None, help="transformer: windows per step (default 16)")
    tr.add_argument("--lr", type=float, default=None, help="transformer: encoder learning rate (default 5e-5)")
    tr.add_argument("--window-pooling", default=None, choices=["mean", "max"],
                    help="transformer: article score = mean (default) or max of its windows' scores")
    tr.add_argument("--val-fraction", type=float, default=None,
                    help="transformer: held-out share for early stopping and thresholds (default 0.1)")
    tr.add_argument("--segment-words", action="store_true",
                    help="transformer: feed word-segmented Vietnamese (chủ_quyền), for PhoBERT-style models")
    tr.add_argument("--device", default="cpu", help="transformer: torch device (cpu, cuda)")
    tr.add_argument("--C", type=float, default=0.5)
    tr.add_argument("--min-df", type=int, default=2)
    tr.add_argument("--ngram-max", type=int, default=2)
    tr.add_argument("--cv", type=int, default=3)
    tr.add_argument("--class-weight", default=None, choices=[None, "balanced"])
    tr.add_argument("--seed", type=int, default=0)
    tr.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a model on a labeled file and write a report")
    e.add_argument("--model", default=None)
    e.add_argument("--data", required=True)
    e.add_argument("--report", required=True, help="output folder: metrics.json, report.md, plots")
    e.add_argument("--text-field", default="text")
    e.add_argument("--label-field", default=None)
    e.add_argument("--group-by", default=None, help="comma-separated fields for per-group metrics, e.g. lang,source")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("score", help="score a JSONL/CSV/Parquet dump (or folder of .txt/.html) to JSONL/CSV/Parquet",
                       description="Stream-score a dump. Writes OUT, OUT.rejects.jsonl (records that could not "
                                   "be scored, with the reason) and OUT.summary.json; the summary also goes to "
                                   "stderr. A killed run continues with --resume.")
    s.add_argument("input", help="JSONL (.gz/.zst), CSV/TSV, Parquet, a folder of .txt/.html files, or - (JSONL on stdin)")
    s.add_argument("--model", default=None, help="shipped model name or model directory (default: policy5)")
    s.add_argument("--out", required=True, help="output file: .jsonl (.gz/.zst), .csv or .parquet")
    s.add_argument("--text-field", default="text")
    s.add_argument("--id-field", default="id", help="ids of the output rows (default id; else the record's index)")
    s.add_argument("--title-field", default=None, help="prepended to the text: title + newline + text")
    s.add_argument("--batch-size", type=int, default=None,
                   help="records per chunk (default 2048 for linear models, 32 for transformers)")
    s.add_argument("--workers", type=int, default=1, help="scoring processes (default 1: in this process, with one scoring thread per core)")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.parts/")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_score)

    i = sub.add_parser("info", help="shipped models, versions, or one model's config")
    i.add_argument("--model", default=None)
    i.set_defaults(func=cmd_info)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("topicclf: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    log.propagate = False
    from .data import DataError
    from .serialization import ModelFileError
    from .text import DecodeError

    try:
        return args.func(args)
    except (DataError, ModelFileError, DecodeError, FileNotFoundError, FileExistsError, ValueError, TypeError) as e:
        print(f"topicclf: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
