"""The loaded classifier: raw text in, labels with scores out.

:class:`TopicClassifier` runs the whole pipeline, a sequence of named steps::

    normalize  ->  language  ->  gate (empty, unsupported language, too short)  ->  features + model

The last step is a scikit-learn :class:`~sklearn.pipeline.Pipeline` (``clf.pipeline``) that
keeps the estimator contract; the steps before it are what make raw, scraped, mixed input
safe to score. A text the model must not guess on (empty, boilerplate only, a language the
model was not trained on) gets no labels, zero scores and a flag that says why.

Example:
    >>> import topicclf
    >>> clf = topicclf.load("vntc10")                               # doctest: +SKIP
    >>> clf.predict(["Đội tuyển Việt Nam thắng 2-0 ở vòng loại"])  # doctest: +SKIP
    [['The thao']]
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .features import NgramVectorizer
from .lang import detect_language
from .linear import LinearTopicClassifier
from .serialization import load_model_dir, save_model_dir
from .text import normalize

__all__ = ["TopicClassifier", "Prediction", "load", "available_models", "DEFAULT_MODEL"]

DEFAULT_MODEL = "policy5"


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
    """A trained topic model with its text pipeline.

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
        return dict(zip(self.labels, map(float, self.estimator.thresholds_)))

    @property
    def name(self) -> str:
        return self.meta.get("name", "model")

    def __repr__(self) -> str:
        kind = "multi-label" if self.multilabel else "single-label"
        return f"TopicClassifier(name={self.name!r}, {kind}, labels={self.labels}, languages={self.languages})"

    # -- the pipeline -----------------------------------------------------------
    def prepare(self, texts: Iterable[str]) -> tuple[list[str], list[str], list[list[str]]]:
        """``(normalized texts, languages, flags)``; a flagged text is not scored."""
        if isinstance(texts, str):
            raise TypeError("expected a list of texts, got a single str: wrap it in a list")
        clean, langs, flags = [], [], []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is {type(text).__name__}, expected str "
                                "(decode bytes first, e.g. with topicclf.read_text)")
            f: list[str] = []
            if len(text) > self.max_chars:
                text = text[: self.max_chars]
                f.append("truncated")
            norm = normalize(text)
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
        if isinstance(texts, str):
            raise TypeError("expected a list of texts, got a single str: wrap it in a list")
        texts = texts if isinstance(texts, list) else list(texts)
        step = self._PIPELINE_CHUNK
        if len(texts) <= step:
            clean, langs, flags = self.prepare(texts)
            return clean, langs, flags, self._score(clean, langs, flags)
        from concurrent.futures import ThreadPoolExecutor

        clean, langs, flags, parts = [], [], [], []
        with ThreadPoolExecutor(self._score_threads(), thread_name_prefix="topicclf-score") as ex:
            for i in range(0, len(texts), step):
                try:
                    c, l, f = self.prepare(texts[i : i + step])
                except TypeError as e:  # name the text by its index in the whole input
                    raise TypeError(_shift_index(str(e), i)) from None
                clean += c
                langs += l
                flags += f
                parts.append(ex.submit(self._score, c, l, f))
            P = np.vstack([p.result() for p in parts])
        return clean, langs, flags, P

    def _score(self, clean, langs, flags) -> np.ndarray:
        P = np.zeros((len(clean), len(self.labels)))
        ok = [i for i, f in enumerate(flags) if self._scored(f)]
        if ok:
            P[ok] = self._proba([clean[i] for i in ok])
        return P

    def _proba(self, texts: list[str]) -> np.ndarray:
        """``pipeline.predict_proba``; for n-gram features + a linear model, the C extension
        computes the scores without building the sparse feature matrix (same numbers up to
        float32 rounding)."""
        steps = self.pipeline.steps if hasattr(self.pipeline, "steps") else []
        if len(steps) == 2 and isinstance(steps[0][1], NgramVectorizer) \
                and isinstance(steps[1][1], LinearTopicClassifier):
            vec, est = steps[0][1], steps[1][1]
            Z = vec.linear_scores(texts, est.coef_)
            if Z is not None:
                return est.proba_from_decision(Z + est.intercept_)
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

    def classify(self, texts: Iterable[str]) -> list[Prediction]:
        """Labels, per-label scores, language and flags for each text."""
        clean, langs, flags, P = self._run(texts)
        labels = self._labels_from(P, flags, langs)
        return [Prediction(l, {k: round(float(v), 6) for k, v in zip(self.labels, row)}, lang, f)
                for l, row, lang, f in zip(labels, P, langs, flags)]

    # -- explanations -----------------------------------------------------------
    def explain(self, text: str, top_k: int = 10, labels: Sequence[str] | None = None) -> dict[str, list[tuple[str, float]]]:
        """The terms that pushed each label's score most, with their weights (logit units).

        For Vietnamese, n-gram contributions are summed over the words of underthesea's
        segmentation, so terms are words (``chủ_quyền``), not bare syllables. ``labels``
        defaults to the predicted labels.
        """
        from .explain import explain_linear

        return explain_linear(self, text, top_k=top_k, labels=labels)

    # -- persistence -----------------------------------------------------------
    def config(self) -> dict:
        est = self.estimator
        return {
            **{k: v for k, v in self.meta.items() if k not in ("format_version", "versions")},
            "model_type": "linear",
            "labels": self.labels,
            "multilabel": self.multilabel,
            "thresholds": self.thresholds,
            "languages": self.languages,
            "preprocessing": {"normalize": "topicclf.normalize", "max_chars": self.max_chars,
                              "min_tokens": self.min_tokens, "features": "NgramVectorizer"},
            "vectorizer": self.pipeline[0].get_state()[1]["params"],
            "classifier": est.get_state()[1],
        }

    def save(self, path, card_extra: str = "", extra_files: dict[str, bytes] | None = None) -> Path:
        """Save as a model directory (see :mod:`topicclf.serialization`).

        ``card_extra`` is Markdown appended to the generated model card; ``extra_files``
        (relative path -> bytes, e.g. an evaluation report) are saved and checksummed too.
        """
        from .modelcard import model_card
        from .serialization import library_versions

        vec_arrays, vec_state = self.pipeline[0].get_state()
        est_arrays, _ = self.estimator.get_state()
        arrays = {f"features.{k}": v for k, v in vec_arrays.items()}
        arrays.update({f"classifier.{k}": v for k, v in est_arrays.items()})
        config = self.config()
        card = model_card({**config, "versions": library_versions()}, extra=card_extra)
        return save_model_dir(path, config, arrays, {"tokens": vec_state["tokens"]}, card, extra_files)

    @classmethod
    def load(cls, path) -> "TopicClassifier":
        from sklearn.pipeline import Pipeline

        from .serialization import ModelFileError

        config, arrays, state = load_model_dir(path)
        kind = config.get("model_type")
        if kind == "transformer":
            from .transformer import TransformerTopicClassifier

            return TransformerTopicClassifier.load(path)
        if kind == "embedding":
            from .routed import EmbeddingTopicClassifier

            return EmbeddingTopicClassifier.from_parts(path, config, arrays)
        if kind == "routed":
            from .routed import RoutedTopicClassifier

            return RoutedTopicClassifier.from_parts(path, config)
        if kind != "linear":
            raise ModelFileError(f"{path}: unknown model_type {kind!r}")
        try:
            vec = NgramVectorizer.from_state(
                {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("features.")},
                {"params": config["vectorizer"], "tokens": state["tokens"]})
            est = LinearTopicClassifier.from_state(
                {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("classifier.")},
                config["classifier"])
        except (KeyError, TypeError) as e:
            raise ModelFileError(f"{path}: config or weights lack {e}") from None
        if est.coef_.shape[1] != vec.n_features_out_:
            raise ModelFileError(f"{path}: {vec.n_features_out_} features but weights for {est.coef_.shape[1]}")
        pre = config.get("preprocessing", {})
        return cls(Pipeline([("features", vec), ("classifier", est)]), languages=config["languages"],
                   max_chars=pre.get("max_chars", 100_000), min_tokens=pre.get("min_tokens", 3), meta=config)


