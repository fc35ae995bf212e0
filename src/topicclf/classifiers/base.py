"""The raw-text pipeline every kind of model shares: prepare, gate, score, labels, evidence.

:class:`TopicClassifier` runs the whole pipeline, a sequence of named steps::

    normalize  ->  language  ->  gate (empty, unsupported language, too short)  ->  score

A text the model must not guess on (empty, boilerplate only, a language the model was not
trained on) gets no labels, zero scores and a flag that says why. The last step is the
kind's: :meth:`TopicClassifier._proba` runs a scikit-learn
:class:`~sklearn.pipeline.Pipeline` (``clf.pipeline``) over the cleaned texts, and a kind
overrides it (or :meth:`TopicClassifier._score`, which also sees the languages) to score
its own way.

The contract a kind fulfils (see :mod:`topicclf.classifiers`): a ``kind`` name, the value
of ``model_type`` in its ``config.json``; :meth:`~TopicClassifier.config` and
:meth:`~TopicClassifier.save` to write a model directory; the class method
:meth:`~TopicClassifier.from_parts` to rebuild the model from that directory's parsed files.
This module imports no kind.

Example:
    >>> import topicclf
    >>> clf = topicclf.load("vntc10")                               # doctest: +SKIP
    >>> clf.predict(["Đội tuyển Việt Nam thắng 2-0 ở vòng loại"])  # doctest: +SKIP
    [['The thao']]
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Iterable, Sequence

import numpy as np

from ..lang import detect_language
from ..sentences import split_sentences
from ..text import normalize, normalize_prefix

__all__ = ["TopicClassifier", "Prediction"]


@dataclass
class Prediction:
    """One text's result: ``labels`` over threshold, ``scores`` per label, ``lang``, ``flags``."""

    labels: list[str]
    scores: dict[str, float]
    lang: str
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class TopicClassifier:
    """A trained topic model with its text pipeline; the base of every kind of model.

    Used directly, it wraps any fitted scikit-learn pipeline whose last step has
    ``classes_``, ``multilabel_`` and ``thresholds_`` (a
    :class:`~topicclf.linear.LinearTopicClassifier`); such a model scores and evaluates but
    does not save. The kinds that save and load are in :mod:`topicclf.classifiers`.

    Parameters
    ----------
    pipeline : sklearn Pipeline of ``("features", ...)`` and ``("classifier", ...)``
    languages : languages the model was trained on; others are flagged, not guessed
    max_chars : longer texts are cut to their first ``max_chars`` characters (flag ``truncated``)
    min_tokens : texts with fewer syllables get no labels (flag ``too_short``)
    meta : the rest of ``config.json`` (name, training data hashes, metrics, ...)
    n_jobs : threads that score chunks of a big input (over 512 texts) while the calling
        thread cleans the next ones; ``None`` = one per core, at most 4. Results do not depend
        on it. Set it to 1 where processes already share the cores (``topicclf score
        --workers`` does). Models whose scoring runs torch always use one.
    """

    #: ``model_type`` in ``config.json``; ``None`` for a model that cannot be saved.
    kind: ClassVar[str | None] = None

    def __init__(self, pipeline, languages: Sequence[str] = ("vi", "en"), max_chars: int = 100_000,
                 min_tokens: int = 3, meta: dict | None = None, n_jobs: int | None = None):
        self.pipeline = pipeline
        self.languages = list(languages)
        self.max_chars = max_chars
        self.min_tokens = min_tokens
        self.meta = dict(meta or {})
        self.n_jobs = n_jobs

    # -- properties -----------------------------------------------------------
    @property
    def estimator(self):
        return self.pipeline[-1]

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.estimator.classes_]

    @property
    def multilabel(self) -> bool:
        return bool(self.estimator.multilabel_)

    @property
    def thresholds(self) -> dict[str, float]:
        """The score each label needs to be predicted (multi-label models; a single-label model
        predicts its top label). A read-only copy: change them with :meth:`set_thresholds`."""
        return _Thresholds(zip(self.labels, map(float, self.estimator.thresholds_)))

    def set_thresholds(self, thresholds: Mapping[str, float]) -> "TopicClassifier":
        """Set the thresholds of some or all labels, e.g. ``clf.set_thresholds({"religion": 0.5})``.

        Each value is a score in (0, 1]: a higher one predicts the label less often (more
        precise, less recall); 1 practically turns the label off. Labels left out keep theirs.
        Save the model (:meth:`save`) to keep them; :meth:`tune_thresholds` picks them on
        labelled data of your own. Returns the model.
        """
        self._set_thresholds(self._checked_thresholds(thresholds))
        return self

    def _checked_thresholds(self, thresholds) -> dict[str, float]:
        if not self.multilabel:
            raise ValueError("a single-label model predicts the label with the highest score and has no "
                             "thresholds; they belong to multi-label models")
        if not isinstance(thresholds, Mapping):
            raise TypeError(f"thresholds must be a mapping label -> score, e.g. {{{self.labels[0]!r}: 0.5}}, "
                            f"got {type(thresholds).__name__}")
        unknown = [l for l in thresholds if l not in self.labels]
        if unknown:
            raise ValueError(f"unknown labels {unknown}; the model's labels are {self.labels}")
        out = {}
        for label, t in thresholds.items():
            ok = isinstance(t, (int, float, np.integer, np.floating)) and not isinstance(t, (bool, np.bool_))
            if not ok or not math.isfinite(float(t)) or not 0 < float(t) <= 1:
                raise ValueError(f"the threshold of {label!r} must be a number in (0, 1], got {t!r}")
            out[label] = float(t)
        return out

    def _set_thresholds(self, new: dict[str, float]) -> None:
        """Store validated thresholds (a kind whose thresholds live elsewhere overrides this)."""
        arr = np.array(self.estimator.thresholds_, dtype=np.float64, copy=True)
        for label, t in new.items():
            arr[self.labels.index(label)] = t
        self.estimator.thresholds_ = arr

    @property
    def label_info(self) -> dict[str, dict]:
        """Per label, what it means and its threshold: ``{label: {"description": str | None,
        "threshold": float | None}}``. Descriptions come from the model's ``config.json``
        (``label_descriptions``; see :mod:`topicclf.taxonomy`); the threshold is ``None`` for a
        single-label model."""
        desc = self.meta.get("label_descriptions") or {}
        thr = self.thresholds if self.multilabel else {}
        return {l: {"description": desc.get(l), "threshold": thr.get(l)} for l in self.labels}

    def tune_thresholds(self, texts: Sequence[str], labels, *, min_positives: int = 3) -> dict:
        """Choose each label's threshold on labelled texts of your own, and set it.

        ``labels``: per text a list of labels (a single string is one label). For each label the
        new threshold is the one that maximises its F1 on these texts (halfway between two
        scores, so that it does not hang on rounding); a label with fewer than ``min_positives``
        positive texts keeps its threshold. Texts the model flags (empty, other language...)
        get no labels whatever the thresholds, and are left out of the choice.

        Returns a report: per label the positives, the old and new threshold, and F1 before
        and after. F1 after is measured on the texts the thresholds were chosen on, so it is
        optimistic: check the tuned model on other data (``topicclf evaluate``).
        """
        if not self.multilabel:
            raise ValueError("thresholds belong to multi-label models; a single-label model predicts "
                             "the label with the highest score")
        from ..linear import _best_f1_threshold

        texts, labels = list(texts), list(labels)
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} label lists")
        if not texts:
            raise ValueError("no texts to tune the thresholds on")
        Y = self._gold(labels)
        clean, langs, flags = self.prepare(texts)
        S = self._score(clean, langs, flags)
        ok = np.array([self._scored(f) for f in flags], dtype=bool)
        before, f1_before = self.thresholds, self._f1_per_label(Y, S, flags, langs)
        new, notes = {}, {}
        for k, label in enumerate(self.labels):
            y = Y[ok, k]
            if y.sum() < min_positives:
                notes[label] = f"kept: {int(y.sum())} positive texts (fewer than {min_positives})"
                continue
            new[label] = _best_f1_threshold(S[ok, k], y)
        if new:
            self._set_thresholds(new)
        after, f1_after = self.thresholds, self._f1_per_label(Y, S, flags, langs)
        return {"records": len(texts), "scored": int(ok.sum()), "labels": {
            l: {"positives": int(Y[:, k].sum()), "threshold_before": before[l], "threshold": after[l],
                "f1_before": f1_before[k], "f1": f1_after[k], **({"note": notes[l]} if l in notes else {})}
            for k, l in enumerate(self.labels)}}

    def _gold(self, labels) -> np.ndarray:
        """0/1 matrix ``(n, n_labels)`` of gold labels (lists; one string is one label)."""
        from ..linear import encode_targets

        rows = [[l] if isinstance(l, str) else list(l if l is not None else []) for l in labels]
        return encode_targets(rows, self.labels)[0]

    def _f1_per_label(self, Y, S, flags, langs) -> list[float | None]:
        from ..linear import encode_targets

        P = encode_targets(self._labels_from(S, flags, langs), self.labels)[0].astype(bool)
        Yb = Y.astype(bool)
        tp, fp, fn = (Yb & P).sum(0), (~Yb & P).sum(0), (Yb & ~P).sum(0)
        # None: no positive text and none predicted, nothing to measure
        return [float(2 * a / (2 * a + b + c)) if (2 * a + b + c) else None for a, b, c in zip(tp, fp, fn)]

    @property
    def name(self) -> str:
        return self.meta.get("name", "model")

    def __repr__(self) -> str:
        kind = "multi-label" if self.multilabel else "single-label"
        return f"TopicClassifier(name={self.name!r}, {kind}, labels={self.labels}, languages={self.languages})"

    # -- the pipeline -----------------------------------------------------------
    def prepare(self, texts: Iterable[str]) -> tuple[list[str], list[str], list[list[str]]]:
        """``(normalized texts, languages, flags)``; a flagged text is not scored."""
        _check_batch(texts)
        clean, langs, flags = [], [], []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is {type(text).__name__}, expected str "
                                "(decode bytes first, e.g. with topicclf.read_text)")
            f: list[str] = []
            # cut after cleaning: HTML scripts and styles must not use up the length
            norm, cut = normalize_prefix(text, self.max_chars)
            if cut:
                f.append("truncated")
            lang = detect_language(norm).lang if norm else "und"
            if not norm:
                f.append("boilerplate_only" if text.strip() else "empty")
            elif lang == "und":  # no letters at all: numbers, punctuation, symbols
                f.append("no_text")
            elif len(norm) < 6 * self.min_tokens and len(norm[:300].split()) < self.min_tokens:
                # checked before the language: a word or two has none reliably. The length test
                # keeps unspaced scripts (Chinese, Thai) from counting as one word.
                f.append("too_short")
            elif lang not in self.languages:
                f.append(f"unsupported_language:{lang}")
            clean.append(norm)
            langs.append(lang)
            flags.append(f)
        return clean, langs, flags

    @staticmethod
    def _scored(flags: list[str]) -> bool:
        return all(f == "truncated" for f in flags)

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Scores ``(n_texts, n_labels)`` in [0, 1], columns in the order of :attr:`labels`.

        Rows of flagged texts (empty, unsupported language, too short) are all zero.
        """
        return self._run(texts)[3]

    _PIPELINE_CHUNK = 512
    _THREAD_SAFE_SCORING = True  # False where _score runs torch (which has its own threads)

    def _score_threads(self) -> int:
        if not self._THREAD_SAFE_SCORING:
            return 1
        n = getattr(self, "n_jobs", None)
        if n is None:
            n = min(4, os.cpu_count() or 1)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n_jobs must be a positive int or None, got {n!r}")
        return n

    def _run(self, texts: Iterable[str]):
        """``(clean, langs, flags, scores)``. Big inputs go through in chunks: the calling
        thread cleans chunk after chunk while ``n_jobs`` threads score them. Cleaning and the
        n-gram features are C that either is short (cleaning) or releases the GIL (features),
        so the threads run on separate cores."""
        _check_batch(texts)
        texts = texts if isinstance(texts, list) else list(texts)
        step = self._PIPELINE_CHUNK
        if len(texts) <= step:
            clean, langs, flags = self.prepare(texts)
            return clean, langs, flags, self._score(clean, langs, flags)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self._score_threads(), thread_name_prefix="topicclf-score") as ex:
            return self._gather(self._clean_and_submit(texts, ex))

    def _clean_and_submit(self, texts: list[str], executor) -> list[tuple]:
        """Clean ``texts`` part by part on this thread and hand each part's scoring to
        ``executor`` as soon as it is clean: ``[(clean, langs, flags, future scores)]``.
        (``topicclf score`` calls it chunk after chunk with one executor, so that cleaning runs
        on across chunks.)"""
        step, parts = self._PIPELINE_CHUNK, []
        for i in range(0, len(texts), step):
            try:
                c, l, f = self.prepare(texts[i : i + step])
            except TypeError as e:  # name the text by its index in the whole input
                raise TypeError(_shift_index(str(e), i)) from None
            parts.append((c, l, f, executor.submit(self._score, c, l, f)))
        return parts

    def _gather(self, parts: list[tuple]):
        """``(clean, langs, flags, scores)`` of :meth:`_clean_and_submit`'s parts, once scored."""
        clean, langs, flags = [], [], []
        for c, l, f, _ in parts:
            clean += c
            langs += l
            flags += f
        P = np.vstack([p[3].result() for p in parts]) if parts else np.zeros((0, len(self.labels)))
        return clean, langs, flags, P

    def _score(self, clean, langs, flags) -> np.ndarray:
        """Scores of cleaned texts; rows of flagged texts stay zero. ``langs`` matter to kinds
        that route or segment by language."""
        P = np.zeros((len(clean), len(self.labels)))
        ok = [i for i, f in enumerate(flags) if self._scored(f)]
        if ok:
            P[ok] = self._proba([clean[i] for i in ok])
        return P

    def _proba(self, texts: list[str]) -> np.ndarray:
        """The kind's scores for cleaned, unflagged texts: here ``pipeline.predict_proba``."""
        return self.pipeline.predict_proba(texts)

    def _labels_from(self, P: np.ndarray, flags, langs=None) -> list[list[str]]:
        """Labels over threshold per row (``langs`` matters only to models routed by language)."""
        labels = np.asarray(self.labels, dtype=object)
        out = []
        if self.multilabel:
            above = P >= self.estimator.thresholds_
            for row, f in zip(above, flags):
                out.append(list(labels[row]) if self._scored(f) else [])
        else:
            best = P.argmax(axis=1)
            for b, f in zip(best, flags):
                out.append([str(labels[b])] if self._scored(f) else [])
        return out

    def predict(self, texts: Iterable[str]) -> list[list[str]]:
        """One list of labels per text (one label for a single-label model, ``[]`` if flagged)."""
        clean, langs, flags, P = self._run(texts)
        return self._labels_from(P, flags, langs)

    def classify(self, texts: Iterable[str] | str) -> list[Prediction] | Prediction:
        """Labels, per-label scores, language and flags for each text; for one text given as a
        ``str``, its :class:`Prediction` (``clf.classify(text)`` is ``clf.classify([text])[0]``)."""
        if isinstance(texts, str):
            return self.classify([texts])[0]
        clean, langs, flags, P = self._run(texts)
        labels = self._labels_from(P, flags, langs)
        return [Prediction(l, {k: round(float(v), 6) for k, v in zip(self.labels, row)}, lang, f)
                for l, row, lang, f in zip(labels, P, langs, flags)]

    # -- explanations -----------------------------------------------------------
    def explain(self, text: str, top_k: int = 10, labels: Sequence[str] | None = None) -> dict[str, list[tuple[str, float]]]:
        """The terms that pushed each label's score most (TF-IDF models: see
        :meth:`topicclf.classifiers.linear.NgramTopicClassifier.explain`)."""
        raise NotImplementedError("explanations are available for TF-IDF models only")

    def evidence(self, text: str, top_k: int = 3, labels: Sequence[str] | None = None) -> dict[str, list[tuple[str, float]]]:
        """The sentences of ``text`` that score highest for each label: ``{label: [(sentence,
        score), ...]}``, highest first, ``top_k`` per label, scores rounded to 4 digits.

        The cleaned article is split into sentences (:func:`topicclf.sentences.split_sentences`:
        the title line, then sentence ends and line breaks; fragments under three words are
        left out) and every sentence is scored by the model's own scoring path, in the
        article's language, as if it were an article. ``labels`` defaults to all the model's
        labels. A flagged text (empty, boilerplate only, too short, unsupported language)
        gets an empty list for every label.

        >>> clf.evidence("Tuyển Việt Nam thắng 2-0. Giá vàng tăng mạnh.", top_k=1)  # doctest: +SKIP
        {'Kinh doanh': [('Giá vàng tăng mạnh.', 0.61)], 'The thao': [('Tuyển Việt Nam thắng 2-0.', 0.83)], ...}
        """
        if not isinstance(text, str):
            raise TypeError(f"evidence takes one text (str), got {type(text).__name__}"
                            + (": call it once per text" if isinstance(text, (list, tuple)) else ""))
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        wanted = self.labels if labels is None else [str(l) for l in labels]
        unknown = [l for l in wanted if l not in self.labels]
        if unknown:
            raise ValueError(f"unknown labels {unknown}; the model's labels are {self.labels}")
        clean, langs, flags = self.prepare([text])
        sentences = split_sentences(clean[0]) if self._scored(flags[0]) else []
        if not sentences:
            return {l: [] for l in wanted}
        P = self._score(sentences, [langs[0]] * len(sentences), [[] for _ in sentences])
        out = {}
        for label in wanted:
            col = P[:, self.labels.index(label)]
            order = np.argsort(-col, kind="stable")[:top_k]
            out[label] = [(sentences[i], round(float(col[i]), 4)) for i in order]
        return out

    # -- persistence: the contract every kind fulfils ------------------------------
    def config(self) -> dict:
        """What ``config.json`` says about the model. Kinds add ``model_type`` and their parts."""
        return {
            **{k: v for k, v in self.meta.items() if k not in ("format_version", "versions")},
            "model_type": self.kind,
            "labels": self.labels,
            "multilabel": self.multilabel,
            "thresholds": self.thresholds,
            "languages": self.languages,
            "preprocessing": {"normalize": "topicclf.normalize", "max_chars": self.max_chars,
                              "min_tokens": self.min_tokens},
        }

    def save(self, path, card_extra: str = "", extra_files: dict[str, bytes] | None = None, *,
             overwrite: bool = False) -> Path:
        """Save as a model directory (see :mod:`topicclf.serialization`).

        ``card_extra`` is Markdown appended to the generated model card; ``extra_files``
        (relative path -> bytes, e.g. an evaluation report) are saved and checksummed too;
        ``overwrite`` as for :func:`~topicclf.serialization.save_model_dir`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} over a custom pipeline cannot be saved: build the model as one of "
            "the kinds in topicclf.classifiers (topicclf.train gives an n-gram + linear model)")

    @classmethod
    def from_parts(cls, path: Path, config: dict, arrays: dict, state: dict, *,
                   load: Callable[[Path], "TopicClassifier"] | None = None) -> "TopicClassifier":
        """Rebuild a model from its directory's parsed files (checksums already verified).

        ``load`` loads a model directory of any kind, for kinds made of other models.
        """
        raise NotImplementedError(f"{cls.__name__} has no saved form")

    @staticmethod
    def _preprocessing(config: dict) -> dict:
        """Constructor arguments common to all kinds, from a ``config.json``."""
        pre = config.get("preprocessing", {})
        return {"languages": config["languages"], "max_chars": pre.get("max_chars", 100_000),
                "min_tokens": pre.get("min_tokens", 3), "meta": config}


class _Thresholds(dict):
    """``clf.thresholds``: a copy that refuses changes, which would not reach the model."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("clf.thresholds is a read-only copy; change thresholds with "
                        "clf.set_thresholds({'label': 0.5}), and save the model to keep them")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _refuse

    def __reduce_ex__(self, protocol):  # copies and pickles are plain dicts
        return (dict, (dict(self),))


