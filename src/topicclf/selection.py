"""Choosing what to label next (``topicclf select``, :func:`select`).

Labelling is the expensive step of retraining, so every labelled article should teach the
model something. :func:`select` streams a dump of any size (the reader of ``topicclf score``,
:class:`topicclf.score_io.Source`: same formats, same rejects, damage reported the same way)
and picks the articles the model is least sure of, spread over labels and languages, with
exact and near duplicates removed, plus an optional share of random articles so that the
labelled set still estimates accuracy.

How it chooses
--------------
*Uncertainty* (0 = on the decision boundary, 1 = as sure as can be):

* multi-label: each label's score is put on a common scale where the label's threshold is
  0.5 (per language for a routed model; :func:`topicclf.classifiers.cascade.to_common_scale`),
  and the uncertainty is ``min over labels of 2 * |scaled score - 0.5|``: the distance of the
  label the model is least sure of to its threshold;
* single-label: the margin between the two highest scores.

*Memory stays bounded*: records are scored in chunks; for each stratum (language x the label
the model is least sure of, or the top label of a single-label model) a heap keeps the
``pool_factor * n`` most uncertain candidates (exact duplicates, by a hash of the cleaned,
case-folded words, enter once), and a bottom-k sample by seeded random keys keeps the
candidates of the random share. Nothing else is held.

*Spread*: the random share is taken first (from the sample, in key order); the rest is filled
round-robin over the strata (most uncertain stratum first), each turn taking that stratum's
most uncertain candidate, first among the ``pool_factor * n`` most uncertain candidates of
all strata (so that a stratum whose best candidates are sure gets no turn), then, if that is
not enough, among the others. A candidate that repeats one already chosen (the same hash, or
MinHash-estimated Jaccard similarity of word 3-shingles at or above ``near_duplicate``) is
passed over. Records the model flags (empty, boilerplate only, too short, a language the
model does not accept) and records the reader rejects are never chosen.

*Already labelled*: ``exclude`` names files of articles never to choose again (labelled
sets, earlier selections, Label Studio exports): an article with the same words, or a near
duplicate of one of them (``near_duplicate``), is passed over and counted as excluded.

The same ``seed``, input and model give the same selection.

Example:
    >>> picked = select("dump.jsonl.zst", model="policy5", n=200, out="to_label.jsonl")  # doctest: +SKIP
    >>> picked.rows[0]["why"]                                                          # doctest: +SKIP
    'democracy 0.41 near its threshold 0.37'
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import random
import re
import time
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .data import DataError

__all__ = ["select", "Selection", "SelectionWarning", "uncertainty", "row_thresholds", "FORMATS"]

FORMATS = ("jsonl", "label-studio")
_WORD = re.compile(r"\w+")
_SHINGLE = 3          # words per shingle for the near-duplicate check
_SHINGLE_WORDS = 3000  # words of an article that count for it
_PERMS = 64            # MinHash permutations
_PRIME = 4294967311    # > 2**32


class SelectionWarning(UserWarning):
    """Fewer articles selected than asked for (and why)."""


@dataclass
class Selection:
    """The chosen articles (``rows``, in the order chosen) and what the run saw (``summary``).

    Each row: ``id``, ``text``, ``scores`` ({label: score}), ``why`` (a sentence),
    ``selected_as`` (``"uncertain"`` or ``"random"``), ``uncertainty``, ``lang``, ``labels``
    (the model's labels for it) and ``position`` (line, row or file in the input).
    """

    rows: list[dict]
    summary: dict

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


@dataclass(slots=True)
class _Candidate:
    u: float
    index: int
    position: Any
    id: Any
    text: str
    lang: str
    labels: list
    scores: np.ndarray
    focus: int
    second: int
    key: float = 0.0      # the random share's sample key
    hash: bytes | None = None
    sig: np.ndarray | None = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------
# Uncertainty

def row_thresholds(clf, langs) -> np.ndarray | None:
    """Each row's thresholds ``(n, n_labels)`` (a routed model's per language); ``None`` for a
    single-label model."""
    if not clf.multilabel:
        return None
    routes = getattr(clf, "routes", None)
    base = np.array([clf.thresholds[l] for l in clf.labels], dtype=np.float64) if not routes else None
    T = np.empty((len(langs), len(clf.labels)))
    for i, lang in enumerate(langs):
        if routes:
            m = routes.get(lang)
            T[i] = [m.thresholds[l] for l in clf.labels] if m is not None else 0.5
        else:
            T[i] = base
    return T


def uncertainty(clf, P: np.ndarray, langs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u, focus, second)`` per row of scores ``P``: ``u`` in [0, 1] (0 = on the boundary),
    ``focus`` the label index it is about (the label nearest its threshold; the top label of a
    single-label model) and ``second`` (the runner-up label; -1 for multi-label)."""
    P = np.asarray(P, dtype=np.float64)
    if len(P) == 0:
        e = np.zeros(0)
        return e, e.astype(int), e.astype(int)
    if clf.multilabel:
        from .classifiers.cascade import to_common_scale

        D = np.abs(to_common_scale(P, row_thresholds(clf, langs)) - 0.5) * 2
        focus = D.argmin(axis=1)
        return D[np.arange(len(D)), focus], focus, np.full(len(D), -1)
    if P.shape[1] < 2:
        return np.ones(len(P)), np.zeros(len(P), dtype=int), np.full(len(P), -1)
    order = np.argsort(-P, axis=1, kind="stable")[:, :2]
    top, second = order[:, 0], order[:, 1]
    rows = np.arange(len(P))
    return P[rows, top] - P[rows, second], top, second