def _shift_index(message: str, offset: int) -> str:
    """``"text 3 is ..."`` from a chunk starting at ``offset`` -> ``"text {3 + offset} is ..."``."""
    import re

    return re.sub(r"^text (\d+)", lambda m: f"text {int(m.group(1)) + offset}", message)


def available_models() -> list[str]:
    """Names of the models shipped in ``models/``."""
    root = _shipped_root()
    if root is None:
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "config.json").is_file())


def _shipped_root() -> Path | None:
    try:
        root = Path(str(resources.files("topicclf_models")))
    except ModuleNotFoundError:
        return None
    return root if root.is_dir() else None


def load(name_or_path: str | Path | None = None) -> TopicClassifier:
    """Load a shipped model by name (default :data:`DEFAULT_MODEL`) or any model directory.

    >>> clf = load("vntc10")        # doctest: +SKIP
    >>> clf = load("path/to/dir")   # doctest: +SKIP
    """
    name = str(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.is_dir():
        return TopicClassifier.load(path)
    root = _shipped_root()
    if root is not None and "/" not in name and (root / name).is_dir():
        return TopicClassifier.load(root / name)
    raise FileNotFoundError(f"no model {name!r}: not a directory, and the shipped models are "
                            f"{available_models()}. Train one with `topicclf train` or pass its directory.")