def saved_part_files(parts: Mapping[str, "TopicClassifier"], folder: str,
                     save_kwargs: Callable[["TopicClassifier"], dict] | None = None) -> dict[str, bytes]:
    """Each model of a composite kind saved to ``{folder}/{key}/...``, as ``{relative path: bytes}``
    for :func:`~topicclf.serialization.save_model_dir`'s ``extra_files`` (one manifest covers them)."""
    import tempfile

    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, model in parts.items():
            sub = model.save(Path(tmp) / key, **(save_kwargs(model) if save_kwargs else {}))
            for f in sorted(sub.rglob("*")):
                if f.is_file():
                    files[f"{folder}/{key}/{f.relative_to(sub).as_posix()}"] = f.read_bytes()
    return files


def _check_batch(texts) -> None:
    """Refuse a batch whose iteration does not give its texts: a str (its characters), a
    DataFrame (its column names), a dict (its keys)."""
    from collections.abc import Mapping

    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got a single str: wrap it in a list")
    if hasattr(texts, "columns") and hasattr(texts, "shape"):  # pandas, polars...
        cols = [str(c) for c in list(texts.columns)[:10]]
        col = "text" if "text" in cols or not cols else cols[-1]
        raise TypeError(f"expected a list of texts, got a {type(texts).__name__}, which would give its column "
                        f"names {cols}: pass the text column, e.g. df[{col!r}]")
    if isinstance(texts, Mapping):
        raise TypeError(f"expected a list of texts, got a {type(texts).__name__}, which would give its keys: "
                        "pass its values, e.g. list(d.values())")


def _shift_index(message: str, offset: int) -> str:
    """``"text 3 is ..."`` from a chunk starting at ``offset`` -> ``"text {3 + offset} is ..."``."""
    return re.sub(r"^text (\d+)", lambda m: f"text {int(m.group(1)) + offset}", message)