def _why(clf, c: _Candidate, thresholds: np.ndarray | None) -> str:
    names = clf.labels
    s = c.scores
    if clf.multilabel:
        k = c.focus
        if c.u <= 0.5:
            return f"{names[k]} {s[k]:.2f} near its threshold {thresholds[k]:.2f}"
        return f"{names[k]} {s[k]:.2f}, the nearest any label comes to its threshold ({thresholds[k]:.2f})"
    if c.second < 0:
        return f"{names[c.focus]} {s[c.focus]:.2f}"
    return (f"{names[c.focus]} {s[c.focus]:.2f} vs {names[c.second]} {s[c.second]:.2f}: "
            f"the top two {s[c.focus] - s[c.second]:.2f} apart")


# ---------------------------------------------------------------------------------------------
# Duplicates

def _words(text: str) -> list[str]:
    from .text import normalize

    return _WORD.findall(normalize(text).casefold())


def _text_hash(words: list[str]) -> bytes:
    return hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=12).digest()


_RNG = np.random.default_rng(20261203)  # fixed: the same texts are near duplicates in every run
_A = _RNG.integers(1, 2**31, size=_PERMS, dtype=np.uint64)
_B = _RNG.integers(0, 2**32, size=_PERMS, dtype=np.uint64)


def _minhash(words: list[str]) -> np.ndarray:
    """MinHash signature of an article's word 3-shingles (of its words if it has fewer)."""
    words = words[:_SHINGLE_WORDS]
    h = np.array([zlib.crc32(w.encode("utf-8", "surrogatepass")) for w in words] or [0], dtype=np.uint64)
    if len(h) >= _SHINGLE:
        x = h[: len(h) - _SHINGLE + 1].copy()
        for j in range(1, _SHINGLE):
            x = (x * np.uint64(1_000_003) + h[j: len(h) - _SHINGLE + 1 + j]) & np.uint64(0xFFFFFFFF)
    else:
        x = h
    x = np.unique(x)
    return ((x[:, None] * _A[None, :] + _B[None, :]) % np.uint64(_PRIME)).min(axis=0)


class _Excluded:
    """The articles of the ``exclude`` files: their word hashes and (for the near-duplicate
    check) MinHash signatures."""

    def __init__(self, paths, text_field: str, near: bool):
        self.hashes: set[bytes] = set()
        sigs = []
        self.texts = 0
        for path in paths or ():
            found = 0
            for text in _texts_of(path, text_field):
                words = _words(text)
                self.hashes.add(_text_hash(words))
                if near:
                    sigs.append(_minhash(words))
                found += 1
            if not found:
                raise DataError(f"{path}: no article with a {text_field!r} field to exclude "
                                "(pass the file of labelled or already selected articles, or set --text-field)")
            self.texts += found
        self.sigs = np.array(sigs, dtype=np.uint64).reshape(len(sigs), _PERMS)
        self.exact = self.near = 0


def _texts_of(path, text_field: str) -> Iterator[str]:
    """The texts of a file to exclude: a Label Studio export or task list (every task, labelled
    or not: it was sent to be labelled), else any input ``topicclf score`` reads."""
    from .data import is_label_studio_export
    from .score_io import Record, Source

    if is_label_studio_export(path):
        tasks = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        for task in tasks:
            text = task.get("data", {}).get(text_field) if isinstance(task, dict) else None
            if isinstance(text, str):
                yield text
        return
    for item in Source(path, text_field=text_field, id_field=None):
        if isinstance(item, Record):
            yield item.text


