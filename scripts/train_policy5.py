"""Rebuild the shipped default model ``models/policy5`` from the policy5 train and dev sets.

    python scripts/train_policy5.py                 # variant table, dev report, shipped model
    python scripts/train_policy5.py --no-variants   # skip the variant comparison table (faster)

What it does, in order:

1. trains a handful of variants on ``policy5/train.jsonl`` only and scores each on
   ``policy5/dev.jsonl`` (macro-F1 overall, per group: VNTC-vi, Dân Trí-vi, en; F1 per label);
2. trains the chosen variant (``CHOSEN``) on train only and writes its full dev report
   (metrics.json, report.md, plots) into the model folder under ``report/``;
3. trains the SHIPPED model with the same settings on train + dev and saves it to
   ``models/policy5`` with a model card that explains all of the above.

Per-label thresholds always come from cross-validated decision values on the training data
(held-out folds), never from dev. Deterministic: fixed seed, data SHA-256s in config.json.
Needs the data root (``$TOPICCLF_DATA`` or ``../shared/data``); one CPU core is enough
(a few minutes).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import json
import os
import random
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
BASE = dict(ngram_range=(1, 2), min_df=2, sublinear_tf=True, loss="squared_hinge", C=0.5,
            class_weight=None, cv=5, seed=SEED)

# (key, description, overrides, extra) -- extra: "low_weight" (weight of `low`-confidence
# records) or "weak" (weakly labelled auxiliary records, see weak_records()).
VARIANTS = [
    ("base", "syllable 1-2 grams, min_df 2, LinearSVC C=0.5 (library defaults)", {}, {}),
    ("ngram13", "1-3 grams, min_df 2, C=1.0", dict(ngram_range=(1, 3), C=1.0), {}),
    ("md3_C0.5", "1-2 grams, min_df 3, C=0.5", dict(min_df=3, C=0.5), {}),
    ("md3_C1", "1-2 grams, min_df 3, C=1.0", dict(min_df=3, C=1.0), {}),
    ("chosen", "1-2 grams, min_df 3, C=2.0", dict(min_df=3, C=2.0), {}),
    ("balanced", "chosen + class_weight=balanced", dict(min_df=3, C=2.0, class_weight="balanced"), {}),
    ("low_half", "chosen + `low`-confidence records at weight 0.5", dict(min_df=3, C=2.0), {"low_weight": 0.5}),
    ("weak", "chosen + 4.3k weakly labelled records (20NG train, UPR, CAP bills, VNTC train negatives) "
             "at weight 0.3, thresholds on gold records only", dict(min_df=3, C=2.0), {"weak": 0.3}),
    ("words", "chosen on Vietnamese *words* (underthesea segmentation; a word's syllables form one "
              "token) instead of syllables, English unchanged", dict(min_df=3, C=2.0), {"words": True}),
]
CHOSEN = "chosen"


def group_of(source: str) -> str:
    return GROUPS.get(source, "en")


def _read_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _key(text: str) -> str:
    from topicclf.text import normalize

    return hashlib.sha1(" ".join(normalize(text).lower().split()).encode("utf-8")).hexdigest()


# Weak labels: a source label says something certain about some policy5 labels only. Each
# record gets weight w for the labels it informs (as positive or negative) and 0 (ignored)
# for the others. Only sources that neither policy5 dev nor the held-out set draw from
# (VNTC train, 20NG train, UPR, CAP bills), and never a text that is in policy5 train or dev.
_NOT_HR = {"Development", "Poverty", "Environment", "Corruption", "Other", "General", "UPR process",
           "Technical assistance and cooperation", "Public security", "Counter-terrorism"}


def weak_records(root: Path, exclude: set[str], seed: int = SEED):
    rng = random.Random(seed)
    seen = set(exclude)
    out, files = [], []

    def add(text, pos, informed):
        k = _key(text)
        if k in seen:
            return
        seen.add(k)
        w = np.array([1.0 if (l in pos or l in informed) else 0.0 for l in LABELS])
        out.append((text, sorted(pos), w))

    p = root / "en" / "20newsgroups_bydate.jsonl.gz"
    files.append(p)
    by: dict[str, list] = {}
    for r in _read_gz(p):
        if r.get("split") == "train":
            by.setdefault(r["label"], []).append(r)
    for g in ("soc.religion.christian", "talk.religion.misc", "alt.atheism"):
        for r in rng.sample(by[g], min(133, len(by[g]))):
            add(r["text"], ["religion"], ["democracy", "sovereignty", "foreign_relations"])
    neg = [g for g in sorted(by) if g.split(".")[0] in ("comp", "rec", "sci", "misc") and g != "sci.crypt"]
    for g in neg:
        for r in rng.sample(by[g], min(150 // len(neg) * 3, len(by[g]))):
            add(r["text"], [], LABELS)
    p = root / "en" / "upr_recommendations.jsonl.gz"
    files.append(p)
    upr = _read_gz(p)
    rng.shuffle(upr)
    n = 0
    for r in upr:
        issues = set(r["labels"])
        if not issues - _NOT_HR:
            continue
        pos, informed = ["human_rights"], ["sovereignty"]
        if "Elections" in issues:
            pos.append("democracy")
        if "Freedom of religion and belief" in issues:
            pos.append("religion")
        else:
            informed.append("religion")
        add(r["text"], pos, informed)
        n += 1
        if n >= 2000:
            break
    p = root / "en" / "cap_us_bills.jsonl.gz"
    files.append(p)
    bills = _read_gz(p)
    for r in bills:
        if r["cap_code"] == 19:
            add(r["text"], ["foreign_relations"], ["religion"])
        elif r["cap_code"] == 2:
            add(r["text"], ["human_rights"], ["sovereignty", "foreign_relations"])
    negb = [r for r in bills if r["cap_code"] in (1, 3, 4, 6, 7, 8, 10, 13, 14, 15, 17, 21)]
    for r in rng.sample(negb, min(300, len(negb))):
        add(r["text"], [], LABELS)
    p = root / "vntc" / "train.jsonl.gz"
    files.append(p)
    byv: dict[str, list] = {}
    for r in _read_gz(p):
        byv.setdefault(r["label"], []).append(r)
    for g in ("The thao", "Vi tinh", "Suc khoe", "Khoa hoc"):
        for r in rng.sample(byv[g], 200):
            add(r["text"], [], LABELS)
    for r in rng.sample(byv["Kinh doanh"], 200):
        add(r["text"], [], ["democracy", "human_rights", "religion", "sovereignty"])
    return out, files


def word_texts(texts: list[str]) -> list[str]:
    """Vietnamese texts as underthesea words, each word's syllables glued by U+2581 into one
    token for the n-gram features (English and other texts unchanged)."""
    from topicclf import detect_language, normalize, tokenize

    out = []
    for t in texts:
        n = normalize(t)
        if detect_language(n).lang == "vi":
            out.append(" ".join(w.replace("_", "\u2581") for w in tokenize(n, lang="vi", mode="word")))
        else:
            out.append(t)
    return out


def fit_variant(train, params: dict, extra: dict, name: str, weak=None, meta=None):
    import topicclf

    texts, labels = list(train.texts), list(train.labels)
    if extra.get("words"):
        texts = word_texts(texts)
    SW = np.ones((len(texts), len(LABELS)))
    mask = None
    if "low_weight" in extra:
        low = np.array([c == "low" for c in train.extra["confidence"]])
        SW[low] = extra["low_weight"]
    if "weak" in extra:
        texts += [w[0] for w in weak]
        labels += [w[1] for w in weak]
        SW = np.vstack([SW, np.array([w[2] for w in weak]) * extra["weak"]])
        mask = np.r_[np.ones(len(train), bool), np.zeros(len(weak), bool)]
    return topicclf.train(texts, labels, label_set=LABELS, languages=["vi", "en"], name=name, meta=meta,
                          sample_weight=None if (SW == 1).all() else SW, calibration_mask=mask,
                          **{**BASE, **params})


def score_dev(clf, dev, dev_groups):
    from topicclf.evaluate import evaluate

    # snippet_chars=0: the report is committed beside the model, so it quotes no article text
    return evaluate(clf, dev.texts, dev.labels, ids=dev.ids, snippet_chars=0,
                    groups={"group": dev_groups, "lang": [l or "und" for l in dev.langs]})


def row_of(result, clf) -> dict:
    g = result["groups"]["group"]
    return {"macro_f1": result["macro_f1"], "cv_macro_f1": getattr(clf.estimator, "cv_scores_", {}).get("macro_f1"), **{k: g[k]["macro_f1"] for k in GROUP_ORDER if k in g},
            "per_label": {l: result["per_label"][l]["f1"] for l in LABELS}}


def table_md(rows: list[tuple[str, str, dict]]) -> str:
    head = ("| variant | settings | dev macro-F1 | VNTC-vi | Dân Trí-vi | en | "
            + " | ".join(LABELS) + " | train 5-fold CV macro-F1 |")
    lines = [head, "|---|---|---|---|---|---|" + "---|" * (len(LABELS) + 1)]
    for key, desc, r in rows:
        mark = f"**{key}** (shipped settings)" if key == CHOSEN else key
        lines.append(f"| {mark} | {desc} | {r['macro_f1']:.3f} | "
                     + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in GROUP_ORDER) + " | "
                     + " | ".join(f"{r['per_label'][l]:.2f}" for l in LABELS) + f" | {r['cv_macro_f1']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "models" / "policy5"))
    ap.add_argument("--no-variants", action="store_true", help="skip the variant comparison table")
    args = ap.parse_args(argv)

    from topicclf.data import data_root, file_digest, load_records
    from topicclf.evaluate import write_report

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    train_path, dev_path = root / "policy5" / "train.jsonl", root / "policy5" / "dev.jsonl"
    train = load_records(train_path, labels=LABELS)
    dev = load_records(dev_path, labels=LABELS)
    dev_groups = [group_of(s) for s in dev.extra["source"]]
    t_start = time.time()
    chosen = next(v for v in VARIANTS if v[0] == CHOSEN)

    # 1. variant table: every variant trained on train only, scored on dev
    rows, weak_files = [], []
    if not args.no_variants:
        weak = None
        for key, desc, params, extra in VARIANTS:
            if "weak" in extra and weak is None:
                weak, weak_files = weak_records(root, {_key(t) for t in train.texts + dev.texts})
            t0 = time.time()
            clf = fit_variant(train, params, extra, name=f"policy5-{key}", weak=weak)
            dev_in = dev
            if extra.get("words"):  # the same segmentation before the model, at scoring time
                dev_in = copy.copy(dev)
                dev_in.texts = word_texts(dev.texts)
            r = row_of(score_dev(clf, dev_in, dev_groups), clf)
            rows.append((key, desc, r))
            print(f"{key:10s} dev macro-F1 {r['macro_f1']:.3f}  "
                  + "  ".join(f"{k} {r.get(k, float('nan')):.3f}" for k in GROUP_ORDER)
                  + "  " + " ".join(f"{l[:5]} {r['per_label'][l]:.2f}" for l in LABELS)
                  + f"  cv {r['cv_macro_f1']:.3f}  ({time.time() - t0:.0f} s)", flush=True)

    # 2. the chosen variant on train only: the honest dev report
    dev_clf = fit_variant(train, chosen[2], chosen[3], name="policy5 (train only)")
    dev_result = score_dev(dev_clf, dev, dev_groups)
    dev_row = row_of(dev_result, dev_clf)
    extra_files = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_report(dev_result, tmp, title="policy5, trained on train only, scored on dev")
        for f in sorted(Path(tmp).iterdir()):
            extra_files[f"report/{f.name}"] = f.read_bytes()
    print(f"train-only model on dev: macro-F1 {dev_row['macro_f1']:.3f}  "
          + "  ".join(f"{k} {dev_row.get(k, float('nan')):.3f}" for k in GROUP_ORDER), flush=True)

    # 3. the shipped model: same settings, train + dev
    both = load_records(train_path, labels=LABELS)
    both.texts += dev.texts
    both.labels += dev.labels
    both.ids += dev.ids
    both.langs += dev.langs
    for k in both.extra:
        both.extra[k] = list(both.extra[k]) + list(dev.extra[k])
    data = [{"path": f"policy5/{p.name}", "sha256": file_digest(p), "records": len(r)}
            for p, r in ((train_path, train), (dev_path, dev))]
    params = {**BASE, **chosen[2]}
    meta = {
        "description": ("Default policy5 model: multi-label democracy / human_rights / religion / "
                        "sovereignty / foreign_relations for Vietnamese and English news. One joint "
                        "vi+en linear model (LinearSVC one-vs-rest) over syllable 1-2 gram TF-IDF, "
                        "per-label Platt calibration and F1-optimal thresholds on 5-fold "
                        "cross-validated decision values."),
        "training": {"data": data, "command": COMMAND,
                     "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}},
        "metrics": {"dev_train_only": {
            "note": "model with the same settings trained on policy5 train only, scored on policy5 dev; "
                    "the shipped model also saw dev",
            "macro_f1": dev_row["macro_f1"], "micro_f1": dev_result["micro_f1"],
            "groups": {k: dev_row[k] for k in GROUP_ORDER if k in dev_row},
            "per_label_f1": dev_row["per_label"]}},
    }
    if rows:
        meta["variants"] = [{"variant": k, "settings": d, **r} for k, d, r in rows]
        if weak_files:
            meta["variants_aux_data"] = [{"path": f"{p.parent.name}/{p.name}", "sha256": file_digest(p)}
                                         for p in weak_files]
    shipped = fit_variant(both, chosen[2], chosen[3], name="policy5", meta=meta)
    thr = shipped.thresholds
    card = card_extra(rows, dev_row, dev_result, thr, shipped)
    out = Path(args.out)
    shipped.save(out, card_extra=card, extra_files=extra_files)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"saved {out}: {size / 1e6:.2f} MB, {shipped.pipeline[0].n_features_out_} features; "
          f"thresholds {json.dumps({k: round(v, 3) for k, v in thr.items()})}; "
          f"total {time.time() - t_start:.0f} s")
    return 0


def encoder_variant_lines() -> list[str]:
    """The e5 variant's dev numbers, as measured by its own script (models/policy5-e5)."""
    path = REPO / "models" / "policy5-e5" / "config.json"
    if not path.exists():
        return []
    m = json.loads(path.read_text(encoding="utf-8")).get("metrics", {}).get("dev_train_only")
    if not m:
        return []
    groups = ", ".join(f"{g} {m[g]:.3f}" for g in GROUP_ORDER if g in m)
    return [
        "**With the multilingual encoder.** [`policy5-e5`](../policy5-e5/README.md) keeps this "
        "model for Vietnamese and routes English articles to multilingual-e5-small embeddings with "
        f"a linear head: dev macro-F1 {m['macro_f1']:.3f} ({groups}), trained on train only, "
        f"measured by `{m.get('command', 'python scripts/train_policy5_e5.py')}`. It is better on "
        "English but not the default, because an English article then costs about half a second "
        "of CPU instead of a few microseconds; e5 embeddings for Vietnamese too, and TF-IDF and e5 "
        "concatenated, were worse on dev (`benchmarks/results/transformer.json`).",
        "",
    ]


