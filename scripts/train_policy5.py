"""Rebuild the shipped default model ``models/policy5`` from the policy5 labelled sets.

    python scripts/train_policy5.py                 # variant table, dev report, shipped model
    python scripts/train_policy5.py --no-variants   # skip the variant comparison table (faster)
    python scripts/train_policy5.py --teacher-labels T.jsonl   # adds the distilled variant

What it does, in order:

1. trains a handful of variants WITHOUT dev (policy5 v1 on ``train.jsonl`` only, the rest on
   ``train.jsonl`` + ``train2.jsonl``) and scores each on ``policy5/dev.jsonl`` (macro-F1
   overall, per group: VNTC-vi, Dân Trí-vi, en; F1 per label);
2. trains the chosen variant (``CHOSEN``) on train + train2 and writes its full dev report
   (metrics.json, report.md, plots) into the model folder under ``report/``;
3. trains the SHIPPED model with the same settings on train + train2 + dev and saves it to
   ``models/policy5`` with a model card that explains all of the above.

Per-label thresholds always come from cross-validated decision values on the training data
(held-out folds), never from dev. Deterministic: fixed seed, data SHA-256s in config.json.
Needs the data root (``$TOPICCLF_DATA`` or ``../shared/data``); a few minutes on one core.
``--teacher-labels`` takes the fine-tuned teacher's scores of unlabelled articles, written by
``scripts/train_policy5_cascade.py --pool N``.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402

LABELS = ["democracy", "human_rights", "religion", "sovereignty", "foreign_relations"]
GROUPS = {"vntc-test": "VNTC-vi", "vntc-train": "VNTC-vi", "dantri": "Dân Trí-vi"}  # everything else: en
GROUP_ORDER = ["VNTC-vi", "Dân Trí-vi", "en"]
SEED = 0
COMMAND = "python scripts/train_policy5.py"

# Shared settings of every variant; a variant overrides some of them.
BASE = dict(ngram_range=(1, 2), min_df=3, sublinear_tf=True, loss="squared_hinge", C=1.0,
            class_weight=None, cv=5, seed=SEED)

# (key, description, overrides, extra) -- extra: "data" ("train" = policy5 v1's data, default
# train + train2), "lead" (the title and first sentences repeated before the article: position
# salience), "distill" (weight of the teacher's labels of unlabelled articles).
VARIANTS = [
    ("v1", "policy5 v1: train only, 1-2 grams, min_df 3, C 2", dict(C=2.0), {"data": "train"}),
    ("v1_t2", "v1 settings on train + train2", dict(C=2.0), {}),
    ("chosen", "train + train2, C 1", {}, {}),
    ("C0.5", "train + train2, C 0.5", dict(C=0.5), {}),
    ("md2", "train + train2, min_df 2", dict(min_df=2), {}),
    ("ngram13", "train + train2, 1-3 grams", dict(ngram_range=(1, 3)), {}),
    ("balanced", "train + train2, class_weight balanced", dict(class_weight="balanced"), {}),
    ("lead", "train + train2, title + first sentence repeated before the text (position salience)", {},
     {"lead": 1}),
    ("distilled", "train + train2 + unlabelled articles with the e5ft teacher's labels at weight 0.5", {},
     {"distill": 0.5}),
]
CHOSEN = "chosen"


def group_of(source: str) -> str:
    return GROUPS.get(source, "en")


def concat(*parts):
    """One Records out of several (policy5 files share ``text``/``labels``; extra fields may differ)."""
    out = copy.copy(parts[0])
    out.texts = [t for p in parts for t in p.texts]
    out.labels = [l for p in parts for l in p.labels]
    out.ids = [i for p in parts for i in p.ids]
    out.langs = [l for p in parts for l in p.langs]
    keys = sorted({k for p in parts for k in p.extra})
    out.extra = {k: [v for p in parts for v in (p.extra.get(k) or [None] * len(p.texts))] for k in keys}
    return out


def lead_texts(texts: list[str], k: int) -> list[str]:
    from topicclf.sentences import split_sentences
    from topicclf.text import normalize

    out = []
    for t in texts:
        n = normalize(t)
        out.append("\n".join(split_sentences(n)[:k] + [n]))
    return out


def pool_texts(root: Path, ids: list[str]) -> list[str]:
    """Texts of unlabelled articles by their ``corpus:id`` (ids as in policy5/unlabelled.jsonl)."""
    want: dict[str, set] = {}
    for i in ids:
        corpus, rid = i.split(":", 1)
        want.setdefault(corpus, set()).add(rid)
    found = {}
    for corpus, rids in want.items():
        for r in _read_gz(root / corpus):
            key = f"{r['label']}/{r['id']}" if corpus.endswith(("bbc_news.jsonl.gz", "20newsgroups_bydate.jsonl.gz")) else r["id"]
            if key in rids:
                found[f"{corpus}:{key}"] = r["text"]
    missing = [i for i in ids if i not in found]
    if missing:
        raise SystemExit(f"{len(missing)} teacher-labelled articles not found in the corpora, e.g. {missing[0]}")
    return [found[i] for i in ids]


def _read_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def teacher_records(path: Path, root: Path, allowed: set[str]):
    """``(texts, labels, weights)`` from the teacher's scores (common scale: 0.5 = its threshold)."""
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    bad = [r["id"] for r in rows if r["id"] not in allowed]
    if bad:
        raise SystemExit(f"{path}: {len(bad)} ids are not in policy5/unlabelled.jsonl (e.g. {bad[0]}): "
                         "only those articles may be used for distillation")
    texts = pool_texts(root, [r["id"] for r in rows])
    labels = [[l for l in LABELS if r["scores"][l] >= 0.5] for r in rows]
    return texts, labels