class _Chosen:
    """The articles chosen so far, and the duplicate checks against them (and against the
    excluded articles)."""

    def __init__(self, near_duplicate: float | None, excluded: _Excluded):
        self.near = near_duplicate
        self.rows: list[_Candidate] = []
        self.indices: set[int] = set()
        self.hashes: set[bytes] = set()
        self.excluded = excluded
        self.sigs = np.zeros((0, _PERMS), dtype=np.uint64)
        self.exact = self.near_dups = 0

    def admit(self, c: _Candidate) -> bool:
        if c.index in self.indices:  # the same record, met again in another pool
            return False
        words = _words(c.text) if c.hash is None or (self.near and c.sig is None) else None
        if c.hash is None:
            c.hash = _text_hash(words)
        if c.hash in self.excluded.hashes:
            self.excluded.exact += 1
            return False
        if c.hash in self.hashes:
            self.exact += 1
            return False
        if self.near:
            if c.sig is None:
                c.sig = _minhash(words)
            ex = self.excluded.sigs
            if len(ex) and float((ex == c.sig).mean(axis=1).max()) >= self.near:
                self.excluded.near += 1
                return False
            if len(self.sigs) and float((self.sigs == c.sig).mean(axis=1).max()) >= self.near:
                self.near_dups += 1
                return False
            self.sigs = np.vstack([self.sigs, c.sig[None, :]])
        self.rows.append(c)
        self.indices.add(c.index)
        self.hashes.add(c.hash)
        return True


# ---------------------------------------------------------------------------------------------
# Selection

