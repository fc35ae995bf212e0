"""Two models on the same labelled records: is B really better than A, or just different?

:func:`compare` scores both models on the same records (:func:`topicclf.evaluate` each), then
measures the difference B - A of macro-F1, micro-F1 (accuracy for single-label models) and
each label's F1 with a *paired bootstrap*: the records are resampled with replacement
(``n_boot`` times, seeded) and both models are scored on the same resample, so the interval
reflects how much the difference depends on which records happen to be in the test set. The
95 % interval is the 2.5th-97.5th percentile of the resampled differences; an interval that
contains 0 is "no clear difference". Per group (``groups={"lang": [...]}``), records are
resampled within the group. :func:`write_comparison` (or :func:`topicclf.write_report`) writes
``comparison.json``, ``report.md`` and ``comparison.png``.

Example:
    >>> r = compare("policy5", "./policy5-new", texts, labels, groups={"lang": langs})  # doctest: +SKIP
    >>> r["summary"]                                                                    # doctest: +SKIP
    'B (policy5-new) is better on religion by 0.06 ± 0.03; no clear difference elsewhere ...'
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

__all__ = ["compare", "write_comparison", "paired_bootstrap", "LabelSetError"]


class LabelSetError(ValueError):
    """The two models do not predict the same labels: their scores cannot be compared."""


def _load(model):
    if hasattr(model, "prepare") and hasattr(model, "_score"):
        return model
    from .classifiers.registry import load

    return load(model)


def _f1(tp, fp, fn):
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)


def _metrics(W: np.ndarray, Y: np.ndarray, P: np.ndarray, multi: bool) -> dict[str, np.ndarray]:
    """Metrics for each row of record weights ``W`` (``(B, n)``): ``macro_f1``, ``micro_f1``,
    ``accuracy`` (single-label) of shape ``(B,)`` and ``f1`` of shape ``(B, K)``. A label
    with no gold and no predicted record in a resample has no F1 there (NaN), as in
    :func:`topicclf.evaluate.classification_metrics`."""
    Yf, Pf = Y.astype(np.float64), P.astype(np.float64)
    tp = W @ (Yf * Pf)
    fp = W @ ((1 - Yf) * Pf)
    fn = W @ (Yf * (1 - Pf))
    f1 = _f1(tp, fp, fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no label is scored
        macro = np.nanmean(f1, axis=1)
    micro = _f1(tp.sum(1), fp.sum(1), fn.sum(1))
    out = {"macro_f1": macro, "micro_f1": micro, "f1": f1}
    if not multi:
        correct = (Y == P).all(1).astype(np.float64)
        out["accuracy"] = (W @ correct) / np.maximum(W.sum(1), 1)
    return out


def paired_bootstrap(Y: np.ndarray, PA: np.ndarray, PB: np.ndarray, labels: Sequence[str], *,
                     multilabel: bool = True, n_boot: int = 1000, seed: int = 0, block: int = 100) -> dict:
    """The difference B - A of each metric on the same records, with a paired bootstrap 95 %
    interval. ``Y``, ``PA``, ``PB``: 0/1 matrices ``(n, n_labels)`` (gold, A's and B's labels).

    Returns ``{"n", "overall": {metric: stat}, "per_label": {label: stat}}``, each ``stat``
    ``{"a", "b", "diff", "ci95": [lo, hi], "better": "A"|"B"|None}`` (``None``: the interval
    contains 0, or the metric is undefined).
    """
    Y, PA, PB = (np.asarray(M, dtype=bool) for M in (Y, PA, PB))
    n = len(Y)
    one = np.ones((1, n))
    point_a, point_b = _metrics(one, Y, PA, multilabel), _metrics(one, Y, PB, multilabel)
    rng = np.random.default_rng(seed)
    diffs: dict[str, list] = {k: [] for k in point_a}
    done = 0
    while done < n_boot and n:
        b = min(block, n_boot - done)
        idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]  # n draws with replacement
        W = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)  # times drawn
        ma, mb = _metrics(W, Y, PA, multilabel), _metrics(W, Y, PB, multilabel)
        for k in diffs:
            diffs[k].append(mb[k] - ma[k])
        done += b

    def stat(a, b, d) -> dict:
        a, b = float(a), float(b)
        d = d[~np.isnan(d)] if d is not None else np.zeros(0)
        if np.isnan(a) or np.isnan(b) or len(d) < max(10, n_boot // 2):
            return {"a": _num(a), "b": _num(b), "diff": _num(b - a), "ci95": None, "better": None}
        lo, hi = np.percentile(d, [2.5, 97.5])
        better = "B" if lo > 0 else "A" if hi < 0 else None
        return {"a": a, "b": b, "diff": b - a, "ci95": [float(lo), float(hi)], "better": better}

    cat = {k: (np.concatenate(v) if v else None) for k, v in diffs.items()}
    overall = {k: stat(point_a[k][0], point_b[k][0], cat[k]) for k in point_a if k != "f1"}
    per_label = {str(l): stat(point_a["f1"][0, j], point_b["f1"][0, j],
                              cat["f1"][:, j] if cat["f1"] is not None else None)
                 for j, l in enumerate(labels)}
    for j, l in enumerate(labels):
        per_label[str(l)]["support"] = int(Y[:, j].sum())
    return {"n": int(n), "overall": overall, "per_label": per_label}


def _num(x: float):
    return None if x is None or np.isnan(x) else float(x)


def _check_labels(a, b, name_a: str, name_b: str) -> None:
    la, lb = list(a.labels), list(b.labels)
    if set(la) != set(lb):
        only_a = [l for l in la if l not in lb]
        only_b = [l for l in lb if l not in la]
        parts = []
        if only_a:
            parts.append(f"only A ({name_a}) has {', '.join(map(str, only_a))}")
        if only_b:
            parts.append(f"only B ({name_b}) has {', '.join(map(str, only_b))}")
        raise LabelSetError("the two models have different label sets, so their scores cannot be compared: "
                            + "; ".join(parts) + ". Compare models trained on the same labels.")
    if a.multilabel != b.multilabel:
        kinds = {True: "multi-label", False: "single-label"}
        raise LabelSetError(f"A ({name_a}) is {kinds[a.multilabel]} and B ({name_b}) is {kinds[b.multilabel]}; "
                            "compare models of the same kind")


def _common_scale(clf, S: np.ndarray, langs) -> np.ndarray:
    if not clf.multilabel:
        return S
    from .classifiers.cascade import to_common_scale
    from .selection import row_thresholds

    return to_common_scale(S, row_thresholds(clf, langs))


def compare(model_a, model_b, texts: Sequence[str], labels, *, ids: Sequence[str] | None = None,
            groups: dict[str, Sequence[str]] | None = None, n_boot: int = 1000, seed: int = 0,
            disagreements: int = 20, snippet_chars: int = 140, names: Sequence[str] | None = None) -> dict:
    """Compare two models on the same labelled records (see the module docstring).

    ``model_a``/``model_b``: loaded models, shipped names or model folders; they must have the
    same labels (else :class:`LabelSetError` naming the labels that differ). ``labels``: as for
    :func:`topicclf.evaluate`. ``groups``: named groupings (``{"lang": [...]}``) for per-group
    differences. ``disagreements``: how many of the records on which the models disagree most
    to list. ``snippet_chars``: text quoted for each (0: none). ``names``: what to call the two
    models in the report (default: their names; ``A``/``B`` in any case).

    Returns a JSON-ready dict (and, under keys starting with ``_``, arrays for the plot):
    ``summary`` (a sentence), ``overall`` and ``per_label`` (each a
    :func:`paired_bootstrap` stat), ``groups``, ``disagreements``, and each model's own
    :func:`topicclf.evaluate` metrics under ``models``.
    """
    from .evaluate import evaluate, safe_snippet

    A, B = _load(model_a), _load(model_b)
    name_a, name_b = (list(names) if names else [A.name, B.name])[:2]
    _check_labels(A, B, name_a, name_b)
    texts = list(texts)
    labels = list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    ids = [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(texts))]
    ra = evaluate(A, texts, labels, ids=ids, groups=groups, snippet_chars=snippet_chars)
    rb = evaluate(B, texts, labels, ids=ids, groups=groups, snippet_chars=snippet_chars)
    names_ = list(A.labels)
    cols = [list(B.labels).index(l) for l in names_]  # B's columns in A's label order
    Y, PA, PB = ra["_Y"].astype(bool), ra["_P"].astype(bool), rb["_P"][:, cols].astype(bool)
    SA, SB = ra["_scores"], rb["_scores"][:, cols]
    multi = A.multilabel
    boot = paired_bootstrap(Y, PA, PB, names_, multilabel=multi, n_boot=n_boot, seed=seed)
    result = {"comparison": True, "a": {"name": name_a, "model": A.name}, "b": {"name": name_b, "model": B.name},
              "labels": names_, "multilabel": multi, "n": len(texts), "n_boot": n_boot, "seed": seed,
              "method": f"paired bootstrap over records, {n_boot} resamples (seed {seed}); difference = B - A; "
                        "95 % interval = 2.5th-97.5th percentile; an interval containing 0 is no clear difference",
              "overall": boot["overall"], "per_label": boot["per_label"]}
    for gname, gvals in (groups or {}).items():
        gvals = [str(g) for g in gvals]
        if len(gvals) != len(texts):
            raise ValueError(f"group {gname!r} has {len(gvals)} values for {len(texts)} records")
        result.setdefault("groups", {})[gname] = {}
        for k, g in enumerate(sorted(set(gvals))):
            m = np.array([v == g for v in gvals])
            gb = paired_bootstrap(Y[m], PA[m], PB[m], names_, multilabel=multi, n_boot=n_boot, seed=seed + 1 + k)
            result["groups"][gname][g] = {"n": gb["n"], "overall": gb["overall"], "per_label": gb["per_label"]}
    # the records on which they disagree most: labels that differ, by how far apart the two
    # models' scores are there (each on its own thresholds' scale: threshold = 0.5)
    CA, CB = _common_scale(A, SA, ra["_langs"]), _common_scale(B, SB, rb["_langs"])
    differ = PA != PB
    rows = np.flatnonzero(differ.any(1))
    gap = np.array([float(np.abs(CA[i] - CB[i])[differ[i]].max()) for i in rows])
    err_a, err_b = (PA != Y).sum(1), (PB != Y).sum(1)
    closer = {"A": int((err_a[rows] < err_b[rows]).sum()), "B": int((err_b[rows] < err_a[rows]).sum())}
    closer["tie"] = int(len(rows) - closer["A"] - closer["B"])
    result["disagreement"] = {"records": int(len(rows)), "closer_to_gold": closer}
    top = rows[np.lexsort((rows, -gap))][:disagreements] if len(rows) else rows
    gap_of = dict(zip(rows.tolist(), gap.tolist()))
    langs = ra["_langs"]
    clean = None
    if snippet_chars:
        clean = {int(i): A.prepare([texts[i]])[0][0] for i in top}
    result["disagreements"] = [
        {"id": ids[i], "lang": langs[i], "gold": [names_[k] for k in np.flatnonzero(Y[i])],
         "a": [names_[k] for k in np.flatnonzero(PA[i])], "b": [names_[k] for k in np.flatnonzero(PB[i])],
         "closer": "A" if err_a[i] < err_b[i] else "B" if err_b[i] < err_a[i] else "tie",
         "gap": round(gap_of[int(i)], 3),
         "scores_a": {names_[k]: round(float(SA[i, k]), 3) for k in range(len(names_))},
         "scores_b": {names_[k]: round(float(SB[i, k]), 3) for k in range(len(names_))},
         **({"text_start": safe_snippet(clean[int(i)], snippet_chars)} if clean else {})}
        for i in top]
    result["summary"] = _summary(result)
    result["models"] = {"A": {k: v for k, v in ra.items() if not k.startswith("_")},
                        "B": {k: v for k, v in rb.items() if not k.startswith("_")}}
    return result


def _pm(s: dict) -> str:
    lo, hi = s["ci95"]
    return f"{abs(s['diff']):.2f} ± {(hi - lo) / 2:.2f}"


def _summary(r: dict) -> str:
    """'B (x) is better on religion by 0.06 ± 0.03; no clear difference elsewhere (macro-F1 ...)'."""
    who = {"A": f"A ({r['a']['name']})", "B": f"B ({r['b']['name']})"}
    parts, decided = [], 0
    for side in ("B", "A"):
        wins = [(l, s) for l, s in r["per_label"].items() if s["better"] == side]
        if wins:
            parts.append(f"{who[side]} is better on " + ", ".join(f"{l} by {_pm(s)}" for l, s in wins))
            decided += len(wins)
    m = r["overall"]["macro_f1"]
    if m["ci95"] is None:
        macro = "macro-F1 undefined"
    else:
        macro = (f"macro-F1 {m['a']:.3f} (A) vs {m['b']:.3f} (B), difference {m['diff']:+.3f} "
                 f"[{m['ci95'][0]:+.3f}, {m['ci95'][1]:+.3f}]: "
                 + (f"{who[m['better']]} better" if m["better"] else "no clear difference"))
    rest = len(r["per_label"]) - decided
    head = "; ".join(parts) + ("" if not rest else "; no clear difference elsewhere" if parts
                               else "no clear difference on any label")
    return f"{head} ({macro})"


def write_comparison(result: dict, out_dir, title: str | None = None):
    """Write ``comparison.json``, ``report.md`` and ``comparison.png`` to ``out_dir``."""
    from .comparison_report import write_comparison as _write

    return _write(result, out_dir, title)
