"""Evaluation: metrics a person can act on, written as JSON, Markdown and plots.

:func:`evaluate` scores a model on labeled texts and returns a JSON-ready dict
(accuracy for single-label, macro/micro F1, per-label precision/recall/F1, per-group
macro-F1, calibration bins); :func:`write_report` turns it into ``metrics.json``,
``report.md`` and PNG plots (confusion matrix, reliability diagram, PR curves).

Example:
    >>> m = classification_metrics(np.array([[1, 0], [0, 1], [1, 1]]), np.array([[1, 0], [0, 0], [1, 1]]), ["a", "b"])
    >>> m["per_label"]["b"]["recall"]
    0.5
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["evaluate", "classification_metrics", "write_report"]

_EMAIL = re.compile(r"\S+@\S+")
_HEADER = re.compile(r"^(from|subject|organization|lines|reply-to|nntp-posting-host|article-i\.d\.|keywords|summary|distribution|x-[\w-]+):.*$",
                     re.IGNORECASE | re.MULTILINE)


def classification_metrics(Y: np.ndarray, P: np.ndarray, labels: Sequence[str]) -> dict:
    """Per-label and averaged precision/recall/F1 from 0/1 matrices ``(n, n_labels)``."""
    Y, P = Y.astype(bool), P.astype(bool)
    tp = (Y & P).sum(0).astype(float)
    fp = (~Y & P).sum(0).astype(float)
    fn = (Y & ~P).sum(0).astype(float)
    prec = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    rec = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
    # a label with no example and no prediction in this slice is not scored
    scored = (tp + fp + fn) > 0
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    return {
        "n": int(len(Y)),
        "macro_f1": float(f1[scored].mean()) if scored.any() else float("nan"),
        "micro_f1": float(micro),
        "per_label": {str(l): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for l, p, r, f, s in zip(labels, prec, rec, f1, Y.sum(0))},
    }


def _calibration_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(m.sum()),
                        "mean_score": float(p[m].mean()), "fraction_positive": float(y[m].mean())})
    return out


def _ece(bins: list[dict], n: int) -> float:
    return float(sum(b["n"] / n * abs(b["mean_score"] - b["fraction_positive"]) for b in bins)) if n else 0.0


def safe_snippet(text: str, n: int = 140) -> str:
    """The start of a text for a report, with e-mail headers and addresses removed."""
    text = _EMAIL.sub("<email>", _HEADER.sub("", text))
    return " ".join(text.split())[:n]


def evaluate(model, texts: Sequence[str], labels, *, ids: Sequence[str] | None = None,
             groups: dict[str, Sequence[str]] | None = None, worst: int = 20,
             snippet_chars: int = 140) -> dict:
    """Score ``model`` on labeled texts.

    ``labels``: one label per text (single-label) or a list per text (multi-label).
    ``groups``: named groupings of the records (e.g. ``{"lang": [...], "source": [...]}``)
    for per-group metrics. ``snippet_chars``: how much of each worst error's text the report
    quotes; 0 quotes none (reports committed beside a model must not carry third-party text:
    the id is enough to look the record up).
    """
    from .linear import encode_targets  # scikit-learn: imported when a model is evaluated

    names = model.labels
    multi = model.multilabel
    if not multi and labels and isinstance(labels[0], (list, tuple)):
        labels = [l[0] if l else None for l in labels]
    if not multi:
        unknown = sorted({l for l in labels if l not in names}, key=str)
        if unknown:
            raise ValueError(f"labels not known to the model: {unknown}; the model's labels are {names}")
        Y, _, _ = encode_targets([[l] for l in labels], names)
    else:
        # one label as a plain string is a list of one label, not of its characters; a string
        # with commas is a list written as text ("democracy,human_rights", as in a CSV)
        Y, _, _ = encode_targets([([l] if l in names else [p.strip() for p in l.split(",") if p.strip()])
                                  if isinstance(l, str) else list(l if l is not None else [])
                                  for l in labels], names)
    clean, langs, flags = model.prepare(texts)
    S = model._score(clean, langs, flags)
    pred = model._labels_from(S, flags, langs)
    P, _, _ = encode_targets(pred, names)
    result = {"model": model.name, "labels": names, "multilabel": multi,
              **classification_metrics(Y, P, names)}
    result["flagged"] = int(sum(1 for f in flags if f and f != ["truncated"]))
    if not multi:
        yt, yp = Y.argmax(1), S.argmax(1)
        result["accuracy"] = float((yt == yp).mean())
        cm = np.zeros((len(names), len(names)), dtype=int)
        np.add.at(cm, (yt, yp), 1)
        result["confusion_matrix"] = cm.tolist()
        conf = S.max(1)
        result["calibration"] = {"top_label": _calibration_bins((yt == yp).astype(float), conf)}
        result["calibration"]["ece"] = _ece(result["calibration"]["top_label"], len(yt))
    else:
        result["calibration"] = {l: _calibration_bins(Y[:, k].astype(float), S[:, k]) for k, l in enumerate(names)}
        allp = np.concatenate([S[:, k] for k in range(len(names))])
        ally = np.concatenate([Y[:, k] for k in range(len(names))]).astype(float)
        bins = _calibration_bins(ally, allp)
        result["calibration"]["all_labels"] = bins
        result["calibration"]["ece"] = _ece(bins, len(ally))
        result["exact_match"] = float((Y == P).all(1).mean())
    for gname, gvals in (groups or {}).items():
        gvals = [str(g) for g in gvals]
        result.setdefault("groups", {})[gname] = {}
        for g in sorted(set(gvals)):
            m = np.array([v == g for v in gvals])
            gm = classification_metrics(Y[m], P[m], names)
            entry = {"n": int(m.sum()), "macro_f1": gm["macro_f1"], "micro_f1": gm["micro_f1"],
                     "f1": {l: v["f1"] for l, v in gm["per_label"].items()}}
            if not multi:
                entry["accuracy"] = float((Y[m].argmax(1) == S[m].argmax(1)).mean())
            result["groups"][gname][g] = entry
    # worst errors: the wrong decisions the model was most sure of
    err = []
    ids = list(ids) if ids is not None else [str(i) for i in range(len(clean))]
    for i in range(len(clean)):
        if (Y[i] != P[i]).any():
            wrong = np.flatnonzero(Y[i] != P[i])
            margin = float(np.abs(S[i, wrong] - (model.estimator.thresholds_[wrong] if multi else 0.5)).max())
            err.append((margin, i))
    err.sort(reverse=True)
    result["worst_errors"] = [
        {"id": ids[i], "gold": [names[k] for k in np.flatnonzero(Y[i])], "predicted": pred[i],
         "scores": {names[k]: round(float(S[i, k]), 3) for k in range(len(names))},
         "lang": langs[i], **({"text_start": safe_snippet(clean[i], snippet_chars)} if snippet_chars else {})}
        for _, i in err[:worst]]
    result["_scores"] = S  # for plots; dropped from JSON
    result["_Y"] = Y
    result["_P"], result["_langs"] = P, langs  # for topicclf.compare
    return result


def write_report(result: dict, out_dir, title: str | None = None) -> Path:
    """Write ``metrics.json``, ``report.md`` and PNG plots to ``out_dir`` (for a comparison of
    two models, :func:`topicclf.compare`: ``comparison.json``, ``report.md``, ``comparison.png``)."""
    if result.get("comparison"):  # two models: topicclf.compare
        from .comparison_report import write_comparison

        return write_comparison(result, out_dir, title)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    S, Y = result.get("_scores"), result.get("_Y")
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    (out / "metrics.json").write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    plots = _plots(result, S, Y, out)
    (out / "report.md").write_text(_markdown(public, plots, title), encoding="utf-8")
    return out


def _plots(result: dict, S, Y, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = result["labels"]
    made = []
    if not result["multilabel"]:
        cm = np.asarray(result["confusion_matrix"], dtype=float)
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(names), 0.8 + 0.6 * len(names)))
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        for i in range(len(names)):
            for j in range(len(names)):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("Confusion matrix (rows normalised)")
        fig.tight_layout()
        fig.savefig(out / "confusion_matrix.png", dpi=110)
        plt.close(fig)
        made.append("confusion_matrix.png")
    if S is None:
        return made
    # reliability diagram
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    curves = {"top label": result["calibration"]["top_label"]} if not result["multilabel"] else \
        {l: result["calibration"][l] for l in names}
    for lab, bins in curves.items():
        if bins:
            ax.plot([b["mean_score"] for b in bins], [b["fraction_positive"] for b in bins], "o-", label=lab, ms=3)
    ax.set_xlabel("score")
    ax.set_ylabel("fraction correct / positive")
    ax.set_title(f"Reliability (ECE {result['calibration']['ece']:.3f})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=110)
    plt.close(fig)
    made.append("reliability.png")
    if result["multilabel"]:
        from sklearn.metrics import average_precision_score, precision_recall_curve

        fig, ax = plt.subplots(figsize=(5.5, 5))
        for k, lab in enumerate(names):
            if Y[:, k].any():
                p, r, _ = precision_recall_curve(Y[:, k], S[:, k])
                ap = average_precision_score(Y[:, k], S[:, k])
                ax.plot(r, p, label=f"{lab} (AP {ap:.2f})")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title("Precision-recall per label")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "pr_curves.png", dpi=110)
        plt.close(fig)
        made.append("pr_curves.png")
    return made


def _markdown(m: dict, plots: list[str], title: str | None) -> str:
    lines = [f"# {title or 'Evaluation of ' + str(m['model'])}", ""]
    head = [f"- records: {m['n']}"]
    if "accuracy" in m:
        head.append(f"- accuracy: **{m['accuracy']:.4f}**")
    head += [f"- macro-F1: **{m['macro_f1']:.4f}**", f"- micro-F1: {m['micro_f1']:.4f}",
             f"- calibration error (ECE): {m['calibration']['ece']:.4f}",
             f"- texts flagged and not scored: {m['flagged']}"]
    lines += head + ["", "## Per label", "", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for l, v in m["per_label"].items():
        lines.append(f"| {l} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    for gname, groups in m.get("groups", {}).items():
        lines += ["", f"## By {gname}", "", "| " + gname + " | n | macro-F1 | micro-F1 | " + " | ".join(m["labels"]) + " |",
                  "|---|---|---|---|" + "---|" * len(m["labels"])]
        for g, v in groups.items():
            lines.append(f"| {g} | {v['n']} | {v['macro_f1']:.3f} | {v['micro_f1']:.3f} | "
                         + " | ".join(f"{v['f1'][l]:.2f}" for l in m["labels"]) + " |")
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    if m.get("worst_errors"):
        quoted = any("text_start" in e for e in m["worst_errors"])
        lines += ["", f"## The {len(m['worst_errors'])} most confident errors", ""]
        if not quoted:
            lines += ["Texts are not quoted (third-party text stays out of the repository): look the ids up in the data file.", ""]
        lines += ["| id | lang | gold | predicted | scores |" + (" text start |" if quoted else ""),
                  "|---|---|---|---|---|" + ("---|" if quoted else "")]
        for e in m["worst_errors"]:
            scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(e["scores"].items(), key=lambda kv: -kv[1])[:3])
            row = (f"| {e['id']} | {e['lang']} | {', '.join(e['gold']) or '—'} | {', '.join(e['predicted']) or '—'} "
                   f"| {scores} |")
            if quoted:
                row += " " + e.get("text_start", "").replace("|", "\\|") + " |"
            lines.append(row)
    return "\n".join(lines) + "\n"