def select(dump, model=None, n: int = 200, *, out=None, format: str | None = None,
           random_share: float = 0.0, seed: int = 0, text_field: str = "text", id_field: str | None = "id",
           title_field: str | None = None, near_duplicate: float | None = 0.5, pool_factor: int = 3,
           exclude=(), batch_size: int = 2048, progress: bool = False) -> Selection:
    """Pick the ``n`` articles of ``dump`` most worth labelling next (see the module docstring).

    Parameters
    ----------
    dump : JSONL (``.gz``/``.zst``), CSV/TSV, Parquet, a folder of ``.txt``/``.html`` files or
        ``"-"``, read as :func:`topicclf.score_file` reads it (``text_field``, ``id_field``,
        ``title_field`` alike)
    model : shipped model name, model folder or a loaded classifier
    n : how many articles; a dump with fewer eligible (distinct, unflagged) articles gives all
        of them, with a :class:`SelectionWarning`
    out : write the rows there (optional): JSONL, or with ``format="label-studio"`` the JSON
        list of tasks that Label Studio imports (plus ``OUT.config.xml``, a labelling config)
    format : ``"jsonl"`` or ``"label-studio"``; default: ``label-studio`` for a ``.json`` out
    random_share : share of ``n`` drawn at random from the eligible articles (uniformly, over
        the whole dump), so that the labelled set also estimates the model's accuracy
    seed : seeds the random share (the same seed, dump and model give the same selection)
    near_duplicate : an article whose estimated Jaccard similarity (word 3-shingles) to one
        already chosen is at least this is passed over; ``None`` keeps exact-hash dedup only
    pool_factor : candidates kept per stratum, as a multiple of ``n``
    exclude : files of articles never to choose (labelled sets, earlier selections, Label
        Studio exports; any format ``topicclf score`` reads, by ``text_field``): an article with
        the same words, or a near duplicate of one, is passed over

    Returns a :class:`Selection`; ``summary`` counts the records read, eligible, flagged
    (by flag), rejected and damaged (``damage``: positions), and what was chosen.
    """
    from .score import _predict
    from .score_io import Record, Reject, Source

    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0.0 <= float(random_share) <= 1.0:
        raise ValueError(f"random_share must be between 0 and 1, got {random_share!r}")
    if near_duplicate is not None and not 0.0 < float(near_duplicate) <= 1.0:
        raise ValueError(f"near_duplicate must be in (0, 1] or None, got {near_duplicate!r}")
    if pool_factor < 1 or batch_size < 1:
        raise ValueError("pool_factor and batch_size must be at least 1")
    if format is None:
        format = "label-studio" if out is not None and str(out).lower().endswith(".json") else "jsonl"
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    t0 = time.perf_counter()
    if isinstance(exclude, (str, os.PathLike)):
        exclude = [exclude]
    excluded = _Excluded(exclude, text_field, near_duplicate is not None)
    source = Source(dump, text_field=text_field, id_field=id_field, title_field=title_field)
    if out is not None:
        out = Path(out)
        if source.kind != "stdin" and out.resolve() == Path(dump).resolve():
            raise ValueError(f"{out}: the output would overwrite the input")
        if out.is_dir():
            raise ValueError(f"{out} is a folder: --out names the output file (e.g. {out / 'to_label.jsonl'})")
    if hasattr(model, "prepare") and hasattr(model, "_score"):
        clf = model
    else:
        from .classifiers.registry import load

        clf = load(model)
    n_random = int(round(n * float(random_share)))
    cap = pool_factor * n
    strata: dict[tuple, tuple[list, dict]] = {}  # (lang, label) -> (heap of (-u, -index, cand), hash -> cand)
    sample: list = []  # bottom-k by random key: (-key, -index, cand)
    sample_cap = 2 * n_random
    rng = random.Random(seed)
    counts: Counter = Counter()
    flags: Counter = Counter()
    rejects: list[dict] = []
    damage: dict = {}
    evicted = False
    bar = _progress(source, progress)

    def chunks():
        batch = []
        for item in source:
            if isinstance(item, Reject):
                counts["rejected"] += 1
                r = item.to_dict()
                if item.damage:
                    counts["damaged"] += 1
                    if len(damage) < 10:
                        damage.setdefault(item.reason, item.position)
                if len(rejects) < 100_000:
                    rejects.append(r)
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    try:
        for batch in chunks():
            counts["records"] += len(batch)
            rows = _predict(clf, [r.text for r in batch], [r.title for r in batch])
            ok = [i for i, row in enumerate(rows) if all(f == "truncated" for f in row[3])]
            for row in rows:
                flags.update(f for f in row[3] if f != "truncated")
            counts["flagged"] += len(rows) - len(ok)
            counts["eligible"] += len(ok)
            if bar is not None:
                bar.update(len(batch))
            if not ok:
                continue
            P = np.array([rows[i][1] for i in ok], dtype=np.float64)
            langs = [rows[i][2] for i in ok]
            u, focus, second = uncertainty(clf, P, langs)
            for j, i in enumerate(ok):
                rec: Record = batch[i]
                cand = None
                if n_random:
                    key = rng.random()
                    if len(sample) < sample_cap or key < -sample[0][0]:
                        cand = _Candidate(float(u[j]), rec.index, rec.position, rec.id, rec.text, langs[j],
                                          rows[i][0], P[j], int(focus[j]), int(second[j]), key)
                        item = (-key, -rec.index, cand)
                        if len(sample) < sample_cap:
                            heapq.heappush(sample, item)
                        else:
                            heapq.heapreplace(sample, item)
                stratum = (langs[j], int(focus[j]))
                heap, seen = strata.setdefault(stratum, ([], {}))
                if len(heap) >= cap and not (-u[j], -rec.index) > heap[0][:2]:
                    continue  # no more uncertain than the least uncertain kept
                cand = cand or _Candidate(float(u[j]), rec.index, rec.position, rec.id, rec.text, langs[j],
                                          rows[i][0], P[j], int(focus[j]), int(second[j]))
                words = _words(rec.text)
                cand.hash = _text_hash(words)
                if cand.hash in excluded.hashes:  # labelled already: keep its place for another
                    excluded.exact += 1
                    continue
                if cand.hash in seen:
                    counts["exact_duplicates_in_pool"] += 1
                    continue
                seen[cand.hash] = cand
                if len(heap) < cap:
                    heapq.heappush(heap, (-cand.u, -cand.index, cand))
                else:
                    old = heapq.heapreplace(heap, (-cand.u, -cand.index, cand))[2]
                    seen.pop(old.hash, None)
                    evicted = True
    finally:
        if bar is not None:
            bar.close()

    chosen = _Chosen(near_duplicate, excluded)
    for _, _, c in sorted(sample, key=lambda t: (-t[0], -t[1])):  # ascending key
        if len(chosen.rows) >= n_random:
            break
        if chosen.admit(c):
            c.key = -1.0  # marks the random share
    random_picked = len(chosen.rows)
    # round-robin over the strata, first among the pool_factor x n most uncertain candidates of
    # all strata (a stratum whose best candidates are sure gets no turn), then among the rest
    pool = sorted((t[2] for heap, _ in strata.values() for t in heap), key=lambda c: (c.u, c.index))
    cutoff = (pool[cap - 1].u, pool[cap - 1].index) if len(pool) > cap else None
    for phase in ("uncertain", "rest"):
        queues: dict[tuple, list] = {}
        for c in pool:
            inside = cutoff is None or (c.u, c.index) <= cutoff
            if inside == (phase == "uncertain"):
                queues.setdefault((c.lang, c.focus), []).append(c)
        order = sorted(queues, key=lambda s: (queues[s][0].u, str(s[0]), s[1]))
        pos = {s: 0 for s in order}
        while len(chosen.rows) < n and order:
            for s in list(order):
                if len(chosen.rows) >= n:
                    break
                q = queues[s]
                while pos[s] < len(q) and not chosen.admit(q[pos[s]]):
                    pos[s] += 1
                if pos[s] >= len(q):
                    order.remove(s)
                else:
                    pos[s] += 1

    rows = [_row(clf, c, c.key == -1.0) for c in chosen.rows]
    summary = {
        "input": source.path, "output": str(out) if out is not None else None, "format": format,
        "model": clf.name, "asked": n, "selected": len(rows), "uncertain": len(rows) - random_picked,
        "random": random_picked, "random_share": float(random_share), "seed": seed,
        "records_in": counts["records"] + counts["rejected"], "eligible": counts["eligible"],
        "flagged": counts["flagged"], "flags": dict(sorted(flags.items())), "rejected": counts["rejected"],
        "damaged": counts["damaged"], "damage": [{"position": p, "reason": r} for r, p in damage.items()],
        "duplicates_skipped": {"exact": chosen.exact + counts["exact_duplicates_in_pool"],
                               "near": chosen.near_dups},
        "excluded": {"files": [str(p) for p in exclude or ()], "articles": excluded.texts,
                     "skipped_exact": excluded.exact, "skipped_near": excluded.near},
        "by_label": dict(Counter(r["focus_label"] for r in rows)),
        "by_lang": dict(Counter(r["lang"] for r in rows)),
    }
    if len(rows) < n:
        why = (f"asked for {n} articles but {summary['input']} holds only {len(rows)} eligible distinct ones "
               if not evicted else
               f"asked for {n} articles but only {len(rows)} distinct ones were found among the "
               f"{pool_factor} x {n} most uncertain kept per label and language (raise pool_factor) ")
        why += (f"({counts['flagged']:,} flagged by the model and {counts['rejected']:,} unreadable records are "
                f"never selected; {summary['duplicates_skipped']['exact'] + chosen.near_dups:,} duplicates "
                f"and {excluded.exact + excluded.near:,} excluded articles skipped): returning {len(rows)}")
        summary["warning"] = why
        warnings.warn(why, SelectionWarning, stacklevel=2)
    if out is not None:
        _write(out, rows, format, clf, rejects, summary)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return Selection(rows, summary)


