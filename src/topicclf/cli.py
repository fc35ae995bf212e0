"""The ``topicclf`` command line; its commands mirror the library's verbs.

::

    topicclf classify article.txt [--model NAME_OR_DIR] [--explain] [--evidence] [--json]
    topicclf tokenize article.txt [--lang vi] [--mode word|syllable]
    topicclf train --data TRAIN.jsonl --out DIR [--text-field text] [--label-field label|labels]
    topicclf evaluate --model NAME_OR_DIR --data TEST.jsonl --report DIR
    topicclf evaluate --model A --model B --data TEST.jsonl --report DIR   (compare two)
    topicclf select DUMP --model NAME_OR_DIR --n 200 --out to_label.jsonl
    topicclf score INPUT --model NAME_OR_DIR --out OUT.jsonl
    topicclf tune-thresholds --model NAME_OR_DIR --data DEV.jsonl --out DIR
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
        if p.is_dir():
            raise SystemExit(f"topicclf: error: {f}: is a folder; classify takes text files (e.g. "
                             f"topicclf classify {f.rstrip('/')}/*.txt). To label every .txt/.html file "
                             f"of a folder into one file: topicclf score {f} --out labels.jsonl")
        if not p.is_file():
            raise SystemExit(f"topicclf: error: {f}: no such file")
        out.append((f, read_text(p)))
    return out


def cmd_classify(args) -> int:
    import topicclf

    clf = topicclf.load(args.model)
    inputs = _read_inputs(args.files)
    preds = clf.classify([t for _, t in inputs])
    for (name, text), p in zip(inputs, preds):
        expl = clf.explain(text, top_k=args.top_terms) if args.explain and p.labels else {}
        evid = clf.evidence(text, top_k=args.top_k, labels=p.labels) if args.evidence and p.labels else {}
        if args.json:
            d = {"file": name, **p.to_dict()}
            if args.explain:
                d["explanation"] = {k: [[t, w] for t, w in v] for k, v in expl.items()}
            if args.evidence:
                d["evidence"] = {k: [[s, w] for s, w in v] for k, v in evid.items()}
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
        for label, sentences in evid.items():
            print(f"  evidence for {label}:")
            for sentence, w in sentences:
                print(f"      {w:.3f}  {_shorten(sentence)}")
    return 0


def _shorten(sentence: str, width: int = 200) -> str:
    """One line of at most ``width`` characters, cut at a space and ended with an ellipsis."""
    sentence = " ".join(sentence.split())
    if len(sentence) <= width:
        return sentence
    cut = sentence[:width - 1]
    cut = cut[:cut.rfind(" ")] if " " in cut[width // 2:] else cut
    return cut.rstrip(" ,;:") + "…"


def cmd_tokenize(args) -> int:
    from .tokenize import tokenize

    for _, text in _read_inputs(args.files):
        for line in text.splitlines():
            if line.strip():
                print(" ".join(tokenize(line, lang=args.lang, mode=args.mode)))
    return 0


def cmd_train(args) -> int:
    labels = args.labels.split(",") if args.labels else None
    if args.model_type == "transformer" and args.label_descriptions:
        raise SystemExit("topicclf: error: --label-descriptions is for linear models for now; "
                         "set them on a transformer model with clf.meta['label_descriptions'] and save it")
    from .serialization import check_save_target

    check_save_target(args.out, args.force)  # before training, not after
    if args.model_type == "transformer":
        from .classifiers.transformer_training import train_transformer_file

        extra = {k: v for k, v in (("lr", args.lr), ("batch_size", args.batch_size),
                                   ("window_pooling", args.window_pooling),
                                   ("val_fraction", args.val_fraction)) if v is not None}
        if args.class_weight:
            extra["class_weight"] = args.class_weight
        clf = train_transformer_file(args.data, args.out, base_model=args.base_model, text_field=args.text_field,
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
        clf = train_file(args.data, args.out, text_field=args.text_field, label_field=args.label_field,
                         label_set=labels, name=args.name, label_descriptions=args.label_descriptions,
                         overwrite=args.force, **params)
    for line in _metrics_lines(clf.meta.get("metrics", {}), clf.labels, args):
        print(line)
    print(f"saved model to {args.out}; load it with topicclf.load({str(args.out)!r}) "
          f"or topicclf classify --model {args.out} FILE")
    return 0


def _metrics_lines(metrics: dict, labels: list[str], args) -> list[str]:
    """The training metrics of a new model, for a person (held-out folds or validation split)."""
    out = []
    for split, m in metrics.items():
        if not isinstance(m, dict):
            continue
        nums = {k: v for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if not nums:
            continue
        where = (f"cross-validated on the training data ({args.cv} folds; each text scored by a model "
                 "that did not see it)" if split == "cv" else split)
        out.append(f"{where}: " + ", ".join(f"{k.replace('_f1', '-F1')} {v:.3f}" for k, v in nums.items()))
        per = m.get("f1")
        if isinstance(per, list) and len(per) == len(labels):
            out.append("  F1 per label: " + ", ".join(f"{l} {f:.3f}" for l, f in zip(labels, per)))
    return out


def cmd_evaluate(args) -> int:
    import topicclf
    from .data import load_records
    from .evaluate import evaluate, write_report

    models = args.model or [None]
    if len(models) > 2:
        raise ValueError("give --model once to evaluate a model, twice (--model A --model B) to compare two")
    clfs = [topicclf.load(m) for m in models]
    clf = clfs[0]
    recs = load_records(args.data, text_field=args.text_field, label_field=args.label_field)
    groups = {}
    for g in (args.group_by.split(",") if args.group_by else []):
        if g == "lang":
            groups["lang"] = [l or "?" for l in recs.langs]
        elif g in recs.extra:
            groups[g] = recs.extra[g]
        else:
            raise SystemExit(f"topicclf: --group-by {g}: no such field (have lang, {', '.join(recs.extra)})")
    if len(clfs) == 2:
        return _compare(args, models, clfs, recs, groups)
    result = evaluate(clf, recs.texts, recs.labels, ids=recs.ids, groups=groups)
    out = write_report(result, args.report, title=f"{clf.name} on {Path(args.data).name}")
    acc = f"accuracy {result['accuracy']:.4f}  " if "accuracy" in result else ""
    print(f"{acc}macro-F1 {result['macro_f1']:.4f}  micro-F1 {result['micro_f1']:.4f}  report: {out}/report.md")
    return 0


def _compare(args, models, clfs, recs, groups) -> int:
    """``evaluate --model A --model B``: both on the same records, the differences with a paired
    bootstrap interval (topicclf.compare)."""
    import topicclf
    from .comparison import compare, write_comparison

    names = [str(m) if m is not None else topicclf.DEFAULT_MODEL for m in models]
    if names[0] == names[1]:
        names = [f"{names[0]} ({c.name})" for c in clfs] if clfs[0].name != clfs[1].name else ["A", "B"]
    result = compare(clfs[0], clfs[1], recs.texts, recs.labels, ids=recs.ids, groups=groups,
                     n_boot=args.bootstrap, seed=args.seed, names=names)
    out = write_comparison(result, args.report, title=f"{names[0]} (A) vs {names[1]} (B) on {Path(args.data).name}")
    print(result["summary"])
    print(f"report: {out}/report.md")
    return 0


def cmd_select(args) -> int:
    from .score import damage_message
    from .selection import select

    near = args.near_duplicate if args.near_duplicate > 0 else None
    sel = select(args.dump, model=args.model, n=args.n, out=args.out, format=args.format,
                 random_share=args.random_share, seed=args.seed, text_field=args.text_field,
                 id_field=args.id_field, title_field=args.title_field, near_duplicate=near,
                 pool_factor=args.pool_factor, exclude=args.exclude or (), progress=not args.quiet)
    s = sel.summary
    problem = None
    if s["eligible"] == 0:
        problem = (f"{args.dump}: no record can be selected: {s['records_in']:,} read, {s['flagged']:,} flagged by "
                   f"the model ({', '.join(f'{k} {v:,}' for k, v in s['flags'].items()) or 'none'}), "
                   f"{s['rejected']:,} rejected")
    problem = problem or damage_message(s)
    if not args.quiet or problem:
        lines = [f"topicclf: selected {s['selected']:,} of {s['eligible']:,} eligible records "
                 f"({s['uncertain']:,} where the model is least sure, {s['random']:,} at random) into {args.out}"]
        if s["flagged"] or s["rejected"]:
            lines.append(f"  never selected: {s['flagged']:,} flagged by the model, {s['rejected']:,} rejected"
                         + (f" (reasons in {s['rejects_file']})" if s.get("rejects_file") else ""))
        dups = s["duplicates_skipped"]
        if dups["exact"] or dups["near"]:
            lines.append(f"  duplicates passed over: {dups['exact']:,} exact, {dups['near']:,} near")
        ex = s["excluded"]
        if ex["files"]:
            lines.append(f"  excluded: {ex['articles']:,} articles in {', '.join(ex['files'])}; passed over "
                         f"{ex['skipped_exact']:,} of them and {ex['skipped_near']:,} near duplicates")
        if s["by_label"]:
            lines.append("  by label: " + ", ".join(f"{k} {v}" for k, v in sorted(s["by_label"].items()))
                         + "; by language: " + ", ".join(f"{k} {v}" for k, v in sorted(s["by_lang"].items())))
        if s.get("label_config"):
            lines.append(f"  Label Studio: import {args.out} into a project with the labelling config "
                         f"{s['label_config']}; train on its JSON export with topicclf train --data EXPORT.json")
        print("\n".join(lines), file=sys.stderr)
    if problem:
        print(f"topicclf: error: {problem}", file=sys.stderr)
    print(json.dumps(s, ensure_ascii=False), file=sys.stderr)
    return 1 if problem else 0


def cmd_tune_thresholds(args) -> int:
    import topicclf
    from .data import file_digest, load_records

    clf = topicclf.load(args.model)
    if not clf.multilabel:
        raise ValueError(f"{clf.name} is a single-label model: it predicts the label with the highest score "
                         "and has no thresholds to tune")
    from .serialization import check_save_target

    check_save_target(args.out, args.force)
    recs = load_records(args.data, text_field=args.text_field, label_field=args.label_field)
    report = clf.tune_thresholds(recs.texts, recs.labels, min_positives=args.min_positives)
    clf.meta["name"] = args.name or Path(args.out).name
    clf.meta["threshold_tuning"] = {
        "data": {"path": Path(args.data).name, "sha256": file_digest(args.data), "records": len(recs)},
        "text_field": args.text_field, "label_field": args.label_field, "min_positives": args.min_positives,
        "from_model": str(args.model) if args.model else topicclf.DEFAULT_MODEL,
        "method": "per label, the threshold that maximises F1 on this data"}
    routes = report["routes"] if "routes" in report else {"": report}
    for lang, rep in routes.items():
        head = f"route {lang}: " if lang else ""
        print(f"{head}{rep['records']} texts, {rep['scored']} scored")
        print(f"  {'label':<22}{'positives':>10}{'threshold':>11}{'new':>8}{'F1 before':>11}{'F1 after':>10}")
        for label, r in rep["labels"].items():
            f1b = "—" if r["f1_before"] is None else f"{r['f1_before']:.3f}"
            f1a = "—" if r["f1"] is None else f"{r['f1']:.3f}"
            print(f"  {label:<22}{r['positives']:>10}{r['threshold_before']:>11.3f}{r['threshold']:>8.3f}"
                  f"{f1b:>11}{f1a:>10}" + (f"  ({r['note']})" if "note" in r else ""))
    print("F1 after is measured on the texts the thresholds were chosen on, so it is optimistic: "
          f"check the new model on other labelled data (topicclf evaluate --model {args.out} ...).")
    clf.save(args.out, overwrite=args.force)
    print(f"saved the model with these thresholds to {args.out}")
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
    from .score import damage_message

    problem = _score_problem(args, summary) or damage_message(summary)  # damaged input: records may be lost
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
        out = {k: cfg.get(k) for k in ("name", "model_type", "description", "labels", "multilabel", "languages",
                                       "thresholds")}
        out["label_info"] = _label_info(clf)
        out.update({k: cfg.get(k) for k in ("metrics", "training", "seed")})
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        print(json.dumps({"topicclf": topicclf.__version__, "shipped_models": available_models(),
                          "default_model": topicclf.DEFAULT_MODEL, "versions": library_versions()}, indent=2))
    return 0


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help with each option's default (when it has one worth showing)."""

    def _get_help_string(self, action):
        h = action.help or ""
        if ("%(default)" in h or "default" in h or action.default in (None, False, argparse.SUPPRESS)
                or not (action.option_strings or action.nargs in ("?", "*"))):
            return h
        return h + " (default: %(default)s)"


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("topicclf")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0.0.0+unknown"