def card_extra(rows, dev_row, dev_result, thr, shipped) -> str:
    g = dev_result["groups"]["group"]
    n = {k: g[k]["n"] for k in GROUP_ORDER if k in g}
    lines = [
        "## How this model was built",
        "",
        f"Command: `{COMMAND}` (deterministic, seed {SEED}; 1-2 minutes on one core). It needs the "
        "data root (`$TOPICCLF_DATA` or `../shared/data`, see `data/README.md`); the SHA-256 of each data "
        "file is in `config.json` under `training.data`.",
        "",
        "**Model.** One joint Vietnamese + English model: lower-cased syllable 1-2 gram TF-IDF "
        "(`NgramVectorizer`, min_df 3, sublinear tf), one LinearSVC per label (C = 2.0, one-vs-rest). "
        "Each label gets a Platt sigmoid, so its score is in [0, 1], and its own threshold.",
        "",
        "**Thresholds.** Each label's threshold is the F1-maximising cut on its calibrated scores for "
        "held-out folds of the training data (5-fold cross-validation). Dev did not set any "
        "threshold. It was used only to choose among the handful of variants below.",
        "",
        "**Which data.** The shipped model is trained on policy5 train + dev (2,069 articles). "
        "The numbers below come from a model with the **same settings trained on train only** "
        "(1,621 articles) and scored on dev. The shipped model has seen dev, so no honest dev "
        "number exists for it. Dev was also used to pick the variant, so even the train-only "
        "numbers are somewhat optimistic. The held-out policy5 test set, kept outside the repository, "
        "is the real judge.",
        "",
        "## Dev results (train-only model)",
        "",
        f"Dev macro-F1 **{dev_row['macro_f1']:.3f}** (micro-F1 {dev_result['micro_f1']:.3f}). By group: "
        + ", ".join(f"{k} {dev_row[k]:.3f} (n={n[k]})" for k in GROUP_ORDER if k in dev_row)
        + ". Per label: " + ", ".join(f"{l} {dev_row['per_label'][l]:.3f}" for l in LABELS)
        + ". Full report with plots and the 20 most confident errors: [report/report.md](report/report.md).",
        "",
        "The targets for the held-out set are macro-F1 ≥ 0.85 on VNTC-era Vietnamese, ≥ 0.80 on 2021 "
        "Dân Trí and ≥ 0.80 on English, and F1 ≥ 0.70 on every label. On dev, this model **does "
        "not reach them**, English and `sovereignty` least of all. Read the scores as a ranking "
        "signal with the stated precision and recall, not as settled labels.",
        "",
    ]
    if rows:
        lines += [
            "## Variants compared (train only → dev)",
            "",
            "Every row is trained on policy5 train only and scored on dev. The groups are VNTC-vi (source "
            "`vntc-test`), Dân Trí-vi (`dantri`), and en (`bbc` + `20ng` + `cap-nyt`). The en group has "
            "116 texts and sovereignty has 29 positives, so differences of 0.02 are within noise.",
            "",
            table_md(rows),
            "",
            "Why these settings: they have the best dev macro-F1 of the table, and their train CV macro-F1 "
            "is within 0.01 of the best. The margins over the neighbouring settings (min_df 3 with C 0.5 "
            "or 1) are within noise, so the plain model was kept. None of these helped on dev: "
            "`class_weight=balanced` (better on en, worse on VNTC-vi), down-weighting `low`-confidence "
            "records, 1-3 grams, the weak auxiliary data, and Vietnamese word features (`words`: "
            "underthesea segmentation gives one token per word, e.g. `chủ▁quyền`; syllable 1-2 grams "
            "already see those words as bigrams, and segmentation would cost milliseconds per article "
            "at scoring time). The weak data's labels were used only for "
            "the topics they inform, and thresholds were fitted on gold records only. Even so, "
            "`human_rights` fell, because UPR recommendations are not news. Explored outside this "
            "script and also not better on dev: logistic loss (C 10-30, dev macro-F1 0.68-0.69), "
            "self-training on confident pseudo-labels of unlabelled VNTC train and 20NG train articles "
            "(0.67-0.70), and a per-language pair of models. The pair scored en 0.60-0.62 against the "
            "joint model's 0.57-0.61, with about equal Vietnamese. That is not clearly better, so the "
            "joint model is kept.",
            "",
        ]
        lines += encoder_variant_lines()
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
        "- Small training set: 2,069 articles, of which 411 are English (BBC and 20 Newsgroups). English, "
        "  and short English headlines most of all, are the weakest part. The thresholds are "
        "  shared by both languages, and mostly fitted on Vietnamese folds.",
        "- `sovereignty` has only 127 positive articles; it is the least reliable label.",
        "- The training sets were drawn with a keyword pre-filter, so label frequencies are much higher "
        "  than in a raw news stream. On a stream, expect lower precision at these thresholds.",
        "- Bag of n-grams: there is no notion of a passing mention. A text that lists topic "
        "  words (\"democracy, human rights, religion...\") can get labels the taxonomy would not give.",
        "- The texts come from news of 2005-07 (VNTC), 2020-21 (Dân Trí), 2004-05 (BBC) and Usenet posts. "
        "  New names and events are unknown words to the model.",
        "- 20 Newsgroups texts keep their headers, so header words are features too.",
        "",
        "Thresholds of the shipped model: " + ", ".join(f"{k} {v:.3f}" for k, v in thr.items()) + ".",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