def fit_variant(train, params: dict, extra: dict, name: str, teacher=None, meta=None):
    import topicclf

    texts, labels = list(train.texts), list(train.labels)
    if extra.get("lead"):
        texts = lead_texts(texts, extra["lead"])
    SW, mask = None, None
    if "distill" in extra:
        if teacher is None:
            raise ValueError("the distilled variant needs --teacher-labels")
        t_texts, t_labels = teacher
        SW = np.r_[np.ones(len(texts)), np.full(len(t_texts), extra["distill"])]
        mask = np.r_[np.ones(len(texts), bool), np.zeros(len(t_texts), bool)]  # thresholds: gold only
        texts, labels = texts + list(t_texts), labels + list(t_labels)
    return topicclf.train(texts, labels, label_set=LABELS, languages=["vi", "en"], name=name, meta=meta,
                          sample_weight=SW, calibration_mask=mask, **{**BASE, **params})


def score_dev(clf, dev, dev_groups, extra: dict | None = None):
    from topicclf.evaluate import evaluate

    texts = lead_texts(dev.texts, extra["lead"]) if (extra or {}).get("lead") else dev.texts
    # snippet_chars=0: the report is committed beside the model, so it quotes no article text
    return evaluate(clf, texts, dev.labels, ids=dev.ids, snippet_chars=0,
                    groups={"group": dev_groups, "lang": [l or "und" for l in dev.langs]})


def row_of(result, clf) -> dict:
    g = result["groups"]["group"]
    return {"macro_f1": result["macro_f1"], "cv_macro_f1": getattr(clf.estimator, "cv_scores_", {}).get("macro_f1"),
            **{k: g[k]["macro_f1"] for k in GROUP_ORDER if k in g},
            "per_label": {l: result["per_label"][l]["f1"] for l in LABELS}}