def _row(clf, c: _Candidate, random_pick: bool) -> dict:
    T = row_thresholds(clf, [c.lang])
    why = _why(clf, c, T[0] if T is not None else None)
    if random_pick:
        why = f"random sample (for an unbiased accuracy estimate); {why}"
    return {"id": c.id, "text": c.text, "scores": {l: round(float(s), 4) for l, s in zip(clf.labels, c.scores)},
            "why": why, "selected_as": "random" if random_pick else "uncertain", "uncertainty": round(c.u, 4),
            "lang": c.lang, "labels": list(c.labels), "focus_label": clf.labels[c.focus], "position": c.position}


def _progress(source, enabled: bool):
    if not enabled:
        return None
    from .score import _progress_bar

    bar = _progress_bar(source, 0, True)
    if hasattr(bar, "set_description"):
        bar.set_description("selecting")
    else:
        bar.desc = "selecting"
    return bar


def _write(out: Path, rows: list[dict], format: str, clf, rejects: list[dict], summary: dict) -> None:
    from .score_io import dumps_bytes, open_write

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if format == "label-studio":
            from .labelstudio import labeling_config, to_tasks

            tmp.write_text(json.dumps(to_tasks(rows, clf), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            cfg = Path(f"{out}.config.xml")
            cfg.write_text(labeling_config(clf.labels, clf.multilabel), encoding="utf-8")
            summary["label_config"] = str(cfg)
        else:
            with open_write(tmp, out) as fh:
                for r in rows:
                    fh.write(dumps_bytes(r) + b"\n")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    if rejects:
        rej = Path(f"{out}.rejects.jsonl")
        with open(rej, "wb") as fh:
            for r in rejects:
                fh.write(dumps_bytes(r) + b"\n")
        summary["rejects_file"] = str(rej)