def _label_info(clf) -> dict:
    """Per label: what it means (``label_descriptions``) and its threshold (multi-label)."""
    info = getattr(clf, "label_info", None)
    if isinstance(info, dict):
        return info
    desc = clf.meta.get("label_descriptions") or {}
    thr = clf.thresholds if clf.multilabel else {}
    return {l: {"description": desc.get(l), "threshold": thr.get(l)} for l in clf.labels}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="topicclf", description="Topic classification for Vietnamese and English news.",
                                formatter_class=_HelpFormatter,
                                epilog="Run `topicclf COMMAND --help` for a command's options.")
    p.add_argument("--version", action="version", version=f"topicclf {_version()}")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                              formatter_class=_HelpFormatter)

    model_help = "shipped model name (see `topicclf info`) or model folder (default: policy5)"
    c = command("classify", "classify text files (or stdin) and print labels with scores")
    c.add_argument("files", nargs="*", help="text/HTML files (any encoding topicclf.read_text detects); - or none: stdin")
    c.add_argument("--model", default=None, help=model_help)
    c.add_argument("--explain", action="store_true", help="show the terms behind each predicted label")
    c.add_argument("--top-terms", type=int, default=8, metavar="N", help="terms shown per label by --explain")
    c.add_argument("--evidence", action="store_true",
                   help="show the sentences that score highest for each predicted label")
    c.add_argument("--top-k", type=int, default=3, metavar="N", help="sentences shown per label by --evidence")
    c.add_argument("--json", action="store_true", help="one JSON object per file")
    c.set_defaults(func=cmd_classify)

    t = command("tokenize", "print tokens, one input line per output line")
    t.add_argument("files", nargs="*", help="text files; - or none: stdin")
    t.add_argument("--lang", default=None, help="vi, en, ... (default: detected per text)")
    t.add_argument("--mode", default="word", choices=["word", "syllable"],
                   help="word: Vietnamese words, their syllables joined by _ (underthesea's segmenter); "
                        "syllable: split at spaces and punctuation only")
    t.set_defaults(func=cmd_tokenize)

    tr = command("train", "train a model on a labeled JSONL/CSV/Parquet file",
                 "Train a model on labeled files and save it to a folder. Prints the metrics measured "
                 "by cross-validation on the training data.")
    tr.add_argument("--data", required=True, nargs="+", metavar="FILE",
                    help="one or more labeled files (.jsonl, .jsonl.gz, .csv, .parquet)")
    tr.add_argument("--out", required=True, metavar="DIR",
                    help="folder to save the model to: a new or empty folder, or an earlier model's folder "
                         "(only the model's own files are replaced)")
    tr.add_argument("--force", action="store_true",
                    help="also save into an existing folder that is not a model folder: files of the model's "
                         "names (config.json, README.md, ...) are replaced, other files are kept")
    tr.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text")
    tr.add_argument("--label-field", default=None, metavar="NAME",
                    help="field holding the label: a string (single-label) or a list of strings "
                         "(multi-label) (default: labels if the data has it, else label)")
    tr.add_argument("--labels", default=None, metavar="A,B,...",
                    help="comma-separated allowed labels, in output order; another label in the data is an "
                         "error (default: the labels found in the data)")
    tr.add_argument("--label-descriptions", default=None, metavar="FILE.json",
                    help='what each label means, {"label": "description", ...}: saved in the model, shown '
                         "by `topicclf info --model` and clf.label_info")
    tr.add_argument("--name", default=None, help="the model's name in its config and card (default: the --out folder's name)")
    tr.add_argument("--model-type", default="linear", choices=["linear", "transformer"],
                    help="linear: TF-IDF n-grams and a linear SVM, seconds on a CPU; transformer: fine-tune "
                         "an encoder (pip install 'topicclf[transformers]'; slow without a GPU)")
    tr.add_argument("--C", type=float, default=0.5, metavar="FLOAT",
                    help="linear: inverse regularisation strength; higher fits the training data more closely")
    tr.add_argument("--min-df", type=int, default=2, metavar="N",
                    help="linear: keep the n-grams found in at least N training texts; use 1 with a few "
                         "hundred texts or fewer")
    tr.add_argument("--ngram-max", type=int, default=2, metavar="N",
                    help="linear: longest n-gram (of syllables) used as a feature")
    tr.add_argument("--cv", type=int, default=3, metavar="K",
                    help="linear: folds of the cross-validation that calibrates the scores, picks multi-label "
                         "thresholds and measures the printed metrics")
    tr.add_argument("--class-weight", default=None, choices=["balanced"],
                    help="balanced: weight classes inversely to their frequency, for skewed label counts "
                         "(default: equal weights)")
    tr.add_argument("--seed", type=int, default=0, help="random seed: the same data and seed give the same model")
    tr.add_argument("--base-model", default="multilingual-e5-small", metavar="NAME_OR_DIR",
                    help="transformer: encoder to fine-tune, a local checkpoint folder or a known name")
    tr.add_argument("--epochs", type=int, default=3, help="transformer: passes over the training data")
    tr.add_argument("--max-length", type=int, default=256, metavar="N", help="transformer: tokens per window")
    tr.add_argument("--batch-size", type=int, default=None, metavar="N", help="transformer: windows per step (default 16)")
    tr.add_argument("--lr", type=float, default=None, help="transformer: encoder learning rate (default 5e-5)")
    tr.add_argument("--window-pooling", default=None, choices=["mean", "max"],
                    help="transformer: article score = mean (default) or max of its windows' scores")
    tr.add_argument("--val-fraction", type=float, default=None, metavar="F",
                    help="transformer: held-out share for early stopping and thresholds (default 0.1)")
    tr.add_argument("--segment-words", action="store_true",
                    help="transformer: feed word-segmented Vietnamese (chủ_quyền), for PhoBERT-style models")
    tr.add_argument("--device", default="cpu", help="transformer: torch device (cpu, cuda)")
    tr.set_defaults(func=cmd_train)

    e = command("evaluate", "evaluate a model on a labeled file and write a report; or compare two",
                "Evaluate a model on a labeled file and write a report. With --model twice, compare two "
                "models on the same records: per label and per group, the difference B - A with a paired "
                "bootstrap 95 % interval, and the records on which they disagree most.")
    e.add_argument("--model", default=None, action="append",
                   help=model_help + "; give it twice (--model A --model B) to compare two models")
    e.add_argument("--data", required=True, metavar="FILE", help="labeled file (.jsonl, .jsonl.gz, .csv, .parquet)")
    e.add_argument("--report", required=True, metavar="DIR", help="output folder: metrics.json, report.md, plots")
    e.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text")
    e.add_argument("--label-field", default=None, metavar="NAME",
                   help="field holding the gold label(s) (default: labels if the data has it, else label)")
    e.add_argument("--group-by", "--group-field", default=None, metavar="A,B",
                   help="comma-separated fields for per-group metrics, e.g. lang,source (default: none)")
    e.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="comparing two models: resamples of the paired bootstrap")
    e.add_argument("--seed", type=int, default=0, help="comparing two models: seed of the bootstrap")
    e.set_defaults(func=cmd_evaluate)

    se = command("select", "choose the articles of a dump most worth labelling next",
                 "Stream a dump (any size; the formats of `topicclf score`) and choose the N articles the "
                 "model is least sure of, spread over labels and languages, exact and near duplicates "
                 "removed, optionally with a share of random articles (so that the labelled set still "
                 "estimates accuracy). Records the model flags (empty, unsupported language...) are never "
                 "chosen. Each output row: id, text, scores, why. A damaged input is reported as by "
                 "`topicclf score` and the run exits 1.")
    se.add_argument("dump", help="JSONL (.gz/.zst), CSV/TSV, Parquet, a folder of .txt/.html files, or - (JSONL on stdin)")
    se.add_argument("--model", default=None, help=model_help)
    se.add_argument("--n", type=int, default=200, metavar="N", help="how many articles to choose")
    se.add_argument("--out", required=True, metavar="FILE",
                    help="to_label.jsonl (one JSON object per article), or a .json file for Label Studio")
    se.add_argument("--format", default=None, choices=["jsonl", "label-studio"],
                    help="jsonl, or label-studio: the JSON list of tasks Label Studio imports (the model's "
                         "labels as predictions), with a labelling config beside it in OUT.config.xml "
                         "(default: label-studio for a .json --out, else jsonl)")
    se.add_argument("--random-share", type=float, default=0.0, metavar="F",
                    help="share of the N drawn at random from the eligible articles, e.g. 0.2")
    se.add_argument("--seed", type=int, default=0, help="seed of the random share: the same seed, dump and "
                                                        "model give the same selection")
    se.add_argument("--near-duplicate", type=float, default=0.5, metavar="J",
                    help="pass over an article whose word-shingle similarity (Jaccard, estimated) to one "
                         "already chosen is at least J; 0 turns it off (exact duplicates are always removed)")
    se.add_argument("--exclude", nargs="+", default=None, metavar="FILE",
                    help="files of articles never to choose: labelled sets, earlier selections, Label Studio "
                         "exports (read by --text-field); the same articles and near duplicates of them are "
                         "passed over")
    se.add_argument("--pool-factor", type=int, default=3, metavar="K",
                    help="candidates kept per label and language: K x N (memory is bounded by it)")
    se.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text")
    se.add_argument("--id-field", default="id", metavar="NAME", help="field holding the id (default id; else the record's index)")
    se.add_argument("--title-field", default=None, metavar="NAME", help="prepended to the text: title + newline + text")
    se.add_argument("--quiet", action="store_true", help="no progress and no human summary")
    se.set_defaults(func=cmd_select)

    th = command("tune-thresholds", "choose a multi-label model's thresholds on your own labelled data",
                 "Choose each label's threshold (the score it needs to be predicted) to maximise its F1 on "
                 "labelled data of your own, and save a copy of the model with them. Use data the model was "
                 "not trained on, and check the result on other data with `topicclf evaluate`.")
    th.add_argument("--model", default=None, help=model_help)
    th.add_argument("--data", required=True, metavar="FILE", help="labeled file (.jsonl, .jsonl.gz, .csv, .parquet)")
    th.add_argument("--out", required=True, metavar="DIR", help="folder for the copy of the model with the new thresholds")
    th.add_argument("--force", action="store_true", help="also save into an existing folder that is not a model folder")
    th.add_argument("--name", default=None, help="the new model's name (default: the --out folder's name)")
    th.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text")
    th.add_argument("--label-field", default=None, metavar="NAME",
                    help="field holding the gold labels, a list or one string per record (default: labels if "
                         "the data has it, else label)")
    th.add_argument("--min-positives", type=int, default=3, metavar="N",
                    help="a label with fewer positive texts keeps its threshold")
    th.set_defaults(func=cmd_tune_thresholds)

    s = sub.add_parser("score", help="score a JSONL/CSV/Parquet dump (or folder of .txt/.html) to JSONL/CSV/Parquet",
                       formatter_class=_HelpFormatter,
                       description="Stream-score a dump. Writes OUT, OUT.rejects.jsonl (records that could not "
                                   "be scored, with the reason) and OUT.summary.json; a short summary and the "
                                   "summary's JSON go to stderr. Exits 1 when no record could be scored "
                                   "(with the likely cause). A killed run continues with --resume.")
    s.add_argument("input", help="JSONL (.gz/.zst), CSV/TSV, Parquet, a folder of .txt/.html files, or - (JSONL on stdin)")
    s.add_argument("--model", default=None, help=model_help)
    s.add_argument("--out", required=True, help="output file: .jsonl (.gz/.zst), .csv or .parquet")
    s.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text")
    s.add_argument("--id-field", default="id", metavar="NAME", help="ids of the output rows (default id; else the record's index)")
    s.add_argument("--title-field", default=None, metavar="NAME", help="prepended to the text: title + newline + text")
    s.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="records per chunk (default 2048 for linear models, 32 for transformers)")
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="scoring processes (default 1: in this process, with one scoring thread per core)")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.parts/")
    s.add_argument("--quiet", action="store_true",
                   help="no progress (a bar on a terminal, else a log line every 30 s) and no human summary")
    s.set_defaults(func=cmd_score)

    i = command("info", "shipped models and versions, or one model's labels (with what they mean), metrics and training")
    i.add_argument("--model", default=None, help="shipped model name or model folder (default: list the shipped models)")
    i.set_defaults(func=cmd_info)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"topicclf: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

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
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # "topicclf: warning: ..." without a source line
            return args.func(args)
    except (DataError, ModelFileError, DecodeError, FileNotFoundError, FileExistsError, ValueError, TypeError) as e:
        print(f"topicclf: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    finally:
        log.removeHandler(handler)

if __name__ == "__main__":
    sys.exit(main())