def table_md(rows: list[tuple[str, str, dict]]) -> str:
    head = ("| variant | settings | dev macro-F1 | VNTC-vi | Dân Trí-vi | en | "
            + " | ".join(LABELS) + " | train 5-fold CV macro-F1 |")
    lines = [head, "|---|---|---|---|---|---|" + "---|" * (len(LABELS) + 1)]
    for key, desc, r in rows:
        mark = f"**{key}** (shipped settings)" if key == CHOSEN else key
        cv = r.get("cv_macro_f1")
        lines.append(f"| {mark} | {desc} | {r['macro_f1']:.3f} | "
                     + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in GROUP_ORDER) + " | "
                     + " | ".join(f"{r['per_label'][l]:.2f}" for l in LABELS)
                     + (f" | {cv:.3f} |" if cv is not None else " | |"))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "models" / "policy5"))
    ap.add_argument("--no-variants", action="store_true", help="skip the variant comparison table")
    ap.add_argument("--teacher-labels", default=None,
                    help="JSONL of the teacher's scores of unlabelled articles (adds the distilled variant)")
    ap.add_argument("--variants", default=None, help="comma-separated variant keys to compare (default: all)")
    ap.add_argument("--no-ship", action="store_true", help="compare variants only; write no model")
    ap.add_argument("--json", default=None, help="also write the variant rows to this JSON file")
    args = ap.parse_args(argv)
    keep = set(args.variants.split(",")) if args.variants else None

    from topicclf.data import data_root, file_digest, load_records
    from topicclf.evaluate import write_report

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    paths = {k: root / "policy5" / f"{k}.jsonl" for k in ("train", "train2", "dev")}
    recs = {k: load_records(p, labels=LABELS) for k, p in paths.items()}
    dev = recs["dev"]
    dev_groups = [group_of(s) for s in dev.extra["source"]]
    data = {"train": recs["train"], "train+train2": concat(recs["train"], recs["train2"])}
    t_start = time.time()
    chosen = next(v for v in VARIANTS if v[0] == CHOSEN)
    teacher = None
    if args.teacher_labels:
        allowed = {f"{r['corpus']}:{r['id']}" for r in _read_jsonl(root / "policy5" / "unlabelled.jsonl")}
        teacher = teacher_records(Path(args.teacher_labels), root, allowed)

    # 1. variant table: every variant trained without dev, scored on dev
    rows = []
    if not args.no_variants:
        for key, desc, params, extra in VARIANTS:
            if ("distill" in extra and teacher is None) or (keep and key not in keep):
                continue
            t0 = time.time()
            clf = fit_variant(data[extra.get("data", "train+train2")], params, extra, name=f"policy5-{key}",
                              teacher=teacher)
            r = row_of(score_dev(clf, dev, dev_groups, extra), clf)
            rows.append((key, desc, r))
            print(f"{key:10s} dev macro-F1 {r['macro_f1']:.3f}  "
                  + "  ".join(f"{k} {r.get(k, float('nan')):.3f}" for k in GROUP_ORDER)
                  + "  " + " ".join(f"{l[:5]} {r['per_label'][l]:.2f}" for l in LABELS)
                  + f"  ({time.time() - t0:.0f} s)", flush=True)

    if args.json:
        Path(args.json).write_text(json.dumps({"command": " ".join(["python scripts/train_policy5.py", *(argv or sys.argv[1:])]),
                                               "rows": [{"variant": k, "settings": d, **r} for k, d, r in rows]},
                                              indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.no_ship:
        return 0

    # 2. the chosen variant without dev: the honest dev report
    dev_clf = fit_variant(data[chosen[3].get("data", "train+train2")], chosen[2], chosen[3],
                          name="policy5 (without dev)", teacher=teacher)
    dev_result = score_dev(dev_clf, dev, dev_groups, chosen[3])
    dev_row = row_of(dev_result, dev_clf)
    extra_files = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_report(dev_result, tmp, title="policy5, trained on train + train2 (not dev), scored on dev")
        for f in sorted(Path(tmp).iterdir()):
            extra_files[f"report/{f.name}"] = f.read_bytes()
    print(f"model without dev, on dev: macro-F1 {dev_row['macro_f1']:.3f}  "
          + "  ".join(f"{k} {dev_row.get(k, float('nan')):.3f}" for k in GROUP_ORDER), flush=True)

    # 3. the shipped model: same settings, train + train2 + dev
    both = concat(recs["train"], recs["train2"], dev)
    used = [("train", recs["train"]), ("train2", recs["train2"]), ("dev", dev)]
    sources = [{"path": f"policy5/{k}.jsonl", "sha256": file_digest(paths[k]), "records": len(r)} for k, r in used]
    if teacher is not None and "distill" in chosen[3]:
        sources.append({"path": str(args.teacher_labels), "sha256": file_digest(Path(args.teacher_labels)),
                        "records": len(teacher[0]), "note": "teacher labels of policy5/unlabelled.jsonl articles"})
    params = {**BASE, **chosen[2]}
    meta = {
        "description": ("Default policy5 model: multi-label democracy / human_rights / religion / "
                        "sovereignty / foreign_relations for Vietnamese and English news. One joint "
                        "vi+en linear model (LinearSVC one-vs-rest) over syllable 1-2 gram TF-IDF, "
                        "per-label Platt calibration and F1-optimal thresholds on 5-fold "
                        "cross-validated decision values."),
        "training": {"data": sources, "command": COMMAND,
                     "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}},
        "metrics": {"dev_without_dev": {
            "note": "model with the same settings trained on policy5 train + train2 (not dev), scored on "
                    "policy5 dev; the shipped model also saw dev",
            "macro_f1": dev_row["macro_f1"], "micro_f1": dev_result["micro_f1"],
            "groups": {k: dev_row[k] for k in GROUP_ORDER if k in dev_row},
            "per_label_f1": dev_row["per_label"]}},
    }
    if rows:
        meta["variants"] = [{"variant": k, "settings": d, **r} for k, d, r in rows]
    shipped = fit_variant(both, chosen[2], chosen[3], name="policy5", meta=meta, teacher=teacher)
    thr = shipped.thresholds
    card = card_extra(rows, dev_row, dev_result, thr, shipped, len(both.texts))
    out = Path(args.out)
    shipped.save(out, card_extra=card, extra_files=extra_files, overwrite=True)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"saved {out}: {size / 1e6:.2f} MB, {shipped.pipeline[0].n_features_out_} features; "
          f"thresholds {json.dumps({k: round(v, 3) for k, v in thr.items()})}; "
          f"total {time.time() - t_start:.0f} s")
    return 0


def _read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _distill_sentence() -> str:
    path = REPO / "benchmarks" / "results" / "policy5_distill.json"
    if not path.exists():
        return ""
    rows = {r["variant"]: r for r in json.loads(path.read_text(encoding="utf-8"))["rows"]}
    if "distilled" not in rows or "chosen" not in rows:
        return ""
    return (f"Distillation did not help either: this model trained with 4,000 unlabelled articles labelled by "
            f"the average of the teacher and this model (weight 0.5) scores {rows['distilled']['macro_f1']:.3f} "
            f"against {rows['chosen']['macro_f1']:.3f} ([benchmarks/results/policy5_distill.json]"
            "(../../benchmarks/results/policy5_distill.json)).")


def measured_elsewhere_lines() -> list[str]:
    """What the teacher, cascade and salience measurements found (their own commands wrote them)."""
    res = REPO / "benchmarks" / "results"
    lines = []
    cas = res / "policy5_cascade.json"
    if cas.exists():
        doc = json.loads(cas.read_text(encoding="utf-8"))
        rows = {r["model"]: r for r in doc["rows"]}
        cascades = [r for k, r in rows.items() if k.startswith("cascade")]
        best = max(cascades, key=lambda r: r["macro_f1"])
        t, avg = rows["e5ft teacher"], rows["average of both"]
        lines += [
            "**A fine-tuned encoder, as teacher or second stage, did not beat this model on dev** "
            "([benchmarks/results/policy5_cascade.md](../../benchmarks/results/policy5_cascade.md), "
            "`python scripts/train_policy5_e5ft.py` then `python scripts/train_policy5_cascade.py`). "
            "multilingual-e5-small fine-tuned for one epoch on train + train2 (first 256-token window, "
            f"2 CPU cores, {doc.get('teacher_fit_minutes', '?')} minutes) scores dev macro-F1 {t['macro_f1']:.3f}; the average of its "
            f"scores and this model's {avg['macro_f1']:.3f}; the best cascade (this model first, the "
            f"teacher for the {best['handover']:.0%} of articles nearest a threshold) {best['macro_f1']:.3f}. "
            "So no teacher or cascade ships. " + _distill_sentence() + " The cascade kind and the resumable "
            "fine-tuning script are in "
            "the library for a stronger teacher (more epochs, more windows, a GPU).",
            "",
        ]
    sal = res / "policy5_salience.json"
    if sal.exists():
        rows = {r["model"]: r for r in json.loads(sal.read_text(encoding="utf-8"))["rows"]}
        a, b = rows.get("article model only (stacked LR)"), rows.get("article + all sentence features")
        if a and b:
            lines += [
                "**Salience.** A sentence-level model trained on the sentences of the training articles, "
                "its scores aggregated per article (max, top-2 mean, share of sentences over 0, title, "
                "lead) and stacked with the article model, gives dev macro-F1 "
                f"{b['macro_f1']:.3f} against {a['macro_f1']:.3f} for the article model stacked alone "
                "(`python benchmarks/policy5_salience.py`): within noise, and below this model's own "
                "calibration. Position alone (the `lead` variant above) did not help either.",
                "",
            ]
    return lines


def card_extra(rows, dev_row, dev_result, thr, shipped, n_train) -> str:
    g = dev_result["groups"]["group"]
    n = {k: g[k]["n"] for k in GROUP_ORDER if k in g}
    lines = [
        "## How this model was built",
        "",
        f"Command: `{COMMAND}` (deterministic, seed {SEED}; a few minutes on one core). It needs the "
        "data root (`$TOPICCLF_DATA` or `../shared/data`, see `data/README.md`); the SHA-256 of each data "
        "file is in `config.json` under `training.data`.",
        "",
        "**Model.** One joint Vietnamese + English model: lower-cased syllable 1-2 gram TF-IDF "
        f"(`NgramVectorizer`, min_df {BASE['min_df']}, sublinear tf), one LinearSVC per label "
        f"(C = {({**BASE, **next(v for v in VARIANTS if v[0] == CHOSEN)[2]})['C']}, one-vs-rest). "
        "Each label gets a Platt sigmoid, so its score is in [0, 1], and its own threshold.",
        "",
        "**Thresholds.** Each label's threshold is the F1-maximising cut on its calibrated scores for "
        "held-out folds of the training data (5-fold cross-validation). Dev did not set any "
        "threshold. It was used only to choose among the handful of variants below.",
        "",
        f"**Which data.** The shipped model is trained on policy5 train + train2 + dev ({n_train:,} articles). "
        "The numbers below come from a model with the **same settings trained on train + train2** "
        "and scored on dev. The shipped model has seen dev, so no honest dev number exists for it. "
        "Dev was also used to pick the variant, so even these numbers are somewhat optimistic. The "
        "held-out policy5 test set, kept outside the repository, is the real judge.",
        "",
        "## Dev results (model trained without dev)",
        "",
        f"Dev macro-F1 **{dev_row['macro_f1']:.3f}** (micro-F1 {dev_result['micro_f1']:.3f}). By group: "
        + ", ".join(f"{k} {dev_row[k]:.3f} (n={n[k]})" for k in GROUP_ORDER if k in dev_row)
        + ". Per label: " + ", ".join(f"{l} {dev_row['per_label'][l]:.3f}" for l in LABELS)
        + ". Full report with plots and the 20 most confident errors: [report/report.md](report/report.md).",
        "",
        "The targets for the held-out set are macro-F1 ≥ 0.85 on VNTC-era Vietnamese, ≥ 0.80 on 2021 "
        "Dân Trí and ≥ 0.80 on English, and F1 ≥ 0.70 on every label. On dev, this model **does "
        "not reach them**, VNTC-vi and `sovereignty` least of all. Read the scores as a ranking "
        "signal with the stated precision and recall, not as settled labels.",
        "",
    ]
    if rows:
        lines += [
            "## Variants compared (without dev → dev)",
            "",
            "Every row is trained without dev and scored on dev. The groups are VNTC-vi (source "
            "`vntc-test`), Dân Trí-vi (`dantri`), and en (`bbc` + `20ng` + `cap-nyt`). Dev holds 448 "
            "articles (116 English) and sovereignty has 29 positives, so differences of 0.02 are "
            "within noise.",
            "",
            table_md(rows),
            "",
            "What moved the numbers: train2's 3,833 articles (v1 → v1_t2: English 0.59 → 0.73). Among "
            "the settings on train + train2, C 1 is best on dev and the neighbours are within noise. "
            "Repeating the title and first sentence (a cheap position signal) did not help. "
            "In policy5 v1 (train only) these did not help either: "
            "down-weighting `low`-confidence records, weak labels from UPR/CAP/20NG, Vietnamese word "
            "features, logistic loss, self-training on the model's own labels.",
            "",
        ]
    lines += measured_elsewhere_lines()
    lines += [
        "## Mixed Vietnamese/English text and other languages",
        "",
        "There is one joint model over the syllable n-grams of both languages. Vietnamese and English "
        "rarely share n-grams, so each language effectively has its own weights inside one weight "
        "matrix, and a mixed article is scored on all of its words from both languages. The language "
        f"gate (`topicclf.detect_language`) decides by the majority language. Only {shipped.languages} are "
        "accepted. Any other language (French, Chinese, ...) gets no labels, zero scores and a flag "
        "`unsupported_language:<code>`; the model does not guess. Empty or boilerplate-only text and "
        "texts under 3 words get no labels and a flag as well.",
        "",
        "## Limitations",
        "",
        f"- Training set: {n_train:,} articles. `sovereignty` has the fewest positives and is the least "
        "  reliable label; the thresholds are shared by both languages.",
        "- The training sets were drawn with a keyword pre-filter, so label frequencies are much higher "
        "  than in a raw news stream. On a stream, expect lower precision at these thresholds.",
        "- Bag of n-grams: there is no notion of a passing mention. A text that lists topic "
        "  words (\"democracy, human rights, religion...\") can get labels the taxonomy would not give. "
        "  `clf.evidence(text)` shows the sentences behind each label, so a reader can check.",
        "- The texts come from news of 2005-07 (VNTC), 2020-21 (Dân Trí), 2004-05 (BBC), NYT headlines "
        "  and Usenet posts. New names and events are unknown words to the model.",
        "- 20 Newsgroups texts keep their headers, so header words are features too.",
        "",
        "Thresholds of the shipped model: " + ", ".join(f"{k} {v:.3f}" for k, v in thr.items()) + ".",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
